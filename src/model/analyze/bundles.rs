//! Checks over a bundle's includes together, once every product is resolved.

use std::collections::BTreeMap;

use crate::diagnostic::{code_list, Code, Diagnostic, Diagnostics};
use crate::model::{Included, Product, ProductKind};

/// A child that relies on a product its bundle includes twice could never
/// say which of the two it means: its relied-on tasks would be ambiguous in
/// every order. Reported once per child, at its include.
pub(super) fn ambiguous_relies(products: &BTreeMap<String, Product>, diags: &mut Diagnostics) {
    for bundle in products.values().filter(|p| p.kind == ProductKind::Bundle) {
        for inc in &bundle.includes {
            let Some(child) = products.get(&inc.product) else {
                continue;
            };
            for rel in &child.relies_on {
                let siblings: Vec<&Included> = bundle
                    .includes
                    .iter()
                    .filter(|i| i.product == rel.product && i.name != inc.name)
                    .collect();
                if siblings.len() < 2 {
                    continue;
                }
                let names = code_list(siblings.iter().map(|i| i.name.as_str()));
                diags.push(
                    Diagnostic::error(
                        Code::Invalid,
                        format!(
                            "`{}` relies on {}, and `{}` includes {} of them: {names}",
                            inc.name,
                            rel.product,
                            bundle.name,
                            siblings.len()
                        ),
                    )
                    .at(inc.span, "which one would it rely on?")
                    .with_related(rel.span, "relies on declared here")
                    .with_help(format!(
                        "a child relies on the one {} of its bundle: include {} once in `{}`, \
                         or sell the second in a bundle of its own",
                        rel.product, rel.product, bundle.name
                    )),
                );
            }
        }
    }
}
