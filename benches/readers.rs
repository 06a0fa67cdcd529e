//! Reading one order as minified and as pretty JSON (the same 10,000 and
//! 50,000 items: the time should not depend on the layout), and rendering
//! 16,000 human diagnostics in one file (linear, not quadratic).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ordo::diagnostic::{Code, Diagnostic, Diagnostics};
use ordo::order::read_order;
use ordo::render::{render, Format, RenderOptions};
use ordo::source::{SourceFile, Sources};
use ordo::span::{FileId, Span};
use ordo::synth::{order, CatalogShape};

fn orders(c: &mut Criterion) {
    let shape = CatalogShape {
        products: 200,
        tasks_per_product: 10,
        seed: 7,
        ..CatalogShape::default()
    };
    let mut group = c.benchmark_group("order_json");
    group.sample_size(10);
    for items in [10_000usize, 50_000] {
        let yaml = SourceFile::new("order.yaml", order(&shape, items, 3));
        let value = ordo::yaml::parse(FileId(0), &yaml)
            .expect("the synthetic order parses")
            .to_json();
        let layouts = [
            ("minified", serde_json::to_string(&value).unwrap()),
            ("pretty", serde_json::to_string_pretty(&value).unwrap()),
        ];
        for (layout, text) in layouts {
            let file = SourceFile::new("order.json", text);
            group.throughput(Throughput::Bytes(file.text.len() as u64));
            group.bench_with_input(BenchmarkId::new(layout, items), &items, |b, _| {
                b.iter(|| {
                    read_order(FileId(0), &file)
                        .expect("order reads")
                        .items
                        .len()
                })
            });
        }
    }
    group.finish();
}

fn diagnostics(c: &mut Criterion) {
    let n = 16_000;
    let text: String = (0..n).map(|i| format!("  - item{i}: bad\n")).collect();
    let mut sources = Sources::new();
    let f = sources.add(SourceFile::new("order.yaml", text));
    let mut diags = Diagnostics::new();
    let mut at = 0;
    for i in 0..n {
        let line = format!("  - item{i}: bad\n");
        let start = at + line.find("bad").unwrap();
        diags.push(
            Diagnostic::error(Code::OrderAttribute, format!("item{i} is bad"))
                .at(Span::new(f, start, start + 3), "here")
                .with_help("make it good"),
        );
        at += line.len();
    }
    let mut group = c.benchmark_group("render_human");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("16000_diagnostics", |b| {
        b.iter(|| render(&diags, &sources, Format::Human, &RenderOptions::default()).len())
    });
    group.finish();
}

criterion_group!(benches, orders, diagnostics);
criterion_main!(benches);
