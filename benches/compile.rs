//! Compiling catalogs: the shipped one, and a generated 5,000-product one
//! (throughput in bytes of source).

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ordo::compile::compile;
use ordo::source::{SourceFile, Sources};
use ordo::synth::{catalog, CatalogShape};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    if let Ok(shipped) = Sources::load_catalog(Path::new("catalog")) {
        let bytes: usize = shipped.files().map(|(_, f)| f.text.len()).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function("shipped catalog", |b| b.iter(|| compile(&shipped)));
    }
    let text = catalog(&CatalogShape {
        products: 5_000,
        tasks_per_product: 10,
        seed: 1,
        ..CatalogShape::default()
    });
    let mut generated = Sources::new();
    generated.add(SourceFile::new("synthetic.ordo", text.clone()));
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(10);
    group.bench_function("5000 products", |b| {
        b.iter(|| {
            let (catalog, diags) = compile(&generated);
            assert!(catalog.is_some(), "{diags:?}");
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
