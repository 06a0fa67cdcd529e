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
    let b = parse(
        "actions:\n  a: { exec: [\"./plugins/a.sh\", \"-v\"] }\n  b: { exec: [python3, x.py] }\n",
    )
    .unwrap();
    let Implementation::Exec { program, args, .. } = &b.resolve("a").unwrap().implementation else {
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
