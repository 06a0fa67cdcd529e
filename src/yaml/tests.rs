//! The reader's own tests: positions, limits, strict JSON.

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
        assert!(e.limit, "{name}: a limit's error says it is one");
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
    // A byte order mark is not an error, and positions after it hold.
    assert!(parse_json("\u{feff}{\"id\": 1}").is_ok());
    assert_eq!(
        parse_json("\u{feff}{\"id\": 1,}").unwrap_err().span.start,
        12
    );
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
