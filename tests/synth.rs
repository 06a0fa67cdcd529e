//! The synthetic generator makes valid catalogs and orders (the benchmarks
//! and property tests rely on it).

use ordo::compile::compile;
use ordo::order::read_order;
use ordo::plan::decompose;
use ordo::source::{SourceFile, Sources};
use ordo::synth::{catalog, order, CatalogShape};

#[test]
fn generated_catalogs_and_orders_plan() {
    for seed in 0..5 {
        let shape = CatalogShape {
            products: 30,
            tasks_per_product: 8,
            seed,
            ..CatalogShape::default()
        };
        let mut sources = Sources::new();
        sources.add(SourceFile::new("synthetic.ordo", catalog(&shape)));
        let (cat, diags) = compile(&sources);
        assert!(!diags.has_errors(), "{diags:?}");
        let cat = cat.unwrap();
        let f = sources.add(SourceFile::new("order.yaml", order(&shape, 100, seed)));
        let doc = read_order(f, sources.get(f)).unwrap();
        let (plan, _) = decompose(&cat, &doc).unwrap_or_else(|d| panic!("{d:?}"));
        // 100 items of 8 add tasks each, and the two order tasks.
        assert_eq!(plan.tasks.len(), 100 * 8 + 2);
    }
}

#[test]
fn plain_catalogs_are_bare_dags() {
    let shape = CatalogShape {
        products: 20,
        tasks_per_product: 6,
        seed: 3,
        plain: true,
    };
    let mut sources = Sources::new();
    sources.add(SourceFile::new("plain.ordo", catalog(&shape)));
    let (cat, diags) = compile(&sources);
    let cat = cat.unwrap_or_else(|| panic!("{diags:?}"));
    assert!(cat
        .actions
        .values()
        .all(|a| a.outputs.is_empty() || a.name == "credit.check"));
    let f = sources.add(SourceFile::new("order.yaml", order(&shape, 50, 3)));
    let (plan, _) = decompose(&cat, &read_order(f, sources.get(f)).unwrap()).unwrap();
    assert_eq!(plan.tasks.len(), 50 * 6 + 1);
    assert!(plan
        .tasks
        .iter()
        .all(|t| t.outputs.is_empty() && t.undo.is_none() && t.when.is_none()));
}
