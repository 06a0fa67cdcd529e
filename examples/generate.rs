//! Writes a synthetic catalog and order, deterministic from a seed, for load
//! experiments and benchmarks:
//!
//! `--plain` makes actions without outputs, linked by `after` only: a bare
//! DAG that any program (`/bin/true`) can execute, for comparing executors.
//!
//! ```sh
//! cargo run --release --example generate -- --products 5000 --tasks 10 --items 10000 --seed 1 --out /tmp/synth
//! ordo check --catalog /tmp/synth/catalog
//! ordo plan --catalog /tmp/synth/catalog /tmp/synth/order.yaml --format json > /dev/null
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use ordo::synth::{catalog, order, CatalogShape};

fn main() -> ExitCode {
    let mut shape = CatalogShape {
        products: 100,
        tasks_per_product: 10,
        seed: 1,
        ..CatalogShape::default()
    };
    let mut items = 100;
    let mut out = PathBuf::from("synthetic");
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "--plain" {
            shape.plain = true;
            continue;
        }
        let value = args.next();
        let number = || value.as_deref().and_then(|v| v.parse::<usize>().ok());
        match (flag.as_str(), number()) {
            ("--products", Some(n)) if n > 0 => shape.products = n,
            ("--tasks", Some(n)) if n > 0 => shape.tasks_per_product = n,
            ("--items", Some(n)) if n > 0 => items = n,
            ("--seed", Some(n)) => shape.seed = n as u64,
            ("--out", _) if value.is_some() => out = PathBuf::from(value.unwrap_or_default()),
            _ => {
                eprintln!(
                    "usage: generate [--products N] [--tasks N] [--items N] [--seed N] [--out DIR]"
                );
                return ExitCode::from(2);
            }
        }
    }
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(out.join("catalog"))?;
        std::fs::write(out.join("catalog/synthetic.ordo"), catalog(&shape))?;
        std::fs::write(out.join("order.yaml"), order(&shape, items, shape.seed))
    };
    if let Err(e) = write() {
        eprintln!("error: cannot write to {}: {e}", out.display());
        return ExitCode::from(2);
    }
    println!(
        "wrote {}/catalog/synthetic.ordo ({} products, {} tasks each) and {}/order.yaml ({items} items)",
        out.display(),
        shape.products,
        shape.tasks_per_product,
        out.display()
    );
    ExitCode::SUCCESS
}
