//! Work items over HTTP, `/api/v1/tasks`: the queues and the changes people
//! make (claim, release, complete, fail), through `crate::lifecycle::work`,
//! the same checks as `ordo task`. The acting user is `X-Ordo-User`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::api::{blocking, body, user};
use super::error::ApiError;
use super::App;
use crate::lifecycle::work::{self, OutputError, WorkError};
use crate::lifecycle::{self, LifecycleError};
use crate::store::{WorkFilter, WorkItem};

type Reply = Result<Response, ApiError>;

#[derive(Debug, Deserialize)]
pub(crate) struct TasksQuery {
    team: Option<String>,
    assignee: Option<String>,
    /// `true`: also the done, failed and cancelled ones.
    all: Option<bool>,
}

/// The work items people can take (open and claimed), or with `all=true`
/// every one; `team` and `assignee` filter them (the `ordo tasks` shape).
#[utoipa::path(get, path = "/api/v1/tasks",
    params(("team" = Option<String>, Query), ("assignee" = Option<String>, Query), ("all" = Option<bool>, Query)),
    responses((status = 200, description = "Work items")))]
pub(crate) async fn list_tasks(
    State(app): State<Arc<App>>,
    query: Result<Query<TasksQuery>, QueryRejection>,
) -> Reply {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let filter = WorkFilter {
        team: q.team,
        assignee: q.assignee,
        all: q.all.unwrap_or(false),
    };
    let items = blocking(&app, move |app| {
        app.store()
            .work_items(&filter)
            .map_err(|e| ApiError::lifecycle(e.into(), None))
    })
    .await?;
    Ok(Json(items).into_response())
}

/// A change of a work item, as the routes and the console ask for it.
#[derive(Debug, Clone)]
pub(crate) enum Change {
    Claim,
    Release,
    Complete(Vec<work::GivenOutput>),
    Fail { reason: String, retryable: bool },
}

/// Makes `change` as `by`, then wakes the order when the item ended (the
/// engine takes up its end). Shared by the API and the console.
pub(crate) fn change(
    app: &App,
    order: &str,
    task: &str,
    by: &str,
    change: &Change,
) -> Result<WorkItem, WorkError> {
    let store = app.store();
    let item = match change {
        Change::Claim => work::claim(store, order, task, by)?,
        Change::Release => work::release(store, order, task, by)?,
        Change::Complete(given) => work::complete(store, order, task, by, given)?,
        Change::Fail { reason, retryable } => {
            work::fail(store, order, task, by, reason, *retryable)?
        }
    };
    tracing::info!(order = %order, task = %task, user = %by, state = item.state.as_str(), "work item changed");
    if !item.state.is_active() {
        app.engine.wake(order);
    }
    Ok(item)
}

/// A [`WorkError`] as the API answers it: output errors are a 400 whose
/// diagnostics name the output and its JSON path in the body.
pub(crate) fn work_error(e: WorkError) -> ApiError {
    match e {
        WorkError::Store(s) => ApiError::lifecycle(LifecycleError::Store(s), None),
        WorkError::Outputs { task, errors } => {
            let mut error = ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("the outputs do not fit {task}'s action"),
            );
            error.diagnostics = Some(errors.iter().map(output_diagnostic).collect());
            error
        }
    }
}

fn output_diagnostic(e: &OutputError) -> Value {
    json!({
        "code": e.code().as_str(),
        "severity": "error",
        "message": e.message,
        "output": e.output,
        "path": e.at,
        "help": e.help,
    })
}

fn acting_user(headers: &HeaderMap) -> Result<String, ApiError> {
    let by = user(headers);
    if by.trim().is_empty() {
        return Err(ApiError::bad_request(
            "name the acting user in the `X-Ordo-User` header: work items record who changed them",
        ));
    }
    Ok(by)
}

fn work_path(
    path: Result<axum::extract::Path<(String, String)>, PathRejection>,
) -> Result<(String, String), ApiError> {
    let axum::extract::Path((order, task)) =
        path.map_err(|e| ApiError::bad_request(e.body_text()))?;
    lifecycle::check_order_id(&order).map_err(|e| ApiError::lifecycle(e, None))?;
    Ok((order, task))
}

/// A JSON object body (empty is `{}`); `$` names it in errors.
fn object_body(
    bytes: Result<Bytes, BytesRejection>,
) -> Result<serde_json::Map<String, Value>, ApiError> {
    let bytes = body(bytes)?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request("$: the body must be a JSON object")),
        Err(e) => Err(ApiError::bad_request(format!(
            "$: the body is not JSON: {e} (line {}, column {})",
            e.line(),
            e.column()
        ))),
    }
}

async fn run_change(
    app: Arc<App>,
    headers: HeaderMap,
    path: Result<axum::extract::Path<(String, String)>, PathRejection>,
    make: impl FnOnce() -> Result<Change, ApiError>,
) -> Reply {
    let (order, task) = work_path(path)?;
    let by = acting_user(&headers)?;
    let what = make()?;
    let item = blocking(&app, move |app| {
        change(app, &order, &task, &by, &what).map_err(work_error)
    })
    .await?;
    Ok(Json(item).into_response())
}

/// Claim a work item for the acting user (refused, 409, when someone else holds it).
#[utoipa::path(post, path = "/api/v1/tasks/{order}/{task}/claim",
    params(("order" = String, Path), ("task" = String, Path), ("X-Ordo-User" = String, Header)),
    responses((status = 200, description = "The work item"), (status = 404, description = "No such work item"),
        (status = 409, description = "Claimed by someone else, or ended")))]
pub(crate) async fn claim(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<axum::extract::Path<(String, String)>, PathRejection>,
) -> Reply {
    run_change(app, headers, path, || Ok(Change::Claim)).await
}

/// Release a work item the acting user holds.
#[utoipa::path(post, path = "/api/v1/tasks/{order}/{task}/release",
    params(("order" = String, Path), ("task" = String, Path), ("X-Ordo-User" = String, Header)),
    responses((status = 200, description = "The work item"), (status = 409, description = "Not claimed by this user")))]
pub(crate) async fn release(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<axum::extract::Path<(String, String)>, PathRejection>,
) -> Reply {
    run_change(app, headers, path, || Ok(Change::Release)).await
}

/// Complete a work item: `{"outputs": {NAME: VALUE, …}}`, every declared
/// output given, each of its type; else 400 naming each output (at
/// `$.outputs.NAME`) and nothing is recorded.
#[utoipa::path(post, path = "/api/v1/tasks/{order}/{task}/complete",
    params(("order" = String, Path), ("task" = String, Path), ("X-Ordo-User" = String, Header)),
    request_body(content = Object, description = "{\"outputs\": {…}}", content_type = "application/json"),
    responses((status = 200, description = "The work item, done"), (status = 400, description = "Outputs that do not fit"),
        (status = 409, description = "Claimed by someone else, or ended")))]
pub(crate) async fn complete(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<axum::extract::Path<(String, String)>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Reply {
    run_change(app, headers, path, move || {
        let mut map = object_body(bytes)?;
        let outputs = match map.remove("outputs") {
            None => serde_json::Map::new(),
            Some(Value::Object(o)) => o,
            Some(_) => return Err(ApiError::bad_request("$.outputs: must be a JSON object")),
        };
        Ok(Change::Complete(work::outputs_from_map(outputs, |name| {
            crate::server::error::json_path_key("$.outputs", name)
        })))
    })
    .await
}

/// Fail a work item: `{"reason": TEXT, "retryable": false}`; permanent
/// unless retryable and the task's retry allows another work item.
#[utoipa::path(post, path = "/api/v1/tasks/{order}/{task}/fail",
    params(("order" = String, Path), ("task" = String, Path), ("X-Ordo-User" = String, Header)),
    request_body(content = Object, description = "{\"reason\": …, \"retryable\": …}", content_type = "application/json"),
    responses((status = 200, description = "The work item, failed"), (status = 400, description = "No reason"),
        (status = 409, description = "Claimed by someone else, or ended")))]
pub(crate) async fn fail(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    path: Result<axum::extract::Path<(String, String)>, PathRejection>,
    bytes: Result<Bytes, BytesRejection>,
) -> Reply {
    run_change(app, headers, path, move || {
        let map = object_body(bytes)?;
        let reason = match map.get("reason") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            _ => {
                return Err(ApiError::bad_request(
                    "$.reason: say why the work item failed (a non-empty string)",
                ))
            }
        };
        let retryable = match map.get("retryable") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ApiError::bad_request("$.retryable: must be true or false")),
        };
        Ok(Change::Fail { reason, retryable })
    })
    .await
}
