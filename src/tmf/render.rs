//! ordo's orders and instances in TM Forum's terms: TMF622 order, item and
//! cancellation states, the ProductOrder resource, TMF's error shape, and
//! the TMF637 Product.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as J};

use super::request::{ProductOrderRequest, RequestItem};
use crate::exec::{OrderState, TaskState};
use crate::inventory::{Instance, InstanceStatus};
use crate::store::OrderStatus;

/// What TMF622 keeps of a ProductOrder beside ordo's order: stored with it,
/// read back to render the resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TmfOrder {
    pub external_ids: Vec<String>,
    pub requested_start_date: Option<String>,
    pub requested_completion_date: Option<String>,
    pub items: Vec<TmfItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TmfItem {
    pub id: String,
    pub action: String,
    pub ordo_item: Option<String>,
}

impl From<&ProductOrderRequest> for TmfOrder {
    fn from(r: &ProductOrderRequest) -> TmfOrder {
        TmfOrder {
            external_ids: r.external_ids.clone(),
            requested_start_date: r.requested_start_date.clone(),
            requested_completion_date: r.requested_completion_date.clone(),
            items: r.items.iter().map(TmfItem::from).collect(),
        }
    }
}

impl From<&RequestItem> for TmfItem {
    fn from(i: &RequestItem) -> TmfItem {
        TmfItem {
            id: i.id.clone(),
            action: i.action.clone(),
            ordo_item: i.ordo_item.clone(),
        }
    }
}

/// The TMF622 state of an order. A cancel being assessed (asked for, no
/// undo started yet) is `assessingCancellation`; once compensation runs,
/// `pendingCancellation`.
pub fn order_state(status: &OrderStatus) -> &'static str {
    match status.state {
        OrderState::Acknowledged if status.cancel_requested => "assessingCancellation",
        OrderState::InProgress if status.cancel_requested => {
            let undoing = status
                .tasks
                .iter()
                .any(|t| t.undoing || t.state == TaskState::Compensated);
            if undoing {
                "pendingCancellation"
            } else {
                "assessingCancellation"
            }
        }
        OrderState::Acknowledged => "acknowledged",
        OrderState::InProgress => "inProgress",
        OrderState::Completed => "completed",
        OrderState::Failed => "failed",
        OrderState::Cancelled => "cancelled",
        OrderState::Held => "held",
    }
}

/// The TMF622 state of an order item, from its tasks' states (a bundle's
/// item from its own and its children's). An item with no tasks follows its
/// order.
pub fn item_state(status: &OrderStatus, ordo_item: Option<&str>) -> &'static str {
    let Some(item) = ordo_item else {
        return match status.state {
            OrderState::Completed => "completed",
            _ => order_state(status),
        };
    };
    let child = format!("{item}/");
    let states: Vec<TaskState> = status
        .tasks
        .iter()
        .filter(|t| {
            t.item
                .as_deref()
                .is_some_and(|i| i == item || i.starts_with(&child))
        })
        .map(|t| t.state)
        .collect();
    let any = |s: TaskState| states.contains(&s);
    let all_finished = states
        .iter()
        .all(|s| matches!(s, TaskState::Done | TaskState::Skipped));
    match status.state {
        OrderState::Completed => "completed",
        OrderState::Cancelled => "cancelled",
        _ if states.is_empty() => order_state(status),
        _ if any(TaskState::Failed) => "failed",
        _ if any(TaskState::Compensated) || any(TaskState::Cancelled) => "cancelled",
        OrderState::Held => "held",
        _ if all_finished => "completed",
        _ if any(TaskState::Running) || any(TaskState::Done) || any(TaskState::Skipped) => {
            "inProgress"
        }
        _ => "acknowledged",
    }
}

/// The state of a `cancelProductOrder` request: `inProgress` while the
/// order winds down, `done` once it is cancelled, `terminatedWithError`
/// when it ended any other way (past a point of no return, it completes or
/// is held instead).
pub fn cancel_state(order: OrderState) -> &'static str {
    match order {
        OrderState::Acknowledged | OrderState::InProgress => "inProgress",
        OrderState::Cancelled => "done",
        OrderState::Completed | OrderState::Failed | OrderState::Held => "terminatedWithError",
    }
}

/// The ProductOrder resource of a stored order.
pub fn product_order(status: &OrderStatus, tmf: &TmfOrder, href: &str, v5: bool) -> J {
    let items: Vec<J> = tmf
        .items
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "action": i.action,
                "state": item_state(status, i.ordo_item.as_deref()),
                "@type": "ProductOrderItem",
            })
        })
        .collect();
    let external = if v5 {
        J::Array(
            tmf.external_ids
                .iter()
                .map(|id| json!({"id": id, "@type": "ExternalIdentifier"}))
                .collect(),
        )
    } else {
        match tmf.external_ids.first() {
            Some(id) => J::String(id.clone()),
            None => J::Null,
        }
    };
    let mut out = json!({
        "id": status.order,
        "href": href,
        "state": order_state(status),
        "orderDate": status.created_at,
        "productOrderItem": items,
        "@type": "ProductOrder",
    });
    let fields = out.as_object_mut().expect("an object");
    let mut optional = |key: &str, v: J| {
        if !v.is_null() && v != J::Array(Vec::new()) {
            fields.insert(key.to_string(), v);
        }
    };
    optional("externalId", external);
    optional("requestedStartDate", json!(tmf.requested_start_date));
    optional(
        "requestedCompletionDate",
        json!(tmf.requested_completion_date),
    );
    if status.state == OrderState::Completed {
        optional("completionDate", json!(status.updated_at));
    }
    out
}

/// TMF's error shape, with ordo's diagnostics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TmfError {
    pub code: String,
    pub reason: String,
    pub message: String,
    pub status: String,
    #[serde(rename = "@type")]
    pub kind: &'static str,
    pub diagnostics: Vec<J>,
}

pub fn error_body(status: u16, reason: &str, message: &str, diagnostics: Vec<J>) -> TmfError {
    TmfError {
        code: status.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        status: status.to_string(),
        kind: "Error",
        diagnostics,
    }
}

/// An instance of the installed base as a TMF637 Product.
pub fn product_from_instance(instance: &Instance, href: &str) -> J {
    let characteristics: Vec<J> = instance
        .attributes
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value.to_json()}))
        .collect();
    let orders: BTreeMap<&str, ()> = [instance.created_by.as_str(), instance.updated_by.as_str()]
        .into_iter()
        .map(|o| (o, ()))
        .collect();
    let item = instance
        .id
        .strip_prefix(&format!("{}/", instance.created_by))
        .unwrap_or(&instance.id);
    let order_items: Vec<J> = orders
        .keys()
        .map(|order| {
            json!({
                "productOrderId": order,
                "orderItemId": item,
                "role": if *order == instance.created_by { "created" } else { "updated" },
                "@type": "RelatedProductOrderItem",
            })
        })
        .collect();
    let mut out = json!({
        "id": instance.id,
        "href": href,
        "name": instance.product,
        "status": match instance.status {
            InstanceStatus::Active => "active",
            InstanceStatus::Terminated => "terminated",
        },
        "isBundle": false,
        "productSpecification": {"id": instance.product, "name": instance.product, "@type": "ProductSpecificationRef"},
        "productCharacteristic": characteristics,
        "relatedParty": [{"id": instance.customer, "role": "Customer", "@referredType": "Customer", "@type": "RelatedParty"}],
        "productOrderItem": order_items,
        "creationDate": instance.created_at,
        "@type": "Product",
    });
    if let Some(parent) = &instance.parent {
        out["productRelationship"] =
            json!([{"relationshipType": "bundled", "id": parent, "@type": "ProductRelationship"}]);
    }
    out
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
