//! Nothing recurses with the size of the input: a rule block with a
//! 20,000-task chain checks and plans, and an order that closes a cycle
//! through all of it is reported, not a stack overflow.

use ordo::compile::compile;
use ordo::order::read_order;
use ordo::plan::decompose;
use ordo::source::{SourceFile, Sources};

const N: usize = 20_000;

fn chain(closing: bool) -> String {
    let mut s =
        String::from("action s.step(x: string) -> (y: string)\nproduct Long {\n  on add {\n");
    s.push_str("    task t0: s.step(x: \"start\")");
    s.push_str(if closing { " { after t19999 }\n" } else { "\n" });
    for i in 1..N {
        s.push_str(&format!("    task t{i}: s.step(x: t{}.y)\n", i - 1));
    }
    s.push_str("  }\n}\n");
    s
}

#[test]
fn a_twenty_thousand_task_chain_checks_and_plans() {
    let mut sources = Sources::new();
    sources.add(SourceFile::new("long.ordo", chain(false)));
    let (catalog, diags) = compile(&sources);
    let catalog = catalog.unwrap_or_else(|| panic!("{diags:?}"));
    let f = sources.add(SourceFile::new(
        "o.yaml",
        "id: O\nitems:\n  - { id: a, action: add, product: Long }\n",
    ));
    let (plan, _) = decompose(&catalog, &read_order(f, sources.get(f)).unwrap()).unwrap();
    assert_eq!(plan.tasks.len(), N);
    assert_eq!(plan.critical_path.len(), N);
}

#[test]
fn a_twenty_thousand_task_cycle_is_reported() {
    let mut sources = Sources::new();
    sources.add(SourceFile::new("long.ordo", chain(true)));
    let (catalog, diags) = compile(&sources);
    assert!(catalog.is_none());
    assert_eq!(diags.list.len(), 1);
    assert_eq!(diags.list[0].code.as_str(), "ordo::cycle");
    assert!(
        diags.list[0]
            .message
            .starts_with("tasks depend on each other in a cycle: t0 -> t1 -> t2"),
        "{}",
        diags.list[0].message
    );
    assert!(diags.list[0].message.contains("… 19991 more …"));
}
