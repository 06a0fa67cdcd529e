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
mod tests {
    use super::super::Bindings;
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

    /// Each diagnostic's line and message.
    fn found(text: &str, diags: &Diagnostics) -> Vec<(usize, String)> {
        diags
            .list
            .iter()
            .map(|d| (line_of(text, d), d.message.clone()))
            .collect()
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
        let Implementation::Exec { program, args, .. } = &b.resolve("a").unwrap().implementation
        else {
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
        let found = found(text, &diags);
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
    fn an_exec_binding_chooses_its_plugins_environment() {
        let b = parse(
            "actions:\n  a:\n    exec: [x]\n    env: { clear: true, pass: [PATH, HOME], set: { REGION: eu-1, N: 2 } }\n",
        )
        .unwrap();
        let Implementation::Exec { env, .. } = &b.resolve("a").unwrap().implementation else {
            panic!()
        };
        assert!(env.clear);
        assert_eq!(env.pass, ["PATH", "HOME"]);
        assert_eq!(env.set["REGION"], "eu-1");
        assert_eq!(env.set["N"], "2");

        let text = "actions:\n  a:\n    exec: [x]\n    env: { clera: true }\n  b:\n    exec: [x]\n    env: { pass: [PATH] }\n  \
                    c:\n    noop: {}\n    env: { clear: true }\n  d:\n    exec: []\n    env: { set: { \"A=B\": x }, clear: 1 }\n";
        let diags = parse(text).unwrap_err();
        let found = found(text, &diags);
        assert_eq!(found.len(), 6, "{found:#?}");
        assert_eq!(found[0], (4, "unknown key `clera` in `env`".into()));
        assert_eq!(diags.list[0].help.as_deref(), Some("did you mean `clear`?"));
        assert_eq!(
            found[1],
            (
                7,
                "`pass` needs `clear: true`: without it every variable passes".into()
            )
        );
        assert_eq!(
            found[2],
            (10, "`env` applies to `exec` bindings only".into())
        );
        // The list and its `env` are both reported.
        assert_eq!(found[3].0, 12);
        assert!(found[4..].iter().all(|(line, _)| *line == 13), "{found:#?}");
    }

    #[test]
    fn an_http_binding_is_read_and_its_mistakes_named() {
        let b = parse(
            "actions:\n  a:\n    http:\n      url: \"http://127.0.0.1:9000/activate\"\n      \
             timeout: 2s\n      headers: { Authorization: \"Bearer t\", X-Region: eu-1 }\n    max_concurrent: 2\n  \
             b: { http: { url: \"https://fulfil.example.com/b\" } }\n",
        )
        .unwrap();
        let binding = b.resolve("a").unwrap();
        assert_eq!(binding.max_concurrent, Some(2));
        let Implementation::Http(o) = &binding.implementation else {
            panic!()
        };
        assert_eq!(o.url.as_str(), "http://127.0.0.1:9000/activate");
        assert_eq!(o.timeout_ms, 2000);
        let headers: Vec<(&str, &str)> = o
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
            .collect();
        assert_eq!(
            headers,
            [("authorization", "Bearer t"), ("x-region", "eu-1")]
        );
        assert_eq!(binding.implementation.timeout_ms(), Some(2000));
        let Implementation::Http(o) = &b.resolve("b").unwrap().implementation else {
            panic!()
        };
        assert_eq!(o.timeout_ms, DEFAULT_TIMEOUT_MS);

        let text = "actions:\n  a: { http: { url: \"ftp://x/y\" } }\n  b: { http: { timeout: 1s } }\n  \
                    c: { http: { url: \"http://h/\", timeout: 0s, hedaers: {} } }\n  \
                    d: { http: { url: \"http://h/\", headers: { Idempotency-Key: k, X-A: a, x-a: b } } }\n  \
                    e: { http: { url: \"http://h/\" }, env: { clear: true } }\n  f: { http: { url: [1] } }\n";
        let diags = parse(text).unwrap_err();
        let found = found(text, &diags);
        assert_eq!(found.len(), 8, "{found:#?}");
        assert_eq!(
            found[0],
            (
                2,
                "`ftp://x/y` is not an http or https URL (its scheme is `ftp`)".into()
            )
        );
        assert_eq!(found[1], (3, "an `http` binding needs a `url`".into()));
        assert_eq!(found[2], (4, "`timeout` must be a duration above 0".into()));
        assert_eq!(found[3], (4, "unknown key `hedaers` in `http`".into()));
        assert_eq!(
            diags.list[3].help.as_deref(),
            Some("did you mean `headers`?")
        );
        assert_eq!(
            found[4],
            (5, "ordo sets the header `Idempotency-Key` itself".into())
        );
        assert_eq!(found[5], (5, "the header `x-a` is given twice".into()));
        assert_eq!(
            found[6],
            (6, "`env` applies to `exec` bindings only".into())
        );
        assert_eq!(found[7], (7, "`url` must be a string, not a list".into()));
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
