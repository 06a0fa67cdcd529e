//! Synthetic catalogs and orders of any size, deterministic from a seed: for
//! benchmarks, property tests and load experiments
//! (`cargo run --release --example generate -- --help`).

use std::fmt::Write;

/// A small deterministic generator (SplitMix64): reproducible across
/// platforms and versions, which a benchmark input must be.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The shape of a generated catalog.
#[derive(Debug, Clone)]
pub struct CatalogShape {
    pub products: usize,
    /// Tasks in each product's `on add` block.
    pub tasks_per_product: usize,
    pub seed: u64,
    /// Actions without outputs and dependencies by `after` only (no data,
    /// conditions, requires or undo): a bare DAG any program can execute,
    /// `/bin/true` included, for comparing executors.
    pub plain: bool,
}

impl Default for CatalogShape {
    fn default() -> CatalogShape {
        CatalogShape {
            products: 100,
            tasks_per_product: 10,
            seed: 1,
            plain: false,
        }
    }
}

/// One `.ordo` text: stages, enums, actions, products with add and delete
/// rules, some relying on others, and an order block.
pub fn catalog(shape: &CatalogShape) -> String {
    let mut rng = Rng::new(shape.seed);
    let mut s = String::new();
    s.push_str("catalog \"Synthetic\" version \"1\"\n");
    s.push_str("stages feasibility -> commit -> fulfil (default) -> close\n");
    s.push_str("enum Tier { \"basic\", \"plus\", \"max\" }\n");
    s.push_str("customer { attr id: string  attr email: string }\n\n");
    for a in 0..8 {
        if shape.plain {
            let _ = writeln!(s, "action sys{a}.work(ref: string)");
        } else {
            let _ = writeln!(s, "action sys{a}.work(ref: string, tier: Tier, n: int) -> (ref: string, ok: bool, score: int)");
        }
    }
    s.push_str("action sys.undo(ref: string)\n");
    s.push_str("action credit.check(customer: string, amount: money) -> (score: int)\n");
    s.push_str("action notify.email(to: string, template: string)\n\n");
    s.push_str("order {\n");
    if !shape.plain {
        s.push_str("  task credit: credit.check(customer: order.customer.id, amount: order.price.once) { stage commit }\n");
    }
    s.push_str("  task welcome: notify.email(to: order.customer.email, template: \"done\") { stage close }\n}\n\n");
    for p in 0..shape.products {
        let relies = (p > 0 && rng.below(4) == 0).then(|| rng.below(p));
        let _ = writeln!(s, "product P{p} {{");
        let _ = writeln!(s, "  description \"synthetic product {p}\"");
        s.push_str("  attr site: string\n  attr tier: Tier = \"basic\"\n  attr n: int(1..100) = 1\n  attr extra: bool = false\n");
        if let Some(r) = relies {
            let _ = writeln!(s, "  relies on P{r}");
        }
        let _ = writeln!(
            s,
            "  price once {}.{:02} EUR",
            rng.below(100),
            rng.below(100)
        );
        let _ = writeln!(
            s,
            "  price monthly {}.{:02} EUR",
            rng.below(60),
            rng.below(100)
        );
        s.push_str("  price monthly 5.00 EUR when tier == \"max\"\n  sla availability 99.9%\n");
        s.push_str("  require site != \"\" else \"a site is required\"\n");
        s.push_str("  on add {\n");
        for t in 0..shape.tasks_per_product {
            let action = rng.below(8);
            let from = (t > 0).then(|| rng.below(t));
            let mut clauses = Vec::new();
            if shape.plain {
                let _ = write!(s, "    task t{t}: sys{action}.work(ref: site)");
                if let Some(j) = from {
                    clauses.push(format!("after t{j}"));
                }
            } else {
                let input = from.map_or_else(|| "site".to_string(), |j| format!("t{j}.ref"));
                let _ = write!(
                    s,
                    "    task t{t}: sys{action}.work(ref: {input}, tier: tier, n: n)"
                );
            }
            if t == 0 {
                clauses.push("stage feasibility".to_string());
                if !shape.plain {
                    clauses.push("require t0.ok else \"not feasible at {site}\"".to_string());
                }
            }
            if t > 1 && rng.below(3) == 0 {
                clauses.push(format!("after t{}", rng.below(t)));
            }
            if t > 0 && t == shape.tasks_per_product / 2 {
                if relies.is_some() && !shape.plain {
                    clauses.push("after order.credit".to_string());
                }
                if !shape.plain {
                    clauses.push(format!("undo sys.undo(ref: t{t}.ref)"));
                    clauses.push("retry 2 backoff 1s".into());
                }
            }
            if t + 1 == shape.tasks_per_product && t > 0 && !shape.plain {
                clauses.push("when extra or tier == \"max\" or true".into());
            }
            clauses.dedup();
            if clauses.is_empty() {
                s.push('\n');
            } else {
                let _ = writeln!(s, " {{ {} }}", clauses.join("  "));
            }
        }
        s.push_str("  }\n");
        let args = if shape.plain {
            "ref: site"
        } else {
            "ref: site, tier: tier, n: n"
        };
        let _ = writeln!(s, "  on delete {{\n    task t0: sys0.work({args})\n  }}");
        s.push_str("}\n\n");
    }
    s
}

/// An order of `items` add items over the catalog's products, in YAML.
pub fn order(shape: &CatalogShape, items: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut s =
        String::from("id: ORD-SYNTH\ncustomer: { id: C-1, email: c1@example.com }\nitems:\n");
    // Products that others rely on must be present: a generated order holds
    // every product once before repeating, and repeated products name the
    // item they rely on, so relies-on is never ambiguous.
    let relied = relied_products(shape);
    for i in 0..items {
        let p = if i < shape.products {
            i
        } else {
            rng.below(shape.products)
        };
        let tiers = ["basic", "plus", "max"];
        let _ = writeln!(
            s,
            "  - id: \"{i}\"\n    action: add\n    product: P{p}\n    attributes: {{ site: \"S{i}\", tier: {}, n: {} }}",
            tiers[rng.below(3)],
            1 + rng.below(99)
        );
        if let Some(r) = relied[p] {
            let _ = writeln!(s, "    relies_on: [\"{r}\"]");
        }
    }
    s
}

/// For each product, the product it relies on (replaying the generator).
fn relied_products(shape: &CatalogShape) -> Vec<Option<usize>> {
    let mut rng = Rng::new(shape.seed);
    let mut out = Vec::with_capacity(shape.products);
    for p in 0..shape.products {
        let relies = (p > 0 && rng.below(4) == 0).then(|| rng.below(p));
        out.push(relies);
        // Consume exactly what `catalog` draws for this product.
        rng.below(100);
        rng.below(100);
        rng.below(60);
        rng.below(100);
        for t in 0..shape.tasks_per_product {
            rng.below(8);
            if t > 0 {
                rng.below(t);
            }
            if t > 1 && rng.below(3) == 0 {
                rng.below(t);
            }
        }
    }
    out
}
