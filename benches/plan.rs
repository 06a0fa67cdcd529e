//! Planning orders of 100, 1,000 and 10,000 items (about 10 tasks each):
//! reading the order, checking it, decomposing, ordering and pricing.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ordo::compile::compile;
use ordo::order::read_order;
use ordo::plan::decompose;
use ordo::source::{SourceFile, Sources};
use ordo::synth::{catalog, order, CatalogShape};

fn bench(c: &mut Criterion) {
    let shape = CatalogShape {
        products: 200,
        tasks_per_product: 10,
        seed: 7,
        ..CatalogShape::default()
    };
    let mut sources = Sources::new();
    sources.add(SourceFile::new("synthetic.ordo", catalog(&shape)));
    let (cat, diags) = compile(&sources);
    let cat = cat.unwrap_or_else(|| panic!("{diags:?}"));
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    for items in [100usize, 1_000, 10_000] {
        let mut s = sources.clone();
        let f = s.add(SourceFile::new("order.yaml", order(&shape, items, 3)));
        group.throughput(Throughput::Elements(items as u64));
        group.bench_with_input(BenchmarkId::new("items", items), &items, |b, _| {
            b.iter(|| {
                let doc = read_order(f, s.get(f)).expect("order reads");
                let (plan, _) = decompose(&cat, &doc).expect("order plans");
                plan.tasks.len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
