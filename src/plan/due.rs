//! Whether an order is overdue: past its due date ([`super::Plan::due_at`])
//! and not ended.

use chrono::{DateTime, Utc};

/// Whether an order due at `due_at` and in a state that `ended` is overdue
/// at `now`: past due and not ended.
pub fn overdue(due_at: Option<&str>, ended: bool, now: DateTime<Utc>) -> bool {
    let due = due_at.and_then(|d| DateTime::parse_from_rfc3339(d).ok());
    !ended && due.is_some_and(|d| d < now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overdue_only_past_due_and_not_ended() {
        let now = DateTime::parse_from_rfc3339("2026-12-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(overdue(Some("2026-12-01T00:00:00Z"), false, now));
        assert!(!overdue(Some("2026-12-01T00:00:00Z"), true, now));
        assert!(!overdue(Some("2026-12-03T00:00:00Z"), false, now));
        assert!(!overdue(None, false, now));
    }
}
