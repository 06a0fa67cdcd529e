//! The law of SPEC §8.8: plan time and run time agree on every condition.
//! For generated conditions over the outputs of tasks that a plan-time
//! condition may leave out, and over values those tasks return, a task runs
//! exactly when its condition, evaluated at run time with nothing decided
//! beforehand (an absent task's outputs null), is true: whatever the plan
//! decided (leaving the task out, or keeping it with or without a condition)
//! and whatever it left for the executor.

use std::collections::BTreeMap;

use ordo::compile::compile;
use ordo::model::{Catalog, Expr, Ref, TaskRef};
use ordo::order::read_order;
use ordo::plan::{decompose, Plan};
use ordo::source::{SourceFile, Sources};
use ordo::syntax::ast::OrderAction;
use ordo::value::Value;
use proptest::prelude::*;

fn pick(options: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    proptest::sample::select(options).prop_map(str::to_string)
}

/// Int-valued text over the outputs of the tasks in `tasks`.
fn int(tasks: &'static [&'static str]) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        pick(&["0", "1", "-1", "2", "order.adds", "order.deletes"]),
        proptest::sample::select(tasks).prop_map(|t| format!("{t}.n")),
    ];
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} + {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} ?? {b})")),
            inner.clone().prop_map(|a| format!("({a} ?? null)")),
            inner.prop_map(|a| format!("-{a}")),
        ]
    })
    .boxed()
}

fn string(tasks: &'static [&'static str]) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        pick(&["\"\"", "\"on\"", "order.customer.seg"]),
        proptest::sample::select(tasks).prop_map(|t| format!("{t}.s")),
    ];
    leaf.prop_recursive(2, 4, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} + {b})")),
            (inner.clone(), inner).prop_map(|(a, b)| format!("({a} ?? {b})")),
        ]
    })
    .boxed()
}

fn condition(tasks: &'static [&'static str]) -> BoxedStrategy<String> {
    let compare = pick(&["==", "!=", "<", "<=", ">", ">="]);
    let leaf = prop_oneof![
        pick(&["true", "false"]),
        proptest::sample::select(tasks).prop_map(|t| format!("{t}.b")),
        (int(tasks), compare, int(tasks)).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (string(tasks), pick(&["==", "!="]), string(tasks))
            .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        (int(tasks), pick(&["==", "!="])).prop_map(|(a, op)| format!("{a} {op} null")),
        (string(tasks), pick(&["==", "!="])).prop_map(|(a, op)| format!("{a} {op} null")),
        (int(tasks), int(tasks), int(tasks)).prop_map(|(a, b, c)| format!("{a} in [{b}, {c}]")),
    ];
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.clone().prop_map(|a| format!("not ({a})")),
            (inner.clone(), inner.clone(), inner)
                .prop_map(|(c, a, b)| format!("(if {c} then {a} else {b})")),
        ]
    })
    .boxed()
}

/// What a task returns when it runs.
#[derive(Debug, Clone)]
struct Outputs {
    n: i64,
    s: &'static str,
    b: bool,
}

fn outputs() -> impl Strategy<Value = Outputs> {
    (
        -2i64..3,
        proptest::sample::select(&["", "on", "x"][..]),
        any::<bool>(),
    )
        .prop_map(|(n, s, b)| Outputs { n, s, b })
}

fn output(ran: &BTreeMap<String, Outputs>, task: &str, name: &str) -> Value {
    match ran.get(task) {
        None => Value::Null,
        Some(o) => match name {
            "n" => Value::Int(o.n),
            "s" => Value::String(o.s.to_string()),
            _ => Value::Bool(o.b),
        },
    }
}

fn catalog_text(c1: &str, c2: &str) -> String {
    format!(
        r#"
action a.t(x: int) -> (n: int, s: string, b: bool)
product P {{ on add {{ task go: a.t(x: 1) }} }}
order {{
  task t0: a.t(x: 0) {{ when order.customer.seg == "on" }}
  task t1: a.t(x: 1) {{ when {c1} }}
  task t2: a.t(x: 2) {{ when {c2} }}
}}
"#
    )
}

fn plan(catalog_text: &str, seg: &str) -> (Catalog, Plan) {
    let mut sources = Sources::new();
    sources.add(SourceFile::new("c.ordo", catalog_text));
    let (cat, diags) = compile(&sources);
    let cat = cat.unwrap_or_else(|| panic!("{catalog_text}\ndoes not compile: {diags:?}"));
    let order = format!(
        "id: O\ncustomer: {{ id: C, seg: \"{seg}\" }}\nitems:\n  - {{ id: \"1\", action: add, product: P }}\n"
    );
    let f = sources.add(SourceFile::new("o.yaml", order));
    let doc = read_order(f, sources.get(f)).expect("the order reads");
    let (plan, _) = decompose(&cat, &doc).expect("the order plans");
    (cat, plan)
}

/// The catalog's condition evaluated at run time with nothing decided
/// beforehand: an absent task's outputs are null.
fn truth(when: &Expr, seg: &str, ran: &BTreeMap<String, Outputs>) -> bool {
    when.holds(&mut |r| {
        Some(match r {
            Ref::Output {
                task: TaskRef::Local { task } | TaskRef::Order { task },
                output: o,
            } => output(ran, task, o),
            Ref::Customer { .. } => Value::String(seg.to_string()),
            Ref::OrderCount { action } => Value::Int((*action == OrderAction::Add).into()),
            _ => return None,
        })
    })
    .unwrap_or(false)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn plan_time_and_run_time_decide_every_condition_alike(
        c1 in condition(&["t0"]),
        c2 in condition(&["t0", "t1"]),
        on in any::<bool>(),
        o0 in outputs(),
        o1 in outputs(),
    ) {
        let seg = if on { "on" } else { "off" };
        let text = catalog_text(&c1, &c2);
        let (cat, plan) = plan(&text, seg);
        let returns = [o0, o1];
        // Run time with nothing decided at plan time.
        let mut ran_truth: BTreeMap<String, Outputs> = BTreeMap::new();
        for (i, t) in cat.order_tasks.iter().enumerate() {
            let runs = t.when.as_ref().is_none_or(|w| truth(w, seg, &ran_truth));
            if runs && i < 2 {
                ran_truth.insert(t.name.clone(), returns[i].clone());
            }
            // What the plan decided, and the executor then makes of the rest.
            let planned = plan.task(&t.name).map(|j| &plan.tasks[j]);
            let runs_planned = planned.is_some_and(|p| {
                p.when.as_ref().is_none_or(|w| {
                    w.holds(&mut |r| match r {
                        Ref::TaskOutput { task, output: o } => Some(output(&ran_truth, task, o)),
                        _ => None,
                    })
                    .unwrap_or(false)
                })
            });
            prop_assert_eq!(
                runs, runs_planned,
                "task {} of\n{}\nwith seg {:?}, returns {:?}; plan when: {:?}",
                t.name, text, seg, returns,
                planned.map(|p| p.when.as_ref().map(|w| w.to_string()))
            );
        }
    }
}
