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

pub(crate) type Reply = Result<Response, ApiError>;

/// Runs store work off the async threads.
pub(super) async fn blocking<T: Send + 'static>(
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

pub(super) fn order_id(
    path: Result<axum::extract::Path<String>, PathRejection>,
) -> Result<String, ApiError> {
    let axum::extract::Path(id) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    lifecycle::check_order_id(&id).map_err(|e| ApiError::lifecycle(e, None))?;
    Ok(id)
}

pub(super) fn body(bytes: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
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
pub(super) fn user(headers: &HeaderMap) -> String {
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
        let planned = plan_request(app, name, text, json)?;
        let bindings = lifecycle::checked_bindings(&app.bindings, &planned.plan);
        bindings.map_err(|e| ApiError::lifecycle(e, None))?;
        // Answered with the status the order was stored with, not read
        // back (the engine may already be advancing it).
        let status = lifecycle::submit(store, &planned, &app.bindings)
            .map_err(|e| ApiError::lifecycle(e, None))?;
        let id = &planned.plan.order;
        tracing::info!(order = %id, user = %user, "order submitted");
        app.engine.wake(id);
        Ok(status)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(status)).into_response())
}

/// Plans an order document (YAML or JSON, either shape) with the server's
/// catalog and the installed base.
fn plan_request(
    app: &App,
    name: &Path,
    text: String,
    json: bool,
) -> Result<lifecycle::Planned, ApiError> {
    let store = app.store();
    lifecycle::plan_order_text(app.catalog.clone(), name, text, |doc| {
        Ok(InstalledBase::for_order_in(
            store,
            &app.catalog.catalog,
            doc,
        )?)
    })
    .map_err(|e| planning_error(app, e, json))
}

/// A planning error; its diagnostics in the request body (the file added
/// after the catalog's) get JSON paths when it is JSON.
fn planning_error(app: &App, e: lifecycle::LifecycleError, json: bool) -> ApiError {
    ApiError::lifecycle(e, Some((request_file(app), json)))
}

/// The file a request body is read as: the one added after the catalog's.
pub(crate) fn request_file(app: &App) -> crate::span::FileId {
    crate::span::FileId(app.catalog.sources.files().count() as u32)
}

/// Revise an order in flight (`docs/revisions.md`): the body is the whole
/// order as it should now be (YAML or JSON, an ordo order or a
/// ProductOrder), under the same id. It is planned and checked, stored, and
/// applied at the order's next safe point (by its runner, or by this
/// server's engine when none runs it).
#[utoipa::path(post, path = "/api/v1/orders/{id}/revise", params(("id" = String, Path)),
    request_body(content = String, description = "The revised order document", content_type = "application/yaml"),
    responses(
        (status = 202, description = "Requested: the version it makes and its delta"),
        (status = 400, description = "Invalid order, or another order's id: TMF error with diagnostics"),
        (status = 404, description = "No such order"),
        (status = 409, description = "The order takes no revision (ended, past a point of no return, being cancelled, another revision pending): the reason")))]
pub(crate) async fn revise_order(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<axum::extract::Path<String>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Reply {
    let id = order_id(path)?;
    let bytes = body(bytes)?;
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|e| ApiError::bad_request(format!("the body is not UTF-8: {e}")))?;
    let json = json_body(&headers, &text);
    let user = user(&headers);
    let requested = blocking(&app, move |app| {
        let store = app.store();
        // Unknown order: 404 before the body is looked at.
        store
            .load(&id)
            .map_err(|e| ApiError::lifecycle(e.into(), None))?;
        // A ProductOrder body of an order that came as one: revised as by
        // a PATCH, so that its TMF record follows.
        let kept = store
            .tmf_order(&id)
            .map_err(|e| ApiError::lifecycle(e.into(), None))?;
        let product_order = match serde_json::from_str::<Value>(&text) {
            Ok(body) if body.get("productOrderItem").is_some() => Some(body),
            _ => None,
        };
        let requested = match (kept, product_order) {
            (Some(kept), Some(body)) => super::tmf::revise(app, &id, kept, body)?,
            _ => {
                // A ProductOrder body is given the order's id (its file name).
                let name = format!("{id}.{}", if json { "json" } else { "yaml" });
                let planned = plan_request(app, Path::new(&name), text, json)?;
                lifecycle::revise::request_planned(store, app.engine.state(), &id, &planned)
                    .map_err(|e| ApiError::lifecycle(e, None))?
            }
        };
        tracing::info!(order = %id, user = %user, version = requested.version, "revision requested");
        app.engine.wake(&id);
        Ok(json!({
            "order": id,
            "version": requested.version,
            "runner": requested.runner,
            "revision": requested.delta,
        }))
    })
    .await?;
    Ok((StatusCode::ACCEPTED, Json(requested)).into_response())
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

/// Resume a held order (its cause fixed), as `ordo resume`: 202 when the
/// engine takes it up; 409 when the order has ended.
#[utoipa::path(post, path = "/api/v1/orders/{id}/resume", params(("id" = String, Path)),
    responses((status = 202, description = "The engine continues the order"), (status = 404, description = "No such order"),
        (status = 409, description = "The order has ended")))]
pub(crate) async fn resume_order(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<axum::extract::Path<String>, PathRejection>,
) -> Reply {
    let id = order_id(path)?;
    let user = user(&headers);
    let status = blocking(&app, move |app| resume(app, &id, &user)).await?;
    Ok((StatusCode::ACCEPTED, Json(status)).into_response())
}

/// Hands an order that has not ended to the engine, held or not; shared by
/// the API and the console.
pub(crate) fn resume(
    app: &App,
    id: &str,
    user: &str,
) -> Result<crate::store::OrderStatus, ApiError> {
    let status = app
        .store()
        .order_status(id)
        .map_err(|e| ApiError::lifecycle(e.into(), None))?;
    if status.state.is_final() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!(
                "order {id} is already {}: nothing to resume",
                status.state.as_str()
            ),
        ));
    }
    tracing::info!(order = %id, user = %user, "resume requested");
    app.engine.resume(id);
    Ok(status)
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
    let status = instance_status(q.status.as_deref())?;
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
    info(
        title = "ordo",
        description = "ordo's own order-management API, TMF622 product ordering (v4, v5) and TMF637 product inventory"
    ),
    paths(
        healthz,
        create_order,
        list_orders,
        show_order,
        order_plan,
        order_events,
        cancel_order,
        revise_order,
        resume_order,
        super::work::list_tasks,
        super::work::claim,
        super::work::release,
        super::work::complete,
        super::work::fail,
        list_inventory,
        show_instance,
        super::metrics::metrics,
        super::tmf::create_product_order,
        super::tmf::list_product_orders,
        super::tmf::show_product_order,
        super::tmf::patch_product_order,
        super::tmf::create_cancel,
        super::tmf::show_cancel,
        super::tmf::list_products,
        super::tmf::show_product,
        super::hub::create_hub,
        super::hub::delete_hub
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

/// An instance `status` filter of a query (`active`, `terminated`), shared
/// by ordo's inventory list and TMF637's product list.
pub(crate) fn instance_status(given: Option<&str>) -> Result<Option<InstanceStatus>, ApiError> {
    given
        .map(|s| {
            InstanceStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "`status` is `active` or `terminated`, not `{}`",
                    s.escape_debug()
                ))
            })
        })
        .transpose()
}
