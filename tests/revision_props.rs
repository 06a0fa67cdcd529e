//! Laws of a revision's delta (`docs/revisions.md`), on generated plans,
//! done-sets and revisions: the delta equals one computed independently
//! (by a fixpoint over "reads an output of a redone task" instead of one
//! pass in plan order), and applying it — undos of `redo` and `undo` tasks,
//! then every task not kept — leaves each task of the new version with
//! exactly the effect a fresh run of the new version would have made, and
//! no effect of a removed task applied.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ordo::model::{Expr, ExprKind, Ref, Type};
use ordo::plan::revision::{delta, Change};
use ordo::plan::{Plan, PlanCall, PlanTask, Price};
use ordo::span::Span;
use ordo::value::{Money, Value};
use proptest::prelude::*;

/// A generated task: its literal input, and the earlier tasks it reads.
#[derive(Debug, Clone)]
struct Gen {
    id: String,
    lit: u8,
    reads: Vec<usize>,
}

fn lit(v: u8) -> Expr {
    Expr {
        kind: ExprKind::Lit(Value::String(format!("v{v}"))),
        ty: Type::String,
        span: Span::default(),
    }
}

fn output_of(task: &str) -> Expr {
    Expr {
        kind: ExprKind::Ref(Ref::TaskOutput {
            task: task.to_string(),
            output: "out".to_string(),
        }),
        ty: Type::String,
        span: Span::default(),
    }
}

fn plan(tasks: &[Gen]) -> Plan {
    let outputs: Arc<[(String, Type)]> = Arc::from(vec![("out".to_string(), Type::String)]);
    let index: BTreeMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id.as_str(), i))
        .collect();
    let zero = Money {
        amount: Default::default(),
        currency: "EUR".into(),
    };
    Plan {
        order: "O".into(),
        catalog_hash: String::new(),
        stages: vec!["fulfil".into()],
        items: Vec::new(),
        tasks: tasks
            .iter()
            .map(|g| {
                let mut inputs = vec![("value".to_string(), lit(g.lit))];
                for (k, &r) in g.reads.iter().enumerate() {
                    inputs.push((format!("in{k}"), output_of(&tasks[r].id)));
                }
                PlanTask {
                    id: g.id.clone(),
                    item: None,
                    product: None,
                    name: g.id.clone(),
                    action: "a.do".into(),
                    stage: 0,
                    after: g
                        .reads
                        .iter()
                        .map(|r| index[tasks[*r].id.as_str()])
                        .collect(),
                    inputs,
                    optional_inputs: Vec::new(),
                    when: None,
                    requires: Vec::new(),
                    retry: None,
                    timeout_ms: None,
                    undo: Some(Box::new(PlanCall {
                        action: "a.undo".into(),
                        inputs: vec![("ref".into(), output_of(&g.id))],
                        optional_inputs: Vec::new(),
                        outputs: Arc::clone(&outputs),
                    })),
                    point_of_no_return: false,
                    outputs: Arc::clone(&outputs),
                    manual: None,
                    wait: None,
                }
            })
            .collect(),
        critical_path: Vec::new(),
        price: Price {
            once: zero.clone(),
            monthly: zero,
        },
        enums: BTreeMap::new(),
        requested_start: None,
        requested_completion: None,
    }
}

/// Random tasks t0..tn, each reading some earlier ones.
fn tasks(max: usize) -> impl Strategy<Value = Vec<Gen>> {
    prop::collection::vec(
        (
            0u8..3,
            prop::collection::vec(any::<prop::sample::Index>(), 0..3),
        ),
        1..max,
    )
    .prop_map(|raw| {
        raw.into_iter()
            .enumerate()
            .map(|(i, (lit, reads))| {
                let mut r: Vec<usize> = if i == 0 {
                    Vec::new()
                } else {
                    reads.iter().map(|x| x.index(i)).collect()
                };
                r.sort_unstable();
                r.dedup();
                Gen {
                    id: format!("t{i}"),
                    lit,
                    reads: r,
                }
            })
            .collect()
    })
}

/// The revised task list: some tasks dropped (with whatever reads them),
/// some literals changed, some tasks added at the end.
fn revise(old: &[Gen], drop: &[bool], change: &[u8], added: &[Gen]) -> Vec<Gen> {
    let mut keep = vec![true; old.len()];
    for i in 0..old.len() {
        if drop[i % drop.len()] || old[i].reads.iter().any(|&r| !keep[r]) {
            keep[i] = false;
        }
    }
    let mut new: Vec<Gen> = Vec::new();
    let mut at: BTreeMap<usize, usize> = BTreeMap::new();
    for (i, g) in old.iter().enumerate() {
        if keep[i] {
            at.insert(i, new.len());
            new.push(Gen {
                id: g.id.clone(),
                lit: (g.lit + change[i % change.len()]) % 3,
                reads: g.reads.iter().map(|r| at[r]).collect(),
            });
        }
    }
    let base = new.len();
    for (k, a) in added.iter().enumerate() {
        let reads = a
            .reads
            .iter()
            .map(|&r| r % (base + k).max(1))
            .filter(|&r| r < base + k)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        new.push(Gen {
            id: format!("n{k}"),
            lit: a.lit,
            reads,
        });
    }
    new
}

/// The effect a task makes: its literal and the effects it read.
fn effect(g: &Gen, read: &[String]) -> String {
    format!("{}({})", g.lit, read.join(","))
}

/// Each task's effect in a fresh run.
fn fresh(tasks: &[Gen]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for g in tasks {
        let read: Vec<String> = g.reads.iter().map(|&r| out[r].clone()).collect();
        out.push(effect(g, &read));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_delta_is_the_independent_one_and_leaves_every_effect_right(
        old in tasks(9),
        done_mask in prop::collection::vec(any::<bool>(), 1..10),
        drop in prop::collection::vec(prop::bool::weighted(0.2), 1..10),
        change in prop::collection::vec(prop::sample::select(vec![0u8, 0, 0, 1]), 1..10),
        added in tasks(4),
    ) {
        // Done-sets are closed under dependencies: a done task's are done.
        let mut done = vec![false; old.len()];
        for i in 0..old.len() {
            done[i] = done_mask[i % done_mask.len()] && old[i].reads.iter().all(|&r| done[r]);
        }
        let new = revise(&old, &drop, &change, &added);
        let (old_plan, new_plan) = (plan(&old), plan(&new));
        let rev = delta(&old_plan, &done, &new_plan, 1);

        // Independently: a fixpoint over the read relation.
        let old_by_id: BTreeMap<&str, usize> =
            old.iter().enumerate().map(|(i, g)| (g.id.as_str(), i)).collect();
        let was_done = |g: &Gen| old_by_id.get(g.id.as_str()).is_some_and(|&i| done[i]);
        let mut redo: BTreeSet<&str> = new
            .iter()
            .filter(|g| was_done(g))
            .filter(|g| {
                let o = &old[old_by_id[g.id.as_str()]];
                let names = |x: &Gen, all: &[Gen]| -> Vec<String> {
                    x.reads.iter().map(|&r| all[r].id.clone()).collect()
                };
                o.lit != g.lit || names(o, &old) != names(g, &new)
            })
            .map(|g| g.id.as_str())
            .collect();
        loop {
            let more: Vec<&str> = new
                .iter()
                .filter(|g| was_done(g) && !redo.contains(g.id.as_str()))
                .filter(|g| g.reads.iter().any(|&r| redo.contains(new[r].id.as_str())))
                .map(|g| g.id.as_str())
                .collect();
            if more.is_empty() {
                break;
            }
            redo.extend(more);
        }
        let mut expected: BTreeMap<String, Change> = BTreeMap::new();
        for g in &new {
            let c = if !was_done(g) {
                Change::Add
            } else if redo.contains(g.id.as_str()) {
                Change::Redo
            } else {
                Change::Keep
            };
            expected.insert(g.id.clone(), c);
        }
        let now: BTreeSet<&str> = new.iter().map(|g| g.id.as_str()).collect();
        for (i, g) in old.iter().enumerate() {
            if done[i] && !now.contains(g.id.as_str()) {
                expected.insert(g.id.clone(), Change::Undo);
            }
        }
        let got: BTreeMap<String, Change> =
            rev.tasks.iter().map(|t| (t.id.clone(), t.change)).collect();
        prop_assert_eq!(got.len(), rev.tasks.len(), "one change per task");
        prop_assert_eq!(&got, &expected);

        // Applying it: the old version's effects, the undos, then every
        // task not kept runs in the new version, reading current effects.
        let old_effects = fresh(&old);
        let mut applied: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (i, g) in old.iter().enumerate() {
            if done[i] {
                applied.entry(g.id.clone()).or_default().push(old_effects[i].clone());
            }
        }
        for i in rev.to_undo(&old_plan) {
            let effects = applied.get_mut(&old[i].id).expect("an undone task had an effect");
            prop_assert_eq!(effects.len(), 1);
            effects.clear();
        }
        let mut current: Vec<String> = Vec::new();
        for g in &new {
            let e = if rev.change(&g.id) == Some(Change::Keep) {
                applied[&g.id][0].clone()
            } else {
                let read: Vec<String> = g.reads.iter().map(|&r| current[r].clone()).collect();
                let e = effect(g, &read);
                applied.entry(g.id.clone()).or_default().push(e.clone());
                e
            };
            current.push(e);
        }
        let want = fresh(&new);
        for (k, g) in new.iter().enumerate() {
            prop_assert_eq!(&applied[&g.id], &vec![want[k].clone()], "task {}", g.id);
        }
        for (id, effects) in &applied {
            if !now.contains(id.as_str()) {
                prop_assert!(effects.is_empty(), "{} removed but still applied", id);
            }
        }
    }
}

#[test]
fn a_tasks_hash_is_the_one_stored_orders_hold() {
    // Stored task rows keep their hash: its encoding must not change. The
    // SHA-256 of the length-prefixed "sys.x", "always", "no undo", in
    // lowercase hex.
    let task = support::task("1/x", &[], false);
    assert_eq!(
        ordo::plan::revision::task_hash(&task),
        "3a43ac0bbfb2c9205d7e470452965ac6dca2b85415ef0f35c1fa255feaa736de"
    );
}
