//! ordo's own API, `/api/v1`: orders (submit, list, show, plan, events,
//! cancel), the installed base, `/healthz` and `/openapi.json`.
//! Every handler calls `crate::lifecycle`; store work runs on blocking
//! threads.

use std::path::Path;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::OpenApi;

use super::error::ApiError;
use super::App;
use crate::inventory::{InstalledBase, InstanceFilter, InstanceStatus};
use crate::lifecycle::{self, CancelRequest};

type Reply = Result<Response, ApiError>;

/// Runs store work off the async threads.
async fn blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let app = Arc::clone(app);
    tokio::task::spawn_blocking(move || f(&app))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
}

/// A read of the store, off the async threads, answered as JSON.
async fn read<T: serde::Serialize + Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&dyn crate::store::Store) -> Result<T, crate::store::StoreError> + Send + 'static,
) -> Reply {
    let value = blocking(app, move |app| {
        f(app.store()).map_err(|e| ApiError::lifecycle(e.into(), None))
    })
    .await?;
    Ok(Json(value).into_response())
}

fn order_id(path: Result<axum::extract::Path<String>, PathRejection>) -> Result<String, ApiError> {
    let axum::extract::Path(id) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    lifecycle::check_order_id(&id).map_err(|e| ApiError::lifecycle(e, None))?;
    Ok(id)
}

fn body(bytes: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    bytes.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the body is larger than {} bytes", super::BODY_LIMIT),
            )
        } else {
            ApiError::bad_request(e.body_text())
        }
    })
}

/// The acting user a client names in `X-Ordo-User` (logged with what it does).
fn user(headers: &HeaderMap) -> String {
    headers
        .get("x-ordo-user")
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().filter(|c| !c.is_control()).take(200).collect())
        .unwrap_or_default()
}

fn json_body(headers: &HeaderMap, text: &str) -> bool {
    match headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        Some(ct) => ct.to_ascii_lowercase().contains("json"),
        None => text.trim_start().starts_with('{'),
    }
}

#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "The server is up")))]
pub(crate) async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// Submit an order (YAML or JSON): it is planned with the server's catalog,
/// its bindings are checked, it is stored and advanced.
#[utoipa::path(post, path = "/api/v1/orders",
    request_body(content = String, description = "The order document", content_type = "application/yaml"),
    responses(
        (status = 201, description = "Stored; the order's status"),
        (status = 400, description = "Invalid order: TMF error with diagnostics"),
        (status = 409, description = "An order with this id exists"),
        (status = 413, description = "Body over 1 MiB")))]
pub(crate) async fn create_order(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Reply {
    let bytes = body(bytes)?;
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8: {e}")))?;
    let json = json_body(&headers, &text);
    let user = user(&headers);
    let status = blocking(&app, move |app| {
        let name = Path::new(if json { "request.json" } else { "request.yaml" });
        let store = app.store();
        let planned = lifecycle::plan_order_text(app.catalog.clone(), name, text, |doc| {
            Ok(InstalledBase::for_order(store, doc)?)
        });
        let request_file = crate::span::FileId(app.catalog.sources.files().count() as u32);
        let planned = planned.map_err(|e| ApiError::lifecycle(e, Some((request_file, json))))?;
        let bindings = lifecycle::checked_bindings(&app.bindings, &planned.plan);
        bindings.map_err(|e| ApiError::lifecycle(e, None))?;
        lifecycle::submit(store, &planned, &app.bindings)
            .map_err(|e| ApiError::lifecycle(e, None))?;
        let id = planned.plan.order.clone();
        tracing::info!(order = %id, user = %user, "order submitted");
        app.engine.wake(&id);
        store
            .order_status(&id)
            .map_err(|e| ApiError::lifecycle(e.into(), None))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(status)).into_response())
}

/// Every order, newest first.
#[utoipa::path(get, path = "/api/v1/orders", responses((status = 200, description = "Order summaries")))]
pub(crate) async fn list_orders(State(app): State<Arc<App>>) -> Reply {
    read(&app, |store| store.list_orders()).await
}

/// One order: the `ordo status ID --format json` shape.
#[utoipa::path(get, path = "/api/v1/orders/{id}", params(("id" = String, Path)),
    responses((status = 200, description = "The order's status"), (status = 404, description = "No such order")))]
pub(crate) async fn show_order(
    State(app): State<Arc<App>>,
    path: Result<axum::extract::Path<String>, PathRejection>,
) -> Reply {
    let id = order_id(path)?;
    read(&app, move |store| store.order_status(&id)).await
}

/// The plan stored with the order (the `ordo plan --format json` shape).
#[utoipa::path(get, path = "/api/v1/orders/{id}/plan", params(("id" = String, Path)),
    responses((status = 200, description = "The plan"), (status = 404, description = "No such order")))]
pub(crate) async fn order_plan(
    State(app): State<Arc<App>>,
    path: Result<axum::extract::Path<String>, PathRejection>,
) -> Reply {
    let id = order_id(path)?;
    let plan = blocking(&app, move |app| {
        app.store()
            .load(&id)
            .map(|s| crate::plan::render::json(&s.plan))
            .map_err(|e| ApiError::lifecycle(e.into(), None))
    })
    .await?;
    Ok(([(CONTENT_TYPE, "application/json")], plan).into_response())
}

/// The order's journal, oldest first.
#[utoipa::path(get, path = "/api/v1/orders/{id}/events", params(("id" = String, Path)),
    responses((status = 200, description = "The events"), (status = 404, description = "No such order")))]
pub(crate) async fn order_events(
    State(app): State<Arc<App>>,
    path: Result<axum::extract::Path<String>, PathRejection>,
) -> Reply {
    let id = order_id(path)?;
    // An unknown order is a 404, not an empty journal.
    read(&app, move |store| {
        store.load(&id).and_then(|_| store.events(&id))
    })
    .await
}

/// Cancel: the process that runs the order compensates it; when none
/// does, this server advances it (which compensates).
#[utoipa::path(post, path = "/api/v1/orders/{id}/cancel", params(("id" = String, Path)),
    responses((status = 202, description = "Cancel requested"), (status = 404, description = "No such order"),
        (status = 409, description = "Past its point of no return, or already ended")))]
pub(crate) async fn cancel_order(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<axum::extract::Path<String>, PathRejection>,
) -> Reply {
    let id = order_id(path)?;
    let user = user(&headers);
    let outcome = blocking(&app, move |app| {
        let request = lifecycle::request_cancel(app.store(), &id)
            .map_err(|e| ApiError::lifecycle(e, None))?;
        tracing::info!(order = %id, user = %user, "cancel requested");
        Ok(match request {
            CancelRequest::Runner(o) => o,
            CancelRequest::Unowned(o) => {
                app.engine.wake(&id);
                o
            }
        })
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(outcome)).into_response())
}

#[derive(Debug, Deserialize)]
pub(crate) struct InventoryQuery {
    customer: Option<String>,
    product: Option<String>,
    status: Option<String>,
}

/// The installed base, by instance id; `customer`, `product` and `status`
/// (`active`, `terminated`) filter it.
#[utoipa::path(get, path = "/api/v1/inventory",
    params(("customer" = Option<String>, Query), ("product" = Option<String>, Query), ("status" = Option<String>, Query)),
    responses((status = 200, description = "Instances")))]
pub(crate) async fn list_inventory(
    State(app): State<Arc<App>>,
    query: Result<Query<InventoryQuery>, QueryRejection>,
) -> Reply {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status = match q.status.as_deref() {
        None => None,
        Some(s) => Some(InstanceStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(format!(
                "`status` is `active` or `terminated`, not `{}`",
                s.escape_debug()
            ))
        })?),
    };
    let filter = InstanceFilter {
        customer: q.customer,
        product: q.product,
        status,
    };
    read(&app, move |store| {
        let list = store.instances(&filter)?;
        Ok(list.iter().map(|i| i.to_json()).collect::<Vec<Value>>())
    })
    .await
}

/// One instance (`ORD-1001/1`; the slash percent-encoded as `%2F`).
#[utoipa::path(get, path = "/api/v1/inventory/{id}", params(("id" = String, Path)),
    responses((status = 200, description = "The instance"), (status = 404, description = "No such instance")))]
pub(crate) async fn show_instance(
    State(app): State<Arc<App>>,
    path: Result<axum::extract::Path<String>, PathRejection>,
) -> Reply {
    let axum::extract::Path(id) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let missing = format!("no instance `{}`", id.escape_debug());
    let found = blocking(&app, move |app| {
        app.store()
            .instance(&id)
            .map_err(|e| ApiError::lifecycle(e.into(), None))
    })
    .await?;
    match found {
        Some(i) => Ok(Json(i.to_json()).into_response()),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", missing)),
    }
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route")
}

#[derive(OpenApi)]
#[openapi(
    info(title = "ordo", description = "ordo's own order-management API"),
    paths(
        healthz,
        create_order,
        list_orders,
        show_order,
        order_plan,
        order_events,
        cancel_order,
        list_inventory,
        show_instance,
        super::metrics::metrics
    )
)]
pub(crate) struct ApiDoc;

/// The OpenAPI document, generated from the handlers.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "This document")))]
pub(crate) async fn openapi() -> Response {
    (
        [(CONTENT_TYPE, "application/json")],
        ApiDoc::openapi().to_pretty_json().unwrap_or_default(),
    )
        .into_response()
}
