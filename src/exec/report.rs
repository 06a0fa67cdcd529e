//! What a person sees of a run: a progress bar on stderr while it runs
//! (driven by the executor's observer callback), and a summary table after.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::executor::RunOutcome;
use super::state::{Event, OrderState, TaskState};
use crate::plan::Plan;
use crate::render::sanitize_line;

/// A progress bar over the plan's tasks; hidden when stderr is not a
/// terminal or when `quiet`.
pub struct Progress {
    bar: ProgressBar,
    ids: Vec<String>,
}

impl Progress {
    pub fn new(plan: &Plan, quiet: bool) -> Progress {
        let shown = !quiet && std::io::stderr().is_terminal();
        let target = if shown {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        let bar = ProgressBar::with_draw_target(Some(plan.tasks.len() as u64), target);
        let style = ProgressStyle::with_template(
            "{spinner} {prefix} {pos}/{len} tasks [{elapsed}] {wide_msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.set_prefix(plan.order.clone());
        if shown {
            // Keeps the spinner and elapsed time moving while a long task runs.
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        Progress {
            bar,
            ids: plan.tasks.iter().map(|t| t.id.clone()).collect(),
        }
    }

    /// Feed every event here (from the executor's observer).
    pub fn observe(&mut self, event: &Event) {
        let id = |t: &usize| self.ids.get(*t).map_or("?", String::as_str);
        match event {
            Event::Started {
                task,
                attempt,
                undo,
            } => {
                let what = if *undo { "undoing" } else { "running" };
                let again = if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                };
                let task = sanitize_line(id(task));
                self.bar.set_message(format!("{what} {task}{again}"));
            }
            Event::Succeeded { undo: false, .. }
            | Event::Task {
                state: TaskState::Skipped,
                ..
            } => self.bar.inc(1),
            Event::AttemptFailed {
                task,
                error,
                retry_in_ms: Some(ms),
                ..
            } => {
                self.bar.set_message(format!(
                    "{} failed ({}); retrying in {}",
                    sanitize_line(id(task)),
                    sanitize_line(error),
                    human(Duration::from_millis(*ms))
                ));
            }
            Event::Order { state, .. } if *state != OrderState::InProgress => {
                self.bar.finish_and_clear();
            }
            _ => {}
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Every task (id, state, attempts, duration, and what went wrong), then the
/// order's outcome:
///
/// ```text
/// TASK                STATE        ATTEMPTS  DURATION  NOTE
/// 1/Broadband/check   done         1         120ms
/// 1/Broadband/ship    compensated  1+1       2.1s
///
/// order ORD-1: failed — task 1/Broadband/activate failed: no port
/// ```
///
/// Attempts read `N` or, when undone, `N+U` (task attempts + undo attempts).
/// Ids, errors and the reason are made safe to print: they come from orders
/// and plugins.
pub fn summary(plan: &Plan, outcome: &RunOutcome) -> String {
    let mut rows = vec![[
        "TASK".to_string(),
        "STATE".to_string(),
        "ATTEMPTS".to_string(),
        "DURATION".to_string(),
        "NOTE".to_string(),
    ]];
    for t in &outcome.tasks {
        let r = &t.record;
        let attempts = if r.undo_attempts > 0 {
            format!("{}+{}", r.attempts, r.undo_attempts)
        } else {
            r.attempts.to_string()
        };
        rows.push([
            sanitize_line(&t.id).into_owned(),
            r.state.as_str().to_string(),
            attempts,
            t.duration.map(human).unwrap_or_else(|| "-".into()),
            sanitize_line(r.error.as_deref().unwrap_or_default()).into_owned(),
        ]);
    }
    let mut widths = [0usize; 4];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (cell, w) in row.iter().zip(widths) {
            line.push_str(&format!("{cell:<w$}  "));
        }
        line.push_str(&row[4]);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "\norder {}: {}",
        sanitize_line(&plan.order),
        outcome.state.as_str()
    ));
    if let Some(reason) = &outcome.reason {
        out.push_str(&format!(" — {}", sanitize_line(reason)));
    }
    out.push('\n');
    out
}

/// `350ms`, `2.1s`, `3m04s`.
fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        format!("{}m{:02}s", ms / 60_000, (ms % 60_000) / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(human(Duration::from_millis(350)), "350ms");
        assert_eq!(human(Duration::from_millis(2_140)), "2.1s");
        assert_eq!(human(Duration::from_millis(184_000)), "3m04s");
    }
}
