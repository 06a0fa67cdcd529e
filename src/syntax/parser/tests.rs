use super::*;

const SAMPLE: &str = r#"
catalog "Acme" version "2026.11"
stages feasibility -> commit -> fulfil (default) -> close
enum Speed { "100M", "500M", "1G" }
customer { attr id: string  attr email: string  attr segment: string = "residential" }
action network.activate(port: string, speed: Speed) -> (circuit: string)
action logistics.ship(item: string, address: string)
product Broadband {
  description "Fibre"
  attr address: string
  attr speed: Speed = "500M"
  attr note?: string
  attr lines: int(1..4) = 1
  attr postcode: string matching "^[0-9]{5}$" = "12345"
  relies on Site
  price once 49.00 EUR
  price monthly 10.00 EUR when speed == "1G"
  sla availability 99.9%
  sla restore 8h
  require address != "" else "need {address} here"
  on add {
    task coverage: network.check_coverage(address: address, speed: speed) {
      stage feasibility
      require coverage.available else "no fibre at {address}"
    }
    task activate: network.activate(port: reserve_port.port, speed: speed) {
      after ship_cpe, Site.survey, order.credit
      retry 3 backoff 2s
      timeout 2m
      undo network.deactivate(circuit: activate.circuit)
      point of no return
      when not static_ip and speed in ["1G", "500M"] or -lines * 2 + 1 >= 3
    }
  }
}
bundle Triple { attr speed: Speed = "1G" include Broadband(address: "x", speed: speed) price monthly 79.99 EUR }
order { task credit: credit.check(customer: order.customer.id, amount: order.price.once) { stage commit } }
"#;

#[test]
fn parses_every_construct() {
    let m = parse_module(FileId(0), SAMPLE).unwrap_or_else(|d| panic!("{d:?}"));
    assert_eq!(m.decls.len(), 9);
    let Decl::Product(p) = &m.decls[6] else {
        panic!("product expected")
    };
    assert_eq!(p.name.name, "Broadband");
    let Some(Member::Rule(rule)) = p.members.last() else {
        panic!("rule block expected")
    };
    let activate = &rule.tasks[1];
    assert_eq!(activate.clauses.len(), 6);
    let ClauseKind::When(e) = &activate.clauses[5].kind else {
        panic!("when expected")
    };
    // `or` binds loosest.
    assert!(matches!(e.kind, ExprKind::Binary(BinOp::Or, _, _)));
    assert_eq!(
        &SAMPLE[e.span.range()],
        r#"not static_ip and speed in ["1G", "500M"] or -lines * 2 + 1 >= 3"#
    );
}

#[test]
fn parses_rules_by_action() {
    let text = r#"product P {
  price once 5.00 EUR on modify, delete when a
  price monthly -2.00 EUR
  price once 1.00 EUR
  on add {}
  sla restore 4h when a
  require on delete a else "m"
}
bundle B { include P as line1() }"#;
    let m = parse_module(FileId(0), text).unwrap_or_else(|d| panic!("{d:?}"));
    let Decl::Product(p) = &m.decls[0] else {
        panic!("product expected")
    };
    let Member::Price(fee) = &p.members[0] else {
        panic!("price expected")
    };
    let actions: Vec<OrderAction> = fee
        .on
        .iter()
        .flat_map(|o| &o.actions)
        .map(|a| a.0)
        .collect();
    assert_eq!(actions, [OrderAction::Modify, OrderAction::Delete]);
    assert!(fee.when.is_some());
    let Member::Price(discount) = &p.members[1] else {
        panic!("price expected")
    };
    assert_eq!(discount.amount, Decimal::new(-200, 2));
    // `on add {` after a price line is a rule block, not the line's action.
    assert!(matches!(&p.members[2], Member::Price(l) if l.on.is_none()));
    assert!(matches!(&p.members[3], Member::Rule(_)));
    assert!(matches!(&p.members[4], Member::Sla(s) if s.when.is_some()));
    assert!(matches!(&p.members[5], Member::Require(r) if r.on.is_some()));
    let Decl::Bundle(b) = &m.decls[1] else {
        panic!("bundle expected")
    };
    assert!(
        matches!(&b.members[0], Member::Include(i) if i.alias.as_ref().map(|a| a.name.as_str()) == Some("line1"))
    );
}

#[test]
fn interpolation_spans_point_into_the_file() {
    let text = r#"product P { require a != "" else "need {address} here" }"#;
    let m = parse_module(FileId(0), text).unwrap();
    let Decl::Product(p) = &m.decls[0] else {
        panic!()
    };
    let Member::Require(r) = &p.members[0] else {
        panic!()
    };
    let i = parse_interpolation(FileId(0), &r.message).unwrap();
    let Segment::Expr(e) = &i.segments[1] else {
        panic!()
    };
    assert_eq!(&text[e.span.range()], "address");
}

#[test]
fn syntax_errors_speak_words() {
    let d = parse_module(FileId(0), "product P { price monthly 10 eur }").unwrap_err();
    assert_eq!(d.code, Code::Syntax);
    assert!(d.message.contains("currency"), "{}", d.message);
    let d = parse_module(FileId(0), "product P { attr x int }").unwrap_err();
    assert!(d.message.starts_with("expected"), "{}", d.message);
}

#[test]
fn every_broken_declaration_has_its_error_and_the_rest_parse() {
    let text = "product A { attr x int }\nenum E { \"a\" }\nproduct B {\n  require x\n}\n\
                    product C {\n  require a and\norder.id != \"\" else \"m\"\n}\n";
    let (module, errors) = parse_module_recovering(FileId(0), text);
    let lines: Vec<usize> = errors
        .iter()
        .map(|d| text[..d.span.unwrap().start as usize].lines().count())
        .collect();
    assert_eq!(lines, [1, 4], "{errors:#?}");
    // `enum E` and `product C` parse; a line starting `order.` continues
    // C's condition, it starts no declaration.
    assert_eq!(module.decls.len(), 2);
    assert_eq!(
        parse_module(FileId(0), text).unwrap_err(),
        errors[0].clone()
    );
}

#[test]
fn a_missing_else_is_reported_at_the_end_of_its_line() {
    let text = "product P {\n  require a != \"\"\n  require b else \"m\"\n}";
    let d = parse_module(FileId(0), text).unwrap_err();
    assert_eq!(d.message, "expected `else`, found end of line");
    let end_of_condition = text.find("\"\"\n").unwrap() + 2;
    assert_eq!(
        d.span,
        Some(Span::new(FileId(0), end_of_condition, end_of_condition))
    );
}

#[test]
fn glued_keywords_do_not_parse() {
    for glued in ["relieson Q", "onadd {}", "attrx: int"] {
        let text = format!("product P {{ {glued} }}");
        assert!(parse_module(FileId(0), &text).is_err(), "{glued}");
    }
    assert!(parse_module(FileId(0), "product P { relies on Q on add {} }").is_ok());
}

#[test]
fn long_expressions_are_refused_not_overflowed() {
    let text = format!(
        "product P {{ require {} else \"x\" }}",
        vec!["not true"; 100_000].join(" and ")
    );
    assert_eq!(
        parse_module(FileId(0), &text).unwrap_err().code,
        Code::Syntax
    );
    let text = format!(
        "product P {{ require {}true else \"x\" }}",
        "not ".repeat(100_000)
    );
    assert_eq!(
        parse_module(FileId(0), &text).unwrap_err().code,
        Code::Syntax
    );
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let text = format!(
        "product P {{ require {}1{} else \"x\" }}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    assert_eq!(
        parse_module(FileId(0), &text).unwrap_err().code,
        Code::Syntax
    );
}

#[test]
fn parses_manual_and_waits() {
    let text = r#"order {
  task t: a.b() { manual "field-ops" wait until order.requested_start ?? 2026-12-05 }
  task u: a.b() { wait 90m }
  task wait: a.b() { after wait }
}"#;
    let m = parse_module(FileId(0), text).unwrap_or_else(|d| panic!("{d:?}"));
    let Decl::Order(o) = &m.decls[0] else {
        panic!("order expected")
    };
    let kinds: Vec<&ClauseKind> = o.tasks[0].clauses.iter().map(|c| &c.kind).collect();
    assert!(matches!(kinds[0], ClauseKind::Manual(s) if s.value == "field-ops"));
    let ClauseKind::WaitUntil(e) = kinds[1] else {
        panic!("wait until expected")
    };
    assert_eq!(&text[e.span.range()], "order.requested_start ?? 2026-12-05");
    assert!(matches!(
        o.tasks[1].clauses[0].kind,
        ClauseKind::WaitFor { ms: 5_400_000 }
    ));
    // `wait` and `manual` stay names.
    assert_eq!(o.tasks[2].name.name, "wait");
    // A wait needs a duration or `until`.
    assert!(parse_module(FileId(0), "order { task t: a.b() { wait soon } }").is_err());
    assert!(parse_module(FileId(0), "order { task t: a.b() { manual field } }").is_err());
}
