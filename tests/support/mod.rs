//! Plans built by hand for the store's tests and benchmark: the store only
//! needs their shape (ids, items, points of no return), not a catalog.
#![allow(dead_code)]

use std::collections::BTreeMap;

use ordo::model::Type;
use ordo::plan::{Plan, PlanItem, PlanTask, Price};
use ordo::syntax::ast::OrderAction;
use ordo::value::Money;

pub fn euros() -> Money {
    Money {
        amount: Default::default(),
        currency: "EUR".into(),
    }
}

pub fn task(id: &str, after: &[usize], point_of_no_return: bool) -> PlanTask {
    let (item, name) = match id.rsplit_once('/') {
        Some((item, name)) => (Some(item.to_string()), name.to_string()),
        None => (None, id.to_string()),
    };
    PlanTask {
        id: id.into(),
        product: item.as_ref().map(|_| "Broadband".to_string()),
        item,
        name: name.clone(),
        action: format!("sys.{name}"),
        stage: 0,
        after: after.to_vec(),
        inputs: Vec::new(),
        optional_inputs: Vec::new(),
        when: None,
        requires: Vec::new(),
        retry: None,
        timeout_ms: None,
        undo: None,
        point_of_no_return,
        outputs: vec![("ref".into(), Type::String)].into(),
        manual: None,
        wait: None,
    }
}

pub fn plan(order: &str, tasks: Vec<PlanTask>) -> Plan {
    Plan {
        order: order.into(),
        catalog_hash: "c0ffee".into(),
        stages: vec!["fulfil".into()],
        items: vec![PlanItem {
            id: "1".into(),
            product: "Broadband".into(),
            action: OrderAction::Add,
            parent: None,
            instance: None,
            relies_on: Vec::new(),
            attributes: BTreeMap::new(),
            price: Price {
                once: euros(),
                monthly: euros(),
            },
            was: None,
            priced: true,
            sla: Vec::new(),
        }],
        critical_path: (0..tasks.len()).collect(),
        tasks,
        price: Price {
            once: euros(),
            monthly: euros(),
        },
        enums: BTreeMap::new(),
        requested_start: None,
        requested_completion: None,
    }
}

/// credit (order-level) → 1/reserve_port → 1/ship_cpe (point of no return) → 1/activate
pub fn broadband(order: &str) -> Plan {
    plan(
        order,
        vec![
            task("credit", &[], false),
            task("1/reserve_port", &[0], false),
            task("1/ship_cpe", &[1], true),
            task("1/activate", &[2], false),
        ],
    )
}

/// `n` independent tasks of item 1.
pub fn synthetic(order: &str, n: usize) -> Plan {
    plan(
        order,
        (0..n)
            .map(|i| task(&format!("1/t{i}"), &[], false))
            .collect(),
    )
}

pub fn document(order: &str) -> serde_json::Value {
    serde_json::json!({
        "id": order,
        "customer": { "id": "C-42" },
        "items": [{ "id": "1", "action": "add", "product": "Broadband" }]
    })
}
