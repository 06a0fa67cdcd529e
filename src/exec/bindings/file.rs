//! The bindings file: YAML read through [`crate::yaml`], every mistake a
//! diagnostic with code `ordo::bindings` at its line.

use std::path::{Path, PathBuf};

use super::{Binding, Implementation, Pattern, PluginEnv, Written};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::exec::builtin::SimulateOptions;
use crate::exec::http::{
    header_name, header_value, url_fault, Headers, HttpOptions, DEFAULT_TIMEOUT_MS,
};
use crate::source::SourceFile;
use crate::span::{FileId, Span};
use crate::value::parse_duration;
use crate::yaml::{self, Node, NodeKind};

/// Reads every binding of a file, or every error in it.
pub(super) fn read(
    file: FileId,
    source: &SourceFile,
    folder: &Path,
) -> Result<Vec<Binding>, Diagnostics> {
    let root = yaml::parse(file, source).map_err(|e| {
        Diagnostics::from(Diagnostic::error(Code::Bindings, e.message).at(e.span, "here"))
    })?;
    let mut reader = Reader {
        folder,
        diags: Diagnostics::new(),
        bindings: Vec::new(),
    };
    reader.root(&root);
    if reader.diags.has_errors() {
        reader.diags.sort();
        return Err(reader.diags);
    }
    Ok(reader.bindings)
}

const TOP_KEYS: [&str; 1] = ["actions"];
const ENTRY_KEYS: [&str; 7] = [
    "simulate",
    "noop",
    "exec",
    "http",
    "manual",
    "env",
    "max_concurrent",
];

const MANUAL_KEYS: [&str; 1] = ["team"];
const ENV_KEYS: [&str; 3] = ["clear", "pass", "set"];
const HTTP_KEYS: [&str; 3] = ["url", "timeout", "headers"];
const SIMULATE_KEYS: [&str; 4] = ["latency", "outputs", "fail", "fail_permanently"];

fn err(span: Span, message: impl Into<String>, label: &str) -> Diagnostic {
    Diagnostic::error(Code::Bindings, message).at(span, label)
}

struct Reader<'a> {
    folder: &'a Path,
    diags: Diagnostics,
    bindings: Vec<Binding>,
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
            if let Some(binding) = self.binding(pattern, key.span, value) {
                self.bindings.push(binding);
            }
        }
    }

    fn binding(&mut self, pattern: Pattern, at: Span, node: &Node) -> Option<Binding> {
        let mut written = Written {
            pattern: Some(at),
            ..Written::default()
        };
        let entries = self.entries(node, &format!("the binding of `{pattern}`"))?;
        self.unknown_keys(entries, &ENTRY_KEYS, "a binding");
        let kinds: Vec<&(Node, Node)> = entries
            .iter()
            .filter(|(k, _)| {
                matches!(
                    k.as_str(),
                    Some("simulate" | "noop" | "exec" | "http" | "manual")
                )
            })
            .collect();
        let max_concurrent = node
            .get("max_concurrent")
            .and_then(|n| self.positive(n, "max_concurrent"));
        let [(kind, value)] = kinds.as_slice() else {
            let span = kinds.get(1).map_or(node.span, |(k, _)| k.span);
            let d = err(
                    span,
                    format!("the binding of `{pattern}` must say exactly one of `simulate`, `noop`, `exec`, `http` or `manual`"),
                    if kinds.is_empty() { "no implementation" } else { "second implementation" },
                )
                .with_help("for example:  { simulate: {} }  or  { exec: [\"./plugins/net.sh\"] }");
            self.push(d);
            return None;
        };
        let implementation = match kind.as_str() {
            Some("simulate") => Implementation::Simulate(self.simulate(value, &mut written)?),
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
            Some("manual") => self.manual(value)?,
            Some("http") => self.http(value)?,
            _ => self.exec(value, node.get("env"), &mut written)?,
        };
        if let (Some(env), false) = (node.get("env"), kind.as_str() == Some("exec")) {
            let d = err(
                env.span,
                "`env` applies to `exec` bindings only",
                "not an exec binding",
            );
            self.push(d);
            return None;
        }
        Some(Binding {
            pattern,
            implementation,
            max_concurrent,
            written,
        })
    }

    /// `manual: { team: "field-ops" }`: people of the team do the action.
    fn manual(&mut self, node: &Node) -> Option<Implementation> {
        let help = "for example:  { manual: { team: \"field-ops\" } }";
        let entries = self.entries(node, "`manual`")?;
        self.unknown_keys(entries, &MANUAL_KEYS, "`manual`");
        let team = match node.get("team") {
            Some(t) => t.as_str().filter(|s| !s.trim().is_empty()),
            None => {
                let d = err(
                    node.span,
                    "`manual` needs the `team` whose people do the action",
                    "no team",
                )
                .with_help(help);
                self.push(d);
                return None;
            }
        };
        let Some(team) = team else {
            let span = node.get("team").map_or(node.span, |t| t.span);
            let d = err(span, "`team` must be a team's name", "not a team name").with_help(help);
            self.push(d);
            return None;
        };
        Some(Implementation::Manual {
            team: team.to_string(),
        })
    }

    fn simulate(&mut self, node: &Node, written: &mut Written) -> Option<SimulateOptions> {
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
                        let name = k.scalar_text().unwrap_or_default();
                        written.outputs.insert(name.clone(), (k.span, v.span));
                        options.outputs.insert(name, v.to_json());
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
        match self.flag(node, "fail_permanently") {
            Ok(Some(b)) => options.fail_permanently = b,
            Ok(None) => {}
            Err(()) => ok = false,
        }
        ok.then_some(options)
    }

    fn exec(
        &mut self,
        node: &Node,
        env: Option<&Node>,
        written: &mut Written,
    ) -> Option<Implementation> {
        // Read first, so that its mistakes are reported with the list's.
        let env = match env {
            Some(env) => self.env(env),
            None => Some(PluginEnv::default()),
        };
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
        written.program = Some(items[0].span);
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
            env: env?,
        })
    }

    /// `http: { url: "https://…/activate", timeout: 10s, headers: { … } }`.
    fn http(&mut self, node: &Node) -> Option<Implementation> {
        let entries = self.entries(node, "`http`")?;
        self.unknown_keys(entries, &HTTP_KEYS, "`http`");
        let url = match node.get("url") {
            Some(url) => self.url(url),
            None => {
                let d = err(node.span, "an `http` binding needs a `url`", "no `url`")
                    .with_help("for example:  http: { url: \"http://127.0.0.1:9000/activate\" }");
                self.push(d);
                None
            }
        };
        let timeout_ms = match node.get("timeout") {
            None => Some(DEFAULT_TIMEOUT_MS),
            Some(t) => match t.as_str().and_then(parse_duration) {
                Some(ms) if ms > 0 => Some(ms),
                _ => {
                    let d = err(
                        t.span,
                        "`timeout` must be a duration above 0",
                        "not a duration",
                    )
                    .with_help("write a number and a unit: 500ms, 10s, 1m");
                    self.push(d);
                    None
                }
            },
        };
        let headers = match node.get("headers") {
            None => Some(Vec::new()),
            Some(h) => self.headers(h),
        };
        Some(Implementation::Http(HttpOptions {
            url: url?,
            timeout_ms: timeout_ms?,
            headers: headers?,
        }))
    }

    fn url(&mut self, node: &Node) -> Option<reqwest::Url> {
        let fault = match node.as_str() {
            Some(text) => match url_fault(text) {
                Ok(url) => return Some(url),
                Err(why) => why,
            },
            None => format!("`url` must be a string, not {}", node.describe()),
        };
        let d = err(node.span, fault, "not a usable URL").with_help(
            "write an absolute http or https URL with a host: http://127.0.0.1:9000/activate",
        );
        self.push(d);
        None
    }

    /// `headers: { Authorization: "Bearer …" }`: each name once, whatever
    /// its case.
    fn headers(&mut self, node: &Node) -> Option<Headers> {
        let entries = self.entries(node, "`headers`")?;
        let mut headers = Headers::new();
        let mut ok = true;
        for (k, v) in entries {
            let name = k.scalar_text().unwrap_or_default();
            let Some(value) = v.scalar_text() else {
                let d = err(
                    v.span,
                    format!(
                        "the value of a header must be a string, not {}",
                        v.describe()
                    ),
                    "not a string",
                );
                self.push(d);
                ok = false;
                continue;
            };
            let header = match (header_name(&name), header_value(&name, &value)) {
                (Ok(name), Ok(value)) => (name, value),
                (Err(why), _) => {
                    self.push(err(k.span, why, "not a usable header name"));
                    ok = false;
                    continue;
                }
                (_, Err(why)) => {
                    self.push(err(v.span, why, "not a usable header value"));
                    ok = false;
                    continue;
                }
            };
            if headers.iter().any(|(n, _)| *n == header.0) {
                let d = err(
                    k.span,
                    format!("the header `{name}` is given twice"),
                    "second time",
                )
                .with_help("header names are the same whatever their case");
                self.push(d);
                ok = false;
                continue;
            }
            headers.push(header);
        }
        ok.then_some(headers)
    }

    /// `env: { clear: true, pass: [PATH, HOME], set: { REGION: eu-1 } }`.
    fn env(&mut self, node: &Node) -> Option<PluginEnv> {
        let entries = self.entries(node, "`env`")?;
        self.unknown_keys(entries, &ENV_KEYS, "`env`");
        let mut env = PluginEnv::default();
        let mut ok = true;
        match self.flag(node, "clear") {
            Ok(Some(b)) => env.clear = b,
            Ok(None) => {}
            Err(()) => ok = false,
        }
        if let Some(pass) = node.get("pass") {
            match &pass.kind {
                NodeKind::Seq(items) => {
                    for item in items {
                        match self.variable(item) {
                            Some(name) => env.pass.push(name),
                            None => ok = false,
                        }
                    }
                }
                _ => {
                    let d = err(
                        pass.span,
                        "`pass` must be a list of variable names",
                        "not a list",
                    )
                    .with_help("for example:  pass: [PATH, HOME]");
                    self.push(d);
                    ok = false;
                }
            }
            if ok && !env.clear {
                let d = err(
                    pass.span,
                    "`pass` needs `clear: true`: without it every variable passes",
                    "nothing to choose from",
                )
                .with_help("write  env: { clear: true, pass: [PATH] }");
                self.push(d);
                ok = false;
            }
        }
        if let Some(set) = node.get("set") {
            match self.entries(set, "`set`") {
                Some(entries) => {
                    for (k, v) in entries {
                        let name = self.variable(k);
                        let value = v.scalar_text();
                        if value.is_none() {
                            let d = err(
                                v.span,
                                format!(
                                    "the value of a variable must be a string, not {}",
                                    v.describe()
                                ),
                                "not a string",
                            );
                            self.push(d);
                        }
                        match (name, value) {
                            (Some(name), Some(value)) => {
                                env.set.insert(name, value);
                            }
                            _ => ok = false,
                        }
                    }
                }
                None => ok = false,
            }
        }
        ok.then_some(env)
    }

    /// The boolean member `key` of `node`, if present; an error (reported)
    /// if it is not true or false.
    fn flag(&mut self, node: &Node, key: &str) -> Result<Option<bool>, ()> {
        let Some(flag) = node.get(key) else {
            return Ok(None);
        };
        match flag.kind {
            NodeKind::Bool(b) => Ok(Some(b)),
            _ => {
                let d = err(
                    flag.span,
                    format!("`{key}` must be true or false"),
                    "not a boolean",
                );
                self.push(d);
                Err(())
            }
        }
    }

    /// An environment variable's name: not empty, no `=` and no NUL.
    fn variable(&mut self, node: &Node) -> Option<String> {
        match node.scalar_text() {
            Some(name) if !name.is_empty() && !name.contains(['=', '\0']) => Some(name),
            _ => {
                let d = err(
                    node.span,
                    "an environment variable's name must be a non-empty string without `=`",
                    "not a variable name",
                );
                self.push(d);
                None
            }
        }
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
mod tests;
