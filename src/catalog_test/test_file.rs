//! A catalog test file (SPEC §7.2) read into its parts, each with its place in
//! the file. Every shape error is reported, not only the first, as an
//! `ordo::test` diagnostic pointing at the offending key or value.

use std::path::{Component, PathBuf};

use crate::diagnostic::{did_you_mean, Code, Diagnostic, Diagnostics};
use crate::order::parse_money;
use crate::span::Span;
use crate::value::Money;
use crate::yaml::{Node, NodeKind};

/// One test: an order and what is expected of it.
#[derive(Debug, Clone)]
pub(crate) struct TestFile {
    pub order: OrderRef,
    pub expect: Expect,
    /// The installed base the order is planned against (`installed:`, a
    /// list of instances in the shape of SPEC §8.1), read with the catalog.
    pub installed: Option<Node>,
}

/// Where the order of a test is.
#[derive(Debug, Clone)]
pub(crate) enum OrderRef {
    /// A relative path, as written (resolved against the test file's folder
    /// by the runner), and where it is written.
    Path(PathBuf, Span),
    /// An order written in the test file itself.
    Inline(Node),
}

/// A task id named in an expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskName {
    pub id: String,
    pub span: Span,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Expect {
    pub tasks: Vec<TaskName>,
    pub no_tasks: Vec<TaskName>,
    /// Pairs `[a, b]`: a path of dependencies leads from `a` to `b`.
    pub before: Vec<(TaskName, TaskName, Span)>,
    pub price_once: Option<(Money, Span)>,
    pub price_monthly: Option<(Money, Span)>,
    pub error: Option<(Code, Span)>,
    /// The golden text plan: a relative path as written, and where.
    pub plan: Option<(PathBuf, Span)>,
}

const KEYS: [&str; 3] = ["order", "expect", "installed"];
const EXPECT_KEYS: [&str; 6] = ["tasks", "no_tasks", "before", "price", "error", "plan"];
const PRICE_KEYS: [&str; 2] = ["once", "monthly"];

/// Reads a parsed test file.
pub(crate) fn read(root: &Node) -> Result<TestFile, Diagnostics> {
    let mut diags = Diagnostics::new();
    let NodeKind::Map(entries) = &root.kind else {
        diags.push(
            error(
                format!("a test file is a mapping, found {}", root.describe()),
                root.span,
            )
            .with_help("write `order:` and `expect:` at the top level"),
        );
        return Err(diags);
    };
    unknown_keys(entries, &KEYS, "test file", &mut diags);
    // A missing key is reported at the file's first key: a label on the
    // whole mapping would underline the whole file.
    let top = entries.first().map_or(root.span, |(k, _)| k.span);
    let order = match root.get("order") {
        Some(node) => order_ref(node, &mut diags),
        None => {
            diags.push(
                Diagnostic::error(Code::Test, "the test has no `order`")
                    .at(top, "no `order` in this test")
                    .with_help("add `order: ../../examples/NAME.yaml` (a path relative to this file) or an order mapping"),
            );
            None
        }
    };
    let expect = match root.get("expect") {
        Some(node) => expect(node, &mut diags),
        None => {
            diags.push(
                Diagnostic::error(Code::Test, "the test has no `expect`")
                    .at(top, "no `expect` in this test")
                    .with_help("`expect: {}` checks only that the order plans"),
            );
            None
        }
    };
    match (order, expect) {
        (Some(order), Some(expect)) if !diags.has_errors() => Ok(TestFile {
            order,
            expect,
            installed: root.get("installed").cloned(),
        }),
        _ => {
            diags.sort();
            Err(diags)
        }
    }
}

fn order_ref(node: &Node, diags: &mut Diagnostics) -> Option<OrderRef> {
    match &node.kind {
        NodeKind::Map(_) => Some(OrderRef::Inline(node.clone())),
        NodeKind::String(_) => {
            relative_path(node, "order", diags).map(|p| OrderRef::Path(p, node.span))
        }
        _ => {
            diags.push(
                error(
                    format!(
                        "`order` must be a path or an order mapping, found {}",
                        node.describe()
                    ),
                    node.span,
                )
                .with_help("write a path relative to this file, like `../../examples/triple-play.yaml`, or the order itself"),
            );
            None
        }
    }
}

/// A path relative to the test file: absolute paths are refused, so a test
/// means the same on every machine and in every checkout.
fn relative_path(node: &Node, key: &str, diags: &mut Diagnostics) -> Option<PathBuf> {
    let Some(text) = node
        .as_str()
        .filter(|_| matches!(node.kind, NodeKind::String(_)))
    else {
        diags.push(error(
            format!("`{key}` must be a path, found {}", node.describe()),
            node.span,
        ));
        return None;
    };
    let path = PathBuf::from(text);
    let absolute = path.has_root()
        || path
            .components()
            .any(|c| matches!(c, Component::Prefix(_) | Component::RootDir));
    if text.trim().is_empty() {
        diags.push(error(format!("`{key}` is an empty path"), node.span));
        return None;
    }
    if absolute {
        diags.push(
            error(
                format!("`{key}` must be a path relative to the test file, not `{text}`"),
                node.span,
            )
            .with_help("an absolute path would only work on one machine; write it relative to this file's folder"),
        );
        return None;
    }
    Some(path)
}

fn expect(node: &Node, diags: &mut Diagnostics) -> Option<Expect> {
    let entries = match &node.kind {
        NodeKind::Map(entries) => entries,
        // `expect:` with nothing after it: nothing but that the order plans.
        NodeKind::Null => return Some(Expect::default()),
        _ => {
            diags.push(
                error(
                    format!("`expect` must be a mapping, found {}", node.describe()),
                    node.span,
                )
                .with_help(format!("its keys are {}", list(&EXPECT_KEYS))),
            );
            return None;
        }
    };
    unknown_keys(entries, &EXPECT_KEYS, "expect", diags);
    let mut out = Expect::default();
    if let Some(n) = node.get("tasks") {
        out.tasks = task_list(n, "tasks", diags);
    }
    if let Some(n) = node.get("no_tasks") {
        out.no_tasks = task_list(n, "no_tasks", diags);
    }
    if let Some(n) = node.get("before") {
        out.before = pairs(n, diags);
    }
    if let Some(n) = node.get("price") {
        (out.price_once, out.price_monthly) = price(n, diags);
    }
    if let Some(n) = node.get("error") {
        out.error = code(n, diags);
    }
    if let Some(n) = node.get("plan") {
        out.plan = relative_path(n, "plan", diags).map(|p| (p, n.span));
    }
    if let Some((_, error_span)) = out.error {
        // A rejected order has no plan to check anything else against.
        for (key, value) in entries {
            let name = key.as_str().unwrap_or_default();
            if name != "error" && EXPECT_KEYS.contains(&name) && value.kind != NodeKind::Null {
                diags.push(
                    error(
                        format!("`error` cannot be combined with `{name}`: a rejected order has no plan"),
                        key.span,
                    )
                    .with_related(error_span, "the order is expected to be rejected here")
                    .with_help("write one test for the rejection and another for the plan"),
                );
            }
        }
    }
    Some(out)
}

fn task_list(node: &Node, key: &str, diags: &mut Diagnostics) -> Vec<TaskName> {
    let NodeKind::Seq(items) = &node.kind else {
        diags.push(
            error(
                format!(
                    "`{key}` must be a list of task ids, found {}",
                    node.describe()
                ),
                node.span,
            )
            .with_help(format!(
                "write `{key}: [\"1/Broadband/activate\", \"credit\"]`"
            )),
        );
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|n| task_name(n, key, diags))
        .collect()
}

fn task_name(node: &Node, key: &str, diags: &mut Diagnostics) -> Option<TaskName> {
    match &node.kind {
        NodeKind::String(s) | NodeKind::Number(s) if !s.trim().is_empty() => Some(TaskName {
            id: s.clone(),
            span: node.span,
        }),
        _ => {
            diags.push(
                error(
                    format!("a task id in `{key}` must be a name such as `1/Broadband/activate`, found {}", node.describe()),
                    node.span,
                )
                .with_help("task ids are NAME (order-level), ITEM/NAME, or ITEM/CHILD/NAME (in a bundle)"),
            );
            None
        }
    }
}

fn pairs(node: &Node, diags: &mut Diagnostics) -> Vec<(TaskName, TaskName, Span)> {
    let help = "write `before: [[\"1/Broadband/activate\", \"1/VoIP/activate\"]]`: the first task comes before the second";
    let NodeKind::Seq(items) = &node.kind else {
        diags.push(
            error(
                format!(
                    "`before` must be a list of pairs of task ids, found {}",
                    node.describe()
                ),
                node.span,
            )
            .with_help(help),
        );
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in items {
        match &item.kind {
            NodeKind::Seq(pair) if pair.len() == 2 => {
                let a = task_name(&pair[0], "before", diags);
                let b = task_name(&pair[1], "before", diags);
                if let (Some(a), Some(b)) = (a, b) {
                    if a.id == b.id {
                        diags.push(error(
                            format!("`before` pairs `{}` with itself", a.id),
                            item.span,
                        ).with_help("a pair names two different tasks: the first comes before the second"));
                    } else {
                        out.push((a, b, item.span));
                    }
                }
            }
            NodeKind::Seq(pair) => diags.push(
                error(
                    format!("a pair in `before` holds two task ids, not {}", pair.len()),
                    item.span,
                )
                .with_help(help),
            ),
            _ => diags.push(
                error(
                    format!(
                        "a pair in `before` must be a list of two task ids, found {}",
                        item.describe()
                    ),
                    item.span,
                )
                .with_help(help),
            ),
        }
    }
    out
}

type PriceExpect = (Option<(Money, Span)>, Option<(Money, Span)>);

fn price(node: &Node, diags: &mut Diagnostics) -> PriceExpect {
    let help =
        "write `price: { once: \"49.00 EUR\", monthly: \"79.99 EUR\" }` (either may be left out)";
    let NodeKind::Map(entries) = &node.kind else {
        diags.push(
            error(
                format!("`price` must be a mapping, found {}", node.describe()),
                node.span,
            )
            .with_help(help),
        );
        return (None, None);
    };
    unknown_keys(entries, &PRICE_KEYS, "price", diags);
    if entries.is_empty() {
        diags.push(error("`price` names no price", node.span).with_help(help));
    }
    let money = |key: &str, diags: &mut Diagnostics| {
        let n = node.get(key)?;
        match n.scalar_text().as_deref().and_then(parse_money) {
            Some(m) => Some((m, n.span)),
            None => {
                diags.push(
                    error(
                        format!(
                            "`price.{key}` must be money like \"49.00 EUR\", found {}",
                            shown(n)
                        ),
                        n.span,
                    )
                    .with_help("an amount, one space, and a three-letter currency code"),
                );
                None
            }
        }
    };
    (money("once", diags), money("monthly", diags))
}

fn code(node: &Node, diags: &mut Diagnostics) -> Option<(Code, Span)> {
    let text = node.scalar_text().unwrap_or_default();
    if let Some(code) = Code::from_name(&text) {
        return Some((code, node.span));
    }
    let names = Code::ALL.map(Code::as_str);
    let help = match did_you_mean(&text, names) {
        Some(s) => format!("did you mean `{s}`?"),
        None => {
            "order errors are `ordo::order::…` codes, such as `ordo::order::require` (docs/cli.md lists them all)"
                .to_string()
        }
    };
    diags.push(
        error(
            format!("`error` must be a diagnostic code, found {}", shown(node)),
            node.span,
        )
        .with_help(help),
    );
    None
}

fn unknown_keys(entries: &[(Node, Node)], known: &[&str], place: &str, diags: &mut Diagnostics) {
    for (k, _) in entries {
        let name = k.scalar_text().unwrap_or_default();
        if !known.contains(&name.as_str()) {
            let what = match place {
                "test file" => "a test file".to_string(),
                other => format!("`{other}`"),
            };
            diags.push(
                error(format!("unknown key `{name}` in {what}"), k.span).suggest_or_list(
                    &name,
                    "key",
                    known.iter().copied(),
                ),
            );
        }
    }
}

fn error(message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::error(Code::Test, message).at(span, "here")
}

fn shown(node: &Node) -> String {
    match &node.kind {
        NodeKind::String(s) => format!("\"{s}\""),
        NodeKind::Number(n) => n.clone(),
        NodeKind::Bool(b) => b.to_string(),
        _ => node.describe().to_string(),
    }
}

fn list(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use crate::span::FileId;
    use std::path::Path;

    fn read_text(text: &str) -> Result<TestFile, Vec<(String, String)>> {
        let source = SourceFile::new("t.yaml", text);
        let root = crate::yaml::parse(FileId(0), &source).expect("valid YAML");
        read(&root).map_err(|d| {
            d.list
                .iter()
                .map(|d| {
                    let at = d
                        .span
                        .map_or(String::new(), |s| text[s.range()].to_string());
                    (d.message.clone(), at)
                })
                .collect()
        })
    }

    #[test]
    fn a_full_test_reads() {
        let t = read_text(
            "order: ../../examples/a.yaml\nexpect:\n  tasks: [a, \"1/b\"]\n  no_tasks: [c]\n  before: [[a, \"1/b\"]]\n  price: { once: 49.00 EUR, monthly: \"79.99 EUR\" }\n  plan: a.plan.txt\n",
        )
        .expect("a valid test");
        assert!(
            matches!(&t.order, OrderRef::Path(p, _) if p == Path::new("../../examples/a.yaml"))
        );
        let ids: Vec<&str> = t.expect.tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["a", "1/b"]);
        assert_eq!(t.expect.before.len(), 1);
        let once = t.expect.price_once.expect("a price").0;
        assert_eq!(once.to_string(), "49.00 EUR");
        assert_eq!(
            t.expect.plan.expect("a plan").0,
            PathBuf::from("a.plan.txt")
        );
    }

    #[test]
    fn shape_errors_point_at_their_value() {
        let errors = read_text(
            "order: /etc/order.yaml\nexpect:\n  taks: [a]\n  before: [[a, b, c], [d, d]]\n  price: { once: 49 }\n  error: ordo::order::requre\n",
        )
        .expect_err("malformed");
        let at: Vec<(&str, &str)> = errors
            .iter()
            .map(|(m, a)| (m.as_str(), a.as_str()))
            .collect();
        assert!(
            at.iter()
                .any(|(m, a)| m.contains("relative") && *a == "/etc/order.yaml"),
            "{at:?}"
        );
        assert!(
            at.iter()
                .any(|(m, a)| m.contains("unknown key `taks`") && *a == "taks"),
            "{at:?}"
        );
        assert!(
            at.iter().any(|(m, _)| m.contains("two task ids, not 3")),
            "{at:?}"
        );
        assert!(
            at.iter().any(|(m, _)| m.contains("`d` with itself")),
            "{at:?}"
        );
        assert!(
            at.iter().any(|(m, a)| m.contains("money") && *a == "49"),
            "{at:?}"
        );
        assert!(
            at.iter()
                .any(|(m, a)| m.contains("diagnostic code") && *a == "ordo::order::requre"),
            "{at:?}"
        );
    }

    #[test]
    fn missing_parts_and_combined_error_are_refused() {
        let errors = read_text("expect: { tasks: [a] }\n").expect_err("no order");
        assert!(errors[0].0.contains("no `order`"), "{errors:?}");
        let errors =
            read_text("order: a.yaml\nexpect:\n  error: ordo::order::require\n  tasks: [a]\n")
                .expect_err("combined");
        assert!(
            errors[0].0.contains("cannot be combined with `tasks`"),
            "{errors:?}"
        );
        assert_eq!(errors[0].1, "tasks");
        let ok = read_text("order: { id: X, items: [] }\nexpect:\n")
            .expect("inline order, no expectations");
        assert!(matches!(ok.order, OrderRef::Inline(_)));
    }
}
