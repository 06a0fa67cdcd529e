//! No input makes ordo panic: thousands of mutated catalogs and orders
//! (truncations, byte flips, token swaps, dropped and doubled lines) each end
//! in a result or in diagnostics, and every diagnostic renders.

use std::path::Path;

use ordo::compile::compile;
use ordo::order::read_order;
use ordo::plan::decompose;
use ordo::render::{render, Format, RenderOptions};
use ordo::source::{SourceFile, Sources};
use proptest::prelude::*;

fn seeds(dir: &str, ext: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(dir).to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    out.sort();
    out
}

fn catalog_seeds() -> Vec<String> {
    let mut s = seeds("catalog", "ordo");
    // The whole shipped catalog as one text, so cross-file references survive.
    if !s.is_empty() {
        s.push(s.concat());
    }
    s.extend(seeds("tests/fixtures/check", "ordo"));
    s
}

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Flip(usize, u8),
    SwapTokens(usize, usize),
    DropLine(usize),
    DoubleLine(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::Truncate),
        (
            any::<usize>(),
            prop::sample::select(b"{}()[]\":.,=#-> \n0aZ%?\\".to_vec())
        )
            .prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapTokens(a, b)),
        any::<usize>().prop_map(Mutation::DropLine),
        any::<usize>().prop_map(Mutation::DoubleLine),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        match *m {
            Mutation::Truncate(i) => bytes.truncate(i % bytes.len()),
            Mutation::Flip(i, b) => {
                let n = bytes.len();
                bytes[i % n] = b;
            }
            Mutation::SwapTokens(a, b) => {
                let s = String::from_utf8_lossy(&bytes).into_owned();
                let mut tokens: Vec<&str> = s.split(' ').collect();
                let n = tokens.len();
                tokens.swap(a % n, b % n);
                bytes = tokens.join(" ").into_bytes();
            }
            Mutation::DropLine(i) | Mutation::DoubleLine(i) => {
                let s = String::from_utf8_lossy(&bytes).into_owned();
                let mut lines: Vec<&str> = s.lines().collect();
                if lines.is_empty() {
                    continue;
                }
                let k = i % lines.len();
                if matches!(m, Mutation::DropLine(_)) {
                    lines.remove(k);
                } else {
                    lines.insert(k, lines[k]);
                }
                bytes = lines.join("\n").into_bytes();
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn render_all(diags: &ordo::diagnostic::Diagnostics, sources: &Sources) {
    for d in &diags.list {
        if let Some(span) = d.span {
            let len = sources.get(span.file).text.len();
            assert!(
                span.end() <= len,
                "span {span:?} beyond the file ({len} bytes): {d:?}"
            );
        }
    }
    let opts = RenderOptions {
        color: false,
        width: 80,
    };
    for format in [Format::Human, Format::Json, Format::Github] {
        let _ = render(diags, sources, format, &opts);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn mutated_catalogs_end_in_a_catalog_or_diagnostics(pick in any::<usize>(), muts in prop::collection::vec(mutation(), 1..4)) {
        let seeds = catalog_seeds();
        let text = apply(&seeds[pick % seeds.len()], &muts);
        let mut sources = Sources::new();
        sources.add(SourceFile::new("mutated.ordo", text));
        let (catalog, diags) = compile(&sources);
        prop_assert!(catalog.is_some() || diags.has_errors());
        render_all(&diags, &sources);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_orders_end_in_a_plan_or_diagnostics(pick in any::<usize>(), muts in prop::collection::vec(mutation(), 1..4)) {
        let Ok(mut sources) = Sources::load_catalog(Path::new("catalog")) else { return Ok(()) };
        let (Some(catalog), _) = compile(&sources) else { return Ok(()) };
        let mut orders = seeds("examples", "yaml");
        orders.extend(seeds("examples", "json"));
        if orders.is_empty() {
            return Ok(());
        }
        let text = apply(&orders[pick % orders.len()], &muts);
        let f = sources.add(SourceFile::new("mutated.yaml", text));
        let result = read_order(f, sources.get(f)).and_then(|doc| decompose(&catalog, &doc));
        if let Err(diags) = result {
            prop_assert!(diags.has_errors());
            render_all(&diags, &sources);
        }
    }
}
