//! Laws of decomposition, on generated catalogs and orders: every plan is a
//! DAG in a stage-respecting topological order with a task for every rule
//! that applies; an order whose items' rules wait for each other in a circle
//! is rejected with `ordo::order::cycle`, naming a cycle that really exists.
#![allow(clippy::needless_range_loop)] // indices name tasks t0..t2 here

use std::collections::BTreeSet;

use ordo::compile::compile;
use ordo::diagnostic::Code;
use ordo::inventory::{InstalledBase, Instance, InstanceStatus};
use ordo::order::read_order;
use ordo::plan::{decompose_on, Plan};
use ordo::source::{SourceFile, Sources};
use ordo::synth::{catalog, order, CatalogShape};
use proptest::prelude::*;

fn plan_of(
    catalog_text: &str,
    order_text: &str,
    base: &InstalledBase,
) -> Result<Plan, ordo::diagnostic::Diagnostics> {
    let mut sources = Sources::new();
    sources.add(SourceFile::new("c.ordo", catalog_text));
    let (cat, diags) = compile(&sources);
    let cat = cat.unwrap_or_else(|| panic!("catalog does not compile: {diags:?}"));
    let f = sources.add(SourceFile::new("o.yaml", order_text));
    let doc = read_order(f, sources.get(f))?;
    decompose_on(&cat, &doc, base).map(|(p, _)| p)
}

fn assert_well_formed(plan: &Plan) {
    for (i, t) in plan.tasks.iter().enumerate() {
        for &j in &t.after {
            assert!(
                j < i,
                "{} depends on {}, which comes later",
                t.id,
                plan.tasks[j].id
            );
            assert!(
                plan.tasks[j].stage <= t.stage,
                "{} depends on a later stage",
                t.id
            );
        }
        if i > 0 {
            assert!(
                plan.tasks[i - 1].stage <= t.stage,
                "tasks are not grouped by stage"
            );
        }
    }
    let ids: BTreeSet<&str> = plan.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids.len(), plan.tasks.len(), "task ids are unique");
    for w in plan.critical_path.windows(2) {
        let (a, b) = (&plan.tasks[w[0]], &plan.tasks[w[1]]);
        assert!(
            b.after.contains(&w[0]) || a.stage < b.stage,
            "critical path step {} -> {} is no dependency",
            a.id,
            b.id
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn generated_plans_are_stage_ordered_dags(products in 1usize..12, tasks in 1usize..9, items in 1usize..40, seed in 0u64..1000) {
        let shape = CatalogShape { products, tasks_per_product: tasks, seed, plain: false };
        let plan = plan_of(&catalog(&shape), &order(&shape, items, seed), &InstalledBase::default()).unwrap_or_else(|d| panic!("{d:?}"));
        assert_well_formed(&plan);
        // Every add rule of every item applies (the generated `when`s hold).
        prop_assert_eq!(plan.tasks.len(), items * tasks + 2);
        for item in plan.items.iter() {
            for t in 0..tasks {
                let id = format!("{}/t{t}", item.id);
                prop_assert!(plan.task(&id).is_some(), "{} is missing", id);
            }
        }
    }
}

/// Two products relying on each other, each with add and modify rules of
/// three tasks. A link `(product, action, task, cross, target)` makes that
/// task wait for `target` of its own block (only backwards) or, when `cross`,
/// of the other product's item. Returns the catalog and, per product, action
/// and task, its dependencies as (same item?, task index).
type Deps = Vec<Vec<Vec<Vec<(bool, usize)>>>>;

fn mutual_catalog(links: &[(usize, usize, usize, bool, usize)]) -> (String, Deps) {
    let mut deps: Deps = vec![vec![vec![Vec::new(); 3]; 2]; 2];
    let mut text = String::from("action s.w(x: string) -> (y: string)\n");
    for (p, name) in ["A", "B"].iter().enumerate() {
        let other = if p == 0 { "B" } else { "A" };
        text.push_str(&format!(
            "product {name} {{\n  attr x: string = \"x\"\n  relies on {other}\n"
        ));
        for (a, action) in ["add", "modify"].iter().enumerate() {
            text.push_str(&format!("  on {action} {{\n"));
            for t in 0..3 {
                let mut after = Vec::new();
                for &(lp, la, lt, cross, target) in links {
                    if (lp, la, lt) != (p, a, t) || (!cross && target >= t) {
                        continue;
                    }
                    let r = if cross {
                        format!("{other}.t{target}")
                    } else {
                        format!("t{target}")
                    };
                    if !after.contains(&r) {
                        after.push(r);
                        deps[p][a][t].push((!cross, target));
                    }
                }
                let clause = if after.is_empty() {
                    String::new()
                } else {
                    format!(" {{ after {} }}", after.join(", "))
                };
                text.push_str(&format!("    task t{t}: s.w(x: x){clause}\n"));
            }
            text.push_str("  }\n");
        }
        text.push_str("}\n");
    }
    (text, deps)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn cross_item_cycles_are_found_and_real(
        links in proptest::collection::vec((0usize..2, 0usize..2, 0usize..3, any::<bool>(), 0usize..3), 0..10),
        actions in (0usize..2, 0usize..2),
    ) {
        let (text, deps) = mutual_catalog(&links);
        let mut sources = Sources::new();
        sources.add(SourceFile::new("c.ordo", text.clone()));
        let (cat, diags) = compile(&sources);
        // A cycle for the same action on both items is a catalog error, caught earlier.
        if cat.is_none() {
            prop_assert!(diags.list.iter().all(|d| d.code == Code::Cycle), "{:?}", diags);
            return Ok(());
        }
        // A modify item names its instance: I/a, I/b.
        let item = |id: &str, action: usize, product: &str, other: &str| match action {
            0 => format!("  - {{ id: {id}, action: add, product: {product}, relies_on: [{other}] }}\n"),
            _ => format!("  - {{ id: {id}, action: modify, instance: I/{id}, relies_on: [{other}] }}\n"),
        };
        let order_text = format!(
            "id: O\nitems:\n{}{}",
            item("a", actions.0, "A", "b"),
            item("b", actions.1, "B", "a")
        );
        // The dependency graph the order should have: node = (item, task).
        let act = [actions.0, actions.1];
        let mut edges: Edges = BTreeSet::new();
        for p in 0..2 {
            for t in 0..3 {
                for &(same, target) in &deps[p][act[p]][t] {
                    let from = if same { (p, target) } else { (1 - p, target) };
                    edges.insert((from, (p, t)));
                }
            }
        }
        let cyclic = has_cycle(&edges);
        match plan_of(&text, &order_text, &installed()) {
            Ok(plan) => {
                prop_assert!(!cyclic, "a cyclic order was planned");
                assert_well_formed(&plan);
            }
            Err(d) => {
                prop_assert!(cyclic, "an acyclic order was rejected: {:?}", d);
                prop_assert_eq!(d.list.len(), 1);
                prop_assert_eq!(d.list[0].code, Code::OrderCycle);
                // "... cycle: a/t0 -> b/t1 -> a/t0": each step is an edge.
                let path = d.list[0].message.split(": ").nth(1).unwrap_or_default();
                let nodes: Vec<(usize, usize)> = path
                    .split(" -> ")
                    .map(|id| {
                        let (item, task) = id.split_once('/').unwrap();
                        (usize::from(item == "b"), task[1..].parse().unwrap())
                    })
                    .collect();
                prop_assert!(nodes.len() >= 3 && nodes.first() == nodes.last());
                for w in nodes.windows(2) {
                    prop_assert!(edges.contains(&(w[0], w[1])), "{:?} -> {:?} is not a dependency", w[0], w[1]);
                }
            }
        }
    }
}

/// An installed A (`I/a`) and B (`I/b`) of the order's customer (none).
fn installed() -> InstalledBase {
    let mut base = InstalledBase::default();
    for (id, product) in [("I/a", "A"), ("I/b", "B")] {
        let instance = Instance {
            id: id.into(),
            product: product.into(),
            customer: String::new(),
            status: InstanceStatus::Active,
            parent: None,
            attributes: [("x".to_string(), ordo::value::Value::String("x".into()))].into(),
            outputs: Default::default(),
            relies_on: Vec::new(),
            created_by: "I".into(),
            updated_by: "I".into(),
            created_at: String::new(),
            updated_at: String::new(),
        };
        base.instances.insert(id.into(), instance);
    }
    base
}

type Edges = BTreeSet<((usize, usize), (usize, usize))>;

fn has_cycle(edges: &Edges) -> bool {
    let nodes: Vec<(usize, usize)> = (0..2).flat_map(|p| (0..3).map(move |t| (p, t))).collect();
    let mut indegree: std::collections::BTreeMap<(usize, usize), usize> =
        nodes.iter().map(|n| (*n, 0)).collect();
    for (_, to) in edges {
        *indegree.get_mut(to).unwrap() += 1;
    }
    let mut ready: Vec<(usize, usize)> =
        nodes.iter().filter(|n| indegree[n] == 0).copied().collect();
    let mut seen = 0;
    while let Some(n) = ready.pop() {
        seen += 1;
        for (from, to) in edges {
            if *from == n {
                let d = indegree.get_mut(to).unwrap();
                *d -= 1;
                if *d == 0 {
                    ready.push(*to);
                }
            }
        }
    }
    seen < nodes.len()
}
