//! Bindings: which implementation runs each catalog action (SPEC §6).
//!
//! ```yaml
//! actions:
//!   "network.*":    { exec: ["./plugins/network.sh"], max_concurrent: 2 }
//!   "credit.check": { simulate: { latency: 200ms, outputs: { score: 550 } } }
//!   "billing.*":    { http: { url: "https://billing.example.com/ordo", timeout: 10s } }
//!   "*":            { simulate: {} }
//! ```
//!
//! A pattern is an exact action name, a `PREFIX.*` namespace, or `*`; the
//! most specific one that matches wins (exact, then the longest prefix, then
//! `*`). Reading the file is in [`file`]; checking bindings against a plan
//! before it runs is in [`check`]; what the store keeps of them is a
//! [`BindingsRecord`].

mod check;
mod file;
mod record;

pub use record::BindingsRecord;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::action::Action;
use super::builtin::SimulateOptions;
use super::http::HttpOptions;
use crate::diagnostic::Diagnostics;
use crate::source::{SourceFile, Sources};
use crate::span::{FileId, Span};

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
        env: PluginEnv,
    },
    /// An HTTP service, POSTed the exec protocol's request.
    Http(HttpOptions),
    /// A Rust implementation registered by a library user.
    Custom(Arc<dyn Action>),
    /// People of `team` do the action: a ready task becomes a work item.
    Manual {
        team: String,
    },
}

impl fmt::Debug for Implementation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Implementation::Simulate(o) => f.debug_tuple("Simulate").field(o).finish(),
            Implementation::Noop => f.write_str("Noop"),
            Implementation::Manual { team } => {
                f.debug_struct("Manual").field("team", team).finish()
            }
            Implementation::Exec { program, args, env } => f
                .debug_struct("Exec")
                .field("program", program)
                .field("args", args)
                .field("env", env)
                .finish(),
            Implementation::Http(o) => f.debug_tuple("Http").field(o).finish(),
            Implementation::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

impl Implementation {
    /// The implementation's own limit on one attempt, beside a task's
    /// `timeout`: the sooner of the two ends the attempt.
    pub fn timeout_ms(&self) -> Option<u64> {
        match self {
            Implementation::Http(o) => Some(o.timeout_ms),
            _ => None,
        }
    }
}

/// The environment an exec plugin runs with: ordo's own (the default), or,
/// with `clear`, only the variables `pass` names; then `set` on top.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginEnv {
    pub clear: bool,
    /// With `clear`: the variables of ordo's environment that still pass.
    pub pass: Vec<String>,
    /// Set for the plugin, whatever ordo's environment says.
    pub set: BTreeMap<String, String>,
}

impl PluginEnv {
    /// Applies this environment to a command about to start.
    pub(crate) fn apply(&self, cmd: &mut std::process::Command) {
        if self.clear {
            cmd.env_clear();
            for name in &self.pass {
                if let Some(value) = std::env::var_os(name) {
                    cmd.env(name, value);
                }
            }
        }
        cmd.envs(&self.set);
    }
}

#[derive(Debug, Clone)]
pub struct Binding {
    pub pattern: Pattern,
    pub implementation: Implementation,
    /// At most this many attempts of the actions it covers run at once.
    pub max_concurrent: Option<usize>,
    /// Where it was written (nothing for a binding made in code), so the
    /// checks against a plan point into the file.
    pub written: Written,
}

/// The places in a bindings file that the checks against a plan point at.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// The pattern, the binding's key.
    pub pattern: Option<Span>,
    /// An `exec` binding's program word.
    pub program: Option<Span>,
    /// Each `simulate.outputs` entry: its key's and its value's spans.
    pub outputs: BTreeMap<String, (Span, Span)>,
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
        Bindings::from_record(&BindingsRecord::read(path)?, sources)
    }

    /// The bindings a record holds: the default for [`BindingsRecord::Simulated`],
    /// else its file's text parsed (added to `sources`, as by [`Bindings::load`]).
    pub fn from_record(
        record: &BindingsRecord,
        sources: &mut Sources,
    ) -> Result<Bindings, BindingsError> {
        let BindingsRecord::File { path, folder, text } = record else {
            return Ok(Bindings::default());
        };
        let file = sources.add(SourceFile::new(path, text.as_str()));
        Bindings::parse(file, sources.get(file), folder).map_err(BindingsError::Invalid)
    }

    /// Parses a bindings file's text; relative program paths resolve against
    /// `folder`. Every error in the file is reported.
    pub fn parse(
        file: FileId,
        source: &SourceFile,
        folder: &Path,
    ) -> Result<Bindings, Diagnostics> {
        file::read(file, source, folder).map(|entries| Bindings { entries })
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
            written: Written::default(),
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
