//! Examples of the layout, pinned as snapshots, and the cases that broke it.

use super::format_source;

fn fmt(text: &str) -> String {
    let once = format_source(text).unwrap_or_else(|d| panic!("{d:?}\n---\n{text}"));
    let twice = format_source(&once).unwrap_or_else(|d| panic!("{d:?}\n---\n{once}"));
    assert_eq!(once, twice, "formatting is not idempotent");
    once
}

const MESSY: &str = r#"# Acme residential catalog
   catalog "Acme Residential"   version "2026.11"
stages feasibility->commit   -> fulfil(default)->close # the phases
enum Speed{"100M","500M",
  "1G",}
enum Long { "aaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbb", "cccccccccccccccccc", "dddddddddddddddddd", "eeeeeeeeee" }
customer { attr id: string  attr email: string
    attr segment: string = "resi#dential" # not a comment inside the string
}
action network.activate(port: string, speed: Speed) -> (circuit: string)
action inventory.reserve_port_with_a_really_long_name(exchange: string, port_kind: string, region: string) -> (port: string, slot: int(1..48))
action logistics.ship(
   item: string, # what
   address: string)



product Broadband {
# about the product

      description "Fibre to the \"home\""
  attr address: string                  # required: no default
  attr speed: Speed = "500M"
  attr note?: string
  attr postcode: string matching "^\d{5}$"


  relies on Site
  price once 49.00 EUR
  price monthly 10.00   EUR when speed == "1G"
  sla availability 99.9%
  sla restore 8h
  require address != "" and (speed in ["1G", "500M"] or not (static_ip)) else "need {address} at {speed}"
  on add {
    task coverage: network.check_coverage(address: address, speed: speed) { stage feasibility
      require coverage.available else "no fibre coverage at {address}" }
    task reserve_port: inventory.reserve_port(exchange: coverage.exchange)
    {
      undo inventory.release_port(port: reserve_port.port) # give it back
    }

    # shipping


    task ship_cpe: logistics.ship(item: "ont", address: address) { point   of no return }
    task activate: network.activate(port: reserve_port.port, speed: speed, vlan: (reserve_port.vlan + 1) * 2) {
      after ship_cpe , Site.survey
      retry 3 backoff 2s
      timeout 120s
      when (-price.monthly) * 2 + 1 >= 3
    }
    task assign_ip: ipam.assign(circuit: activate.circuit) { }
    task start_billing: billing.start(customer: order.customer.id, product: "Broadband", monthly: price.monthly, # why
      once: price.once)
  }
  on delete { task stop: billing.stop(circuit: activate.circuit) }
  # last words
}
bundle TriplePlay { attr speed: Speed = "1G" include Broadband(address: "x", speed: speed) price monthly 79.99 EUR }
order { task credit: credit.check(customer: order.customer.id, amount: order.price.once) { stage commit } }
# the end
"#;

#[test]
fn messy_sample() {
    insta::assert_snapshot!(fmt(MESSY));
}

/// The condition of a `require` in a product, formatted.
fn cond(e: &str) -> String {
    let out = fmt(&format!("product P {{ require {e} else \"m\" }}"));
    let line = out.lines().nth(1).unwrap_or_default();
    line.trim_start_matches("  require ")
        .trim_end_matches(" else \"m\"")
        .to_string()
}

#[test]
fn parentheses_are_the_fewest_that_keep_the_tree() {
    let cases = [
        ("(a or b) and c", "(a or b) and c"),
        ("a or (b and c)", "a or (b and c)"),
        ("a or b and c", "a or (b and c)"),
        ("a and b or c", "(a and b) or c"),
        ("(a or b) or (c and d)", "a or b or (c and d)"),
        ("not (a == b)", "not a == b"),
        ("(not a) == b", "(not a) == b"),
        ("a + not b", "a + (not b)"),
        ("a and not b or c", "(a and not b) or c"),
        ("not not a", "not not a"),
        ("not (a or b)", "not (a or b)"),
        ("a == (b == c)", "a == (b == c)"),
        ("a == b == c", "(a == b) == c"),
        ("a < b in [true]", "(a < b) in [true]"),
        ("(a in [1, 2]) == true", "(a in [1, 2]) == true"),
        ("a + 1 in [2, (3)]", "a + 1 in [2, 3]"),
        ("a - (b - c)", "a - (b - c)"),
        ("(a - b) - c", "a - b - c"),
        ("a + (b + c)", "a + (b + c)"),
        ("a * (b + c)", "a * (b + c)"),
        ("(a * b) + c", "a * b + c"),
        ("a / (b * c)", "a / (b * c)"),
        ("-(a + b)", "-(a + b)"),
        ("- - a", "- -a"),
        ("-(-(-a))", "- - -a"),
        ("-(5) * 2", "-5 * 2"),
        ("((((x))))", "x"),
        ("a ?? b == c", "a ?? b == c"),
        ("a ?? (b == c)", "a ?? (b == c)"),
        ("(a ?? \"x\") + \"y\"", "(a ?? \"x\") + \"y\""),
        ("a + b ?? c", "a + b ?? c"),
        ("a == null", "a == null"),
        ("null  !=  a", "null != a"),
        ("if a then b else c", "if a then b else c"),
        ("(if a then b else c) == d", "(if a then b else c) == d"),
        ("if a then b else (c == d)", "if a then b else c == d"),
        (
            "if (if a then b else c) then (d) else e",
            "if if a then b else c then d else e",
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(cond(input), expected, "formatting `{input}`");
    }
}

#[test]
fn literals_keep_their_spelling_and_scale() {
    assert_eq!(cond("x == 49.00   EUR"), "x == 49.00 EUR");
    assert_eq!(cond("x == 007 + 3.50 + 0.000"), "x == 007 + 3.50 + 0.000");
    assert_eq!(cond("x < 120s + 1500ms"), "x < 120s + 1500ms");
    assert_eq!(cond("x > 99.90%"), "x > 99.90%");
    assert_eq!(
        cond("d == 2026-12-01T09:00:00.5+02:00"),
        "d == 2026-12-01T09:00:00.5+02:00"
    );
    assert_eq!(
        cond(r##"s in ["a\"b", "\d\t", "#x", "{y}"]"##),
        r##"s in ["a\"b", "\d\t", "#x", "{y}"]"##
    );
    let out = fmt(
        r#"product P { price once 49.00 EUR  price monthly 10   USD  sla restore 120m  require x else "at {address}\n\"{{q}}\"" }"#,
    );
    assert!(
        out.contains("  price once 49.00 EUR\n  price monthly 10 USD\n  sla restore 120m\n"),
        "{out}"
    );
    assert!(out.contains(r#"else "at {address}\n\"{{q}}\"""#), "{out}");
    let out = fmt("order { task t: a.b() { retry 03 every 60s timeout 1000ms } }");
    assert!(
        out.contains("    retry 3 every 60s\n    timeout 1000ms\n"),
        "{out}"
    );
}

#[test]
fn calls_wrap_past_one_hundred_columns() {
    // `  task t: a.b(x: "…") {` is exactly 100 columns with 78 x's.
    let fitting = format!(
        "order {{ task t: a.b(x: \"{}\") {{ stage s }} }}",
        "x".repeat(78)
    );
    let out = fmt(&fitting);
    assert_eq!(out.lines().nth(1).map(str::len), Some(100), "{out}");
    let long = format!(
        "order {{ task t: a.b(x: \"{}\", y: 1) {{ stage s }} }}",
        "x".repeat(78)
    );
    assert_eq!(
        fmt(&long),
        format!(
            "order {{\n  task t: a.b(\n    x: \"{}\",\n    y: 1,\n  ) {{\n    stage s\n  }}\n}}\n",
            "x".repeat(78)
        )
    );
}

#[test]
fn long_declarations_break() {
    let long = "a_rather_long_stage_name";
    let out = fmt(&format!(
        "stages {long} -> {long} (default) -> {long} -> {long}"
    ));
    assert_eq!(
        out,
        format!("stages {long}\n  -> {long} (default)\n  -> {long}\n  -> {long}\n")
    );
    let out = fmt(&format!(
        "action a.b(p: string, q: {long}, r: {long}) -> (o: string, s: {long})"
    ));
    assert_eq!(
        out,
        format!("action a.b(p: string, q: {long}, r: {long})\n  -> (o: string, s: {long})\n")
    );
    let out = fmt(&format!(
        "action a.b(p: string, q: {long}, r: {long}, s: {long}) -> (o: string, s: {long})"
    ));
    assert_eq!(
        out,
        format!(
            "action a.b(\n  p: string,\n  q: {long},\n  r: {long},\n  s: {long},\n) -> (o: string, s: {long})\n"
        )
    );
    let outs = format!("o: {long}, p: {long}, q: {long}, r: {long}");
    let out = fmt(&format!("action a.b(p: string) -> ({outs})"));
    assert_eq!(
        out,
        format!("action a.b(p: string) -> (\n  o: {long},\n  p: {long},\n  q: {long},\n  r: {long},\n)\n")
    );
    let out = fmt("action a.b() -> (o: string # the output\n)");
    assert_eq!(out, "action a.b() -> (\n  o: string, # the output\n)\n");
}

#[test]
fn long_conditions_break_before_each_operator() {
    let text = "order {\n  task t: a.b() {\n    when credit.score < 600 # risky\n      or order.customer.segment == \"business\"\n  }\n}\n";
    assert_eq!(fmt(text), text);
    let long = format!("a_long_attribute_name == \"{}\"", "v".repeat(30));
    let out = fmt(&format!(
        "product P {{ require {long} and ({long} or x) and {long} else \"m\" }}"
    ));
    assert_eq!(
        out,
        format!("product P {{\n  require {long}\n    and ({long} or x)\n    and {long}\n    else \"m\"\n}}\n")
    );
    // An `and` inside a broken `or` chain keeps its parentheses, so the
    // line never reads as if `or` bound tighter.
    let out = fmt(&format!(
        "product P {{ price once 1 EUR when {long} or {long} and x }}"
    ));
    assert_eq!(
        out,
        format!("product P {{\n  price once 1 EUR when {long}\n    or ({long} and x)\n}}\n")
    );
}

#[test]
fn long_requires_break_before_else() {
    let message = format!("\"{}\"", "m".repeat(80));
    let out = fmt(&format!(
        "product P {{ require discount == 0 or (discount <= 50 and months > 0) else {message} }}"
    ));
    assert_eq!(
        out,
        format!("product P {{\n  require discount == 0 or (discount <= 50 and months > 0)\n    else {message}\n}}\n")
    );
    // In a task, one level deeper; a short rule stays on one line.
    let out = fmt(&format!(
        "order {{ task t: a.b() {{ require t.ok else {message} require t.ok else \"m\" }} }}"
    ));
    assert_eq!(
        out,
        format!("order {{\n  task t: a.b() {{\n    require t.ok\n      else {message}\n    require t.ok else \"m\"\n  }}\n}}\n")
    );
    // A comment before `else` keeps it on a line of its own, even behind a
    // parenthesis.
    let text = "product P {\n  require a # why\n    else \"m\"\n}\n";
    assert_eq!(fmt(text), text);
    let text = "product P {\n  require a == (b or c)\n    # why\n    else \"m\"\n}\n";
    assert_eq!(fmt(text), text);
}

#[test]
fn trailing_comments_align_in_runs() {
    let text = "product P {\n  attr a: string # one\n  attr bb: int\n  attr ccc: bool = false # three\n\n  attr d: string # alone\n  price once 1 EUR\n}\n";
    assert_eq!(
        fmt(text),
        "product P {\n  attr a: string         # one\n  attr bb: int\n  attr ccc: bool = false # three\n\n  attr d: string # alone\n  price once 1 EUR\n}\n"
    );
    // A comment on its own line, or a line indented differently, ends a run.
    let text = "order {\n  task a: x.y() # a\n  # own line\n  task bbbbbb: x.y() # b\n  task c: x.y() {\n    stage s # s\n  }\n  task d: x.y() # d\n}\n";
    assert_eq!(fmt(text), text);
}

#[test]
fn blank_lines_one_between_declarations_kept_in_blocks() {
    let text = "enum A { \"a\" }\nenum B { \"b\" }\n\n\n\n# about C\nenum C { \"c\" }";
    assert_eq!(
        fmt(text),
        "enum A { \"a\" }\n\nenum B { \"b\" }\n\n# about C\nenum C { \"c\" }\n"
    );
    let text = "product P {\n\n\n  attr a: string\n\n\n\n  attr b: string\n  attr c: string\n  on add {}\n\n}";
    assert_eq!(
        fmt(text),
        "product P {\n  attr a: string\n\n  attr b: string\n  attr c: string\n\n  on add {}\n}\n"
    );
}

#[test]
fn comments_stay_in_place() {
    let text = "# head\n\ncustomer { # the record\n  attr id: string # trailing\n  # before email\n  attr email: string\n  # at the end\n} # after\n\n# tail\n";
    assert_eq!(fmt(text), text);
    // A task without clauses loses its braces, not the comment inside them.
    assert_eq!(
        fmt("order { task t: a.b() { # why\n } }"),
        "order {\n  task t: a.b() # why\n}\n"
    );
    // Two comments never share a line.
    assert_eq!(
        fmt("enum # one\nE # two\n{ \"a\" }"),
        "enum E { \"a\" } # one\n# two\n"
    );
}

#[test]
fn edge_texts() {
    assert_eq!(fmt(""), "");
    assert_eq!(fmt("  \n\n \t\n"), "");
    assert_eq!(fmt("# only\n\n\n  # comments"), "# only\n\n# comments\n");
    assert_eq!(
        fmt("order{}\r\n# crlf\r\norder{ task t: a.b() }\r\n"),
        "order {}\n\n# crlf\norder {\n  task t: a.b()\n}\n"
    );
}

#[test]
fn syntax_errors_come_back_unchanged() {
    let text = "product P { price monthly 10 eur }";
    let expected = crate::syntax::parse_module(crate::span::FileId(0), text).unwrap_err();
    assert_eq!(format_source(text), Err(expected));
}

#[test]
fn deep_expressions_are_refused_not_overflowed() {
    use crate::diagnostic::Code;
    let rule = |e: String| format!("product P {{ require {e} else \"m\" }}");
    let sum = |n: usize| rule(vec!["a"; n].join(" + "));
    assert!(format_source(&sum(200)).is_ok());
    // A long expression is the parser's to refuse, and its error comes back.
    assert_eq!(format_source(&sum(2000)).unwrap_err().code, Code::Syntax);
    // A short one can still nest deeper than the formatter goes.
    let nots = |n: usize| rule(format!("{}a", "not ".repeat(n)));
    assert!(format_source(&nots(200)).is_ok());
    assert_eq!(format_source(&nots(300)).unwrap_err().code, Code::Invalid);
}

#[test]
fn long_chains_of_minus_signs_format_and_parse_again() {
    let rule = |e: String| format!("product P {{\n  attr n: int = {e}\n}}\n");
    for n in [2, 33, 100, 250] {
        let text = rule(format!("{}1", "- ".repeat(n)));
        let expected = rule(format!("{}-1", "- ".repeat(n - 1)));
        assert_eq!(fmt(&text), expected, "{n} minus signs");
    }
    // Brackets the source did not need go; those it needs stay.
    let nested = format!("{}(1 + 2){}", "-(".repeat(20), ")".repeat(20));
    let expected = format!("{}-(1 + 2)", "- ".repeat(19));
    assert_eq!(fmt(&rule(nested)), rule(expected));
}

#[test]
fn an_internal_error_names_its_file() {
    let module = crate::syntax::parse_module(crate::span::FileId(3), "enum E { \"a\" }\n").unwrap();
    let d =
        super::verify::same_meaning(crate::span::FileId(3), &module, &[], "enum {").unwrap_err();
    assert!(d.message.starts_with("internal error"), "{}", d.message);
    assert_eq!(d.span.map(|s| s.file), Some(crate::span::FileId(3)));
}

/// SPEC §3's examples, in canonical layout: formatting leaves them alone.
const CANONICAL: &str = r#"# Acme
catalog "Acme Residential" version "2026.11"

stages feasibility -> commit -> fulfil (default) -> close

enum Speed { "100M", "500M", "1G" }

customer {
  attr id: string
  attr email: string
  attr segment: string = "residential"
}

action network.activate(port: string, speed: Speed) -> (circuit: string)

product Broadband {
  description "Fibre to the home"
  attr address: string # required: no default
  attr speed: Speed = "500M"
  attr static_ip: bool = false
  attr note?: string   # optional, may be absent

  relies on Site # an order with Broadband must also hold a Site item

  price once 49.00 EUR
  price monthly 39.99 EUR
  price monthly 10.00 EUR when speed == "1G" # conditional price lines add up
  sla availability 99.9%
  sla restore 8h
  sla install 10d

  require address != "" else "an installation address is required"

  on add {
    task coverage: network.check_coverage(address: address, speed: speed) {
      stage feasibility
      require coverage.available else "no fibre coverage at {address}"
    }
    task reserve_port: inventory.reserve_port(exchange: coverage.exchange) {
      undo inventory.release_port(port: reserve_port.port)
    }
    task ship_cpe: logistics.ship(item: "ont", address: address) {
      point of no return
    }
    task activate: network.activate(port: reserve_port.port, speed: speed) {
      after ship_cpe
      retry 3 backoff 2s
      timeout 2m
    }
    task assign_ip: ipam.assign(circuit: activate.circuit) {
      when static_ip
    }
    task start_billing: billing.start(
      customer: order.customer.id,
      product: "Broadband",
      monthly: price.monthly,
    ) {
      stage close
    }
  }

  on delete {
    task stop_billing: billing.stop(customer: order.customer.id)
  }
}

bundle TriplePlay {
  attr address: string
  attr speed: Speed = "1G"
  include Broadband(address: address, speed: speed)
  include VoIP(lines: 2)
  price monthly 79.99 EUR # replaces the included products' prices
  sla availability 99.95%
}

order {
  task credit: credit.check(customer: order.customer.id, amount: order.price.once) {
    stage commit
  }
  task deposit: payments.request_deposit(
    customer: order.customer.id,
    amount: order.price.monthly * 2,
  ) {
    stage commit
    when credit.score < 600
  }
}
"#;

#[test]
fn canonical_text_is_left_alone() {
    assert_eq!(fmt(CANONICAL), CANONICAL);
}

#[test]
fn rules_by_action_and_aliases_are_printed() {
    let messy = r#"product MobilePlan {
  attr sim: string
  price once   5.00 EUR on   modify,delete when sim=="physical"
  price monthly -2.00   EUR when loyal
  sla activation 4h   when sim == "esim"
  require   on delete contract_months == 0 else "retention first"
  on add {}
}
bundle Family { include MobilePlan as  line1(number: a) include MobilePlan   as line2(number: b) }
"#;
    let expected = r#"product MobilePlan {
  attr sim: string
  price once 5.00 EUR on modify, delete when sim == "physical"
  price monthly -2.00 EUR when loyal
  sla activation 4h when sim == "esim"
  require on delete contract_months == 0 else "retention first"

  on add {}
}

bundle Family {
  include MobilePlan as line1(number: a)
  include MobilePlan as line2(number: b)
}
"#;
    assert_eq!(fmt(messy), expected);
}

#[test]
fn work_that_waits_is_printed_as_written() {
    let out = fmt(
        "order { task t: a.b() { manual   \"field-ops\" wait   1440m } task u: a.b() { wait until order.requested_start   ??2026-12-05T09:00:00Z after t } }",
    );
    assert!(
        out.contains("    manual \"field-ops\"\n    wait 1440m\n"),
        "{out}"
    );
    assert!(
        out.contains("    wait until order.requested_start ?? 2026-12-05T09:00:00Z\n    after t\n"),
        "{out}"
    );
}
