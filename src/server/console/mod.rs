//! The operator console at `/` (`docs/console.md`): server-rendered HTML
//! pages over the same `crate::lifecycle` calls as the API, a stylesheet
//! and a little JavaScript embedded in the binary (no asset from another
//! host, no front-end build).
//!
//! - `/` orders (filter, search, live), `/orders/{id}` one order (plan
//!   picture, tasks, events, cancel, resume), `/queues` work by team
//!   (claim, release, complete through typed forms), `/inventory`.
//! - The acting user is the `ordo_user` cookie (the "acting as" form).
//! - With `--token-file`, `/login` asks for the token once and keeps it in
//!   an `HttpOnly`, `SameSite=Strict` cookie; every other page needs it.

mod form;
mod pages;

use std::sync::Arc;

use axum::extract::{Form, Path, Query, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::error::ApiError;
use super::work::{change, Change};
use super::App;
use crate::lifecycle::work::WorkError;

const CSS: &str = include_str!("console.css");
const JS: &str = include_str!("console.js");

/// The cookie with the acting user.
const USER_COOKIE: &str = "ordo_user";
/// The cookie with the server's token (with `--token-file`).
const TOKEN_COOKIE: &str = "ordo_token";

pub(crate) fn router(app: Arc<App>) -> Router<Arc<App>> {
    let pages = Router::new()
        .route("/", get(orders))
        .route("/orders/{id}", get(order))
        .route("/orders/{id}/cancel", post(cancel))
        .route("/orders/{id}/resume", post(resume))
        .route("/queues", get(queues))
        .route("/queues/change", post(queue_change))
        .route("/inventory", get(inventory))
        .route("/acting-as", post(acting_as))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&app),
            require_login,
        ));
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/console.css", get(|| async { asset("text/css", CSS) }))
        .route(
            "/console.js",
            get(|| async { asset("text/javascript", JS) }),
        )
        .merge(pages)
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")],
        body,
    )
        .into_response()
}

/// One cookie's value (percent-decoded).
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| pages::percent_decode(v))
}

fn set_cookie(name: &str, value: &str) -> HeaderValue {
    let text = format!(
        "{name}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=31536000",
        pages::percent_encode(value)
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("ordo=; Path=/"))
}

fn see_other(to: &str) -> Response {
    let to = if safe_back(to) { to } else { "/" };
    (
        StatusCode::SEE_OTHER,
        [(
            LOCATION,
            HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/")),
        )],
    )
        .into_response()
}

/// A local page to go back to: `/…`, never another host (`//host`).
fn safe_back(to: &str) -> bool {
    to.starts_with('/') && !to.starts_with("//") && !to.contains('\\') && to.is_ascii()
}

/// A form from another site's page is refused (403). Without a token every
/// page is open; with one, the token cookie must match (compared in
/// constant time), else the login page.
/// A form posted from a page of another site: its `Origin` is not this host.
fn cross_site(request: &Request) -> bool {
    if request.method() == axum::http::Method::GET {
        return false;
    }
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    match (
        header(axum::http::header::ORIGIN),
        header(axum::http::header::HOST),
    ) {
        (Some(origin), Some(host)) => {
            let from = origin.split_once("://").map_or(origin, |(_, rest)| rest);
            from != host
        }
        (Some(_), None) => true,
        (None, _) => false,
    }
}

async fn require_login(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    if cross_site(&request) {
        let frame = frame(request.headers(), "/".into());
        return error_page(
            &frame,
            ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this form was sent from another site's page; use the console's own pages",
            ),
        );
    }
    let Some(token) = &app.token else {
        return next.run(request).await;
    };
    let given = cookie(request.headers(), TOKEN_COOKIE).unwrap_or_default();
    if bool::from(given.as_bytes().ct_eq(token)) {
        return next.run(request).await;
    }
    let back = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    see_other(&format!("/login?back={}", pages::percent_encode(&back)))
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    back: Option<String>,
}

async fn login_page(Query(q): Query<LoginQuery>) -> Html<String> {
    Html(pages::login(q.back.as_deref().unwrap_or("/"), None))
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    token: String,
    back: Option<String>,
}

async fn login(State(app): State<Arc<App>>, Form(f): Form<LoginForm>) -> Response {
    let back = f.back.as_deref().unwrap_or("/");
    let ok = match &app.token {
        None => true,
        Some(token) => bool::from(f.token.trim().as_bytes().ct_eq(token)),
    };
    if !ok {
        let page = pages::login(back, Some("This is not the server's token."));
        return (StatusCode::UNAUTHORIZED, Html(page)).into_response();
    }
    let mut response = see_other(back);
    response
        .headers_mut()
        .insert(SET_COOKIE, set_cookie(TOKEN_COOKIE, f.token.trim()));
    response
}

#[derive(Debug, Deserialize)]
struct ActingAs {
    user: String,
    back: Option<String>,
}

async fn acting_as(Form(f): Form<ActingAs>) -> Response {
    let user: String = f
        .user
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let mut response = see_other(f.back.as_deref().unwrap_or("/"));
    response
        .headers_mut()
        .insert(SET_COOKIE, set_cookie(USER_COOKIE, user.trim()));
    response
}

/// The page frame's facts: who acts, which page it is.
pub(crate) struct Frame {
    pub user: String,
    pub path: String,
}

fn frame(headers: &HeaderMap, path: String) -> Frame {
    Frame {
        user: cookie(headers, USER_COOKIE).unwrap_or_default(),
        path,
    }
}

/// An error of a page: the API's message, on a page with the frame.
fn error_page(frame: &Frame, e: ApiError) -> Response {
    let page = pages::error(frame, e.status.as_u16(), &e.message);
    (e.status, Html(page)).into_response()
}

async fn on_blocking<T: Send + 'static>(
    app: &Arc<App>,
    f: impl FnOnce(&App) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    super::api::blocking(app, f).await
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct OrdersQuery {
    pub state: Option<String>,
    pub q: Option<String>,
    /// `1`: only the live part (the polling script's request).
    pub partial: Option<String>,
}

async fn orders(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<OrdersQuery>,
) -> Response {
    let frame = frame(&headers, "/".into());
    let partial = q.partial.is_some();
    let found = on_blocking(&app, move |app| {
        pages::orders_data(app.store(), &q).map(|d| (d, q))
    })
    .await;
    match found {
        Ok((data, q)) => Html(pages::orders(&frame, &q, &data, partial)).into_response(),
        Err(e) => error_page(&frame, e),
    }
}

#[derive(Debug, Deserialize, Default)]
struct PartialQuery {
    partial: Option<String>,
}

async fn order(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<PartialQuery>,
) -> Response {
    let frame = frame(&headers, format!("/orders/{}", pages::percent_encode(&id)));
    if let Err(e) = crate::lifecycle::check_order_id(&id) {
        return error_page(&frame, ApiError::lifecycle(e, None));
    }
    let data = on_blocking(&app, move |app| pages::order_data(app.store(), &id)).await;
    match data {
        Ok(d) => Html(pages::order(&frame, &d, q.partial.is_some())).into_response(),
        Err(e) => error_page(&frame, e),
    }
}

#[derive(Debug, Deserialize)]
struct Confirm {
    confirm: Option<String>,
}

async fn cancel(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<Confirm>,
) -> Response {
    let back = format!("/orders/{}", pages::percent_encode(&id));
    let frame = frame(&headers, back.clone());
    if f.confirm.as_deref() != Some("yes") {
        return error_page(
            &frame,
            ApiError::bad_request("tick the confirmation box to cancel the order"),
        );
    }
    let user = frame.user.clone();
    let done = on_blocking(&app, move |app| {
        crate::lifecycle::check_order_id(&id).map_err(|e| ApiError::lifecycle(e, None))?;
        let request = crate::lifecycle::request_cancel(app.store(), &id)
            .map_err(|e| ApiError::lifecycle(e, None))?;
        tracing::info!(order = %id, user = %user, "cancel requested in the console");
        if let crate::lifecycle::CancelRequest::Unowned(_) = request {
            app.engine.wake(&id);
        }
        Ok(())
    })
    .await;
    match done {
        Ok(()) => see_other(&back),
        Err(e) => error_page(&frame, e),
    }
}

async fn resume(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let back = format!("/orders/{}", pages::percent_encode(&id));
    let frame = frame(&headers, back.clone());
    let user = frame.user.clone();
    let done = on_blocking(&app, move |app| {
        crate::lifecycle::check_order_id(&id).map_err(|e| ApiError::lifecycle(e, None))?;
        super::api::resume(app, &id, &user).map(|_| ())
    })
    .await;
    match done {
        Ok(()) => see_other(&back),
        Err(e) => error_page(&frame, e),
    }
}

#[derive(Debug, Deserialize, Default)]
pub(crate) struct QueueQuery {
    pub team: Option<String>,
}

async fn queues(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<QueueQuery>,
) -> Response {
    let frame = frame(&headers, queue_path(q.team.as_deref()));
    let team = q.team.clone();
    let data = on_blocking(&app, move |app| {
        pages::queue_data(app.store(), team.as_deref())
    })
    .await;
    match data {
        Ok(d) => Html(pages::queue(&frame, &d, None)).into_response(),
        Err(e) => error_page(&frame, e),
    }
}

fn queue_path(team: Option<&str>) -> String {
    match team {
        Some(t) => format!("/queues?team={}", pages::percent_encode(t)),
        None => "/queues".into(),
    }
}

/// A claim, release or complete from a queue page's forms; on a refused
/// completion the page again, the errors at their fields.
async fn queue_change(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let (order, task, team, op) = (get("order"), get("task"), get("team"), get("op"));
    let back = queue_path(Some(&team).filter(|t| !t.is_empty()).map(String::as_str));
    let frame = frame(&headers, back.clone());
    if frame.user.trim().is_empty() {
        return error_page(
            &frame,
            ApiError::bad_request(
                "say who you are first: fill in \"Acting as\" at the top of the page",
            ),
        );
    }
    let user = frame.user.clone();
    let team_q = Some(team.clone()).filter(|t| !t.is_empty());
    let result = on_blocking(&app, move |app| {
        crate::lifecycle::check_order_id(&order).map_err(|e| ApiError::lifecycle(e, None))?;
        let what = match op.as_str() {
            "claim" => Change::Claim,
            "release" => Change::Release,
            "complete" => {
                let stored = app
                    .store()
                    .load(&order)
                    .map_err(|e| ApiError::lifecycle(e.into(), None))?;
                Change::Complete(form::given_outputs(&stored.plan, &task, &fields))
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown change `{}`",
                    other.escape_debug()
                )))
            }
        };
        match change(app, &order, &task, &user, &what) {
            Ok(_) => Ok(None),
            Err(WorkError::Outputs { errors, .. }) => {
                let data = pages::queue_data(app.store(), team_q.as_deref())?;
                let refused = form::Refused {
                    order,
                    task,
                    fields,
                    errors,
                };
                Ok(Some((data, refused)))
            }
            Err(e) => Err(super::work::work_error(e)),
        }
    })
    .await;
    match result {
        Ok(None) => see_other(&back),
        Ok(Some((data, refused))) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(pages::queue(&frame, &data, Some(&refused))),
        )
            .into_response(),
        Err(e) => error_page(&frame, e),
    }
}

#[derive(Debug, Deserialize, Default)]
struct InventoryQuery {
    customer: Option<String>,
}

async fn inventory(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    Query(q): Query<InventoryQuery>,
) -> Response {
    let frame = frame(&headers, "/inventory".into());
    let customer = q.customer.clone().filter(|c| !c.trim().is_empty());
    let data = on_blocking(&app, move |app| {
        pages::inventory_data(app.store(), customer)
    })
    .await;
    match data {
        Ok(d) => Html(pages::inventory(&frame, q.customer.as_deref(), &d)).into_response(),
        Err(e) => error_page(&frame, e),
    }
}
