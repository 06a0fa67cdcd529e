//! The completion form of a work item: one input per declared output, its
//! kind from the output's type, and the values read back into the outputs
//! `crate::lifecycle::work::complete` checks (the checks of `ordo task
//! complete`: the console adds none of its own).

use std::fmt::Write;

use crate::lifecycle::work::{GivenOutput, GivenValue, OutputError};
use crate::model::Type;
use crate::plan::render::xml;
use crate::plan::Plan;

/// Form fields of outputs are `out.NAME`.
pub(crate) const PREFIX: &str = "out.";

/// A completion the library refused: what was typed, and why.
#[derive(Debug)]
pub(crate) struct Refused {
    pub order: String,
    pub task: String,
    pub fields: Vec<(String, String)>,
    pub errors: Vec<OutputError>,
}

impl Refused {
    fn value(&self, name: &str) -> Option<&str> {
        let key = format!("{PREFIX}{name}");
        self.fields
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The input a type gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Widget {
    Select(Vec<String>),
    Checkbox,
    Date,
    DateTime,
    Number { step: &'static str },
    Text,
}

pub(crate) fn widget(ty: &Type, plan: &Plan) -> Widget {
    match ty {
        Type::Enum { name } => Widget::Select(plan.enums.get(name).cloned().unwrap_or_default()),
        Type::Bool => Widget::Checkbox,
        Type::Date => Widget::Date,
        Type::DateTime => Widget::DateTime,
        Type::Int | Type::IntRange { .. } => Widget::Number { step: "1" },
        Type::Decimal | Type::Percent => Widget::Number { step: "any" },
        _ => Widget::Text,
    }
}

/// The outputs of `task` as the form gave them: a checkbox is `true` when
/// ticked, else `false`; an empty select, date or number is not given (so
/// the library says it is missing); a `datetime-local` value is UTC.
pub(crate) fn given_outputs(
    plan: &Plan,
    task: &str,
    fields: &[(String, String)],
) -> Vec<GivenOutput> {
    let Some(idx) = plan.task(task) else {
        return Vec::new();
    };
    let value = |name: &str| {
        let key = format!("{PREFIX}{name}");
        fields
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    };
    let mut given = Vec::new();
    for (name, ty) in plan.tasks[idx].outputs.iter() {
        let at = format!("the form's field {name}");
        let v = match (widget(ty, plan), value(name)) {
            (Widget::Checkbox, v) => GivenValue::Json(serde_json::Value::Bool(v.is_some())),
            (Widget::Text, v) => GivenValue::Text(v.unwrap_or_default().to_string()),
            (_, None) => continue,
            (_, Some(v)) if v.trim().is_empty() => continue,
            (Widget::DateTime, Some(v)) => GivenValue::Text(utc_datetime(v.trim())),
            (_, Some(v)) => GivenValue::Text(v.trim().to_string()),
        };
        given.push(GivenOutput {
            name: name.clone(),
            value: v,
            at,
        });
    }
    given
}

/// `2026-12-02T10:30` (a `datetime-local` input) as RFC 3339 in UTC;
/// anything else as typed.
fn utc_datetime(v: &str) -> String {
    let minutes = v.len() == 16 && v.as_bytes().get(10) == Some(&b'T');
    let seconds = v.len() == 19 && v.as_bytes().get(10) == Some(&b'T');
    match (minutes, seconds) {
        (true, _) => format!("{v}:00Z"),
        (_, true) => format!("{v}Z"),
        _ => v.to_string(),
    }
}

/// The fields of the completion form of `task` of `plan`; `n` makes the
/// element ids unique on the page, `refused` refills it and shows each
/// error at its field.
pub(crate) fn fields(
    out: &mut String,
    plan: &Plan,
    task: &str,
    n: usize,
    refused: Option<&Refused>,
) {
    let Some(idx) = plan.task(task) else {
        return;
    };
    let declared = &plan.tasks[idx].outputs;
    if declared.is_empty() {
        out.push_str("<p class=\"hint\">This work item gives nothing back.</p>");
    }
    for (name, ty) in declared.iter() {
        let id = format!("f{n}-{}", css_id(name));
        let error = refused.and_then(|r| r.errors.iter().find(|e| &e.output == name));
        let typed = refused.and_then(|r| r.value(name));
        let described = match error {
            Some(_) => format!(" aria-invalid=\"true\" aria-describedby=\"{id}-error {id}-type\""),
            None => format!(" aria-describedby=\"{id}-type\""),
        };
        let input_name = xml(&format!("{PREFIX}{name}"));
        let _ = write!(
            out,
            "<div class=\"field{}\">",
            if error.is_some() { " invalid" } else { "" }
        );
        let label = format!(
            "<label for=\"{id}\">{}</label> <span class=\"type\" id=\"{id}-type\">{}</span>",
            xml(name),
            xml(&ty.to_string())
        );
        match widget(ty, plan) {
            Widget::Checkbox => {
                let checked = if typed.is_some() { " checked" } else { "" };
                let _ = write!(
                    out,
                    "<input type=\"checkbox\" id=\"{id}\" name=\"{input_name}\" value=\"true\"{checked}{described}> {label}"
                );
            }
            Widget::Select(options) => {
                let _ = write!(out, "{label}<select id=\"{id}\" name=\"{input_name}\"{described}><option value=\"\">choose…</option>");
                for o in &options {
                    let selected = if typed == Some(o.as_str()) {
                        " selected"
                    } else {
                        ""
                    };
                    let _ = write!(
                        out,
                        "<option value=\"{v}\"{selected}>{v}</option>",
                        v = xml(o)
                    );
                }
                out.push_str("</select>");
            }
            w => {
                let (kind, extra) = match w {
                    Widget::Date => ("date", String::new()),
                    Widget::DateTime => ("datetime-local", String::new()),
                    Widget::Number { step } => {
                        ("number", format!(" step=\"{step}\" inputmode=\"decimal\""))
                    }
                    _ => ("text", String::new()),
                };
                let value = typed
                    .map(|v| format!(" value=\"{}\"", xml(v)))
                    .unwrap_or_default();
                let _ = write!(
                    out,
                    "{label}<input type=\"{kind}\" id=\"{id}\" name=\"{input_name}\"{extra}{value}{described}>"
                );
            }
        }
        if let Some(e) = error {
            let _ = write!(
                out,
                "<p class=\"field-error\" id=\"{id}-error\"><strong>Error:</strong> {} <span class=\"help\">{}</span></p>",
                xml(&e.message),
                xml(&e.help)
            );
        }
        out.push_str("</div>");
    }
    // Errors no field shows (an output the form does not have).
    if let Some(r) = refused {
        for e in r
            .errors
            .iter()
            .filter(|e| !declared.iter().any(|(n, _)| *n == e.output))
        {
            let _ = write!(
                out,
                "<p class=\"field-error\" role=\"alert\">{}</p>",
                xml(&e.message)
            );
        }
    }
}

/// A string usable in an element id: letters, digits and `_`, the rest `-`.
pub(crate) fn css_id(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetime_local_values_are_utc() {
        assert_eq!(utc_datetime("2026-12-02T10:30"), "2026-12-02T10:30:00Z");
        assert_eq!(utc_datetime("2026-12-02T10:30:15"), "2026-12-02T10:30:15Z");
        assert_eq!(utc_datetime("soon"), "soon");
    }

    #[test]
    fn ids_keep_only_letters_and_digits() {
        assert_eq!(css_id("1/survey \"x\""), "1-survey--x-");
    }
}
