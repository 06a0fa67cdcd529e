//! What a person sees of a run: a progress bar on stderr while it runs
//! (driven by the executor's observer callback), and a summary table after.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::executor::{RunOutcome, TaskOutcome};
use super::paint::paint_state;
use super::state::{Event, OrderState, TaskRecord, TaskState};
use crate::plan::Plan;
use crate::render::sanitize_line;

/// A progress bar over the plan's tasks; hidden when stderr is not a
/// terminal or when `quiet`.
pub struct Progress {
    bar: ProgressBar,
    ids: Vec<String>,
    /// Tasks with an attempt (or undo) under way.
    running: BTreeSet<usize>,
    /// What the last event said, after the running count.
    note: String,
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
            "{spinner} {prefix} {pos}/{len} tasks done [{elapsed}] {wide_msg}",
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
            running: BTreeSet::new(),
            note: String::new(),
        }
    }

    /// Counts the tasks a resumed order had already finished (done or
    /// skipped), so the bar starts where the order is, not at 0.
    pub fn resuming(&mut self, records: &[TaskRecord]) {
        let finished = records
            .iter()
            .filter(|r| matches!(r.state, TaskState::Done | TaskState::Skipped))
            .count();
        self.bar.set_position(finished as u64);
    }

    fn show(&mut self, note: Option<String>) {
        if let Some(note) = note {
            self.note = note;
        }
        let running = self.running.len();
        self.bar
            .set_message(format!("{running} running · {}", self.note));
    }

    /// Feed every event here (from the executor's observer).
    pub fn observe(&mut self, event: &Event) {
        match event {
            Event::Started { task, .. } => {
                self.running.insert(*task);
            }
            Event::Succeeded { task, .. }
            | Event::AttemptFailed { task, .. }
            | Event::Task { task, .. } => {
                self.running.remove(task);
            }
            _ => {}
        }
        let id = |t: &usize| self.ids.get(*t).map_or("?", String::as_str);
        let note = match event {
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
                Some(format!("{what} {task}{again}"))
            }
            Event::Succeeded { undo: false, .. }
            | Event::Task {
                state: TaskState::Skipped,
                ..
            } => {
                self.bar.inc(1);
                None
            }
            Event::AttemptFailed {
                task,
                error,
                retry_in_ms: Some(ms),
                ..
            } => Some(format!(
                "{} failed ({}); retrying in {}",
                sanitize_line(id(task)),
                sanitize_line(error),
                human(Duration::from_millis(*ms))
            )),
            Event::WorkOpened { task, team, .. } => Some(format!(
                "{} waits for a person of {}",
                sanitize_line(id(task)),
                sanitize_line(team)
            )),
            Event::Waiting { task, until } => Some(format!(
                "{} waits until {}",
                sanitize_line(id(task)),
                sanitize_line(until)
            )),
            Event::Order { state, .. } if *state != OrderState::InProgress => {
                self.bar.finish_and_clear();
                return;
            }
            _ => None,
        };
        self.show(note);
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
    summary_with(plan, outcome, &SummaryOptions::default())
}

/// How [`summary_with`] shows a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct SummaryOptions {
    /// Only the tasks that need a look (`--failures`, for large orders):
    /// those that failed, those still running when the run ended (their
    /// outcome is not known), and those that carry an error (an undone or
    /// retried task). A last line says how many others are left out.
    pub failures: bool,
    /// States in colour ([`paint_state`]), for a terminal.
    pub color: bool,
}

/// [`summary`], as `options` say.
pub fn summary_with(plan: &Plan, outcome: &RunOutcome, options: &SummaryOptions) -> String {
    let needs_a_look = |t: &TaskOutcome| {
        !options.failures
            || matches!(t.record.state, TaskState::Failed | TaskState::Running)
            || t.record.error.is_some()
    };
    let mut out = summary_of(plan, outcome, needs_a_look, options.color);
    if options.failures {
        let others = outcome.tasks.iter().filter(|t| !needs_a_look(t)).count();
        out.push_str(&format!(
            "({others} of {} tasks not shown: they finished without an error)\n",
            outcome.tasks.len()
        ));
    }
    out
}

fn summary_of(
    plan: &Plan,
    outcome: &RunOutcome,
    shown: impl Fn(&TaskOutcome) -> bool,
    color: bool,
) -> String {
    let mut rows = vec![[
        "TASK".to_string(),
        "STATE".to_string(),
        "ATTEMPTS".to_string(),
        "DURATION".to_string(),
        "NOTE".to_string(),
    ]];
    for t in outcome.tasks.iter().filter(|t| shown(t)) {
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
        for (c, (cell, w)) in row.iter().zip(widths).enumerate() {
            let padded = format!("{cell:<w$}  ");
            line.push_str(&if c == 1 {
                paint_state(cell, &padded, color)
            } else {
                padded
            });
        }
        line.push_str(&row[4]);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let state = outcome.state.as_str();
    out.push_str(&format!(
        "\norder {}: {}",
        sanitize_line(&plan.order),
        paint_state(state, state, color)
    ));
    if let Some(reason) = &outcome.reason {
        out.push_str(&format!(" — {}", sanitize_line(reason)));
    }
    out.push('\n');
    if !outcome.waiting.is_empty() {
        let on: Vec<String> = outcome.waiting.iter().map(|w| w.to_string()).collect();
        out.push_str(&format!("waiting on {}\n", sanitize_line(&on.join(", "))));
    }
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

    fn plan_of(n: usize) -> Plan {
        let zero = serde_json::to_value(crate::value::Money {
            amount: Default::default(),
            currency: "EUR".into(),
        })
        .unwrap();
        let task = |i: usize| {
            serde_json::json!({
                "id": format!("t{i}"), "item": null, "product": null, "name": format!("t{i}"),
                "action": "a.b", "stage": 0, "after": [], "inputs": [], "when": null,
                "requires": [], "retry": null, "timeout_ms": null, "undo": null,
                "point_of_no_return": false, "outputs": []
            })
        };
        serde_json::from_value(serde_json::json!({
            "order": "O-1", "catalog_hash": "h", "stages": ["s"], "items": [],
            "tasks": (0..n).map(task).collect::<Vec<_>>(), "critical_path": [],
            "price": { "once": zero, "monthly": zero }
        }))
        .unwrap()
    }

    #[test]
    fn progress_counts_what_a_resumed_order_had_done_and_what_runs() {
        let plan = plan_of(4);
        let mut progress = Progress::new(&plan, true);
        let done = TaskRecord {
            state: TaskState::Done,
            ..TaskRecord::default()
        };
        progress.resuming(&[
            done.clone(),
            done,
            TaskRecord::default(),
            TaskRecord::default(),
        ]);
        assert_eq!(progress.bar.position(), 2);
        for task in [2, 3] {
            progress.observe(&Event::Started {
                task,
                attempt: 1,
                undo: false,
            });
        }
        assert_eq!(progress.running.len(), 2);
        assert!(
            progress.bar.message().starts_with("2 running"),
            "{}",
            progress.bar.message()
        );
        progress.observe(&Event::Succeeded {
            task: 2,
            attempt: 1,
            undo: false,
            outputs: Default::default(),
        });
        assert_eq!(progress.bar.position(), 3);
        assert!(
            progress.bar.message().starts_with("1 running"),
            "{}",
            progress.bar.message()
        );
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(human(Duration::from_millis(350)), "350ms");
        assert_eq!(human(Duration::from_millis(2_140)), "2.1s");
        assert_eq!(human(Duration::from_millis(184_000)), "3m04s");
    }
}
