//! TM Forum's Open APIs on `ordo serve` (`docs/tmf.md`): TMF622 product
//! ordering (v4 and v5: `productOrder`, `cancelProductOrder`) and TMF637
//! product inventory (v4: `product`), thin handlers over `crate::tmf` (the
//! mapping, states and renderings) and `crate::lifecycle` (planning,
//! submitting, revising, cancelling).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::api::{blocking, body, request_file, user, Reply};
use super::error::ApiError;
use super::App;
use crate::diagnostic::Code;
use crate::inventory::{InstalledBase, InstanceFilter};
use crate::lifecycle::{self, CancelRequest, LifecycleError};
use crate::store::{OrderStatus, Store, TmfCancel, TmfRecord};
use crate::tmf::{self as lib, TmfOrder};

/// Where TMF622 lives, before its version (`v4`, `v5`).
const ORDERING: &str = "/tmf-api/productOrderingManagement";
/// Where TMF637 lives.
const INVENTORY: &str = "/tmf-api/productInventory/v4";

/// The name TMF request bodies are read under (diagnostics point into it).
const REQUEST: &str = "request.json";

fn version(path: Result<axum::extract::Path<String>, PathRejection>) -> Result<String, ApiError> {
    let axum::extract::Path(v) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    check_version(v)
}

pub(crate) fn check_version(v: String) -> Result<String, ApiError> {
    if v == "v4" || v == "v5" {
        Ok(v)
    } else {
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("TMF622 is served as v4 and v5, not `{}`", v.escape_debug()),
        ))
    }
}

fn version_and_id(
    path: Result<axum::extract::Path<(String, String)>, PathRejection>,
) -> Result<(String, String), ApiError> {
    let axum::extract::Path((v, id)) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    Ok((check_version(v)?, id))
}

fn order_href(version: &str, id: &str) -> String {
    format!("{ORDERING}/{version}/productOrder/{id}")
}

fn not_found(what: &str, id: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no {what} `{}`", id.escape_debug()),
    )
}

/// An error in a request body, at the path `path` (TMF paths, as the
/// mapping's: `productOrder.id`; `""` is the body itself).
pub(crate) fn body_error(path: &str, message: String, help: &str) -> ApiError {
    let mut e = ApiError::bad_request(message.clone());
    e.diagnostics = Some(vec![json!({
        "code": Code::OrderSyntax.as_str(),
        "severity": "error",
        "message": message,
        "help": help,
        "path": path,
    })]);
    e
}

pub(crate) fn utf8(bytes: Bytes) -> Result<String, ApiError> {
    String::from_utf8(bytes.to_vec())
        .map_err(|e| body_error("", format!("the body is not UTF-8: {e}"), "send UTF-8 JSON"))
}

/// What the store keeps beside an order that came as a ProductOrder: the
/// mapping's record and the body as given (a PATCH merges into it).
fn record(version: &str, request: &lib::ProductOrderRequest, body: Value) -> TmfRecord {
    TmfRecord {
        api_version: version.to_string(),
        external_ids: request.external_ids.clone(),
        meta: json!({"order": TmfOrder::from(request), "body": body}),
    }
}

/// The ProductOrder resource of a stored order, in the API version asked.
pub(crate) fn render(
    store: &dyn Store,
    version: &str,
    id: &str,
) -> Result<Option<Value>, ApiError> {
    let store_err = |e: crate::store::StoreError| ApiError::lifecycle(e.into(), None);
    let Some(record) = store.tmf_order(id).map_err(store_err)? else {
        return Ok(None);
    };
    let status = store.order_status(id).map_err(store_err)?;
    let tmf: TmfOrder = serde_json::from_value(record.meta["order"].clone()).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the TMF record of order {id} is damaged: {e}"),
        )
    })?;
    Ok(Some(resource(&status, &tmf, &record.meta["body"], version)))
}

/// The ProductOrder resource of an order's status, its TMF record and the
/// body it came as.
fn resource(status: &OrderStatus, tmf: &TmfOrder, body: &Value, version: &str) -> Value {
    let href = order_href(version, &status.order);
    lib::product_order_echo(status, tmf, body, &href, version == "v5")
}

/// Ids ordo assigns to ProductOrders: the time, and a counter for orders
/// created within the same millisecond.
fn new_order_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "PO-{}-{}",
        chrono::Utc::now().format("%Y%m%d%H%M%S%3f"),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Plans a ProductOrder body as the order `id`, with the server's catalog
/// and the installed base.
fn plan(
    app: &App,
    id: &str,
    text: String,
) -> Result<(lifecycle::Planned, lib::ProductOrderRequest), ApiError> {
    let store = app.store();
    lifecycle::plan_product_order(app.catalog.clone(), Path::new(REQUEST), id, text, |doc| {
        Ok(InstalledBase::for_order_in(
            store,
            &app.catalog.catalog,
            doc,
        )?)
    })
    .map_err(|e| match e {
        // Positions as TMF paths into the body (`productOrderItem[0].action`).
        LifecycleError::Invalid { diags, sources } => {
            let file = request_file(app);
            let mut error = ApiError::bad_request(format!(
                "{} error{} in the ProductOrder",
                diags.errors(),
                if diags.errors() == 1 { "" } else { "s" }
            ));
            error.code = "invalid";
            error.diagnostics = Some(lib::tmf_diagnostics(&diags, file, sources.get(file)));
            error
        }
        e => ApiError::lifecycle(e, None),
    })
}

/// Create a ProductOrder: mapped and planned with the server's catalog,
/// stored with its TMF record, advanced like any order. ordo assigns its id.
#[utoipa::path(post, path = "/tmf-api/productOrderingManagement/{version}/productOrder",
    params(("version" = String, Path, description = "`v4` or `v5`")),
    request_body(content = String, description = "A TMF622 ProductOrder_Create", content_type = "application/json"),
    responses(
        (status = 201, description = "The ProductOrder, `acknowledged`"),
        (status = 400, description = "Invalid: TMF error with diagnostics, each with its JSON `path`"),
        (status = 413, description = "Body over 1 MiB")))]
pub(crate) async fn create_product_order(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<axum::extract::Path<String>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Reply {
    let version = version(path)?;
    let text = utf8(body(bytes)?)?;
    let user = user(&headers);
    let resource = blocking(&app, move |app| {
        let given: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let mut tries = 0;
        let (status, request) = loop {
            let id = new_order_id();
            let (planned, request) = plan(app, &id, text.clone())?;
            lifecycle::checked_bindings(&app.bindings, &planned.plan)
                .map_err(|e| ApiError::lifecycle(e, None))?;
            let tmf = record(&version, &request, given.clone());
            let created = app.store().create_tmf_order(
                &planned.plan,
                &planned.document(),
                Some(&app.bindings),
                &tmf,
            );
            match created {
                Ok(status) => break (status, request),
                // Another process took the id in the same millisecond.
                Err(crate::store::StoreError::OrderExists { .. }) if tries < 3 => tries += 1,
                Err(e) => return Err(ApiError::lifecycle(e.into(), None)),
            }
        };
        let id = &status.order;
        tracing::info!(order = %id, user = %user, api = %version, "product order submitted");
        // As created, `acknowledged`: answered before it is advanced.
        let created = resource(&status, &TmfOrder::from(&request), &given, &version);
        app.engine.wake(id);
        Ok(created)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(resource)).into_response())
}

/// One ProductOrder.
#[utoipa::path(get, path = "/tmf-api/productOrderingManagement/{version}/productOrder/{id}",
    params(("version" = String, Path), ("id" = String, Path), ("fields" = Option<String>, Query)),
    responses((status = 200, description = "The ProductOrder"), (status = 404, description = "No such ProductOrder")))]
pub(crate) async fn show_product_order(
    State(app): State<Arc<App>>,
    path: Result<axum::extract::Path<(String, String)>, PathRejection>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Reply {
    let (version, id) = version_and_id(path)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let resource = blocking(&app, move |app| {
        if lifecycle::check_order_id(&id).is_err() {
            return Err(not_found("productOrder", &id));
        }
        render(app.store(), &version, &id)?.ok_or_else(|| not_found("productOrder", &id))
    })
    .await?;
    Ok(Json(lib::select_fields(&resource, q.fields.as_deref())).into_response())
}

/// The query of a TMF list: filters, `fields`, paging.
#[derive(Debug, Deserialize)]
pub(crate) struct ListQuery {
    state: Option<String>,
    #[serde(rename = "externalId")]
    external_id: Option<String>,
    #[serde(rename = "relatedParty.id")]
    related_party: Option<String>,
    status: Option<String>,
    fields: Option<String>,
    offset: Option<String>,
    limit: Option<String>,
}

impl ListQuery {
    fn number(name: &str, v: &Option<String>) -> Result<Option<usize>, ApiError> {
        v.as_deref()
            .map(|s| {
                s.trim().parse::<usize>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "`{name}` is a whole number, not `{}`",
                        s.escape_debug()
                    ))
                })
            })
            .transpose()
    }

    /// One page of `all`, its fields selected, with the count headers.
    fn answer(&self, all: Vec<Value>) -> Reply {
        let offset = ListQuery::number("offset", &self.offset)?;
        let limit = ListQuery::number("limit", &self.limit)?;
        let page = lib::page(all, offset, limit);
        let items: Vec<Value> = page
            .items
            .iter()
            .map(|r| lib::select_fields(r, self.fields.as_deref()))
            .collect();
        let mut response = Json(items).into_response();
        let headers = response.headers_mut();
        headers.insert("x-total-count", HeaderValue::from(page.total));
        headers.insert("x-result-count", HeaderValue::from(page.result));
        Ok(response)
    }
}

/// ProductOrders, newest first; `state` and `externalId` filter them,
/// `fields` selects members, `offset` and `limit` page them
/// (`X-Total-Count`, `X-Result-Count`).
#[utoipa::path(get, path = "/tmf-api/productOrderingManagement/{version}/productOrder",
    params(("version" = String, Path), ("state" = Option<String>, Query), ("externalId" = Option<String>, Query),
        ("fields" = Option<String>, Query), ("offset" = Option<usize>, Query), ("limit" = Option<usize>, Query)),
    responses((status = 200, description = "ProductOrders, with X-Total-Count and X-Result-Count")))]
pub(crate) async fn list_product_orders(
    State(app): State<Arc<App>>,
    path: Result<axum::extract::Path<String>, PathRejection>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Reply {
    let version = version(path)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let external = q.external_id.clone();
    let all = blocking(&app, move |app| {
        let store = app.store();
        let ids = store
            .tmf_orders(external.as_deref())
            .map_err(|e| ApiError::lifecycle(e.into(), None))?;
        let mut all = Vec::new();
        for id in ids {
            if let Some(r) = render(store, &version, &id)? {
                all.push(r);
            }
        }
        Ok(all)
    })
    .await?;
    let all = match &q.state {
        Some(state) => all.into_iter().filter(|r| r["state"] == *state).collect(),
        None => all,
    };
    q.answer(all)
}

/// Revise a ProductOrder: the members given replace the order's (a whole
/// `productOrderItem` list), and the order as it now reads becomes its
/// next version (`docs/revisions.md`). 409 when the order takes no
/// revision (ended, past a point of no return, being cancelled).
#[utoipa::path(patch, path = "/tmf-api/productOrderingManagement/{version}/productOrder/{id}",
    params(("version" = String, Path), ("id" = String, Path)),
    request_body(content = String, description = "ProductOrder members (merge patch)", content_type = "application/merge-patch+json"),
    responses(
        (status = 200, description = "The ProductOrder; the revision is applied at the order's next safe point"),
        (status = 400, description = "Invalid: diagnostics with JSON paths"),
        (status = 404, description = "No such ProductOrder"),
        (status = 409, description = "The order takes no revision: the reason")))]
pub(crate) async fn patch_product_order(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<axum::extract::Path<(String, String)>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Reply {
    let (version, id) = version_and_id(path)?;
    let text = utf8(body(bytes)?)?;
    let user = user(&headers);
    let resource = blocking(&app, move |app| {
        let store = app.store();
        if lifecycle::check_order_id(&id).is_err() {
            return Err(not_found("productOrder", &id));
        }
        let Some(kept) = store
            .tmf_order(&id)
            .map_err(|e| ApiError::lifecycle(e.into(), None))?
        else {
            return Err(not_found("productOrder", &id));
        };
        let Ok(Value::Object(patch)) = serde_json::from_str::<Value>(&text) else {
            // Not an object: the mapping says why, where.
            plan(app, &id, text)?;
            return Err(body_error("", "a PATCH body is a JSON object".into(), "send {\"productOrderItem\": [...]}"));
        };
        let merged = merge(&kept.meta["body"], patch);
        let requested = revise(app, &id, kept, merged)?;
        tracing::info!(order = %id, user = %user, version = requested.version, "product order revised");
        app.engine.wake(&id);
        render(store, &version, &id)?.ok_or_else(|| not_found("productOrder", &id))
    })
    .await?;
    Ok(Json(resource).into_response())
}

/// Requests the revision of the ProductOrder `id` (its TMF record `kept`)
/// to the whole `body`, and keeps the body and its mapping as the order's
/// TMF record.
pub(crate) fn revise(
    app: &App,
    id: &str,
    kept: TmfRecord,
    body: Value,
) -> Result<lifecycle::revise::Requested, ApiError> {
    let store = app.store();
    let (planned, request) = plan(app, id, body.to_string())?;
    let requested = lifecycle::revise::request_planned(store, app.engine.state(), id, &planned)
        .map_err(|e| ApiError::lifecycle(e, None))?;
    let record = TmfRecord {
        api_version: kept.api_version.clone(),
        ..record(&kept.api_version, &request, body)
    };
    store
        .set_tmf_order(id, &record)
        .map_err(|e| ApiError::lifecycle(e.into(), None))?;
    Ok(requested)
}

/// JSON merge patch (RFC 7396) of top-level members: `null` removes one.
fn merge(body: &Value, patch: Map<String, Value>) -> Value {
    let mut out = body.as_object().cloned().unwrap_or_default();
    for (k, v) in patch {
        if v.is_null() {
            out.remove(&k);
        } else {
            out.insert(k, v);
        }
    }
    Value::Object(out)
}

fn cancel_href(version: &str, id: &str) -> String {
    format!("{ORDERING}/{version}/cancelProductOrder/{id}")
}

/// A cancellation request as a resource; its state follows the order's.
fn cancel_resource(store: &dyn Store, version: &str, c: &TmfCancel) -> Result<Value, ApiError> {
    let status = store
        .order_status(&c.order)
        .map_err(|e| ApiError::lifecycle(e.into(), None))?;
    let state = match &c.refused {
        Some(_) => "terminatedWithError",
        None => lib::cancel_state(status.state),
    };
    let mut out = json!({
        "id": c.id,
        "href": cancel_href(version, &c.id),
        "state": state,
        "requestedCancellationDate": c.requested_at,
        "productOrder": {
            "id": c.order,
            "href": order_href(version, &c.order),
            "@referredType": "ProductOrder",
            "@type": "ProductOrderRef",
        },
        "@type": "CancelProductOrder",
    });
    if let Some(reason) = &c.reason {
        out["cancellationReason"] = json!(reason);
    }
    if let Some(why) = &c.refused {
        out["stateChangeReason"] = json!(why);
    }
    if state == "done" {
        out["effectiveCancellationDate"] = json!(status.updated_at);
    }
    Ok(out)
}

/// Ask for a ProductOrder to be cancelled. The request is `acknowledged`,
/// then `inProgress` while the order is compensated, then `done`; refused
/// (past a point of no return, already ended) it is `terminatedWithError`
/// with the reason in `stateChangeReason`.
#[utoipa::path(post, path = "/tmf-api/productOrderingManagement/{version}/cancelProductOrder",
    params(("version" = String, Path)),
    request_body(content = String, description = "{productOrder: {id}, cancellationReason}", content_type = "application/json"),
    responses(
        (status = 201, description = "The CancelProductOrder"),
        (status = 400, description = "Invalid body: diagnostics with JSON paths"),
        (status = 404, description = "No such ProductOrder")))]
pub(crate) async fn create_cancel(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<axum::extract::Path<String>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Reply {
    let version = version(path)?;
    let text = utf8(body(bytes)?)?;
    let user = user(&headers);
    let given: Value = serde_json::from_str(&text).map_err(|e| {
        body_error(
            "",
            format!("the body is not JSON: {e}"),
            "send {\"productOrder\": {\"id\": \"…\"}}",
        )
    })?;
    let Some(order) = given.pointer("/productOrder/id").and_then(Value::as_str) else {
        return Err(body_error(
            "productOrder.id",
            "a cancelProductOrder names its order in `productOrder.id` (a string)".into(),
            "send {\"productOrder\": {\"id\": \"…\"}, \"cancellationReason\": \"…\"}",
        ));
    };
    let reason = match given.get("cancellationReason") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(body_error(
                "cancellationReason",
                "`cancellationReason` is a string".into(),
                "send \"cancellationReason\": \"…\"",
            ))
        }
    };
    let order = order.to_string();
    let resource = blocking(&app, move |app| {
        let store = app.store();
        if lifecycle::check_order_id(&order).is_err()
            || store
                .tmf_order(&order)
                .map_err(|e| ApiError::lifecycle(e.into(), None))?
                .is_none()
        {
            return Err(not_found("productOrder", &order));
        }
        let refused = match lifecycle::request_cancel(store, &order) {
            Ok(CancelRequest::Runner(_)) => None,
            Ok(CancelRequest::Unowned(_)) => {
                app.engine.wake(&order);
                None
            }
            Err(e @ LifecycleError::Store(_)) if e.kind() == lifecycle::ErrorKind::Conflict => {
                Some(refusal(&e))
            }
            Err(e) => return Err(ApiError::lifecycle(e, None)),
        };
        let c = store
            .create_tmf_cancel(&order, &version, reason.as_deref(), refused.as_deref())
            .map_err(|e| ApiError::lifecycle(e.into(), None))?;
        tracing::info!(order = %order, user = %user, refused = refused.as_deref().unwrap_or(""), "product order cancel requested");
        let mut out = cancel_resource(store, &version, &c)?;
        if refused.is_none() {
            // Just created: what the order does with it comes next.
            out["state"] = json!("acknowledged");
        }
        Ok(out)
    })
    .await?;
    Ok((StatusCode::CREATED, Json(resource)).into_response())
}

/// A refusal with its code, as `stateChangeReason`.
fn refusal(e: &LifecycleError) -> String {
    match e {
        LifecycleError::Store(s) => match miette::Diagnostic::code(s) {
            Some(c) => format!("[{c}] {s}"),
            None => s.to_string(),
        },
        other => other.to_string(),
    }
}

/// One cancellation request.
#[utoipa::path(get, path = "/tmf-api/productOrderingManagement/{version}/cancelProductOrder/{id}",
    params(("version" = String, Path), ("id" = String, Path), ("fields" = Option<String>, Query)),
    responses((status = 200, description = "The CancelProductOrder"), (status = 404, description = "No such request")))]
pub(crate) async fn show_cancel(
    State(app): State<Arc<App>>,
    path: Result<axum::extract::Path<(String, String)>, PathRejection>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Reply {
    let (version, id) = version_and_id(path)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let resource = blocking(&app, move |app| {
        let store = app.store();
        match store
            .tmf_cancel(&id)
            .map_err(|e| ApiError::lifecycle(e.into(), None))?
        {
            Some(c) => cancel_resource(store, &version, &c),
            None => Err(not_found("cancelProductOrder", &id)),
        }
    })
    .await?;
    Ok(Json(lib::select_fields(&resource, q.fields.as_deref())).into_response())
}

fn product_href(id: &str) -> String {
    format!("{INVENTORY}/product/{}", id.replace('/', "%2F"))
}

/// The installed base as TMF637 Products, by id; `relatedParty.id` (the
/// customer) and `status` (`active`, `terminated`) filter it, `fields`,
/// `offset` and `limit` as for every TMF list.
#[utoipa::path(get, path = "/tmf-api/productInventory/v4/product",
    params(("relatedParty.id" = Option<String>, Query), ("status" = Option<String>, Query),
        ("fields" = Option<String>, Query), ("offset" = Option<usize>, Query), ("limit" = Option<usize>, Query)),
    responses((status = 200, description = "Products, with X-Total-Count and X-Result-Count")))]
pub(crate) async fn list_products(
    State(app): State<Arc<App>>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Reply {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status = super::api::instance_status(q.status.as_deref())?;
    let filter = InstanceFilter {
        customer: q.related_party.clone(),
        product: None,
        status,
    };
    let all = blocking(&app, move |app| {
        let list = app
            .store()
            .instances(&filter)
            .map_err(|e| ApiError::lifecycle(e.into(), None))?;
        Ok(list
            .iter()
            .map(|i| lib::product_from_instance(i, &product_href(&i.id)))
            .collect::<Vec<Value>>())
    })
    .await?;
    q.answer(all)
}

/// One TMF637 Product (an instance id such as `ORD-1/100`, its slash
/// percent-encoded as `%2F`).
#[utoipa::path(get, path = "/tmf-api/productInventory/v4/product/{id}",
    params(("id" = String, Path), ("fields" = Option<String>, Query)),
    responses((status = 200, description = "The Product"), (status = 404, description = "No such Product")))]
pub(crate) async fn show_product(
    State(app): State<Arc<App>>,
    path: Result<axum::extract::Path<String>, PathRejection>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Reply {
    let axum::extract::Path(id) = path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let found = blocking(&app, move |app| {
        let found = app
            .store()
            .instance(&id)
            .map_err(|e| ApiError::lifecycle(e.into(), None))?;
        found
            .map(|i| lib::product_from_instance(&i, &product_href(&i.id)))
            .ok_or_else(|| not_found("product", &id))
    })
    .await?;
    Ok(Json(lib::select_fields(&found, q.fields.as_deref())).into_response())
}
