//! `ordo status`: every order, newest first; or one order's items and tasks.

use std::fmt::Write;

use super::outcome::{fail, store_error};
use super::{stream_stdout, write_stdout, Exit, StatusArgs, StatusFormat};
use crate::exec::paint_state;
use crate::lifecycle::check_order_id;
use crate::render::sanitize_line;
use crate::render::Format;
use crate::store::{OrderStatus, OrderSummary};

pub(crate) fn status(args: &StatusArgs) -> Exit {
    if let Some(id) = &args.order_id {
        if let Err(e) = check_order_id(id) {
            return fail(e, Format::Human);
        }
    }
    let store = match args.state.reader() {
        Ok(Some(s)) => s,
        // Nothing was ever stored here: an empty list, and nothing created.
        Ok(None) => return nothing_stored(args),
        Err(e) => return store_error(e),
    };
    match &args.order_id {
        None => match store.list_orders() {
            Ok(list) => {
                match args.format {
                    StatusFormat::Json => write_json(&list),
                    StatusFormat::Text => write_stdout(&list_text(&list, colored())),
                }
                Exit::Success
            }
            Err(e) => store_error(e),
        },
        Some(id) => match store.order_status(id) {
            Ok(status) => {
                match args.format {
                    StatusFormat::Json => write_json(&status),
                    StatusFormat::Text => write_stdout(&order_text(&status, colored())),
                }
                Exit::Success
            }
            Err(e) => store_error(e),
        },
    }
}

fn nothing_stored(args: &StatusArgs) -> Exit {
    match (&args.order_id, args.format) {
        (None, StatusFormat::Json) => write_stdout("[]\n"),
        (None, StatusFormat::Text) => write_stdout("no orders\n"),
        (Some(id), _) => {
            match &args.state.store {
                Some(store) => eprintln!(
                    "error: no order {id}: ordo has stored nothing in {}",
                    crate::store::postgres::redact(store)
                ),
                None => eprintln!(
                    "error: no order {id}: there is no state database in {}",
                    args.state.path.display()
                ),
            }
            return Exit::Error;
        }
    }
    Exit::Success
}

/// Pretty JSON and a newline, streamed: the status of an order of a
/// million tasks is never held as one text.
fn write_json(value: &impl serde::Serialize) {
    stream_stdout(|out| {
        serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::from)?;
        out.write_all(b"\n")
    });
}

/// States in colour only on a terminal and never under `NO_COLOR`.
fn colored() -> bool {
    super::render_options(&std::io::stdout()).color
}

/// Columns padded to their widest cell; the last is not padded. The cells of
/// a `STATE` column are coloured by their first word, with `color`.
pub(crate) fn table(rows: &[Vec<String>], color: bool) -> String {
    // Cells are made safe to print first: ids, errors and notes come from
    // orders and plugins.
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| sanitize_line(c).into_owned()).collect())
        .collect();
    let state_column = rows
        .first()
        .and_then(|header| header.iter().position(|h| h == "STATE"));
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for (r, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let padded = if c + 1 == row.len() {
                cell.clone()
            } else {
                format!("{cell:<w$}  ", w = widths[c])
            };
            if r > 0 && Some(c) == state_column {
                let state = cell.split(',').next().unwrap_or_default();
                line.push_str(&paint_state(state, &padded, color));
            } else {
                line.push_str(&padded);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn list_text(list: &[OrderSummary], color: bool) -> String {
    if list.is_empty() {
        return "no orders\n".into();
    }
    let mut rows = vec![[
        "ORDER", "STATE", "TASKS", "CREATED", "UPDATED", "DUE", "NOTE",
    ]
    .map(String::from)
    .to_vec()];
    for o in list {
        let mut note = o.reason.clone().unwrap_or_default();
        if o.cancel_requested && !o.state.is_final() {
            note = format!("cancel requested. {note}").trim().to_string();
        }
        if o.overdue {
            note = format!("overdue. {note}").trim().to_string();
        }
        rows.push(vec![
            o.id.clone(),
            o.state.as_str().into(),
            format!("{}/{}", o.tasks_finished, o.tasks),
            o.created_at.clone(),
            o.updated_at.clone(),
            o.due_at.clone().unwrap_or_else(|| "-".into()),
            note,
        ]);
    }
    table(&rows, color)
}

fn order_text(s: &OrderStatus, color: bool) -> String {
    let state = s.state.as_str();
    let mut out = format!(
        "order {}: {}",
        sanitize_line(&s.order),
        paint_state(state, state, color)
    );
    if let Some(r) = &s.reason {
        let _ = write!(out, " — {}", sanitize_line(r));
    }
    out.push('\n');
    let counts = s
        .counts
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = writeln!(out, "tasks: {counts}");
    let _ = writeln!(out, "created {}, updated {}", s.created_at, s.updated_at);
    if let Some(due) = &s.due_at {
        let overdue = if s.overdue { " (overdue)" } else { "" };
        let _ = writeln!(out, "due {due}{overdue}");
    }
    if let Some(r) = &s.runner {
        let live = if r.live {
            "running"
        } else {
            "lock left by a process that is gone"
        };
        let _ = writeln!(
            out,
            "runner: pid {} on {} ({live})",
            r.holder.pid,
            sanitize_line(&r.holder.host)
        );
    }
    if s.cancel_requested && !s.state.is_final() {
        out.push_str("cancel requested\n");
    }
    let _ = writeln!(
        out,
        "catalog: {}",
        &s.catalog_hash[..s.catalog_hash.len().min(12)]
    );
    out.push_str(&revisions_text(s));
    out.push_str("\nitems\n");
    let mut rows = vec![["ITEM", "PRODUCT", "ACTION", "TASKS"]
        .map(String::from)
        .to_vec()];
    for i in &s.items {
        let counts = i
            .counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push(vec![
            i.id.clone(),
            i.product.clone(),
            i.action.clone(),
            counts,
        ]);
    }
    out.push_str(&indent(&table(&rows, color)));
    out.push_str("\ntasks\n");
    let mut rows = vec![[
        "TASK",
        "STATE",
        "ATTEMPTS",
        "STARTED",
        "DURATION",
        "LAST ERROR",
        "OUTPUTS",
    ]
    .map(String::from)
    .to_vec()];
    for t in &s.tasks {
        let attempts = if t.undo_attempts > 0 {
            format!("{}+{}", t.attempts, t.undo_attempts)
        } else {
            t.attempts.to_string()
        };
        // A task waiting for a retry says when it tries again.
        let state = match (&t.next_attempt_at, &t.not_before) {
            (Some(at), _) => format!("{}, next attempt {at}", t.state.as_str()),
            (None, Some(at)) if t.state == crate::exec::TaskState::Pending => {
                format!("{}, not before {at}", t.state.as_str())
            }
            _ => t.state.as_str().into(),
        };
        rows.push(vec![
            t.id.clone(),
            state,
            attempts,
            t.started_at.clone().unwrap_or_else(|| "-".into()),
            t.duration_ms
                .map_or_else(|| "-".into(), |ms| format!("{ms}ms")),
            t.error.clone().unwrap_or_default(),
            outputs_text(&t.outputs),
        ]);
    }
    out.push_str(&indent(&table(&rows, color)));
    out
}

/// `circuit=C-1, port=7`: strings as they are, other values as JSON.
/// The version and each revision, for an order that was ever revised.
fn revisions_text(s: &OrderStatus) -> String {
    if s.revisions.is_empty() {
        return String::new();
    }
    let mut out = format!("version: {}\nrevisions:\n", s.version);
    for r in &s.revisions {
        let _ = write!(
            out,
            "  v{} (from v{}): {}, requested {}",
            r.version,
            r.from,
            r.state.as_str(),
            r.requested_at
        );
        if let Some(at) = &r.applied_at {
            let _ = write!(out, ", applied {at}");
        }
        if let Some(c) = &r.counts {
            let _ = write!(
                out,
                "; {} kept, {} redone, {} undone, {} added",
                c.kept, c.redone, c.undone, c.added
            );
        }
        if let Some(why) = &r.reason {
            let _ = write!(out, " — {}", sanitize_line(why));
        }
        out.push('\n');
    }
    out
}

fn outputs_text(outputs: &std::collections::BTreeMap<String, serde_json::Value>) -> String {
    outputs
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}
