//! Errors as the API returns them: the TMF error shape `{code, reason,
//! message, status, "@type": "Error"}`, with the diagnostics of an invalid
//! order (positions as JSON paths for JSON bodies).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::diagnostic::Diagnostics;
use crate::lifecycle::{ErrorKind, LifecycleError};
use crate::render::{self, Format, RenderOptions};
use crate::source::Sources;
use crate::span::FileId;
use crate::yaml::{Node, NodeKind};

#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub diagnostics: Option<Vec<Value>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            diagnostics: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// A lifecycle error; `request` is the order document the diagnostics
    /// may point into, and whether it was JSON.
    pub fn lifecycle(e: LifecycleError, request: Option<(FileId, bool)>) -> ApiError {
        let status = match e.kind() {
            ErrorKind::Invalid => StatusCode::BAD_REQUEST,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::Other => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let code = match e.kind() {
            ErrorKind::Invalid => "invalid",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Other => "internal",
        };
        match e {
            LifecycleError::Invalid { diags, sources } => ApiError {
                status,
                code,
                message: format!(
                    "{} error{}",
                    diags.errors(),
                    if diags.errors() == 1 { "" } else { "s" }
                ),
                diagnostics: Some(diagnostics_json(&diags, &sources, request)),
            },
            LifecycleError::Store(s) => {
                let message = match miette::Diagnostic::code(&s) {
                    Some(c) => format!("[{c}] {s}"),
                    None => s.to_string(),
                };
                ApiError::new(status, code, message)
            }
            other => ApiError::new(status, code, other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "code": self.code,
            "reason": self.status.canonical_reason().unwrap_or(""),
            "message": self.message,
            "status": self.status.as_u16().to_string(),
            "@type": "Error",
        });
        if let Some(d) = self.diagnostics {
            body["diagnostics"] = Value::Array(d);
        }
        (self.status, Json(body)).into_response()
    }
}

/// The diagnostics in the JSON format of `ordo check --format json`; those
/// in a JSON request body also get `path`, the JSON path of the value they
/// point at.
fn diagnostics_json(
    diags: &Diagnostics,
    sources: &Sources,
    request: Option<(FileId, bool)>,
) -> Vec<Value> {
    let text = render::render(diags, sources, Format::Json, &RenderOptions::default());
    let mut entries = match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(mut o)) => match o.remove("diagnostics") {
            Some(Value::Array(a)) => a,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    let Some((file, true)) = request else {
        return entries;
    };
    let Ok(root) = crate::yaml::parse(file, sources.get(file)) else {
        return entries;
    };
    for (entry, d) in entries.iter_mut().zip(&diags.list) {
        if let Some(span) = d.span.filter(|s| s.file == file) {
            entry["path"] = Value::String(json_path(&root, span.start as usize));
        }
    }
    entries
}

/// The JSON path (`$.items[0].attributes`) of the innermost value at byte
/// `offset`: at each level, the last child that starts at or before it.
pub(crate) fn json_path(root: &Node, offset: usize) -> String {
    let mut path = String::from("$");
    let mut node = root;
    let starts_by = |n: &Node| n.span.start as usize <= offset;
    loop {
        match &node.kind {
            NodeKind::Seq(items) => match items.iter().enumerate().rfind(|(_, n)| starts_by(n)) {
                Some((i, item)) => {
                    path.push_str(&format!("[{i}]"));
                    node = item;
                }
                None => break,
            },
            NodeKind::Map(entries) => match entries.iter().rfind(|(k, _)| starts_by(k)) {
                Some((key, value)) => {
                    push_key(&mut path, &key.scalar_text().unwrap_or_default());
                    if !starts_by(value) {
                        break;
                    }
                    node = value;
                }
                None => break,
            },
            _ => break,
        }
    }
    path
}

fn push_key(path: &mut String, key: &str) {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        path.push('.');
        path.push_str(key);
    } else {
        path.push_str(&format!("[{}]", Value::String(key.to_string())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    #[test]
    fn json_paths_name_the_value_at_an_offset() {
        let mut sources = Sources::new();
        let text = r#"{"id": "A", "items": [{"product": "x", "a b": 1}]}"#;
        let file = sources.add(SourceFile::new("r.json", text));
        let root = crate::yaml::parse(file, sources.get(file)).unwrap();
        let at = |s: &str| text.find(s).unwrap();
        assert_eq!(json_path(&root, at("\"A\"")), "$.id");
        assert_eq!(json_path(&root, at("\"x\"")), "$.items[0].product");
        assert_eq!(json_path(&root, at("1}")), "$.items[0][\"a b\"]");
        assert_eq!(json_path(&root, 0), "$");
    }
}
