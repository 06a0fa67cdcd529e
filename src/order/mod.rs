//! Orders (SPEC §4): the YAML or JSON document a customer order arrives as,
//! read into a shape with positions. Checking it against a catalog is
//! decomposition's first step (`crate::plan`).

mod values;

use chrono::{DateTime, Utc};

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::source::SourceFile;
use crate::span::{FileId, Span};
use crate::syntax::ast::OrderAction;
use crate::value::parse_instant;
use crate::yaml::{self, Node, NodeKind};

pub(crate) use values::parse_money;
pub use values::value_from_node;

/// An order as written, each part with its position in the file.
#[derive(Debug, Clone)]
pub struct OrderDoc {
    pub id: String,
    pub id_span: Span,
    /// The `customer` mapping's entries.
    pub customer: Vec<(String, Span, Node)>,
    pub customer_span: Span,
    pub items: Vec<ItemDoc>,
    /// `requested_start`: no earlier than this, as the customer asks.
    pub requested_start: Option<(DateTime<Utc>, Span)>,
    /// `requested_completion`: the order's due date.
    pub requested_completion: Option<(DateTime<Utc>, Span)>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct ItemDoc {
    /// Position in `items`, for paths like `items[2].attributes.speed`.
    pub index: usize,
    pub id: String,
    pub id_span: Span,
    pub action: OrderAction,
    pub action_span: Span,
    /// Empty when the item leaves it out (a `modify` or `delete` item may:
    /// its instance names it).
    pub product: String,
    pub product_span: Span,
    /// The installed instance a `modify` or `delete` item changes
    /// (`instance: ORD-1001/1/Broadband`, SPEC §8.1).
    pub instance: Option<(String, Span)>,
    pub attributes: Vec<(String, Span, Node)>,
    pub relies_on: Vec<(String, Span)>,
    /// Attributes of a bundle's children that its `include`s leave open,
    /// by child name (a TMF622 `bundles` relationship gives them).
    pub children: Vec<ChildDoc>,
    /// Where the item is in its document, for messages: `items[2]`, or
    /// `productOrderItem[2]` in a TMF622 ProductOrder.
    pub path: String,
    pub span: Span,
}

/// A bundle child's own attributes, as an order gives them.
#[derive(Debug, Clone)]
pub struct ChildDoc {
    /// The child's name in the bundle (its alias, else its product's).
    pub name: String,
    pub attributes: Vec<(String, Span, Node)>,
    pub span: Span,
}

impl OrderDoc {
    /// The customer's id (`customer.id`), as instances record it; empty
    /// when the order gives none.
    pub fn customer_id(&self) -> String {
        self.customer
            .iter()
            .find(|(k, _, _)| k == "id")
            .and_then(|(_, _, n)| n.scalar_text())
            .unwrap_or_default()
    }
}

impl OrderDoc {
    /// The order in ordo's own shape (SPEC §4), as JSON: what the store
    /// keeps of an order that arrived in another shape (a TMF622
    /// ProductOrder). A bundle's children's own attributes are `children`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{json, Map, Value as J};
        let members = |list: &[(String, Span, Node)]| -> J {
            J::Object(
                list.iter()
                    .map(|(k, _, v)| (k.clone(), v.to_json()))
                    .collect(),
            )
        };
        let items: Vec<J> = self
            .items
            .iter()
            .map(|i| {
                let mut item = Map::new();
                item.insert("id".into(), json!(i.id));
                item.insert("action".into(), json!(i.action.as_str()));
                if !i.product.is_empty() {
                    item.insert("product".into(), json!(i.product));
                }
                if let Some((instance, _)) = &i.instance {
                    item.insert("instance".into(), json!(instance));
                }
                item.insert("attributes".into(), members(&i.attributes));
                if !i.relies_on.is_empty() {
                    let ids: Vec<&str> = i.relies_on.iter().map(|(r, _)| r.as_str()).collect();
                    item.insert("relies_on".into(), json!(ids));
                }
                if !i.children.is_empty() {
                    let children: Map<String, J> = i
                        .children
                        .iter()
                        .map(|c| (c.name.clone(), members(&c.attributes)))
                        .collect();
                    item.insert("children".into(), J::Object(children));
                }
                J::Object(item)
            })
            .collect();
        json!({ "id": self.id, "customer": members(&self.customer), "items": items })
    }
}

impl ItemDoc {
    pub fn path(&self) -> String {
        self.path.clone()
    }
}

const ORDER_KEYS: [&str; 5] = [
    "id",
    "customer",
    "items",
    "requested_start",
    "requested_completion",
];

/// What an order id may be, in words.
pub const ORDER_ID_RULE: &str =
    "an order id is 1 to 100 letters, digits, `-`, `_`, `.` or `:`, not starting with `.` (it names the order's files in the state folder)";

/// Whether `id` can name an order. Order ids become file names in the state
/// folder (logs, events), so nothing that could leave it is allowed.
pub fn valid_order_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 100
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

/// The order id error's message: the id shown with its control characters
/// escaped, so that it cannot break the line it is printed on.
fn order_id_fault(id: &str) -> String {
    if id.is_empty() {
        "the order id is empty".into()
    } else {
        format!("`{}` cannot be an order id", id.escape_debug())
    }
}

/// Why a string cannot be an item id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemIdFault {
    pub message: &'static str,
    pub label: &'static str,
    pub help: &'static str,
}

/// Whether `id` can name an item, and why not. Item ids are the first part
/// of task ids (`ITEM/TASK`) and a column of summaries and `ordo status`, so
/// an id must be visible and stay on one line.
pub fn item_id_fault(id: &str) -> Option<ItemIdFault> {
    let fault = |message, label, help| {
        Some(ItemIdFault {
            message,
            label,
            help,
        })
    };
    if id.is_empty() {
        fault(
            "an item id cannot be empty",
            "empty id",
            "give the item an id, such as `id: \"1\"`",
        )
    } else if id.contains('/') {
        fault(
            "an item id cannot contain `/`",
            "contains `/`",
            "task ids are ITEM/TASK, so `/` would make them ambiguous",
        )
    } else if id.chars().any(char::is_control) {
        fault(
            "an item id cannot contain control characters (such as a newline or a tab)",
            "contains a control character",
            "item ids are printed in task ids, summaries and `ordo status`, one per line",
        )
    } else {
        None
    }
}

const ITEM_KEYS: [&str; 6] = [
    "id",
    "action",
    "product",
    "instance",
    "attributes",
    "relies_on",
];

/// Reads an order document's shape; every shape error is reported, not only
/// the first.
pub fn read_order(file: FileId, source: &SourceFile) -> Result<OrderDoc, Diagnostics> {
    let root = parse_document(
        file,
        source,
        "the order is not valid YAML or JSON",
        "an order is a mapping with `id`, `customer` and `items` (docs/orders.md)",
    )?;
    order_from_node(&root)
}

/// Parses an order document; an error that stops parsing is
/// `ordo::order::syntax`, saying `what` with the parser's message.
pub(crate) fn parse_document(
    file: FileId,
    source: &SourceFile,
    what: &str,
    help: &str,
) -> Result<Node, Diagnostics> {
    yaml::parse(file, source).map_err(|e| {
        Diagnostics::from(
            Diagnostic::error(Code::OrderSyntax, format!("{what}: {}", e.message))
                .at(e.span, "here")
                .with_help(if e.limit {
                    "the limits, and the ORDO_LIMIT_* variables that change them, are in docs/limits.md"
                } else {
                    help
                }),
        )
    })
}

/// Reads an order already parsed from YAML, such as one written inline in a
/// catalog test file; diagnostics point wherever the node's spans do.
pub fn order_from_node(root: &Node) -> Result<OrderDoc, Diagnostics> {
    let mut diags = Diagnostics::new();
    let Some(entries) = mapping(root, "the order", "", &mut diags) else {
        return Err(diags);
    };
    unknown_keys(entries, &ORDER_KEYS, "", &mut diags);
    let (id, id_span) = match root.get("id") {
        Some(n) => {
            let (id, span) = scalar(n, "id", &mut diags);
            // A value that is not a scalar has had its error already.
            if n.scalar_text().is_some() && !valid_order_id(&id) {
                diags.push(
                    Diagnostic::error(Code::OrderSyntax, order_id_fault(&id))
                        .at(span, "not a valid order id")
                        .with_help(ORDER_ID_RULE),
                );
            }
            (id, span)
        }
        None => {
            diags.push(missing("id", "the order", root.span, "id: ORD-1001"));
            (String::new(), root.span)
        }
    };
    let (customer, customer_span) = match root.get("customer") {
        Some(c) => (
            mapping(c, "`customer`", "customer", &mut diags)
                .map(|e| entries_of(e, "customer", &mut diags))
                .unwrap_or_default(),
            c.span,
        ),
        None => (Vec::new(), root.span),
    };
    let items = item_list(root, "items", "the order", "items: [...]", &mut diags)
        .iter()
        .enumerate()
        .filter_map(|(i, n)| read_item(i, n, &mut diags))
        .collect();
    let requested_start = requested(root, "requested_start", &mut diags);
    let requested_completion = requested(root, "requested_completion", &mut diags);
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(OrderDoc {
        id,
        id_span,
        customer,
        customer_span,
        items,
        requested_start,
        requested_completion,
        span: root.span,
    })
}

/// A requested date (`requested_start`, `requested_completion`): a datetime,
/// or a date for its 00:00 UTC; absent or null when not asked for.
fn requested(root: &Node, key: &str, diags: &mut Diagnostics) -> Option<(DateTime<Utc>, Span)> {
    let node = root.get(key)?;
    if matches!(node.kind, NodeKind::Null) {
        return None;
    }
    let at = match &node.kind {
        NodeKind::String(text) => parse_instant(text),
        _ => None,
    };
    if at.is_none() {
        diags.push(
            Diagnostic::error(
                Code::OrderSyntax,
                format!("{key}: expected a date or a date and time, found {}", values::found(node)),
            )
            .at(node.span, "not a date or datetime")
            .with_help(format!("write `{key}: 2026-12-05T09:00:00Z` (RFC 3339, with its offset) or `{key}: 2026-12-05` (00:00 UTC)")),
        );
    }
    Some((at?, node.span))
}

fn read_item(index: usize, node: &Node, diags: &mut Diagnostics) -> Option<ItemDoc> {
    let path = format!("items[{index}]");
    let entries = mapping(node, &format!("`{path}`"), &path, diags)?;
    unknown_keys(entries, &ITEM_KEYS, &path, diags);
    let mut ok = true;
    let mut field = |key: &str, example: &str, diags: &mut Diagnostics| match node.get(key) {
        Some(n) => Some(scalar(n, &format!("{path}.{key}"), diags)),
        None => {
            diags.push(missing(key, &format!("`{path}`"), node.span, example));
            ok = false;
            None
        }
    };
    let id = field("id", "id: \"1\"", diags);
    let instance = node
        .get("instance")
        .map(|n| scalar(n, &format!("{path}.instance"), diags));
    // With an instance, the product is the instance's.
    let product = match (node.get("product"), &instance) {
        (None, Some(_)) => Some((String::new(), node.span)),
        _ => field("product", "product: Broadband", diags),
    };
    let action = field("action", "action: add", diags);
    if !ok {
        return None;
    }
    let ((id, id_span), (product, product_span), (action_text, action_span)) =
        (id?, product?, action?);
    if let Some(fault) = item_id_fault(&id) {
        diags.push(
            Diagnostic::error(Code::OrderSyntax, format!("{path}.id: {}", fault.message))
                .at(id_span, fault.label)
                .with_help(fault.help),
        );
    }
    let action = match action_text.as_str() {
        "add" => OrderAction::Add,
        "modify" => OrderAction::Modify,
        "delete" => OrderAction::Delete,
        other => {
            let mut d = Diagnostic::error(
                Code::OrderSyntax,
                format!("{path}.action: unknown action `{other}`"),
            )
            .at(action_span, "not an order action");
            d = match crate::diagnostic::did_you_mean(other, ["add", "modify", "delete"]) {
                Some(s) => d.with_help(format!(
                    "did you mean `{s}`? An item's action is add, modify or delete"
                )),
                None => d.with_help("an item's action is add, modify or delete"),
            };
            diags.push(d);
            return None;
        }
    };
    let attributes = match node.get("attributes") {
        None
        | Some(Node {
            kind: NodeKind::Null,
            ..
        }) => Vec::new(),
        Some(a) => {
            let apath = format!("{path}.attributes");
            mapping(a, &format!("`{apath}`"), &apath, diags)
                .map(|e| entries_of(e, &apath, diags))
                .unwrap_or_default()
        }
    };
    let relies_on = match node.get("relies_on") {
        None
        | Some(Node {
            kind: NodeKind::Null,
            ..
        }) => Vec::new(),
        Some(Node {
            kind: NodeKind::Seq(list),
            ..
        }) => list
            .iter()
            .map(|n| scalar(n, &format!("{path}.relies_on"), diags))
            .collect(),
        // A single id is accepted for a list of one.
        Some(n) => vec![scalar(n, &format!("{path}.relies_on"), diags)],
    };
    Some(ItemDoc {
        index,
        id,
        id_span,
        action,
        action_span,
        product,
        product_span,
        instance,
        attributes,
        relies_on,
        children: Vec::new(),
        path,
        span: node.span,
    })
}

/// The list of items under `key` of `root` (`items`, or a ProductOrder's
/// `productOrderItem`): missing, empty or not a list is an error.
pub(crate) fn item_list<'n>(
    root: &'n Node,
    key: &str,
    what: &str,
    example: &str,
    diags: &mut Diagnostics,
) -> &'n [Node] {
    match root.get(key) {
        Some(Node {
            kind: NodeKind::Seq(list),
            span,
        }) => {
            if list.is_empty() {
                diags.push(
                    Diagnostic::error(Code::OrderSyntax, format!("{what} has no items"))
                        .at(*span, "empty list")
                        .with_help(format!("{what} holds at least one item")),
                );
            }
            list
        }
        Some(other) => {
            diags.push(shape_error(key, "a list of items", other));
            &[]
        }
        None => {
            diags.push(missing(key, what, root.span, example));
            &[]
        }
    }
}

fn mapping<'n>(
    node: &'n Node,
    what: &str,
    path: &str,
    diags: &mut Diagnostics,
) -> Option<&'n [(Node, Node)]> {
    match &node.kind {
        NodeKind::Map(entries) => Some(entries),
        _ => {
            let name = if path.is_empty() {
                "the order".to_string()
            } else {
                path.to_string()
            };
            diags.push(
                Diagnostic::error(
                    Code::OrderSyntax,
                    format!(
                        "{name}: {what} must be a mapping, found {}",
                        node.describe()
                    ),
                )
                .at(node.span, format!("{} here", node.describe()))
                .with_help("write `key: value` pairs"),
            );
            None
        }
    }
}

fn entries_of(
    entries: &[(Node, Node)],
    path: &str,
    diags: &mut Diagnostics,
) -> Vec<(String, Span, Node)> {
    entries
        .iter()
        .filter_map(|(k, v)| match k.scalar_text() {
            Some(name) => Some((name, k.span, v.clone())),
            None => {
                diags.push(
                    Diagnostic::error(
                        Code::OrderSyntax,
                        format!("{path}: keys must be names, found {}", k.describe()),
                    )
                    .at(k.span, "not a name"),
                );
                None
            }
        })
        .collect()
}

fn scalar(node: &Node, path: &str, diags: &mut Diagnostics) -> (String, Span) {
    match node.scalar_text() {
        Some(s) => (s, node.span),
        None => {
            diags.push(shape_error(path, "a single value", node));
            (String::new(), node.span)
        }
    }
}

fn unknown_keys(entries: &[(Node, Node)], known: &[&str], path: &str, diags: &mut Diagnostics) {
    for (k, _) in entries {
        let Some(name) = k.scalar_text() else {
            continue;
        };
        if !known.contains(&name.as_str()) {
            let full = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            diags.push(
                Diagnostic::error(Code::OrderSyntax, format!("unknown field `{full}`"))
                    .at(k.span, "not an order field")
                    .suggest_or_list(&name, "field", known.iter().copied()),
            );
        }
    }
}

fn missing(key: &str, what: &str, span: Span, example: &str) -> Diagnostic {
    Diagnostic::error(Code::OrderSyntax, format!("{what} has no `{key}`"))
        .at(span, format!("`{key}` missing"))
        .with_help(format!("add `{example}`"))
}

pub(crate) fn shape_error(path: &str, want: &str, node: &Node) -> Diagnostic {
    Diagnostic::error(
        Code::OrderSyntax,
        format!("{path} must be {want}, found {}", node.describe()),
    )
    .at(node.span, format!("{} here", node.describe()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_cannot_leave_the_state_folder() {
        assert!(valid_order_id("ORD-1001"));
        assert!(valid_order_id("2026.11:A_1"));
        for bad in [
            "",
            "../x",
            "a/b",
            ".hidden",
            "a b",
            "é",
            "a\nb",
            &"x".repeat(101),
        ] {
            assert!(!valid_order_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn item_ids_are_visible_and_on_one_line() {
        for good in ["1", "1.2", "Broadband line", "é"] {
            assert_eq!(item_id_fault(good), None, "{good:?}");
        }
        for bad in ["", "a/b", "a\nb", "\t", "x\u{1b}[2J"] {
            assert!(item_id_fault(bad).is_some(), "{bad:?}");
        }
    }
}
