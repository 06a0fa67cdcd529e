//! Diagnostics positioned by a JSON path into a request body
//! (`productOrderItem[0].product.productCharacteristic[1].value`) instead of
//! a line and column: what an API client can act on.

use serde_json::{json, Value as J};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::SourceFile;
use crate::span::{FileId, Span};
use crate::yaml::{Node, NodeKind};

/// The path of the member of `root` at `span`: the node (or the key) with
/// exactly that span, else the innermost node holding it; `""` for the body
/// itself or a span elsewhere.
pub fn json_path(root: &Node, span: Span) -> String {
    let mut path = String::new();
    walk(root, span, &mut path);
    path
}

fn walk(node: &Node, span: Span, path: &mut String) {
    if node.span == span {
        return;
    }
    match &node.kind {
        NodeKind::Map(entries) => {
            for (k, v) in entries {
                let key = k.scalar_text().unwrap_or_default();
                if k.span == span || contains(v, span) {
                    push_key(path, &key);
                    if k.span != span {
                        walk(v, span, path);
                    }
                    return;
                }
            }
        }
        NodeKind::Seq(list) => {
            for (i, v) in list.iter().enumerate() {
                if contains(v, span) {
                    path.push_str(&format!("[{i}]"));
                    walk(v, span, path);
                    return;
                }
            }
        }
        _ => {}
    }
}

/// Whether `inner` lies within `node` and its members. (A collection's own
/// span is its opening bracket only.)
fn contains(node: &Node, inner: Span) -> bool {
    node.span.file == inner.file
        && node.span.start <= inner.start
        && inner.end() <= extent_end(node)
}

fn extent_end(node: &Node) -> usize {
    let last = match &node.kind {
        NodeKind::Map(entries) => entries.last().map(|(_, v)| v),
        NodeKind::Seq(list) => list.last(),
        _ => None,
    };
    last.map_or(node.span.end(), |n| extent_end(n).max(node.span.end()))
}

fn push_key(path: &mut String, key: &str) {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '@' | '-'));
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push_str(&format!("[{}]", J::String(key.to_string())));
    }
}

/// Diagnostics as an API returns them: ordo's diagnostic objects with a
/// `path` into the request body (`file` in `source`) in place of file, line
/// and column. Diagnostics elsewhere (in the catalog) have the path `""`.
pub fn tmf_diagnostics(diags: &Diagnostics, file: FileId, source: &SourceFile) -> Vec<J> {
    let root = crate::yaml::parse(file, source).ok();
    diags.list.iter().map(|d| one(d, root.as_ref())).collect()
}

fn one(d: &Diagnostic, root: Option<&Node>) -> J {
    let path = match (root, d.span) {
        (Some(root), Some(span)) if root.span.file == span.file => json_path(root, span),
        _ => String::new(),
    };
    json!({
        "severity": d.severity,
        "code": d.code.as_str(),
        "message": d.message,
        "path": path,
        "help": d.help,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Node {
        let source = SourceFile::new("body.json", text);
        crate::yaml::parse(FileId(0), &source).unwrap()
    }

    fn find<'a>(node: &'a Node, path: &[&str]) -> &'a Node {
        path.iter()
            .fold(node, |n, step| match step.parse::<usize>() {
                Ok(i) => match &n.kind {
                    NodeKind::Seq(l) => &l[i],
                    _ => panic!("not a list"),
                },
                Err(_) => n.get(step).unwrap(),
            })
    }

    #[test]
    fn paths_name_members_and_indexes() {
        let root = parse(
            r#"{"productOrderItem": [{"id": "1"}, {"product": {"productCharacteristic": [{"name": "a", "value": 1}, {"name": "speed", "value": "2G"}]}}], "odd key": true}"#,
        );
        let value = find(
            &root,
            &[
                "productOrderItem",
                "1",
                "product",
                "productCharacteristic",
                "1",
                "value",
            ],
        );
        assert_eq!(
            json_path(&root, value.span),
            "productOrderItem[1].product.productCharacteristic[1].value"
        );
        let item = find(&root, &["productOrderItem", "0"]);
        assert_eq!(json_path(&root, item.span), "productOrderItem[0]");
        assert_eq!(json_path(&root, root.span), "");
        let NodeKind::Map(entries) = &root.kind else {
            panic!()
        };
        assert_eq!(json_path(&root, entries[1].0.span), "[\"odd key\"]");
    }
}
