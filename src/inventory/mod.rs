//! The installed base (SPEC §8.1): the product instances that completed
//! orders leave behind, what `modify` and `delete` items act on. The store
//! keeps them (`crate::store`); this module says what they are, how a
//! completed order changes them, and their public JSON shape.

mod inline;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::exec::{TaskRecord, TaskState};
use crate::model::Catalog;
use crate::order::OrderDoc;
use crate::plan::Plan;
use crate::store::{Store, StoreError};
use crate::syntax::ast::OrderAction;
use crate::value::Value;

/// A task's outputs by name.
pub type TaskOutputs = BTreeMap<String, Value>;

/// One product instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// `ORDER/ITEM`: `ORD-1001/1`, `ORD-1001/1/Broadband`.
    pub id: String,
    pub product: String,
    pub customer: String,
    pub status: InstanceStatus,
    /// The bundle's instance, for a bundle child's.
    pub parent: Option<String>,
    /// The resolved attributes, defaults applied.
    pub attributes: BTreeMap<String, Value>,
    /// The outputs of every task of the item that ran, by task name.
    pub outputs: BTreeMap<String, TaskOutputs>,
    /// The instances this one relies on (`relies on`), by id: what a delete
    /// of one of them must not leave behind. Not part of the public shape.
    pub relies_on: Vec<String>,
    pub created_by: String,
    pub updated_by: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InstanceStatus {
    Active,
    Terminated,
}

impl InstanceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceStatus::Active => "active",
            InstanceStatus::Terminated => "terminated",
        }
    }

    pub fn parse(text: &str) -> Option<InstanceStatus> {
        match text {
            "active" => Some(InstanceStatus::Active),
            "terminated" => Some(InstanceStatus::Terminated),
            _ => None,
        }
    }
}

/// Which instances `ordo inventory` lists; `None` matches any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceFilter {
    pub customer: Option<String>,
    pub product: Option<String>,
    pub status: Option<InstanceStatus>,
}

impl Instance {
    /// The public shape (`ordo inventory --format json`, SPEC §8.1): values
    /// as plain JSON, as actions see them.
    pub fn to_json(&self) -> serde_json::Value {
        let plain =
            |values: &BTreeMap<String, Value>| -> serde_json::Map<String, serde_json::Value> {
                values
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect()
            };
        let outputs: serde_json::Map<_, _> = self
            .outputs
            .iter()
            .map(|(task, outs)| (task.clone(), serde_json::Value::Object(plain(outs))))
            .collect();
        serde_json::json!({
            "id": self.id,
            "product": self.product,
            "customer": self.customer,
            "status": self.status.as_str(),
            "parent": self.parent,
            "attributes": plain(&self.attributes),
            "outputs": outputs,
            "created_by": self.created_by,
            "updated_by": self.updated_by,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }
}

/// The outputs of the tasks that ran (are `done`), by item id and task name.
pub fn outputs_by_item<'p>(
    plan: &'p Plan,
    records: &[TaskRecord],
) -> BTreeMap<&'p str, BTreeMap<String, TaskOutputs>> {
    let mut by_item: BTreeMap<&str, BTreeMap<String, TaskOutputs>> = BTreeMap::new();
    for (task, record) in plan.tasks.iter().zip(records) {
        if let (Some(item), TaskState::Done) = (&task.item, record.state) {
            by_item
                .entry(item)
                .or_default()
                .insert(task.name.clone(), record.outputs.clone());
        }
    }
    by_item
}

/// What an order is planned against: the instances its items name, and the
/// orders in flight that are changing them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InstalledBase {
    pub instances: BTreeMap<String, Instance>,
    /// Instance id → the order in flight (not yet ended) changing it.
    pub changing: BTreeMap<String, String>,
}

impl InstalledBase {
    /// The instances `order` names, read from `store`, and which other
    /// orders in flight change them.
    pub fn for_order(store: &dyn Store, order: &OrderDoc) -> Result<InstalledBase, StoreError> {
        InstalledBase::read(store, order, true)
    }

    /// [`InstalledBase::for_order`] for an order planned with `catalog`,
    /// reading the customer's active instances only when planning may look
    /// at them: when a product of the catalog relies on another, or an
    /// item names instances it relies on or deletes one (the delete guard
    /// of `relies on`). Otherwise none of them can change the plan, and an
    /// order of a customer with thousands of instances reads none.
    pub fn for_order_in(
        store: &dyn Store,
        catalog: &Catalog,
        order: &OrderDoc,
    ) -> Result<InstalledBase, StoreError> {
        let relies = catalog.products.values().any(|p| !p.relies_on.is_empty())
            || order
                .items
                .iter()
                .any(|i| !i.relies_on.is_empty() || i.action == OrderAction::Delete);
        InstalledBase::read(store, order, relies)
    }

    fn read(
        store: &dyn Store,
        order: &OrderDoc,
        customer: bool,
    ) -> Result<InstalledBase, StoreError> {
        let mut base = InstalledBase::default();
        // The customer's active instances, which `relies on` may rely on.
        if customer {
            let active = InstanceFilter {
                customer: Some(order.customer_id()),
                status: Some(InstanceStatus::Active),
                ..InstanceFilter::default()
            };
            for instance in store.instances(&active)? {
                base.instances.insert(instance.id.clone(), instance);
            }
        }
        for (id, _) in order.items.iter().filter_map(|i| i.instance.as_ref()) {
            if let Some(instance) = store.instance(id)? {
                // A bundle's children, which its modify or delete changes too.
                let children = InstanceFilter {
                    customer: Some(instance.customer.clone()),
                    ..InstanceFilter::default()
                };
                for child in store.instances(&children)? {
                    if child.parent.as_deref() == Some(id) {
                        base.instances.insert(child.id.clone(), child);
                    }
                }
                base.instances.insert(id.clone(), instance);
            }
            if let Some(other) = store.changing(id)?.filter(|o| *o != order.id) {
                base.changing.insert(id.clone(), other);
            }
        }
        Ok(base)
    }
}
