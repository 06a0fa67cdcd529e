//! Runtime values of the ordo language: literals, attribute values, task
//! inputs and outputs. Money and decimals are exact (`rust_decimal`).

use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    pub amount: Decimal,
    pub currency: String,
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Money shows at least cents: 49 EUR reads as "49.00 EUR".
        let mut amount = self.amount.normalize();
        if amount.scale() < 2 {
            amount.rescale(2);
        }
        write!(f, "{amount} {}", self.currency)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum Value {
    String(String),
    Int(i64),
    Decimal(Decimal),
    Bool(bool),
    Date(NaiveDate),
    DateTime(DateTime<FixedOffset>),
    /// Milliseconds.
    Duration(u64),
    Money(Money),
    Percent(Decimal),
    /// An optional attribute the order left out.
    Null,
}

impl Value {
    /// The value as a plain JSON value, as actions and `--format json` see it.
    /// Exact numbers (decimal, money, percent) are strings so no reader can
    /// round them through a binary float.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::String(s) => J::String(s.clone()),
            Value::Int(i) => J::from(*i),
            Value::Bool(b) => J::Bool(*b),
            Value::Null => J::Null,
            other => J::String(other.to_string()),
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Ordering for comparisons; `None` when the two values do not compare.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        use Value::*;
        match (self, other) {
            (Int(a), Int(b)) => Some(a.cmp(b)),
            (Int(a), Decimal(b)) => Some(rust_decimal::Decimal::from(*a).cmp(b)),
            (Decimal(a), Int(b)) => Some(a.cmp(&rust_decimal::Decimal::from(*b))),
            (Decimal(a), Decimal(b)) | (Percent(a), Percent(b)) => Some(a.cmp(b)),
            (String(a), String(b)) => Some(a.cmp(b)),
            (Bool(a), Bool(b)) => Some(a.cmp(b)),
            (Date(a), Date(b)) => Some(a.cmp(b)),
            (DateTime(a), DateTime(b)) => Some(a.cmp(b)),
            (Duration(a), Duration(b)) => Some(a.cmp(b)),
            (Money(a), Money(b)) if a.currency == b.currency => Some(a.amount.cmp(&b.amount)),
            (Null, Null) => Some(Ordering::Equal),
            _ => None,
        }
    }
}

pub fn format_duration(ms: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1000, "s"),
    ];
    if ms == 0 {
        return "0s".into();
    }
    for (size, unit) in UNITS {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// Parses `500ms`, `30s`, `5m`, `2h`, `3d` into milliseconds.
pub fn parse_duration(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let factor = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(factor)
}

/// The instant a date or datetime stands for (a date is 00:00 UTC): what
/// `wait until` waits for and what requested dates are. `None` for any other
/// value, null included.
pub fn instant(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Date(d) => Some(d.and_hms_opt(0, 0, 0)?.and_utc()),
        Value::DateTime(t) => Some(t.with_timezone(&Utc)),
        _ => None,
    }
}

/// Reads a datetime (RFC 3339, any offset) or a date (00:00 UTC), as an
/// instant.
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    match DateTime::parse_from_rfc3339(text) {
        Ok(t) => instant(&Value::DateTime(t)),
        Err(_) => instant(&Value::Date(
            NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?,
        )),
    }
}

/// An instant as plans and reports write it: RFC 3339 in UTC
/// (`2026-12-05T09:00:00Z`).
pub fn format_instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::String(s) => f.write_str(s),
            Value::Int(i) => write!(f, "{i}"),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Date(d) => write!(f, "{}", d.format("%Y-%m-%d")),
            Value::DateTime(d) => write!(
                f,
                "{}",
                d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            ),
            Value::Duration(ms) => f.write_str(&format_duration(*ms)),
            Value::Money(m) => write!(f, "{m}"),
            Value::Percent(p) => write!(f, "{p}%"),
            Value::Null => f.write_str("null"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_utc_and_a_date_is_its_midnight() {
        let at = |s: &str| parse_instant(s).map(format_instant);
        assert_eq!(at("2026-12-05").as_deref(), Some("2026-12-05T00:00:00Z"));
        assert_eq!(
            at("2026-12-05T10:30:00+01:00").as_deref(),
            Some("2026-12-05T09:30:00Z")
        );
        assert_eq!(
            at("2026-12-05T09:00:00.250Z").as_deref(),
            Some("2026-12-05T09:00:00.250Z")
        );
        assert_eq!(at("2026-13-05"), None);
        assert_eq!(at("tomorrow"), None);
        assert_eq!(instant(&Value::Int(3)), None);
        assert_eq!(instant(&Value::Null), None);
    }

    #[test]
    fn durations_round_trip() {
        for text in ["500ms", "30s", "5m", "2h", "3d"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
        assert_eq!(parse_duration("90x"), None);
    }

    #[test]
    fn money_shows_cents() {
        let m = Money {
            amount: "49".parse().unwrap(),
            currency: "EUR".into(),
        };
        assert_eq!(m.to_string(), "49.00 EUR");
        let m = Money {
            amount: "0.125".parse().unwrap(),
            currency: "EUR".into(),
        };
        assert_eq!(m.to_string(), "0.125 EUR");
    }
}
