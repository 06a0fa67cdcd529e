//! The one module that parses YAML (and JSON, a subset of YAML 1.2): orders,
//! bindings files and catalog test files all come through here, as a tree of
//! [`Node`]s that remember where they are in the file.
//!
//! Why not serde_yaml: it is unmaintained and exposes no positions of values,
//! and order errors must point at the line of the offending value (SPEC §4).
//! See `docs/deviations.md`. Swapping the parser touches this module only.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::source::SourceFile;
use crate::span::{FileId, Span};

mod json;
mod limits;
#[cfg(test)]
mod tests;

pub(crate) use limits::env_limit;
pub use limits::Limits;

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
    /// The document passes one of the [`Limits`] (or one is set wrongly):
    /// `docs/limits.md` is the help.
    pub limit: bool,
}

/// Parses one YAML document, or one strict JSON document when the file's
/// name ends in `.json`, within the [`Limits`] set in the environment.
pub fn parse(file: FileId, source: &SourceFile) -> Result<Node, YamlError> {
    let limits = Limits::from_env().map_err(|message| YamlError {
        message,
        span: Span::new(file, 0, 0),
        limit: true,
    })?;
    parse_within(file, source, &limits)
}

/// [`parse`] with the given limits.
pub fn parse_within(file: FileId, source: &SourceFile, limits: &Limits) -> Result<Node, YamlError> {
    if source.text.len() > limits.bytes {
        return Err(YamlError {
            message: limits.too_many_bytes(source.text.len()),
            span: Span::new(file, 0, 0),
            limit: true,
        });
    }
    let json = source
        .path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if json {
        json::strict_json(file, source, limits)?;
    }
    let mut builder = Builder {
        file,
        source,
        limits,
        stack: Vec::new(),
        anchors: Vec::new(),
        root: None,
        documents: 0,
        size: Size::default(),
        aliased: false,
        error: None,
    };
    let mut parser = Parser::new_from_str(&source.text);
    if let Err(e) = parser.load(&mut builder, true) {
        let span = builder.span_at(e.marker(), 1);
        return Err(YamlError {
            message: e.info().to_string(),
            span,
            limit: false,
        });
    }
    if let Some(err) = builder.error {
        return Err(err);
    }
    builder.root.ok_or_else(|| YamlError {
        message: "the file is empty".into(),
        span: Span::new(file, 0, 0),
        limit: false,
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

/// What a node costs against the [`Limits`]: its values, and the bytes of
/// its scalars.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    values: usize,
    bytes: usize,
}

impl Size {
    fn add(&mut self, other: Size) {
        self.values += other.values;
        self.bytes += other.bytes;
    }
}

struct Builder<'s> {
    file: FileId,
    source: &'s SourceFile,
    limits: &'s Limits,
    stack: Vec<Frame>,
    anchors: Vec<(usize, Node, Size)>,
    root: Option<Node>,
    documents: usize,
    /// The document so far, counting every copy an alias or anchor makes.
    size: Size,
    /// Whether an alias repeated a value yet (the limits' errors say so).
    aliased: bool,
    error: Option<YamlError>,
}

impl Builder<'_> {
    fn span_at(&self, mark: &Marker, len: usize) -> Span {
        // The parser's index counts characters from the start of the text.
        let start = self.source.offset_of_char(mark.index());
        let end = self.source.offset_of_char(mark.index() + len);
        Span::new(self.file, start, end)
    }

    fn fail(&mut self, message: impl Into<String>, span: Span) {
        self.fail_as(message.into(), span, false);
    }

    /// [`Builder::fail`] for a document past one of the limits.
    fn fail_limit(&mut self, message: String, span: Span) {
        self.fail_as(message, span, true);
    }

    fn fail_as(&mut self, message: String, span: Span, limit: bool) {
        if self.error.is_none() {
            self.error = Some(YamlError {
                message,
                span,
                limit,
            });
        }
    }

    /// Counts what a node adds against the limits; false (and the error
    /// set) once past one.
    fn within_limits(&mut self, added: Size, span: Span) -> bool {
        self.size.add(added);
        let limits = self.limits;
        if self.size.values > limits.values {
            self.fail_limit(limits.too_many_values(self.aliased), span);
            return false;
        }
        if self.size.bytes > limits.expanded {
            self.fail_limit(limits.expands_too_far(self.aliased), span);
            return false;
        }
        true
    }

    /// Adds a finished node to its parent. `added` is what it brings that
    /// was not counted yet: a scalar itself, an alias all it repeats, a
    /// collection only itself (its values were counted as they came).
    fn push_value(&mut self, node: Node, anchor: usize, added: Size) {
        if !self.within_limits(added, node.span) {
            return;
        }
        if anchor > 0 {
            // The anchor keeps a copy, which counts as much as an alias's.
            let size = count(&node);
            if !self.within_limits(Size { values: 0, ..size }, node.span) {
                return;
            }
            self.anchors.push((anchor, node.clone(), size));
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

fn count(node: &Node) -> Size {
    let mut size = Size {
        values: 1,
        bytes: 0,
    };
    match &node.kind {
        NodeKind::Seq(items) => items.iter().for_each(|i| size.add(count(i))),
        NodeKind::Map(entries) => entries.iter().for_each(|(k, v)| {
            size.add(count(k));
            size.add(count(v));
        }),
        NodeKind::String(s) | NodeKind::Number(s) => size.bytes = s.len(),
        NodeKind::Null | NodeKind::Bool(_) => {}
    }
    size
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
                let size = Size {
                    values: 1,
                    bytes: value.len(),
                };
                self.push_value(
                    Node {
                        kind: scalar(value, style),
                        span,
                    },
                    anchor,
                    size,
                );
            }
            Event::SequenceStart(..) | Event::MappingStart(..)
                if self.stack.len() >= self.limits.depth =>
            {
                let span = self.span_at(&mark, 1);
                self.fail_limit(self.limits.too_deep(), span);
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
                    let size = Size {
                        values: 1,
                        bytes: 0,
                    };
                    self.push_value(node, anchor, size);
                }
            }
            Event::Alias(id) => {
                self.aliased = true;
                let found = self.anchors.iter().rposition(|(a, ..)| *a == id);
                let span = self.span_at(&mark, 1);
                match found {
                    // Counted before the copy is made: the copy is the cost.
                    Some(at) => {
                        let size = self.anchors[at].2;
                        if self.within_limits(Size { values: 0, ..size }, span) {
                            let mut node = self.anchors[at].1.clone();
                            node.span = span;
                            self.push_value(node, 0, Size { bytes: 0, ..size });
                        }
                    }
                    None => self.fail("unknown alias", span),
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}
