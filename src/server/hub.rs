//! TMF622 event notifications: hub subscriptions (`POST …/hub`, `DELETE
//! …/hub/{id}`) and their delivery. Every poll of the server, each
//! ProductOrder whose TMF state changed since it was last notified gets its
//! events queued in the store's outbox (with the new state, in one
//! transaction); then the due events are POSTed to their listeners, per
//! hub and order one at a time and oldest first, so each order's events
//! arrive in order. A failed delivery is retried with a growing backoff; a
//! delivery is marked done only once its listener answered 2xx, so after a
//! crash or a restart it is sent again (at least once).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use super::api::{blocking, body, Reply};
use super::error::ApiError;
use super::tmf::{body_error, check_version, render, utf8};
use super::App;
use crate::store::{Delivery, StoreError, TmfHub};
use crate::tmf as lib;

/// The longest wait between two attempts of one delivery.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The wait after a first failed attempt; doubled after each.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

fn hub_json(version: &str, hub: &TmfHub) -> Value {
    json!({
        "id": hub.id,
        "href": format!("/tmf-api/productOrderingManagement/{version}/hub/{}", hub.id),
        "callback": hub.callback,
        "query": hub.query,
        "@type": "Hub",
    })
}

/// Subscribe a listener: ProductOrder events are POSTed to `callback`;
/// `query` (`eventType=ProductOrderStateChangeEvent,…`) filters them.
#[utoipa::path(post, path = "/tmf-api/productOrderingManagement/{version}/hub",
    params(("version" = String, Path)),
    request_body(content = String, description = "{callback, query}", content_type = "application/json"),
    responses((status = 201, description = "The subscription"), (status = 400, description = "No or a bad callback")))]
pub(crate) async fn create_hub(
    State(app): State<Arc<App>>,
    path: Result<axum::extract::Path<String>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Reply {
    let axum::extract::Path(version) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let version = check_version(version)?;
    let text = utf8(body(bytes)?)?;
    let given: Value = serde_json::from_str(&text).map_err(|e| {
        body_error(
            "",
            format!("the body is not JSON: {e}"),
            "send {\"callback\": \"http://…\"}",
        )
    })?;
    let callback = given.get("callback").and_then(Value::as_str).unwrap_or("");
    let url_ok = reqwest::Url::parse(callback)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !url_ok {
        return Err(body_error(
            "callback",
            "a hub needs a `callback`: the http(s) URL events are POSTed to".into(),
            "send {\"callback\": \"https://listener.example/events\"}",
        ));
    }
    let query = match given.get("query") {
        None | Some(Value::Null) => None,
        Some(Value::String(q)) => Some(q.clone()),
        Some(_) => {
            return Err(body_error(
                "query",
                "`query` is a string".into(),
                "send \"query\": \"eventType=ProductOrderStateChangeEvent\"",
            ))
        }
    };
    let callback = callback.to_string();
    let hub = blocking(&app, move |app| {
        app.store()
            .create_hub(&callback, query.as_deref())
            .map_err(|e| ApiError::lifecycle(e.into(), None))
    })
    .await?;
    tracing::info!(hub = %hub.id, callback = %hub.callback, "hub subscribed");
    Ok((StatusCode::CREATED, Json(hub_json(&version, &hub))).into_response())
}

/// Unsubscribe: nothing more is sent to the listener.
#[utoipa::path(delete, path = "/tmf-api/productOrderingManagement/{version}/hub/{id}",
    params(("version" = String, Path), ("id" = String, Path)),
    responses((status = 204, description = "Unsubscribed"), (status = 404, description = "No such subscription")))]
pub(crate) async fn delete_hub(
    State(app): State<Arc<App>>,
    path: Result<axum::extract::Path<(String, String)>, PathRejection>,
) -> Reply {
    let axum::extract::Path((version, id)) =
        path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    check_version(version)?;
    let missing = format!("no hub `{}`", id.escape_debug());
    let deleted = blocking(&app, move |app| {
        app.store()
            .delete_hub(&id)
            .map_err(|e| ApiError::lifecycle(e.into(), None))
    })
    .await?;
    if deleted {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", missing))
    }
}

/// The event types a hub's query asks for; `None`: every one.
fn wanted(query: Option<&str>) -> Option<Vec<String>> {
    let query = query?;
    query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| k.trim() == "eventType")
        .map(|(_, v)| v.split(',').map(|t| t.trim().to_string()).collect())
}

fn stamp(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Queues the events of every ProductOrder whose state changed since it
/// was last notified.
fn queue(app: &App) -> Result<(), ApiError> {
    let store = app.store();
    let err = |e: StoreError| ApiError::lifecycle(e.into(), None);
    let hubs = store.hubs().map_err(err)?;
    for id in store.tmf_orders(None).map_err(err)? {
        let Some(record) = store.tmf_order(&id).map_err(err)? else {
            continue;
        };
        let status = store.order_status(&id).map_err(err)?;
        let state = lib::order_state(&status);
        let before = store.tmf_notified(&id).map_err(err)?;
        if before.as_deref() == Some(state) {
            continue;
        }
        let Some(resource) = render(store, &record.api_version, &id)? else {
            continue;
        };
        let mut types = Vec::new();
        if before.is_none() {
            types.push("ProductOrderCreateEvent");
        }
        if before.is_some() || state != "acknowledged" {
            types.push("ProductOrderStateChangeEvent");
        }
        let now = stamp(chrono::Utc::now());
        let mut events = Vec::new();
        for hub in &hubs {
            let filter = wanted(hub.query.as_deref());
            for t in &types {
                if filter.as_ref().is_some_and(|f| !f.iter().any(|w| w == t)) {
                    continue;
                }
                let event = json!({
                    "eventId": format!("{id}:{state}:{t}"),
                    "eventTime": now,
                    "eventType": t,
                    "event": {"productOrder": resource},
                    "@type": t,
                });
                events.push((hub.id.clone(), event));
            }
        }
        store
            .tmf_notify(&id, before.as_deref(), state, &events)
            .map_err(err)?;
    }
    Ok(())
}

/// The wait before the next attempt of a delivery that failed `attempts`
/// times.
fn backoff(attempts: u32) -> Duration {
    FIRST_BACKOFF
        .saturating_mul(1u32.checked_shl(attempts.min(16)).unwrap_or(u32::MAX))
        .min(MAX_BACKOFF)
}

fn deliver(client: &reqwest::blocking::Client, d: &Delivery) -> Result<(), String> {
    let response = client
        .post(&d.callback)
        .json(&d.event)
        .send()
        .map_err(|e| e.to_string())?;
    if response.status().is_success() {
        Ok(())
    } else {
        Err(format!("the listener answered {}", response.status()))
    }
}

/// One round: queue what changed, then send what is due. Runs on a
/// blocking thread (the poll's).
pub(crate) fn round(app: &App, client: &reqwest::blocking::Client) {
    if let Err(e) = queue(app) {
        tracing::error!(error = %e.message, "cannot queue the hub events");
    }
    let store = app.store();
    let due = match store.tmf_due(&stamp(chrono::Utc::now())) {
        Ok(due) => due,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the hub outbox");
            return;
        }
    };
    for d in due {
        let outcome = deliver(client, &d);
        let next = chrono::Utc::now()
            + chrono::Duration::from_std(backoff(d.attempts)).unwrap_or_default();
        let recorded = match &outcome {
            Ok(()) => store.tmf_delivered(d.seq, None, ""),
            Err(e) => {
                tracing::warn!(hub = %d.hub, order = %d.order, attempts = d.attempts + 1, error = %e, "hub delivery failed; retried later");
                store.tmf_delivered(d.seq, Some(e), &stamp(next))
            }
        };
        if let Err(e) = recorded {
            tracing::error!(error = %e, "cannot record a hub delivery");
        }
    }
}

/// The client deliveries are sent with.
pub(crate) fn client() -> Option<reqwest::blocking::Client> {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_name_event_types_and_backoff_grows_to_a_bound() {
        assert_eq!(wanted(None), None);
        assert_eq!(wanted(Some("x=1")), None);
        assert_eq!(
            wanted(Some("eventType=A, B&x=1")),
            Some(vec!["A".to_string(), "B".to_string()])
        );
        assert_eq!(backoff(0), FIRST_BACKOFF);
        assert_eq!(backoff(1), FIRST_BACKOFF * 2);
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
