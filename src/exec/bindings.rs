//! Bindings: which implementation runs each catalog action (SPEC §6).
//!
//! ```yaml
//! actions:
//!   "network.*":    { exec: ["./plugins/network.sh"], max_concurrent: 2 }
//!   "credit.check": { simulate: { latency: 200ms, outputs: { score: 550 } } }
//!   "*":            { simulate: {} }
//! ```
//!
//! A pattern is an exact action name, a `PREFIX.*` namespace, or `*`; the
//! most specific one that matches wins (exact, then the longest prefix, then
//! `*`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::action::Action;
use super::builtin::SimulateOptions;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::{SourceFile, Sources};
use crate::span::{FileId, Span};
use crate::value::parse_duration;
use crate::yaml::{self, Node, NodeKind};

/// Which actions a binding covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Pattern {
    Exact(String),
    /// `network.*`: held as `network.`.
    Prefix(String),
    Any,
}

impl Pattern {
    pub fn parse(text: &str) -> Result<Pattern, String> {
        if text == "*" {
            return Ok(Pattern::Any);
        }
        let prefix = text.strip_suffix(".*");
        let body = prefix.unwrap_or(text);
        if body.is_empty() || body.contains('*') {
            return Err(format!(
                "`{text}` is no action pattern: write an action name (`network.activate`), \
                 a namespace (`network.*`) or `*`"
            ));
        }
        Ok(match prefix {
            Some(p) => Pattern::Prefix(format!("{p}.")),
            None => Pattern::Exact(text.to_string()),
        })
    }

    pub fn matches(&self, action: &str) -> bool {
        match self {
            Pattern::Exact(name) => name == action,
            Pattern::Prefix(p) => action.starts_with(p.as_str()),
            Pattern::Any => true,
        }
    }

    /// Higher is more specific.
    fn specificity(&self) -> (u8, usize) {
        match self {
            Pattern::Exact(_) => (2, 0),
            Pattern::Prefix(p) => (1, p.len()),
            Pattern::Any => (0, 0),
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Exact(name) => f.write_str(name),
            Pattern::Prefix(p) => write!(f, "{p}*"),
            Pattern::Any => f.write_str("*"),
        }
    }
}

/// How a bound action runs.
#[derive(Clone)]
pub enum Implementation {
    Simulate(SimulateOptions),
    Noop,
    /// A program and its arguments; a relative program path has already been
    /// resolved against the bindings file's folder.
    Exec {
        program: PathBuf,
        args: Vec<String>,
    },
    /// A Rust implementation registered by a library user.
    Custom(Arc<dyn Action>),
}

impl fmt::Debug for Implementation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Implementation::Simulate(o) => f.debug_tuple("Simulate").field(o).finish(),
            Implementation::Noop => f.write_str("Noop"),
            Implementation::Exec { program, args } => f
                .debug_struct("Exec")
                .field("program", program)
                .field("args", args)
                .finish(),
            Implementation::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub pattern: Pattern,
    pub implementation: Implementation,
    /// At most this many attempts of the actions it covers run at once.
    pub max_concurrent: Option<usize>,
}

/// A set of bindings. [`Bindings::default`] simulates every action, as a run
/// without a bindings file does.
#[derive(Debug, Clone)]
pub struct Bindings {
    entries: Vec<Binding>,
}

impl Default for Bindings {
    fn default() -> Bindings {
        let mut b = Bindings::empty();
        b.bind(
            Pattern::Any,
            Implementation::Simulate(SimulateOptions::default()),
            None,
        );
        b
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BindingsError {
    #[error("cannot read the bindings file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the bindings file is invalid")]
    Invalid(Diagnostics),
}

impl Bindings {
    /// No bindings at all: every action must be bound before a run.
    pub fn empty() -> Bindings {
        Bindings {
            entries: Vec::new(),
        }
    }

    /// Reads a bindings file, adding it to `sources` so its diagnostics can
    /// be rendered.
    pub fn load(path: &Path, sources: &mut Sources) -> Result<Bindings, BindingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| BindingsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let file = sources.add(SourceFile::new(path, text));
        let folder = path.parent().unwrap_or(Path::new(""));
        let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
        Bindings::parse(file, sources.get(file), &folder).map_err(BindingsError::Invalid)
    }

    /// Parses a bindings file's text; relative program paths resolve against
    /// `folder`. Every error in the file is reported.
    pub fn parse(
        file: FileId,
        source: &SourceFile,
        folder: &Path,
    ) -> Result<Bindings, Diagnostics> {
        let root = yaml::parse(file, source).map_err(|e| {
            Diagnostics::from(Diagnostic::error(Code::Bindings, e.message).at(e.span, "here"))
        })?;
        let mut reader = Reader {
            folder,
            diags: Diagnostics::new(),
            bindings: Bindings::empty(),
        };
        reader.root(&root);
        if reader.diags.has_errors() {
            reader.diags.sort();
            return Err(reader.diags);
        }
        Ok(reader.bindings)
    }

    /// Binds a pattern, replacing an earlier binding of the same pattern.
    pub fn bind(
        &mut self,
        pattern: Pattern,
        implementation: Implementation,
        max_concurrent: Option<usize>,
    ) {
        self.entries.retain(|b| b.pattern != pattern);
        self.entries.push(Binding {
            pattern,
            implementation,
            max_concurrent,
        });
    }

    /// Registers a Rust implementation for the actions `pattern` matches.
    pub fn register(&mut self, pattern: &str, action: impl Action + 'static) -> Result<(), String> {
        let pattern = Pattern::parse(pattern)?;
        self.bind(pattern, Implementation::Custom(Arc::new(action)), None);
        Ok(())
    }

    /// The binding of `action`: the most specific pattern that matches.
    pub fn resolve(&self, action: &str) -> Option<&Binding> {
        self.resolve_index(action).map(|i| &self.entries[i])
    }

    pub(crate) fn resolve_index(&self, action: &str) -> Option<usize> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, b)| b.pattern.matches(action))
            .max_by_key(|(_, b)| b.pattern.specificity())
            .map(|(i, _)| i)
    }

    pub fn entries(&self) -> &[Binding] {
        &self.entries
    }
}

const TOP_KEYS: [&str; 1] = ["actions"];
const ENTRY_KEYS: [&str; 4] = ["simulate", "noop", "exec", "max_concurrent"];
const SIMULATE_KEYS: [&str; 4] = ["latency", "outputs", "fail", "fail_permanently"];

fn err(span: Span, message: impl Into<String>, label: &str) -> Diagnostic {
    Diagnostic::error(Code::Bindings, message).at(span, label)
}

struct Reader<'a> {
    folder: &'a Path,
    diags: Diagnostics,
    bindings: Bindings,
}

impl Reader<'_> {
    fn push(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn entries<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [(Node, Node)]> {
        match &node.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => {
                let d = err(
                    node.span,
                    format!("{what} must be a mapping, not {}", node.describe()),
                    "expected a mapping",
                );
                self.push(d);
                None
            }
        }
    }

    /// Reports keys outside `known`, with a "did you mean".
    fn unknown_keys(&mut self, entries: &[(Node, Node)], known: &[&str], what: &str) {
        for (k, _) in entries {
            let name = k.scalar_text().unwrap_or_default();
            if !known.contains(&name.as_str()) {
                let d = err(
                    k.span,
                    format!("unknown key `{name}` in {what}"),
                    "unknown key",
                )
                .suggest_or_list(&name, "key", known.iter().copied());
                self.push(d);
            }
        }
    }

    fn root(&mut self, root: &Node) {
        let Some(entries) = self.entries(root, "a bindings file") else {
            return;
        };
        self.unknown_keys(entries, &TOP_KEYS, "a bindings file");
        let Some(actions) = root.get("actions") else {
            let d = err(
                root.span,
                "a bindings file needs an `actions:` mapping",
                "no `actions:` here",
            )
            .with_help("for example:  actions: { \"*\": { simulate: {} } }");
            self.push(d);
            return;
        };
        if matches!(actions.kind, NodeKind::Null) {
            return;
        }
        let Some(actions) = self.entries(actions, "`actions`") else {
            return;
        };
        for (key, value) in actions {
            let text = key.scalar_text().unwrap_or_default();
            let pattern = match Pattern::parse(&text) {
                Ok(p) => p,
                Err(message) => {
                    let d = err(key.span, message, "not a pattern");
                    self.push(d);
                    continue;
                }
            };
            if let Some(binding) = self.binding(pattern, value) {
                self.bindings.entries.push(binding);
            }
        }
    }

    fn binding(&mut self, pattern: Pattern, node: &Node) -> Option<Binding> {
        let entries = self.entries(node, &format!("the binding of `{pattern}`"))?;
        self.unknown_keys(entries, &ENTRY_KEYS, "a binding");
        let kinds: Vec<&(Node, Node)> = entries
            .iter()
            .filter(|(k, _)| matches!(k.as_str(), Some("simulate" | "noop" | "exec")))
            .collect();
        let max_concurrent = node
            .get("max_concurrent")
            .and_then(|n| self.positive(n, "max_concurrent"));
        let [(kind, value)] = kinds.as_slice() else {
            let span = kinds.get(1).map_or(node.span, |(k, _)| k.span);
            let d = err(
                    span,
                    format!("the binding of `{pattern}` must say exactly one of `simulate`, `noop` or `exec`"),
                    if kinds.is_empty() { "no implementation" } else { "second implementation" },
                )
                .with_help("for example:  { simulate: {} }  or  { exec: [\"./plugins/net.sh\"] }");
            self.push(d);
            return None;
        };
        let implementation = match kind.as_str() {
            Some("simulate") => Implementation::Simulate(self.simulate(value)?),
            Some("noop") => {
                let empty = match &value.kind {
                    NodeKind::Null => true,
                    NodeKind::Map(m) => m.is_empty(),
                    _ => false,
                };
                if !empty {
                    let d = err(value.span, "`noop` takes no options", "write `noop: {}`");
                    self.push(d);
                    return None;
                }
                Implementation::Noop
            }
            _ => self.exec(value)?,
        };
        Some(Binding {
            pattern,
            implementation,
            max_concurrent,
        })
    }

    fn simulate(&mut self, node: &Node) -> Option<SimulateOptions> {
        let mut options = SimulateOptions::default();
        if matches!(node.kind, NodeKind::Null) {
            return Some(options);
        }
        let entries = self.entries(node, "`simulate`")?;
        self.unknown_keys(entries, &SIMULATE_KEYS, "`simulate`");
        let mut ok = true;
        if let Some(latency) = node.get("latency") {
            match latency.as_str().and_then(parse_duration) {
                Some(ms) => options.latency_ms = ms,
                None => {
                    let d = err(
                        latency.span,
                        "`latency` must be a duration",
                        "not a duration",
                    )
                    .with_help("write a number and a unit: 500ms, 2s, 1m");
                    self.push(d);
                    ok = false;
                }
            }
        }
        if let Some(outputs) = node.get("outputs") {
            match self.entries(outputs, "`outputs`") {
                Some(entries) => {
                    for (k, v) in entries {
                        options
                            .outputs
                            .insert(k.scalar_text().unwrap_or_default(), v.to_json());
                    }
                }
                None => ok = false,
            }
        }
        if let Some(fail) = node.get("fail") {
            match fail.as_str().and_then(|s| s.parse::<u32>().ok()) {
                Some(n) => options.fail = n,
                None => {
                    let d = err(
                        fail.span,
                        "`fail` must be a whole number of attempts",
                        "not a count",
                    );
                    self.push(d);
                    ok = false;
                }
            }
        }
        if let Some(flag) = node.get("fail_permanently") {
            match flag.kind {
                NodeKind::Bool(b) => options.fail_permanently = b,
                _ => {
                    let d = err(
                        flag.span,
                        "`fail_permanently` must be true or false",
                        "not a boolean",
                    );
                    self.push(d);
                    ok = false;
                }
            }
        }
        ok.then_some(options)
    }

    fn exec(&mut self, node: &Node) -> Option<Implementation> {
        let NodeKind::Seq(items) = &node.kind else {
            let d = err(
                node.span,
                "`exec` must be a list: the program, then its arguments",
                "not a list",
            )
            .with_help("for example:  exec: [\"./plugins/net.sh\", \"--verbose\"]");
            self.push(d);
            return None;
        };
        if items.is_empty() {
            let d = err(
                node.span,
                "`exec` needs at least the program to run",
                "empty list",
            )
            .with_help("for example:  exec: [\"./plugins/net.sh\"]");
            self.push(d);
            return None;
        }
        let mut argv = Vec::new();
        for item in items {
            match item.scalar_text() {
                Some(s) if !s.is_empty() => argv.push(s),
                _ => {
                    let d = err(
                        item.span,
                        "each `exec` word must be a non-empty string",
                        "here",
                    );
                    self.push(d);
                    return None;
                }
            }
        }
        let program = PathBuf::from(argv.remove(0));
        // A path with a folder in it is relative to the bindings file; a
        // bare name is looked up through PATH when the program runs.
        let program = if program.is_relative() && program.components().count() > 1 {
            self.folder.join(program)
        } else {
            program
        };
        Some(Implementation::Exec {
            program,
            args: argv,
        })
    }

    fn positive(&mut self, node: &Node, key: &str) -> Option<usize> {
        match node.as_str().and_then(|s| s.parse::<usize>().ok()) {
            Some(n) if n > 0 => Some(n),
            _ => {
                let d = err(
                    node.span,
                    format!("`{key}` must be a whole number above 0"),
                    "here",
                );
                self.push(d);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Bindings, Diagnostics> {
        let source = SourceFile::new("bindings.yaml", text);
        Bindings::parse(FileId(0), &source, Path::new("/etc/ordo"))
    }

    fn line_of(text: &str, d: &Diagnostic) -> usize {
        SourceFile::new("b", text)
            .line_column(d.span.unwrap().start as usize)
            .0
    }

    #[test]
    fn the_most_specific_pattern_wins() {
        let b = parse(
            "actions:\n  \"*\": { noop: {} }\n  \"network.*\": { simulate: {} }\n  \
             \"network.core.*\": { exec: [\"./x.sh\"] }\n  network.activate: { simulate: { fail: 1 } }\n",
        )
        .unwrap();
        let pattern = |a: &str| b.resolve(a).unwrap().pattern.to_string();
        assert_eq!(pattern("network.activate"), "network.activate");
        assert_eq!(pattern("network.core.route"), "network.core.*");
        assert_eq!(pattern("network.check"), "network.*");
        assert_eq!(pattern("billing.start"), "*");
        assert_eq!(pattern("networks.x"), "*");
    }

    #[test]
    fn relative_programs_resolve_against_the_file_and_bare_names_do_not() {
        let b = parse("actions:\n  a: { exec: [\"./plugins/a.sh\", \"-v\"] }\n  b: { exec: [python3, x.py] }\n")
            .unwrap();
        let Implementation::Exec { program, args } = &b.resolve("a").unwrap().implementation else {
            panic!()
        };
        assert_eq!(program, Path::new("/etc/ordo/./plugins/a.sh"));
        assert_eq!(args, &["-v"]);
        let Implementation::Exec { program, .. } = &b.resolve("b").unwrap().implementation else {
            panic!()
        };
        assert_eq!(program, Path::new("python3"));
    }

    #[test]
    fn options_are_read() {
        let b = parse(
            "actions:\n  credit.check:\n    simulate: { latency: 200ms, outputs: { score: 550 }, fail: 2 }\n    \
             max_concurrent: 3\n",
        )
        .unwrap();
        let binding = b.resolve("credit.check").unwrap();
        assert_eq!(binding.max_concurrent, Some(3));
        let Implementation::Simulate(o) = &binding.implementation else {
            panic!()
        };
        assert_eq!((o.latency_ms, o.fail), (200, 2));
        assert_eq!(o.outputs["score"], 550);
    }

    #[test]
    fn every_error_names_its_line() {
        let text = "actions:\n  a: { simulate: { latncy: 2s } }\n  b: { simulate: { latency: soon } }\n  \
                    c: { exec: [] }\n  d: { noop: {}, exec: [x] }\n  \"*.x\": { noop: {} }\n  e: { max_concurrent: 0, noop: {} }\n";
        let diags = parse(text).unwrap_err();
        let found: Vec<(usize, String)> = diags
            .list
            .iter()
            .map(|d| (line_of(text, d), d.message.clone()))
            .collect();
        assert!(diags.list.iter().all(|d| d.code == Code::Bindings));
        assert_eq!(found.len(), 6, "{found:#?}");
        assert_eq!(found[0], (2, "unknown key `latncy` in `simulate`".into()));
        assert_eq!(
            diags.list[0].help.as_deref(),
            Some("did you mean `latency`?")
        );
        assert_eq!(found[1], (3, "`latency` must be a duration".into()));
        assert_eq!(
            found[2],
            (4, "`exec` needs at least the program to run".into())
        );
        assert_eq!(found[3].0, 5);
        assert!(found[4].1.contains("no action pattern"), "{found:?}");
        assert_eq!(
            found[5],
            (7, "`max_concurrent` must be a whole number above 0".into())
        );
    }

    #[test]
    fn unknown_top_level_keys_are_refused() {
        let diags = parse("action:\n  \"*\": { noop: {} }\n").unwrap_err();
        assert_eq!(
            diags.list[0].message,
            "unknown key `action` in a bindings file"
        );
        assert_eq!(
            diags.list[0].help.as_deref(),
            Some("did you mean `actions`?")
        );
    }
}
