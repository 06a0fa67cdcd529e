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

/// The most one document may hold, so that no file, however written, can
/// take more memory or stack than these allow. Orders, bindings files and
/// catalog test files all share them; `docs/limits.md` states them. Each can
/// be set by an environment variable, read on every parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Size of the file in bytes (`ORDO_LIMIT_BYTES`).
    pub bytes: usize,
    /// Values (scalars, lists, mappings, each alias counting all it repeats)
    /// (`ORDO_LIMIT_VALUES`).
    pub values: usize,
    /// How deep lists and mappings nest (`ORDO_LIMIT_DEPTH`, at most
    /// [`Limits::MAX_DEPTH`]): values are walked recursively later.
    pub depth: usize,
    /// Bytes of text the document expands to: every scalar, and again every
    /// time an alias repeats it (`ORDO_LIMIT_EXPANDED`). A one-megabyte
    /// string aliased two thousand times is two gigabytes.
    pub expanded: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        bytes: 64 << 20,
        values: 1_000_000,
        depth: 64,
        expanded: 64 << 20,
    };

    /// The ceiling of `ORDO_LIMIT_DEPTH`: deeper, a recursive walk of the
    /// values could overflow the stack.
    pub const MAX_DEPTH: usize = 100;

    /// The limits, with any set in the environment.
    pub fn from_env() -> Result<Limits, String> {
        let read = |name: &str, default: usize| match std::env::var(name) {
            Err(_) => Ok(default),
            Ok(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(n),
                _ => Err(format!("{name} is `{v}`, not a positive whole number")),
            },
        };
        let d = Limits::DEFAULT;
        Ok(Limits {
            bytes: read("ORDO_LIMIT_BYTES", d.bytes)?,
            values: read("ORDO_LIMIT_VALUES", d.values)?,
            depth: read("ORDO_LIMIT_DEPTH", d.depth)?.min(Limits::MAX_DEPTH),
            expanded: read("ORDO_LIMIT_EXPANDED", d.expanded)?,
        })
    }
}

/// Parses one YAML document, or one strict JSON document when the file's
/// name ends in `.json`, within the [`Limits`] set in the environment.
pub fn parse(file: FileId, source: &SourceFile) -> Result<Node, YamlError> {
    let limits = Limits::from_env().map_err(|message| YamlError {
        message,
        span: Span::new(file, 0, 0),
    })?;
    parse_within(file, source, &limits)
}

/// [`parse`] with the given limits.
pub fn parse_within(file: FileId, source: &SourceFile, limits: &Limits) -> Result<Node, YamlError> {
    if source.text.len() > limits.bytes {
        return Err(YamlError {
            message: format!(
                "the file is {} bytes, more than the limit of {} (set ORDO_LIMIT_BYTES to change it)",
                source.text.len(),
                limits.bytes
            ),
            span: Span::new(file, 0, 0),
        });
    }
    let json = source
        .path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if json {
        strict_json(file, source, limits)?;
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

/// What is wrong at byte `at`, in words for the things YAML allows and JSON
/// does not; serde_json's own message (without its position) otherwise.
fn json_problem(e: &serde_json::Error, text: &str, at: usize) -> String {
    let rest = &text[at..];
    let before = text[..at].trim_end();
    if before.ends_with(',') && (rest.starts_with('}') || rest.starts_with(']')) {
        return "a trailing comma".into();
    }
    if rest.starts_with('\'') {
        return "a string in single quotes: JSON strings and keys are in double quotes".into();
    }
    if rest.starts_with("//") || rest.starts_with("/*") || rest.starts_with('#') {
        return "a comment: JSON has none".into();
    }
    let key_expected = e.to_string().starts_with("key must be a string");
    if key_expected && rest.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        return "a key without double quotes".into();
    }
    let text = e.to_string();
    match text.rsplit_once(" at line ") {
        Some((m, _)) => m.to_string(),
        None => text,
    }
}

/// Refuses what YAML would take but JSON does not (single quotes, trailing
/// commas, comments, unquoted keys), with serde_json's message at its
/// position. The tree itself is still built by the YAML reader, which
/// knows where every value is.
fn strict_json(file: FileId, source: &SourceFile, limits: &Limits) -> Result<(), YamlError> {
    let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&source.text) else {
        return Ok(());
    };
    let (start, end) = source.line_range(e.line().saturating_sub(1));
    // serde_json counts columns in bytes, from 1.
    let mut at = (start + e.column().saturating_sub(1)).min(end.max(start));
    while !source.text.is_char_boundary(at) {
        at -= 1;
    }
    let message = if e.to_string().starts_with("recursion limit exceeded") {
        format!(
            "lists and mappings nest more than {} levels deep, the limit (set ORDO_LIMIT_DEPTH to change it)",
            limits.depth
        )
    } else {
        format!(
            "{} (a `.json` file is read as strict JSON)",
            json_problem(&e, &source.text, at)
        )
    };
    let next = source.text[at..].chars().next().map_or(0, char::len_utf8);
    Err(YamlError {
        message,
        span: Span::new(file, at, at + next),
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
        if self.error.is_none() {
            self.error = Some(YamlError {
                message: message.into(),
                span,
            });
        }
    }

    /// Counts what a node adds against the limits; false (and the error
    /// set) once past one.
    fn within_limits(&mut self, added: Size, span: Span) -> bool {
        self.size.add(added);
        let limits = self.limits;
        if self.size.values > limits.values {
            self.fail(
                format!(
                    "the document holds more than {} values, the limit (aliases count every value they repeat; set ORDO_LIMIT_VALUES to change it)",
                    limits.values
                ),
                span,
            );
            return false;
        }
        if self.size.bytes > limits.expanded {
            self.fail(
                format!(
                    "the document expands to more than {} bytes of text, the limit (aliases count every value they repeat; set ORDO_LIMIT_EXPANDED to change it)",
                    limits.expanded
                ),
                span,
            );
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
                let depth = self.limits.depth;
                self.fail(
                    format!("lists and mappings nest more than {depth} levels deep, the limit (set ORDO_LIMIT_DEPTH to change it)"),
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
                    let size = Size {
                        values: 1,
                        bytes: 0,
                    };
                    self.push_value(node, anchor, size);
                }
            }
            Event::Alias(id) => {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Node, YamlError> {
        parse_within(
            FileId(0),
            &SourceFile::new("t.yaml", text),
            &Limits::DEFAULT,
        )
    }

    fn parse_json(text: &str) -> Result<Node, YamlError> {
        parse_within(
            FileId(0),
            &SourceFile::new("t.json", text),
            &Limits::DEFAULT,
        )
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

    #[test]
    fn an_alias_of_a_long_string_counts_its_bytes_every_time() {
        // 2,000 aliases of a 100 KB string: 200 MB expanded, past a 10 MB limit.
        let big = "x".repeat(100_000);
        let mut text = format!("a: &s \"{big}\"\nb: [");
        text.push_str(&vec!["*s"; 2_000].join(", "));
        text.push_str("]\n");
        let limits = Limits {
            expanded: 10 << 20,
            ..Limits::DEFAULT
        };
        let e = parse_within(
            FileId(0),
            &SourceFile::new("t.yaml", text.as_str()),
            &limits,
        )
        .unwrap_err();
        assert!(
            e.message.contains("more than 10485760 bytes"),
            "{}",
            e.message
        );
        assert!(e.message.contains("ORDO_LIMIT_EXPANDED"), "{}", e.message);
        // The error is at the alias that went past the limit.
        assert_eq!(&text[e.span.range()], "*");
    }

    #[test]
    fn every_limit_is_named_in_its_error() {
        let file = SourceFile::new("t.yaml", "a: [[1, 2], [3]]\n");
        let cases = [
            (
                Limits {
                    bytes: 5,
                    ..Limits::DEFAULT
                },
                "ORDO_LIMIT_BYTES",
            ),
            (
                Limits {
                    values: 3,
                    ..Limits::DEFAULT
                },
                "ORDO_LIMIT_VALUES",
            ),
            (
                Limits {
                    depth: 1,
                    ..Limits::DEFAULT
                },
                "ORDO_LIMIT_DEPTH",
            ),
            (
                Limits {
                    expanded: 1,
                    ..Limits::DEFAULT
                },
                "ORDO_LIMIT_EXPANDED",
            ),
        ];
        for (limits, name) in cases {
            let e = parse_within(FileId(0), &file, &limits).unwrap_err();
            assert!(e.message.contains(name), "{name}: {}", e.message);
        }
        assert!(parse_within(FileId(0), &file, &Limits::DEFAULT).is_ok());
    }

    #[test]
    fn json_files_are_strict_json_with_positions() {
        let cases = [
            ("{'id': 1}", 1, "single quotes"),
            ("{\"id\": 1,}", 9, "trailing comma"),
            ("{\"a\": [1, 2,]}", 12, "trailing comma"),
            ("// note\n{\"id\": 1}", 0, "a comment"),
            ("{\"id\": 1 # note\n}", 9, "a comment"),
            ("{id: 1}", 1, "a key without double quotes"),
            ("{\"id\": 1} x", 10, "trailing characters"),
        ];
        for (text, at, message) in cases {
            let e = parse_json(text).unwrap_err();
            assert!(e.message.contains(message), "{text}: {}", e.message);
            assert!(e.message.contains("strict JSON"), "{text}: {}", e.message);
            assert!(!e.message.contains("line"), "{text}: {}", e.message);
            assert_eq!(e.span.start as usize, at, "{text}: {}", e.message);
        }
        // The same text is YAML when the file says so.
        assert!(parse_str("{'id': 1}").is_ok());
        let root = parse_json("{\"id\": \"é\", \"n\": [1]}").unwrap();
        assert_eq!(root.get("id").unwrap().span.start, 7);
    }

    #[test]
    fn json_nested_past_serde_json_s_own_limit_names_ours() {
        let text = format!("{}1{}", "[".repeat(200), "]".repeat(200));
        let e = parse_json(&text).unwrap_err();
        assert!(e.message.contains("ORDO_LIMIT_DEPTH"), "{}", e.message);
    }

    /// Bytes walked to find every position of one order of `n` items, laid
    /// out minified (one line) or pretty.
    fn walked(n: usize, pretty: bool) -> usize {
        let items: Vec<serde_json::Value> = (0..n)
            .map(|i| serde_json::json!({"id": i.to_string(), "é": [1, 2.5, "x"]}))
            .collect();
        let order = serde_json::json!({ "items": items });
        let text = if pretty {
            serde_json::to_string_pretty(&order).unwrap()
        } else {
            serde_json::to_string(&order).unwrap()
        };
        let source = SourceFile::new("t.json", text.as_str());
        let root = parse_within(FileId(0), &source, &Limits::DEFAULT).unwrap();
        let NodeKind::Seq(list) = &root.get("items").unwrap().kind else {
            panic!("a list");
        };
        let last = list[n - 1].get("id").unwrap();
        assert_eq!(&text[last.span.range()], format!("\"{}\"", n - 1));
        source.bytes_walked()
    }

    #[test]
    fn positions_cost_the_same_minified_or_pretty_and_grow_linearly() {
        let (minified, pretty) = (walked(2_000, false), walked(2_000, true));
        let (minified_4x, pretty_4x) = (walked(8_000, false), walked(8_000, true));
        // Walking from the start of the line for every value made minified
        // JSON quadratic: 2,000 items walked about 2,000 times more.
        assert!(
            minified <= 2 * pretty,
            "minified {minified}, pretty {pretty}"
        );
        assert!(
            minified_4x <= 2 * pretty_4x,
            "minified {minified_4x}, pretty {pretty_4x}"
        );
        // Four times the items, about four times the walk (not sixteen).
        assert!(minified_4x <= 5 * minified, "{minified} then {minified_4x}");
        assert!(pretty_4x <= 5 * pretty, "{pretty} then {pretty_4x}");
        // At most a block per lookup, two lookups per value of 7 per item.
        assert!(minified_4x <= 8_000 * 7 * 2 * 256, "{minified_4x}");
    }
}
