//! Journals besides the durable store: in memory (tests, benchmarks,
//! library users who keep state themselves), a JSON-lines events log, and a
//! pair of journals written together.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{SecondsFormat, Utc};

use super::state::{Event, Journal, JournalError};
use crate::plan::Plan;

/// Keeps every event in memory. Cancelling is a flag shared through
/// [`MemoryJournal::cancel_handle`], so another thread (or an observer) can
/// cancel the run.
#[derive(Debug, Default)]
pub struct MemoryJournal {
    pub events: Vec<Event>,
    cancel: Arc<AtomicBool>,
}

impl MemoryJournal {
    pub fn new() -> MemoryJournal {
        MemoryJournal::default()
    }

    /// Setting the flag asks for the order to be cancelled.
    pub fn cancel_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }
}

impl Journal for MemoryJournal {
    fn record(&mut self, _order: &str, event: &Event) -> Result<(), JournalError> {
        self.events.push(event.clone());
        Ok(())
    }

    fn cancel_requested(&mut self, _order: &str) -> Result<bool, JournalError> {
        Ok(self.cancel.load(Ordering::SeqCst))
    }
}

/// Writes one JSON object per event and line, flushed after each batch the
/// executor records (before it acts on the batch):
/// `{"ts":"2026-12-01T09:00:00.123Z","order":"ORD-1","event":"started",
/// "task":3,"task_id":"1/Broadband/activate","attempt":1,"undo":false}`.
pub struct JsonLinesJournal {
    out: BufWriter<Box<dyn Write + Send>>,
    task_ids: Vec<String>,
}

impl JsonLinesJournal {
    /// Appends to the file at `path` (created if needed).
    pub fn append(path: &Path, plan: &Plan) -> std::io::Result<JsonLinesJournal> {
        let file: File = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(JsonLinesJournal::new(Box::new(file), plan))
    }

    /// Writes to any writer; task indices are complemented by the plan's ids.
    pub fn new(out: Box<dyn Write + Send>, plan: &Plan) -> JsonLinesJournal {
        JsonLinesJournal {
            out: BufWriter::with_capacity(64 * 1024, out),
            task_ids: plan.tasks.iter().map(|t| t.id.clone()).collect(),
        }
    }

    /// The line of one event: `ts` and `order`, the event's own fields as it
    /// serializes them, and `task_id`, written straight into one string.
    fn line(&self, order: &str, event: &Event) -> Result<String, JournalError> {
        let json = |e: serde_json::Error| JournalError(e.to_string());
        let fields = serde_json::to_string(event).map_err(json)?;
        let inner = fields
            .strip_prefix('{')
            .and_then(|f| f.strip_suffix('}'))
            .unwrap_or_default();
        let mut line = String::with_capacity(fields.len() + 96);
        line.push_str("{\"ts\":\"");
        line.push_str(&Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true));
        line.push_str("\",\"order\":");
        line.push_str(&serde_json::to_string(order).map_err(json)?);
        if !inner.is_empty() {
            line.push(',');
            line.push_str(inner);
        }
        if let Some(id) = event.task().and_then(|t| self.task_ids.get(t)) {
            line.push_str(",\"task_id\":");
            line.push_str(&serde_json::to_string(id).map_err(json)?);
        }
        line.push('}');
        Ok(line)
    }
}

fn log_error(e: std::io::Error) -> JournalError {
    JournalError(format!("cannot write the events log: {e}"))
}

impl Journal for JsonLinesJournal {
    fn record(&mut self, order: &str, event: &Event) -> Result<(), JournalError> {
        self.record_all(order, std::slice::from_ref(event))
    }

    /// Every line of the batch, then one flush: one write to the file per
    /// batch rather than per event.
    fn record_all(&mut self, order: &str, events: &[Event]) -> Result<(), JournalError> {
        for event in events {
            let line = self.line(order, event)?;
            writeln!(self.out, "{line}").map_err(log_error)?;
        }
        self.out.flush().map_err(log_error)
    }
}

/// Two journals as one: every event goes to the first, then the second
/// (e.g. the durable store, then the events log); cancels are asked of the
/// first.
pub struct Tee<A, B>(pub A, pub B);

impl<A: Journal, B: Journal> Journal for Tee<A, B> {
    fn record(&mut self, order: &str, event: &Event) -> Result<(), JournalError> {
        self.0.record(order, event)?;
        self.1.record(order, event)
    }

    fn record_all(&mut self, order: &str, events: &[Event]) -> Result<(), JournalError> {
        self.0.record_all(order, events)?;
        self.1.record_all(order, events)
    }

    fn cancel_requested(&mut self, order: &str) -> Result<bool, JournalError> {
        self.0.cancel_requested(order)
    }

    fn revision_requested(&mut self, order: &str) -> Result<bool, JournalError> {
        self.0.revision_requested(order)
    }

    fn work_results(&mut self, order: &str) -> Result<Vec<super::WorkResult>, JournalError> {
        self.0.work_results(order)
    }

    /// The first journal's: it answers the polls.
    fn poller(&self) -> Option<Box<dyn Journal>> {
        self.0.poller()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::state::TaskState;
    use std::sync::Mutex;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn one_line_per_event_with_time_order_and_task_id() {
        let plan: Plan = serde_json::from_value(serde_json::json!({
            "order": "O", "catalog_hash": "", "stages": ["fulfil"], "items": [], "tasks": [],
            "critical_path": [], "price": {
                "once": {"amount": "0", "currency": "EUR"}, "monthly": {"amount": "0", "currency": "EUR"}}
        }))
        .unwrap();
        let buf = Shared::default();
        let mut j = JsonLinesJournal::new(Box::new(buf.clone()), &plan);
        j.task_ids = vec!["1/a".into()];
        j.record(
            "O",
            &Event::Task {
                task: 0,
                state: TaskState::Skipped,
                error: None,
            },
        )
        .unwrap();
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 1);
        let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(v["order"], "O");
        assert_eq!(v["event"], "task");
        assert_eq!(v["state"], "skipped");
        assert_eq!(v["task_id"], "1/a");
        assert!(v["ts"].as_str().unwrap().ends_with('Z'));
    }
}
