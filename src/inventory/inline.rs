//! Instances written inline (`installed:` in a catalog test, SPEC §8.1): a
//! list in the public JSON shape, read with the catalog's types.

use std::collections::BTreeMap;

use super::{InstalledBase, Instance, InstanceStatus, TaskOutputs};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::{Catalog, Product};
use crate::order::value_from_node;
use crate::yaml::{Node, NodeKind};

impl InstalledBase {
    /// Reads `installed:`: each entry an instance (`id`, `product`,
    /// `customer`, optional `status` (active), `parent`, `attributes`,
    /// `outputs`, `created_by`, `updated_by`). Attributes and outputs are
    /// read as the product declares them; attributes left out take their
    /// defaults.
    pub fn from_node(catalog: &Catalog, node: &Node) -> Result<InstalledBase, Diagnostics> {
        let mut diags = Diagnostics::new();
        let mut base = InstalledBase::default();
        let NodeKind::Seq(list) = &node.kind else {
            diags.push(fault(node, "`installed` must be a list of instances"));
            return Err(diags);
        };
        for entry in list {
            if let Some(i) = instance(catalog, entry, &mut diags) {
                base.instances.insert(i.id.clone(), i);
            }
        }
        if diags.has_errors() {
            Err(diags)
        } else {
            Ok(base)
        }
    }
}

fn fault(node: &Node, message: impl Into<String>) -> Diagnostic {
    Diagnostic::error(Code::Test, message)
        .at(node.span, "here")
        .with_help("an installed instance is `{ id, product, customer, attributes, outputs }` as `ordo inventory --format json` shows it")
}

fn text(entry: &Node, key: &str, diags: &mut Diagnostics) -> Option<String> {
    match entry.get(key).map(|n| (n, n.scalar_text())) {
        Some((_, Some(t))) => Some(t),
        Some((n, None)) => {
            diags.push(fault(n, format!("`{key}` must be a single value")));
            None
        }
        None => None,
    }
}

fn instance(catalog: &Catalog, entry: &Node, diags: &mut Diagnostics) -> Option<Instance> {
    let (Some(id), Some(product)) = (text(entry, "id", diags), text(entry, "product", diags))
    else {
        diags.push(fault(
            entry,
            "an installed instance needs an `id` and a `product`",
        ));
        return None;
    };
    let Some(p) = catalog.products.get(&product) else {
        diags.push(fault(
            entry.get("product").unwrap_or(entry),
            format!("unknown product `{product}`"),
        ));
        return None;
    };
    let status = match text(entry, "status", diags).as_deref() {
        None | Some("active") => InstanceStatus::Active,
        Some("terminated") => InstanceStatus::Terminated,
        Some(other) => {
            diags.push(fault(
                entry.get("status").unwrap_or(entry),
                format!("`{other}` is not an instance status: it is `active` or `terminated`"),
            ));
            return None;
        }
    };
    let order = id.split('/').next().unwrap_or_default().to_string();
    Some(Instance {
        customer: text(entry, "customer", diags).unwrap_or_default(),
        parent: text(entry, "parent", diags),
        attributes: attributes(p, entry.get("attributes"), diags),
        outputs: outputs(catalog, p, entry.get("outputs"), diags),
        relies_on: Vec::new(),
        created_by: text(entry, "created_by", diags).unwrap_or_else(|| order.clone()),
        updated_by: text(entry, "updated_by", diags).unwrap_or(order),
        created_at: text(entry, "created_at", diags).unwrap_or_default(),
        updated_at: text(entry, "updated_at", diags).unwrap_or_default(),
        id,
        product,
        status,
    })
}

fn entries(node: Option<&Node>) -> &[(Node, Node)] {
    match node.map(|n| &n.kind) {
        Some(NodeKind::Map(e)) => e,
        _ => &[],
    }
}

fn attributes(
    p: &Product,
    node: Option<&Node>,
    diags: &mut Diagnostics,
) -> BTreeMap<String, crate::value::Value> {
    let mut values: BTreeMap<_, _> = p
        .attrs
        .iter()
        .map(|a| {
            let v = a.default.clone().unwrap_or(crate::value::Value::Null);
            (a.name.clone(), v)
        })
        .collect();
    for (k, v) in entries(node) {
        let name = k.scalar_text().unwrap_or_default();
        let Some(decl) = p.attr(&name) else {
            diags.push(fault(k, format!("`{}` has no attribute `{name}`", p.name)));
            continue;
        };
        if matches!(v.kind, NodeKind::Null) && decl.optional {
            values.insert(name, crate::value::Value::Null);
            continue;
        }
        match value_from_node(v, &decl.ty) {
            Ok(value) => {
                values.insert(name, value);
            }
            Err(reason) => diags.push(fault(v, format!("attribute `{name}`: {reason}"))),
        }
    }
    values
}

fn outputs(
    catalog: &Catalog,
    p: &Product,
    node: Option<&Node>,
    diags: &mut Diagnostics,
) -> BTreeMap<String, TaskOutputs> {
    let mut all = BTreeMap::new();
    for (k, v) in entries(node) {
        let task = k.scalar_text().unwrap_or_default();
        let action = p
            .rules
            .values()
            .flatten()
            .find(|t| t.name == task)
            .and_then(|t| catalog.actions.get(&t.call.action));
        let Some(action) = action else {
            diags.push(fault(k, format!("`{}` has no task `{task}`", p.name)));
            continue;
        };
        let mut outs = TaskOutputs::new();
        for (ok, ov) in entries(Some(v)) {
            let name = ok.scalar_text().unwrap_or_default();
            let Some(param) = action.output(&name) else {
                diags.push(fault(
                    ok,
                    format!("action `{}` has no output `{name}`", action.name),
                ));
                continue;
            };
            match value_from_node(ov, &param.ty) {
                Ok(value) => {
                    outs.insert(name, value);
                }
                Err(reason) => diags.push(fault(ov, format!("output `{task}.{name}`: {reason}"))),
            }
        }
        all.insert(task, outs);
    }
    all
}
