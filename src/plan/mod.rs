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
use crate::value::{Money, Value};

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
    /// have already removed the task or not.
    pub when: Option<Expr>,
    pub requires: Vec<Require>,
    pub retry: Option<Retry>,
    pub timeout_ms: Option<u64>,
    pub undo: Option<PlanCall>,
    pub point_of_no_return: bool,
    /// The action's declared outputs (shared by every task of that action).
    pub outputs: Outputs,
    /// The team whose people do the task (`manual "TEAM"`): when it is
    /// ready it becomes a work item instead of a call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<String>,
    /// What the task waits for once its dependencies are done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<PlanWait>,
}

/// A task's wait (`wait until EXPR`, `wait D`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanWait {
    /// No earlier than this instant: a date or datetime expression, folded
    /// at plan time when it can be (else evaluated at dispatch against
    /// outputs, like inputs). Null does not wait.
    Until(Expr),
    /// No earlier than `ms` milliseconds after the task's dependencies are
    /// done.
    After { ms: u64 },
}

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
        self.items
            .iter()
            .flat_map(|i| i.sla.iter())
            .filter_map(|(name, value)| match value {
                Value::Duration(ms) if name == "install" => Some(*ms),
                _ => None,
            })
            .max()
    }
}

mod build;
mod due;
mod instance;
mod items;
pub mod render;

pub use due::overdue;

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
    let mut diags = Diagnostics::new();
    let checked = items::check_items(catalog, order, base, &mut diags);
    if diags.has_errors() {
        diags.sort();
        return Err(diags);
    }
    let built = build::build_tasks(catalog, order, &checked, base, &mut diags);
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
        requested_start: None,
        requested_completion: None,
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
