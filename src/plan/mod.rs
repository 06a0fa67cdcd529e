//! The order plan: the task DAG an order decomposes into (SPEC §5), and the
//! decomposition that builds it from a catalog and an order.
//!
//! A plan is self-contained: every attribute, price and order field is
//! already substituted into its expressions, so it can be stored with the
//! order and executed (or resumed) without the catalog.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{Expr, Require, Retry, Type};
use crate::syntax::ast::OrderAction;
use crate::value::{format_instant, parse_instant, Money, Value};
use chrono::{DateTime, Utc};

/// Index of a task in [`Plan::tasks`].
pub type TaskIdx = usize;

/// An action's declared outputs, by name and type. Shared: a plan of 100,000
/// tasks holds one copy per action, not one per task.
pub type Outputs = std::sync::Arc<[(String, Type)]>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub order: String,
    /// SHA-256 of the catalog the plan was made from.
    pub catalog_hash: String,
    pub stages: Vec<String>,
    pub items: Vec<PlanItem>,
    /// In a deterministic topological order that respects stages.
    pub tasks: Vec<PlanTask>,
    /// The longest chain of dependencies (stage barriers included), as indices.
    pub critical_path: Vec<TaskIdx>,
    pub price: Price,
    /// The values of every enum a task or undo output is declared with, so
    /// outputs can be checked (and simulated) without the catalog.
    #[serde(default)]
    pub enums: BTreeMap<String, Vec<String>>,
    /// The order's `requested_start` (RFC 3339, UTC), when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_start: Option<String>,
    /// The order's `requested_completion` (RFC 3339, UTC), when it gives
    /// one: the order's due date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_completion: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Price {
    pub once: Money,
    pub monthly: Money,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanItem {
    /// `1` for an order item, `1/Broadband` for a bundle's child.
    pub id: String,
    pub product: String,
    pub action: OrderAction,
    /// The bundle item a child belongs to.
    pub parent: Option<String>,
    /// The instance a `modify` or `delete` item changes (SPEC §8.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The instances an `add` item relies on: those of the items of this
    /// order it relies on (`ORDER/ITEM`), or installed ones.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relies_on: Vec<String>,
    pub attributes: BTreeMap<String, Value>,
    /// The item's own price (a bundle's replaces its children's).
    pub price: Price,
    /// A `modify` item's instance's current monthly price, which
    /// `price.monthly` replaces (SPEC §8.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub was: Option<Money>,
    /// Whether the price counts toward the order total (false for children of
    /// a bundle with its own price lines).
    pub priced: bool,
    pub sla: Vec<(String, Value)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanTask {
    /// `NAME`, `ITEM/NAME` or `ITEM/CHILD/NAME`.
    pub id: String,
    pub item: Option<String>,
    pub product: Option<String>,
    pub name: String,
    pub action: String,
    pub stage: usize,
    /// Direct dependencies from `after` clauses and data references. Stage
    /// barriers are implied by `stage` and not listed.
    pub after: Vec<TaskIdx>,
    /// Inputs in the action's parameter order. The only references left are
    /// `Ref::TaskOutput`.
    pub inputs: Vec<(String, Expr)>,
    /// The inputs the action declares optional (`note?: string`): only these
    /// may be null when the task runs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optional_inputs: Vec<String>,
    /// A condition decided at run time (on outputs); plan-time conditions
    /// have already removed the task or not. Boxed, as `undo` and `wait`:
    /// most tasks have none, and inline they were a third of every task.
    pub when: Option<Box<Expr>>,
    pub requires: Vec<Require>,
    pub retry: Option<Retry>,
    pub timeout_ms: Option<u64>,
    pub undo: Option<Box<PlanCall>>,
    pub point_of_no_return: bool,
    /// The action's declared outputs (shared by every task of that action).
    pub outputs: Outputs,
    /// The team whose people do the task (`manual "TEAM"`): when it is
    /// ready it becomes a work item instead of a call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<String>,
    /// What the task waits for once its dependencies are done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<Box<PlanWait>>,
}

/// A task's wait (`wait until EXPR`, `wait D`), as the catalog's model
/// holds it: in a plan, `Until`'s expression has had its plan-time
/// references substituted (a literal when it could be folded).
pub use crate::model::Wait as PlanWait;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanCall {
    pub action: String,
    pub inputs: Vec<(String, Expr)>,
    /// As [`PlanTask::optional_inputs`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub optional_inputs: Vec<String>,
    /// The undo action's declared outputs (for simulation).
    pub outputs: Outputs,
}

impl Plan {
    pub fn task(&self, id: &str) -> Option<TaskIdx> {
        self.tasks.iter().position(|t| t.id == id)
    }

    /// The longest `sla install` of the order's items, in milliseconds: with
    /// the order's creation time, its due date when it gives no
    /// `requested_completion`.
    pub fn longest_install_sla_ms(&self) -> Option<u64> {
        self.install_slas().max()
    }

    /// The order's due date, its creation time being `created`: its
    /// `requested_completion`, else `created` plus the longest `sla install`
    /// of its items; `None` when it has neither.
    pub fn due_at(&self, created: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if let Some(at) = self.requested_completion.as_deref() {
            return parse_instant(at);
        }
        let ms = i64::try_from(self.longest_install_sla_ms()?).ok()?;
        created.checked_add_signed(chrono::TimeDelta::milliseconds(ms))
    }

    fn install_slas(&self) -> impl Iterator<Item = u64> + '_ {
        self.items
            .iter()
            .flat_map(|i| i.sla.iter())
            .filter_map(|(name, value)| match value {
                Value::Duration(ms) if name == "install" => Some(*ms),
                _ => None,
            })
    }
}

mod build;
mod due;
mod instance;
mod items;
mod limits;
mod price;
mod relies;
pub mod render;
pub mod revision;

pub use due::overdue;
pub use limits::PlanLimits;

use crate::diagnostic::Diagnostics;
use crate::inventory::InstalledBase;
use crate::model::Catalog;
use crate::order::OrderDoc;

/// Decomposes an order into its plan. On success, returns the plan and any
/// warnings; otherwise every error found.
pub fn decompose(catalog: &Catalog, order: &OrderDoc) -> Result<(Plan, Diagnostics), Diagnostics> {
    decompose_on(catalog, order, &InstalledBase::default())
}

/// [`decompose`] against an installed base: the instances the order's
/// `modify` and `delete` items name (SPEC §8.1).
pub fn decompose_on(
    catalog: &Catalog,
    order: &OrderDoc,
    base: &InstalledBase,
) -> Result<(Plan, Diagnostics), Diagnostics> {
    let limits = match PlanLimits::from_env() {
        Ok(limits) => limits,
        Err(message) => return Err(PlanLimits::misset(message, order).into()),
    };
    decompose_within(catalog, order, base, &limits)
}

/// [`decompose_on`] within the given limits rather than the environment's.
pub fn decompose_within(
    catalog: &Catalog,
    order: &OrderDoc,
    base: &InstalledBase,
    limits: &PlanLimits,
) -> Result<(Plan, Diagnostics), Diagnostics> {
    let mut diags = Diagnostics::new();
    let checked = items::check_items(catalog, order, base, &mut diags);
    if diags.has_errors() {
        diags.sort();
        return Err(diags);
    }
    let built = build::build_tasks(catalog, order, &checked, base, limits, &mut diags);
    diags.sort();
    let Some(built) = built.filter(|_| !diags.has_errors()) else {
        return Err(diags);
    };
    let items = checked
        .items
        .iter()
        .map(|i| PlanItem {
            id: i.id.clone(),
            product: i.product.name.clone(),
            action: i.action,
            parent: i.parent.map(|p| checked.items[p].id.clone()),
            instance: i.instance.clone(),
            relies_on: relied_instances(order, &checked.items, i),
            attributes: i.attrs.clone(),
            price: i.price.clone(),
            was: i.was.clone(),
            priced: i.priced,
            sla: i.sla.clone(),
        })
        .collect();
    let enums = output_enums(catalog, &built.tasks);
    let plan = Plan {
        order: order.id.clone(),
        catalog_hash: catalog.hash.clone(),
        stages: catalog.stages.clone(),
        items,
        tasks: built.tasks,
        critical_path: built.critical_path,
        price: checked.price,
        enums,
        requested_start: order.requested_start.map(|(t, _)| format_instant(t)),
        requested_completion: order.requested_completion.map(|(t, _)| format_instant(t)),
    };
    Ok((plan, diags))
}

/// The instances `item` relies on, by id: an item of the order stands for
/// the instance it changes or will become.
fn relied_instances(
    order: &OrderDoc,
    items: &[items::Item<'_>],
    item: &items::Item<'_>,
) -> Vec<String> {
    let of_items = item.relied.values().map(|&j| {
        items[j]
            .instance
            .clone()
            .unwrap_or_else(|| format!("{}/{}", order.id, items[j].id))
    });
    let mut ids: Vec<String> = of_items
        .chain(item.relied_instances.values().cloned())
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

/// The values of the enums that task and undo outputs are declared with.
fn output_enums(catalog: &Catalog, tasks: &[PlanTask]) -> BTreeMap<String, Vec<String>> {
    let outputs = tasks.iter().flat_map(|t| {
        t.outputs
            .iter()
            .chain(t.undo.iter().flat_map(|u| u.outputs.iter()))
    });
    let mut enums = BTreeMap::new();
    for (_, ty) in outputs {
        if let Type::Enum { name } = ty {
            if let Some(e) = catalog.enums.get(name) {
                enums
                    .entry(name.clone())
                    .or_insert_with(|| e.values.clone());
            }
        }
    }
    enums
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::span::Span;

    /// A task as plans stored before manual tasks and waits were written.
    fn stored_task() -> serde_json::Value {
        serde_json::json!({
            "id": "1/t", "item": "1", "product": "P", "name": "t",
            "action": "a.b", "stage": 0, "after": [], "inputs": [], "when": null,
            "requires": [], "retry": null, "timeout_ms": null, "undo": null,
            "point_of_no_return": false, "outputs": []
        })
    }

    fn stored_plan(sla: serde_json::Value) -> serde_json::Value {
        let zero = serde_json::to_value(Money {
            amount: Default::default(),
            currency: "EUR".into(),
        })
        .unwrap();
        serde_json::json!({
            "order": "O-1", "catalog_hash": "h", "stages": ["s"],
            "items": [{
                "id": "1", "product": "P", "action": "add", "parent": null,
                "attributes": {}, "price": { "once": zero, "monthly": zero },
                "priced": true, "sla": sla
            }],
            "tasks": [stored_task()], "critical_path": [0],
            "price": { "once": zero, "monthly": zero }
        })
    }

    #[test]
    fn plans_stored_before_waits_load_without_them() {
        let plan: Plan = serde_json::from_value(stored_plan(serde_json::json!([]))).unwrap();
        assert_eq!(plan.tasks[0].manual, None);
        assert_eq!(plan.tasks[0].wait, None);
        assert_eq!(plan.requested_start, None);
        assert_eq!(plan.requested_completion, None);
        // And a plan without them is written as before.
        let written = serde_json::to_value(&plan).unwrap();
        assert!(written["tasks"][0].get("manual").is_none());
        assert!(written["tasks"][0].get("wait").is_none());
        assert!(written.get("requested_start").is_none());
    }

    #[test]
    fn teams_waits_and_requested_dates_survive_the_store() {
        let mut plan: Plan = serde_json::from_value(stored_plan(serde_json::json!([]))).unwrap();
        plan.requested_start = Some("2026-12-05T00:00:00Z".into());
        plan.requested_completion = Some("2026-12-20T16:00:00Z".into());
        plan.tasks[0].manual = Some("field-ops".into());
        let until = Expr::lit(
            Value::Date(chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap()),
            Type::Date,
            Span::default(),
        );
        for wait in [PlanWait::Until(until), PlanWait::After { ms: 7_200_000 }] {
            plan.tasks[0].wait = Some(Box::new(wait));
            let text = serde_json::to_string(&plan).unwrap();
            assert_eq!(serde_json::from_str::<Plan>(&text).unwrap(), plan);
        }
    }

    #[test]
    fn the_longest_install_sla_is_the_due_dates_length() {
        let day = 86_400_000u64;
        let sla = serde_json::json!([
            ["restore", { "type": "duration", "value": 8 * 3_600_000u64 }],
            ["install", { "type": "duration", "value": 10 * day }],
            ["availability", { "type": "percent", "value": "99.9" }]
        ]);
        let mut plan: Plan = serde_json::from_value(stored_plan(sla)).unwrap();
        assert_eq!(plan.longest_install_sla_ms(), Some(10 * day));
        let mut other = plan.items[0].clone();
        other.id = "2".into();
        other.sla = vec![("install".into(), Value::Duration(14 * day))];
        plan.items.push(other);
        assert_eq!(plan.longest_install_sla_ms(), Some(14 * day));
        let created = parse_instant("2026-12-01T10:00:00Z").unwrap();
        let due = plan.due_at(created).map(format_instant);
        assert_eq!(due.as_deref(), Some("2026-12-15T10:00:00Z"));
        // The customer's date wins.
        plan.requested_completion = Some("2026-12-20T16:00:00Z".into());
        let due = plan.due_at(created).map(format_instant);
        assert_eq!(due.as_deref(), Some("2026-12-20T16:00:00Z"));
        plan.requested_completion = None;
        plan.items.iter_mut().for_each(|i| i.sla.clear());
        assert_eq!(plan.longest_install_sla_ms(), None);
        assert_eq!(plan.due_at(created), None);
    }

    #[test]
    fn a_wait_gives_the_earliest_start() {
        let done = parse_instant("2026-12-01T10:00:00Z").unwrap();
        let at = |w: PlanWait, out: Option<Value>| {
            w.not_before(done, &mut |_| out.clone())
                .map(|t| t.map(format_instant))
        };
        let after = PlanWait::After { ms: 7_200_000 };
        assert_eq!(
            at(after, None).unwrap().as_deref(),
            Some("2026-12-01T12:00:00Z")
        );
        let read = Expr {
            kind: crate::model::ExprKind::Ref(crate::model::Ref::TaskOutput {
                task: "1/book".into(),
                output: "day".into(),
            }),
            ty: Type::Date,
            span: Span::default(),
        };
        let day = Value::Date(chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap());
        let until = PlanWait::Until(read);
        assert_eq!(
            at(until.clone(), Some(day)).unwrap().as_deref(),
            Some("2026-12-05T00:00:00Z")
        );
        // A null date does not wait; an output not yet known is an error.
        assert_eq!(at(until.clone(), Some(Value::Null)).unwrap(), None);
        assert!(at(until, None).is_err());
        assert!(at(PlanWait::After { ms: u64::MAX }, None).is_err());
    }
}
