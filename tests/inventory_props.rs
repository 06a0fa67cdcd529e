//! The installed base as a law: for random sequences of add, modify and
//! delete orders, some of which fail, the store's instances equal a model
//! computed independently from the orders that completed.

use std::collections::BTreeMap;

use ordo::compile::compile;
use ordo::exec::{ActionError, Bindings, Event, ExecOptions, Executor, OrderState, Request};
use ordo::inventory::{InstalledBase, InstanceFilter};
use ordo::order::read_order;
use ordo::plan::decompose_on;
use ordo::source::{SourceFile, Sources};
use ordo::store::{SqliteStore, Store};
use proptest::prelude::*;
use serde_json::{json, Value};

const CATALOG: &str = r#"
action net.activate(speed: string) -> (circuit: string)
action net.change(circuit: string, speed: string)
action net.cease(circuit: string)

product Line {
  attr address: string
  attr speed: string = "500M"
  attr tier: int = 1

  on add {
    task activate: net.activate(speed: speed)
  }
  on modify {
    task change: net.change(circuit: installed.activate.circuit ?? "none", speed: speed)
  }
  on delete {
    task cease: net.cease(circuit: installed.activate.circuit ?? "none")
  }
}
"#;

#[derive(Debug, Clone)]
enum Op {
    Add {
        customer: u8,
        speed: Option<&'static str>,
        tier: Option<i64>,
    },
    /// Of the `target`-th instance created so far (modulo their number).
    Modify {
        target: usize,
        speed: Option<&'static str>,
        tier: Option<i64>,
    },
    Delete {
        target: usize,
    },
}

#[derive(Debug, Clone)]
struct Step {
    op: Op,
    fails: bool,
}

fn speed() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(prop::sample::select(vec!["100M", "500M", "1G"]))
}

fn step() -> impl Strategy<Value = Step> {
    let op = prop_oneof![
        (0u8..2, speed(), prop::option::of(1i64..4)).prop_map(|(customer, speed, tier)| Op::Add {
            customer,
            speed,
            tier
        }),
        (any::<usize>(), speed(), prop::option::of(1i64..4)).prop_map(|(target, speed, tier)| {
            Op::Modify {
                target,
                speed,
                tier,
            }
        }),
        any::<usize>().prop_map(|target| Op::Delete { target }),
    ];
    (op, prop::bool::weighted(0.2)).prop_map(|(op, fails)| Step { op, fails })
}

/// The model: instance id → its public JSON, without the timestamps.
type Model = BTreeMap<String, Value>;

fn attrs_yaml(speed: Option<&str>, tier: Option<i64>, address: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(a) = address {
        parts.push(format!("address: \"{a}\""));
    }
    if let Some(s) = speed {
        parts.push(format!("speed: \"{s}\""));
    }
    if let Some(t) = tier {
        parts.push(format!("tier: {t}"));
    }
    format!("{{ {} }}", parts.join(", "))
}

fn without_times(mut v: Value) -> Value {
    let o = v.as_object_mut().unwrap();
    o.remove("created_at");
    o.remove("updated_at");
    o.remove("outputs");
    v
}

fn run_sequence(steps: &[Step]) {
    let mut sources = Sources::new();
    sources.add(SourceFile::new("c.ordo", CATALOG));
    let (catalog, diags) = compile(&sources);
    let catalog = catalog.unwrap_or_else(|| panic!("{diags:?}"));
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join(".ordo")).unwrap();
    let ok = Bindings::default();
    let mut failing = Bindings::default();
    failing
        .register("*", |_: &Request| {
            Err(ActionError {
                message: "refused".into(),
                retryable: false,
            })
        })
        .unwrap();

    let mut model = Model::new();
    // Every instance created so far, in creation order, with its customer.
    let mut created: Vec<(String, String)> = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        let order = format!("ORD-{n}");
        let (customer, item) = match &step.op {
            Op::Add {
                customer,
                speed,
                tier,
            } => (
                format!("C-{customer}"),
                format!(
                    "action: add\n    product: Line\n    attributes: {}",
                    attrs_yaml(*speed, *tier, Some(&format!("{n} Main St")))
                ),
            ),
            // Nothing to change yet.
            Op::Modify { .. } | Op::Delete { .. } if created.is_empty() => continue,
            Op::Modify {
                target,
                speed,
                tier,
            } => {
                let (id, customer) = &created[target % created.len()];
                (
                    customer.clone(),
                    format!(
                        "action: modify\n    instance: {id}\n    attributes: {}",
                        attrs_yaml(*speed, *tier, None)
                    ),
                )
            }
            Op::Delete { target } => {
                let (id, customer) = &created[target % created.len()];
                (
                    customer.clone(),
                    format!("action: delete\n    instance: {id}"),
                )
            }
        };
        let text = format!(
            "id: {order}\ncustomer: {{ id: {customer} }}\nitems:\n  - id: \"1\"\n    {item}\n"
        );
        let file = sources.add(SourceFile::new(format!("{order}.yaml"), text));
        let doc = read_order(file, sources.get(file)).unwrap();
        let base = InstalledBase::for_order(&store, &doc).unwrap();
        let target = doc.items[0].instance.as_ref().map(|(id, _)| id.clone());
        let planned = decompose_on(&catalog, &doc, &base);
        // The model says whether the order may be placed at all: a
        // terminated instance cannot be changed.
        let terminated = target
            .as_ref()
            .is_some_and(|id| model[id]["status"] == "terminated");
        let Ok((plan, _)) = planned else {
            assert!(terminated, "{order} refused: {:?}", planned.err());
            continue;
        };
        assert!(!terminated, "{order} on a terminated instance was planned");
        store
            .create_order(
                &plan,
                &json!({ "id": order, "customer": { "id": customer } }),
            )
            .unwrap();
        let lock = store.acquire_runner(&order).unwrap();
        let mut journal = store.journal(&lock).unwrap();
        let bindings = if step.fails { &failing } else { &ok };
        let executor = Executor::new(&plan, bindings, ExecOptions::default()).unwrap();
        let outcome = executor
            .run(Vec::new(), &mut journal, &mut |_: &Event| {})
            .unwrap();
        drop(lock);
        if outcome.state != OrderState::Completed {
            assert!(step.fails, "{order}: {outcome:?}");
            continue;
        }
        assert!(!step.fails);
        // The model's own account of what the completed order did.
        match &step.op {
            Op::Add { speed, tier, .. } => {
                let id = format!("{order}/1");
                model.insert(
                    id.clone(),
                    json!({
                        "id": id, "product": "Line", "customer": customer,
                        "status": "active", "parent": null,
                        "attributes": {
                            "address": format!("{n} Main St"),
                            "speed": speed.unwrap_or("500M"),
                            "tier": tier.unwrap_or(1),
                        },
                        "created_by": order, "updated_by": order,
                    }),
                );
                created.push((id, customer));
            }
            Op::Modify { speed, tier, .. } => {
                let m = model.get_mut(target.as_ref().unwrap()).unwrap();
                if let Some(s) = speed {
                    m["attributes"]["speed"] = json!(s);
                }
                if let Some(t) = tier {
                    m["attributes"]["tier"] = json!(t);
                }
                m["updated_by"] = json!(order);
            }
            Op::Delete { .. } => {
                let m = model.get_mut(target.as_ref().unwrap()).unwrap();
                m["status"] = json!("terminated");
                m["updated_by"] = json!(order);
            }
        }
    }
    let stored: Model = store
        .instances(&InstanceFilter::default())
        .unwrap()
        .iter()
        .map(|i| (i.id.clone(), without_times(i.to_json())))
        .collect();
    assert_eq!(stored, model);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_inventory_equals_the_model_of_the_completed_orders(steps in prop::collection::vec(step(), 1..10)) {
        run_sequence(&steps);
    }
}
