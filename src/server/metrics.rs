//! `/metrics`: the Prometheus text format (version 0.0.4), written out here
//! — orders by state, the engine's readiness and parked orders, attempts
//! started, succeeded and failed, and the attempt latency histogram.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::App;
use crate::exec::OrderState;
use crate::lifecycle::engine::{Metrics, Readiness, LATENCY_BUCKETS};

#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format")))]
pub(crate) async fn metrics(State(app): State<Arc<App>>) -> Response {
    let listed = {
        let app = Arc::clone(&app);
        tokio::task::spawn_blocking(move || app.store().order_counts()).await
    };
    match listed {
        Ok(Ok(counts)) => (
            [(CONTENT_TYPE, "text/plain; version=0.0.4")],
            render(
                &counts,
                &app.engine.metrics,
                app.engine.active_count(),
                app.engine.queued(),
                app.engine.readiness(),
            ),
        )
            .into_response(),
        Ok(Err(e)) => ApiError::lifecycle(e.into(), None).into_response(),
        Err(e) => ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            e.to_string(),
        )
        .into_response(),
    }
}

/// The text of `/metrics`.
pub(crate) fn render(
    counts: &[(OrderState, usize)],
    m: &Metrics,
    active: usize,
    queued: usize,
    readiness: Readiness,
) -> String {
    // By name, as Prometheus shows them.
    let by_state: BTreeMap<&str, usize> = counts.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    let mut out = String::new();
    out.push_str("# HELP ordo_orders Orders in the store, by state.\n# TYPE ordo_orders gauge\n");
    for (state, n) in &by_state {
        let _ = writeln!(out, "ordo_orders{{state=\"{state}\"}} {n}");
    }
    out.push_str("# HELP ordo_orders_advancing Orders this server is advancing now.\n# TYPE ordo_orders_advancing gauge\n");
    let _ = writeln!(
        out,
        "ordo_orders_advancing {}",
        active.saturating_sub(queued)
    );
    out.push_str("# HELP ordo_orders_queued Orders waiting for one of this server's runners.\n# TYPE ordo_orders_queued gauge\n");
    let _ = writeln!(out, "ordo_orders_queued {queued}");
    let Readiness {
        ready,
        parked,
        timers,
    } = readiness;
    for (name, help, value) in [
        ("engine_ready", "1 once every order of the store is known to the engine since its start, every parked order's timer armed.", usize::from(ready)),
        ("orders_parked", "Orders this server holds parked, waiting on work items or timers.", parked),
        ("timers_armed", "Parked orders with a timer set.", timers),
    ] {
        let _ = writeln!(out, "# HELP ordo_{name} {help}\n# TYPE ordo_{name} gauge\nordo_{name} {value}");
    }
    for (name, help, counter) in [
        ("started", "Attempts started.", &m.started),
        ("succeeded", "Attempts that succeeded.", &m.succeeded),
        ("failed", "Attempts that failed.", &m.failed),
    ] {
        let _ = writeln!(
            out,
            "# HELP ordo_attempts_{name}_total {help}\n# TYPE ordo_attempts_{name}_total counter\nordo_attempts_{name}_total {}",
            counter.load(Ordering::Relaxed)
        );
    }
    out.push_str("# HELP ordo_attempt_duration_seconds Attempt latency.\n# TYPE ordo_attempt_duration_seconds histogram\n");
    let mut cumulative = 0;
    for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
        cumulative += m.latency[i].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "ordo_attempt_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
        );
    }
    cumulative += m.latency[LATENCY_BUCKETS.len()].load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "ordo_attempt_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
    );
    let sum = m.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
    let _ = writeln!(out, "ordo_attempt_duration_seconds_sum {sum}");
    let _ = writeln!(out, "ordo_attempt_duration_seconds_count {cumulative}");
    out
}
