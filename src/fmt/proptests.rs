//! The formatter's laws on random catalogs: random tokens of every construct,
//! joined by random whitespace and comments. Formatting must succeed, keep the
//! tree (spans aside) and every comment, and be idempotent.

use proptest::prelude::*;
use proptest::strategy::Union;

use super::comments::scan;
use super::format_source;
use super::verify::shape;
use crate::span::FileId;
use crate::syntax::parse_module;

type Tokens = Vec<String>;

fn one(options: &'static [&'static str]) -> impl Strategy<Value = String> + Clone {
    proptest::sample::select(options).prop_map(str::to_string)
}

fn name() -> impl Strategy<Value = String> + Clone {
    // Names that start like keywords must stay names.
    one(&[
        "a", "speed", "address", "x1", "_tmp", "android", "origin", "notify", "index", "trueish",
        "nullable", "iffy", "thence", "waiter", "manually", "untils",
    ])
}

fn path() -> impl Strategy<Value = String> + Clone {
    one(&[
        "a",
        "speed",
        "coverage.available",
        "P.t.out",
        "order.customer.id",
        "price.monthly",
        "notify.x",
        "order.adds",
        "nullable.x",
        "order.requested_start",
    ])
}

fn string() -> impl Strategy<Value = String> + Clone {
    one(&[
        r#""""#,
        r#""1G""#,
        r##""# not a comment""##,
        r#""say \"hi\" \\ \n \t""#,
        r#""^\d{5}$""#,
        r#""need {address} at {speed}""#,
        r#""{{braces}}""#,
        r#""a long value, long enough to push a line past the limit of one hundred columns""#,
    ])
}

fn literal() -> impl Strategy<Value = String> + Clone {
    prop_oneof![
        one(&["0", "42", "007", "3.50", "0.000", "99999999999999999999"]),
        one(&["49.00 EUR", "1 USD", "10.5   CHF"]),
        one(&["500ms", "2h", "90s", "3d", "99.9%", "0%"]),
        one(&[
            "2026-12-01",
            "2026-12-01T09:00:00Z",
            "2026-12-01T09:00:00.5+02:00"
        ]),
        one(&["true", "false", "null"]),
        string(),
    ]
}

fn paren(mut t: Tokens, yes: bool) -> Tokens {
    if yes {
        t.insert(0, "(".into());
        t.push(")".into());
    }
    t
}

fn expr() -> impl Strategy<Value = Tokens> + Clone {
    let leaf = prop_oneof![literal(), path()].prop_map(|t| vec![t]);
    leaf.prop_recursive(4, 24, 3, |inner| {
        let op = one(&["or", "and", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "??"]);
        prop_oneof![
            3 => (inner.clone(), op, inner.clone(), any::<bool>(), any::<bool>()).prop_map(|(l, op, r, pl, pr)| {
                let mut t = paren(l, pl);
                t.push(op);
                t.extend(paren(r, pr));
                t
            }),
            1 => (inner.clone(), inner.clone(), inner.clone(), any::<bool>()).prop_map(|(c, a, b, p)| {
                let mut t = vec!["if".to_string()];
                t.extend(c);
                t.push("then".into());
                t.extend(a);
                t.push("else".into());
                t.extend(b);
                paren(t, p)
            }),
            1 => (one(&["not", "-"]), inner.clone(), any::<bool>()).prop_map(|(op, x, p)| {
                let mut t = vec![op];
                t.extend(paren(x, p));
                t
            }),
            1 => (inner.clone(), prop::collection::vec(inner, 0..3), any::<bool>()).prop_map(|(x, list, p)| {
                let mut t = paren(x, p);
                t.push("in".into());
                t.push("[".into());
                t.extend(comma_list(list, false));
                t.push("]".into());
                t
            }),
        ]
    })
}

fn comma_list(items: Vec<Tokens>, trailing: bool) -> Tokens {
    let n = items.len();
    let mut t = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        t.extend(item);
        if i + 1 < n || (trailing && n > 0) {
            t.push(",".into());
        }
    }
    t
}

/// Splits at `|` if there is one (for tokens with a space inside), else at spaces.
fn words(s: &str) -> Tokens {
    let sep = if s.contains('|') { '|' } else { ' ' };
    s.split(sep).map(str::to_string).collect()
}

fn type_expr() -> impl Strategy<Value = Tokens> + Clone {
    prop_oneof![
        one(&["string", "int", "decimal", "bool", "money", "Speed"]).prop_map(|t| vec![t]),
        one(&[
            "int ( 1 .. 4 )",
            "int ( -3 .. 007 )",
            "string matching \"^[a-z]+#$\""
        ])
        .prop_map(|s| words(&s)),
    ]
}

fn attr() -> impl Strategy<Value = Tokens> + Clone {
    (name(), any::<bool>(), type_expr(), prop::option::of(expr())).prop_map(
        |(n, opt, ty, default)| {
            let mut t = vec!["attr".to_string(), n];
            if opt {
                t.push("?".into());
            }
            t.push(":".into());
            t.extend(ty);
            if let Some(d) = default {
                t.push("=".into());
                t.extend(d);
            }
            t
        },
    )
}

fn params() -> impl Strategy<Value = Tokens> + Clone {
    let param = (name(), any::<bool>(), type_expr()).prop_map(|(n, optional, ty)| {
        let n = if optional { format!("{n}?") } else { n };
        [vec![n, ":".into()], ty].concat()
    });
    (prop::collection::vec(param, 0..4), any::<bool>()).prop_map(|(list, trailing)| {
        let mut t = vec!["(".to_string()];
        t.extend(comma_list(list, trailing));
        t.push(")".into());
        t
    })
}

fn call() -> impl Strategy<Value = Tokens> + Clone {
    let arg = (name(), expr()).prop_map(|(n, e)| [vec![n, ":".into()], e].concat());
    (
        one(&[
            "network.activate",
            "a.b",
            "billing.start_with_a_rather_long_name",
        ]),
        prop::collection::vec(arg, 0..4),
        any::<bool>(),
    )
        .prop_map(|(n, args, trailing)| {
            let mut t = vec![n, "(".into()];
            t.extend(comma_list(args, trailing));
            t.push(")".into());
            t
        })
}

fn require() -> impl Strategy<Value = Tokens> + Clone {
    (expr(), string())
        .prop_map(|(e, m)| [vec!["require".to_string()], e, vec!["else".into(), m]].concat())
}

/// `on add`, `on modify , delete`, or nothing.
fn item_actions() -> impl Strategy<Value = Tokens> + Clone {
    prop::option::of(one(&[
        "on add",
        "on delete",
        "on modify , delete",
        "on add,modify",
    ]))
    .prop_map(|on| on.map(|s| words(&s)).unwrap_or_default())
}

/// A product's `require`, which may name the item actions it applies to.
fn product_require() -> impl Strategy<Value = Tokens> + Clone {
    (item_actions(), require()).prop_map(|(on, mut r)| {
        r.splice(1..1, on);
        r
    })
}

fn clause() -> impl Strategy<Value = Tokens> + Clone {
    Union::new([
        one(&[
            "after a",
            "after a , P.b , order.c",
            "stage commit",
            "point of no return",
        ])
        .prop_map(|s| words(&s))
        .boxed(),
        one(&[
            "retry 3 every 2s",
            "retry 0 backoff 500ms",
            "timeout 120s",
            "timeout 2m",
            "wait 2h",
            "wait 500ms",
            "wait 3d",
        ])
        .prop_map(|s| words(&s))
        .boxed(),
        string()
            .prop_map(|team| vec!["manual".to_string(), team])
            .boxed(),
        expr()
            .prop_map(|e| [vec!["wait".to_string(), "until".into()], e].concat())
            .boxed(),
        expr()
            .prop_map(|e| [vec!["when".to_string()], e].concat())
            .boxed(),
        require().boxed(),
        call()
            .prop_map(|c| [vec!["undo".to_string()], c].concat())
            .boxed(),
    ])
}

fn task() -> impl Strategy<Value = Tokens> + Clone {
    (
        name(),
        call(),
        prop::option::of(prop::collection::vec(clause(), 0..4)),
    )
        .prop_map(|(n, c, body)| {
            let mut t = vec!["task".to_string(), n, ":".into()];
            t.extend(c);
            if let Some(clauses) = body {
                t.push("{".into());
                t.extend(clauses.into_iter().flatten());
                t.push("}".into());
            }
            t
        })
}

fn block(head: Tokens, items: Vec<Tokens>) -> Tokens {
    let mut t = head;
    t.push("{".into());
    t.extend(items.into_iter().flatten());
    t.push("}".into());
    t
}

fn member(bundle: bool) -> impl Strategy<Value = Tokens> + Clone {
    let price = (
        one(&["once", "monthly"]),
        one(&["49.00 EUR", "10   USD", "-2.00 EUR", "-0.5  GBP"]),
        item_actions(),
        prop::option::of(expr()),
    )
        .prop_map(|(k, m, on, w)| {
            let mut t = vec!["price".to_string(), k, m];
            t.extend(on);
            if let Some(w) = w {
                t.push("when".into());
                t.extend(w);
            }
            t
        });
    let common = vec![
        string()
            .prop_map(|s| vec!["description".to_string(), s])
            .boxed(),
        attr().boxed(),
        price.boxed(),
        (
            one(&[
                "sla availability 99.9%",
                "sla restore 8h",
                "sla|credit|10.00 EUR",
                "sla x 42",
            ]),
            prop::option::of(expr()),
        )
            .prop_map(|(s, w)| {
                let mut t = words(&s);
                if let Some(w) = w {
                    t.push("when".into());
                    t.extend(w);
                }
                t
            })
            .boxed(),
        product_require().boxed(),
    ];
    let special = if bundle {
        (prop::option::of(name()), call())
            .prop_map(|(alias, c)| {
                let mut t = vec!["include".to_string(), "Broadband".into()];
                if let Some(alias) = alias {
                    t.extend(["as".to_string(), alias]);
                }
                t.extend(c[1..].to_vec());
                t
            })
            .boxed()
    } else {
        prop_oneof![
            Just(words("relies on Site")),
            (
                one(&["add", "modify", "delete"]),
                prop::collection::vec(task(), 0..3)
            )
                .prop_map(|(a, tasks)| block(vec!["on".into(), a], tasks)),
        ]
        .boxed()
    };
    Union::new(common.into_iter().chain([special]))
}

fn decl() -> impl Strategy<Value = Tokens> {
    Union::new([
        one(&["catalog \"Acme\"", "catalog \"Acme\" version \"2026.11\""]).prop_map(|s| words(&s)).boxed(),
        one(&["stages fulfil", "stages a -> b ( default ) -> c", "stages feasibility -> commit -> fulfil (default) -> close",
            "stages a_long_stage_name_number_one -> a_long_stage_name_number_two -> a_long_stage_name_number_three"])
            .prop_map(|s| words(&s.replace("(default)", "( default )")))
            .boxed(),
        (prop::collection::vec(string(), 0..5), any::<bool>())
            .prop_map(|(v, trailing)| {
                let items = comma_list(v.into_iter().map(|s| vec![s]).collect(), trailing);
                block(words("enum Speed"), vec![items])
            })
            .boxed(),
        prop::collection::vec(attr(), 0..3).prop_map(|a| block(vec!["customer".into()], a)).boxed(),
        (one(&["network.activate", "a.b"]), params(), prop::option::of(params()))
            .prop_map(|(n, p, out)| {
                let mut t = vec!["action".to_string(), n];
                t.extend(p);
                if let Some(out) = out {
                    t.push("->".into());
                    t.extend(out);
                }
                t
            })
            .boxed(),
        prop::collection::vec(member(false), 0..6).prop_map(|m| block(words("product Broadband"), m)).boxed(),
        prop::collection::vec(member(true), 0..4).prop_map(|m| block(words("bundle Triple"), m)).boxed(),
        prop::collection::vec(task(), 0..3).prop_map(|t| block(vec!["order".into()], t)).boxed(),
    ])
}

/// Joins tokens with whitespace and numbered comments chosen by `seed`.
fn layout(tokens: &[String], seed: u64) -> String {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = String::new();
    let mut n = 0;
    for (i, tok) in tokens
        .iter()
        .chain(std::iter::once(&String::new()))
        .enumerate()
    {
        let r = next() % 20;
        let sep = match r {
            0..=8 => " ".to_string(),
            9..=12 => "\n".to_string(),
            13 => "\n\n\n".to_string(),
            14 => "\t \n   ".to_string(),
            _ => {
                n += 1;
                let text = match next() % 4 {
                    0 => format!("# c{n}"),
                    1 => format!("#c{n}   "),
                    2 => format!("## c{n} \"quoted\" # again"),
                    _ => "#".to_string(),
                };
                match r {
                    15 | 16 => format!(" {text}\n"),
                    17 | 18 => format!("\n  {text}\n"),
                    _ => format!("\n\n{text}\n\n"),
                }
            }
        };
        if i > 0 || r >= 15 {
            out.push_str(&sep);
        }
        out.push_str(tok);
    }
    out
}

fn catalog() -> impl Strategy<Value = String> {
    (prop::collection::vec(decl(), 0..5), any::<u64>())
        .prop_map(|(decls, seed)| layout(&decls.into_iter().flatten().collect::<Vec<_>>(), seed))
}

fn comment_texts(text: &str) -> Vec<String> {
    let mut t: Vec<String> = scan(text).into_iter().map(|c| c.text).collect();
    t.sort_unstable();
    t
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn formatting_keeps_meaning_and_comments_and_is_idempotent(text in catalog()) {
        let before = parse_module(FileId(0), &text);
        prop_assert!(before.is_ok(), "the generator made a text that does not parse: {:?}\n{}", before, text);
        let formatted = format_source(&text);
        prop_assert!(formatted.is_ok(), "{:?}\n---\n{}\n---\n{}", formatted, text, super::format_unchecked(&text));
        let formatted = formatted.unwrap_or_default();
        let after = parse_module(FileId(0), &formatted);
        prop_assert!(after.is_ok(), "{:?}\n---\n{}", after, formatted);
        if let (Ok(before), Ok(after)) = (before, after) {
            prop_assert_eq!(shape(&before), shape(&after));
        }
        prop_assert_eq!(comment_texts(&text), comment_texts(&formatted));
        let again = format_source(&formatted);
        prop_assert_eq!(again.as_ref().ok(), Some(&formatted), "not idempotent; input:\n{}", text);
        prop_assert!(!formatted.contains("\n\n\n"), "two blank lines in a row:\n{}", formatted);
        prop_assert!(formatted.lines().all(|l| l.trim_end() == l && !l.contains('\t')), "{}", formatted);
        prop_assert!(formatted.is_empty() || formatted.ends_with('\n') && !formatted.ends_with("\n\n"));
        prop_assert!(!formatted.contains("{\n\n"), "blank line at a block start:\n{}", formatted);
    }
}
