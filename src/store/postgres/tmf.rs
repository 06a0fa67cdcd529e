//! The TMF records (ProductOrder metadata, cancel requests, hub
//! subscriptions, the notification outbox) are kept by the SQLite store
//! only, so far: the PostgreSQL store refuses each of these calls with
//! `ordo::store::unsupported`, before writing anything, so that the TMF622
//! API on PostgreSQL fails loudly instead of losing its records. ordo's own
//! `/api/v1`, the engine and the CLI do not call them.

use super::super::{Delivery, StoreError, TmfCancel, TmfHub, TmfRecord};
use crate::exec::BindingsRecord;
use crate::plan::Plan;

fn unsupported<T>(what: &'static str) -> Result<T, StoreError> {
    Err(StoreError::Unsupported { what })
}

const ORDERS: &str = "TMF622 ProductOrder records";
const CANCELS: &str = "TMF622 cancelProductOrder requests";
const HUBS: &str = "TMF622 hub subscriptions and their outbox";

impl super::PgStore {
    pub(super) fn create_tmf_order_(
        &self,
        _plan: &Plan,
        _document: &serde_json::Value,
        _bindings: Option<&BindingsRecord>,
        _tmf: &TmfRecord,
    ) -> Result<(), StoreError> {
        unsupported(ORDERS)
    }

    /// No order on this store came as a ProductOrder.
    pub(super) fn tmf_order_(&self, _order: &str) -> Result<Option<TmfRecord>, StoreError> {
        Ok(None)
    }

    pub(super) fn set_tmf_order_(&self, _order: &str, _tmf: &TmfRecord) -> Result<(), StoreError> {
        unsupported(ORDERS)
    }

    pub(super) fn tmf_orders_(
        &self,
        _external_id: Option<&str>,
    ) -> Result<Vec<String>, StoreError> {
        unsupported(ORDERS)
    }

    pub(super) fn create_tmf_cancel_(
        &self,
        _order: &str,
        _api_version: &str,
        _reason: Option<&str>,
        _refused: Option<&str>,
    ) -> Result<TmfCancel, StoreError> {
        unsupported(CANCELS)
    }

    pub(super) fn tmf_cancel_(&self, _id: &str) -> Result<Option<TmfCancel>, StoreError> {
        unsupported(CANCELS)
    }

    pub(super) fn create_hub_(
        &self,
        _callback: &str,
        _query: Option<&str>,
    ) -> Result<TmfHub, StoreError> {
        unsupported(HUBS)
    }

    pub(super) fn delete_hub_(&self, _id: &str) -> Result<bool, StoreError> {
        unsupported(HUBS)
    }

    /// No subscription can exist on this store: nothing to notify.
    pub(super) fn hubs_(&self) -> Result<Vec<TmfHub>, StoreError> {
        Ok(Vec::new())
    }

    pub(super) fn tmf_notified_(&self, _order: &str) -> Result<Option<String>, StoreError> {
        Ok(None)
    }

    pub(super) fn tmf_notify_(
        &self,
        _order: &str,
        _state: &str,
        _events: &[(String, serde_json::Value)],
    ) -> Result<bool, StoreError> {
        unsupported(HUBS)
    }

    pub(super) fn tmf_due_(&self, _now: &str) -> Result<Vec<Delivery>, StoreError> {
        Ok(Vec::new())
    }

    pub(super) fn tmf_delivered_(
        &self,
        _seq: i64,
        _error: Option<&str>,
        _next_at: &str,
    ) -> Result<(), StoreError> {
        unsupported(HUBS)
    }
}
