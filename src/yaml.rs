//! The one module that parses YAML (and JSON, a subset of YAML 1.2): orders,
//! bindings files and catalog test files all come through here, as a tree of
//! [`Node`]s that remember where they are in the file.
//!
//! Why not serde_yaml: it is unmaintained and exposes no positions of values,
//! and order errors must point at the line of the offending value (SPEC §4).
//! See `docs/deviations.md`. Swapping the parser touches this file only.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::source::SourceFile;
use crate::span::{FileId, Span};

/// A YAML value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    /// A plain numeric scalar, kept as written so decimals stay exact.
    Number(String),
    String(String),
    Seq(Vec<Node>),
    /// Keys in file order.
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub message: String,
    pub span: Span,
}

/// Aliases can multiply a document; past this many nodes it is refused.
const MAX_NODES: usize = 1_000_000;

/// Lists and mappings nest at most this deep: values are walked recursively
/// later, and no order nests more than a few levels.
const MAX_DEPTH: usize = 64;

/// Parses one YAML or JSON document.
pub fn parse(file: FileId, source: &SourceFile) -> Result<Node, YamlError> {
    let mut builder = Builder {
        file,
        source,
        stack: Vec::new(),
        anchors: Vec::new(),
        root: None,
        documents: 0,
        nodes: 0,
        error: None,
    };
    let mut parser = Parser::new_from_str(&source.text);
    if let Err(e) = parser.load(&mut builder, true) {
        let span = builder.span_at(e.marker(), 1);
        return Err(YamlError {
            message: e.info().to_string(),
            span,
        });
    }
    if let Some(err) = builder.error {
        return Err(err);
    }
    builder.root.ok_or_else(|| YamlError {
        message: "the file is empty".into(),
        span: Span::new(file, 0, 0),
    })
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::String(s) | NodeKind::Number(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar as text, whatever its YAML type: ids like `1` are strings to us.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            NodeKind::String(s) | NodeKind::Number(s) => Some(s.clone()),
            NodeKind::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Number(_) => "a number",
            NodeKind::String(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }

    /// The node as JSON, for handing to serde or to actions. Numbers that do
    /// not fit a JSON number exactly stay strings.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.kind {
            NodeKind::Null => J::Null,
            NodeKind::Bool(b) => J::Bool(*b),
            NodeKind::Number(n) => {
                if let Ok(i) = n.parse::<i64>() {
                    J::from(i)
                } else {
                    serde_json::from_str::<serde_json::Number>(n)
                        .map_or_else(|_| J::String(n.clone()), J::Number)
                }
            }
            NodeKind::String(s) => J::String(s.clone()),
            NodeKind::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => J::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.scalar_text().unwrap_or_default(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

enum Frame {
    Seq(Node, usize),
    Map(Node, usize, Option<Node>),
}

struct Builder<'s> {
    file: FileId,
    source: &'s SourceFile,
    stack: Vec<Frame>,
    anchors: Vec<(usize, Node)>,
    root: Option<Node>,
    documents: usize,
    nodes: usize,
    error: Option<YamlError>,
}

impl Builder<'_> {
    fn span_at(&self, mark: &Marker, len: usize) -> Span {
        // The parser counts characters: line from 1, column from 0.
        let start = self.source.offset_of(mark.line(), mark.col() + 1);
        let end = self.source.text[start..]
            .char_indices()
            .nth(len)
            .map_or(self.source.text.len(), |(i, _)| start + i);
        Span::new(self.file, start, end)
    }

    fn fail(&mut self, message: impl Into<String>, span: Span) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                message: message.into(),
                span,
            });
        }
    }

    /// Adds a finished node to its parent. `added` is how many values it
    /// brings that were not counted yet: one for a scalar, its whole size for
    /// an alias, none for a collection (its values were counted as they came).
    fn push_value(&mut self, node: Node, anchor: usize, added: usize) {
        self.nodes += added;
        if self.nodes > MAX_NODES {
            self.fail(
                "the document expands to too many values (aliases nested too deeply?)",
                node.span,
            );
            return;
        }
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq(seq, _)) => {
                if let NodeKind::Seq(items) = &mut seq.kind {
                    items.push(node);
                }
            }
            Some(Frame::Map(map, _, key)) => match key.take() {
                None => *key = Some(node),
                Some(k) => {
                    let duplicate = match &map.kind {
                        NodeKind::Map(entries) => entries.iter().any(|(e, _)| e.kind == k.kind),
                        _ => false,
                    };
                    if duplicate {
                        let name = k.scalar_text().unwrap_or_default();
                        self.fail(
                            format!("the key `{name}` appears twice in this mapping"),
                            k.span,
                        );
                        return;
                    }
                    if let NodeKind::Map(entries) = &mut map.kind {
                        entries.push((k, node));
                    }
                }
            },
        }
    }
}

fn count(node: &Node) -> usize {
    match &node.kind {
        NodeKind::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        NodeKind::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| count(k) + count(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

fn scalar(value: String, style: TScalarStyle) -> NodeKind {
    if style != TScalarStyle::Plain {
        return NodeKind::String(value);
    }
    match value.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => NodeKind::Null,
        "true" | "True" | "TRUE" => NodeKind::Bool(true),
        "false" | "False" | "FALSE" => NodeKind::Bool(false),
        v if is_number(v) => NodeKind::Number(value),
        _ => NodeKind::String(value),
    }
}

fn is_number(v: &str) -> bool {
    let body = v.strip_prefix(['-', '+']).unwrap_or(v);
    let mut parts = body.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    let span = self.span_at(&mark, 3);
                    self.fail("the file holds more than one YAML document", span);
                }
            }
            Event::Scalar(value, style, anchor, _) => {
                let quoted = usize::from(style != TScalarStyle::Plain) * 2;
                let span = self.span_at(&mark, value.chars().count() + quoted);
                self.push_value(
                    Node {
                        kind: scalar(value, style),
                        span,
                    },
                    anchor,
                    1,
                );
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                let span = self.span_at(&mark, 1);
                self.fail(
                    format!("lists and mappings nest more than {MAX_DEPTH} levels deep"),
                    span,
                );
            }
            Event::SequenceStart(anchor, _) => {
                let span = self.span_at(&mark, 1);
                self.stack.push(Frame::Seq(
                    Node {
                        kind: NodeKind::Seq(Vec::new()),
                        span,
                    },
                    anchor,
                ));
            }
            Event::MappingStart(anchor, _) => {
                let span = self.span_at(&mark, 1);
                self.stack.push(Frame::Map(
                    Node {
                        kind: NodeKind::Map(Vec::new()),
                        span,
                    },
                    anchor,
                    None,
                ));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(Frame::Seq(node, anchor) | Frame::Map(node, anchor, _)) =
                    self.stack.pop()
                {
                    self.push_value(node, anchor, 1);
                }
            }
            Event::Alias(id) => {
                let found = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, n)| n.clone());
                let span = self.span_at(&mark, 1);
                match found {
                    Some(mut node) => {
                        node.span = span;
                        let size = count(&node);
                        self.push_value(node, 0, size);
                    }
                    None => self.fail("unknown alias", span),
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Node, YamlError> {
        parse(FileId(0), &SourceFile::new("t.yaml", text))
    }

    #[test]
    fn nodes_know_their_place() {
        let text = "é: ü\nitems:\n  - id: \"1\"\n    price: 39.90\n";
        let root = parse_str(text).unwrap();
        let item = match &root.get("items").unwrap().kind {
            NodeKind::Seq(items) => &items[0],
            _ => panic!("list expected"),
        };
        let price = item.get("price").unwrap();
        assert_eq!(price.kind, NodeKind::Number("39.90".into()));
        assert_eq!(&text[price.span.range()], "39.90");
        assert_eq!(&text[item.get("id").unwrap().span.range()], "\"1\"");
    }

    #[test]
    fn json_is_yaml() {
        let root = parse_str(r#"{"id": "ORD-1", "items": [{"n": 2}]}"#).unwrap();
        assert_eq!(root.get("id").unwrap().as_str(), Some("ORD-1"));
    }

    #[test]
    fn errors_have_positions() {
        let e = parse_str("a: [1, 2\nb: 3").unwrap_err();
        assert_eq!(e.span.start, 10);
        let e = parse_str("a: 1\na: 2\n").unwrap_err();
        assert!(e.message.contains("twice"), "{}", e.message);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let text = format!("a: {}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_str(&text).is_err());
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"));
        }
        assert!(parse_str(&text).is_err());
    }
}
