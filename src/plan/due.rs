//! An order's due date: its `requested_completion`, else its creation time
//! plus the longest `sla install` of its items.

use chrono::{DateTime, SecondsFormat, Utc};

use super::Plan;

impl Plan {
    /// When the order is due (RFC 3339, UTC), for an order created at
    /// `created` (RFC 3339); `None` when it gives no date and no item has an
    /// install SLA.
    pub fn due_at(&self, created: &str) -> Option<String> {
        let written = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
        if let Some(requested) = &self.requested_completion {
            return DateTime::parse_from_rfc3339(requested)
                .ok()
                .map(|t| written(t.with_timezone(&Utc)));
        }
        let sla = chrono::Duration::try_milliseconds(
            i64::try_from(self.longest_install_sla_ms()?).ok()?,
        )?;
        let created = DateTime::parse_from_rfc3339(created).ok()?;
        created
            .with_timezone(&Utc)
            .checked_add_signed(sla)
            .map(written)
    }
}

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
