//! `installed.ATTR` and `installed.TASK.OUT` (SPEC §8.1): in a product's
//! `on modify` and `on delete` blocks, the instance the item changes, as it
//! was before the change. Values known at plan time; an output the instance
//! does not hold reads as null.

use super::scope::{action_output, Scope};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::expr::{Expr, ExprKind, Ref};
use crate::span::Span;
use crate::syntax::ast::{self, OrderAction};

impl Scope<'_, '_> {
    /// `installed.…`: `parts[0]` is `installed`.
    pub(super) fn installed(
        &self,
        parts: &[ast::Ident],
        span: Span,
        diags: &mut Diagnostics,
    ) -> Option<Expr> {
        let product = match self.product {
            Some((product, OrderAction::Modify | OrderAction::Delete)) if self.sigs.is_some() => {
                product
            }
            _ => {
                diags.push(
                    Diagnostic::error(Code::Invalid, "`installed` cannot be read here")
                        .at(parts[0].span, "no installed instance here")
                        .with_help(
                            "`installed.ATTR` and `installed.TASK.OUTPUT` are the instance a \
                             modify or delete item changes: read them in `on modify` or `on delete`",
                        ),
                );
                return None;
            }
        };
        let r = |r: Ref, ty| {
            Some(Expr {
                kind: ExprKind::Ref(r),
                ty,
                span,
            })
        };
        match parts {
            [_, attr] => {
                let a = self.attrs.iter().find(|a| a.name == attr.name);
                let Some(a) = a else {
                    diags.push(
                        Diagnostic::error(
                            Code::UnknownAttribute,
                            format!("`{product}` has no attribute `{}`", attr.name),
                        )
                        .at(attr.span, "no attribute of this name")
                        .suggest_or_list(
                            &attr.name,
                            "attribute",
                            self.attrs.iter().map(|a| a.name.as_str()),
                        ),
                    );
                    return None;
                };
                r(
                    Ref::Installed {
                        name: a.name.clone(),
                    },
                    a.ty.clone(),
                )
            }
            [_, task, out] => {
                let sigs = self.sigs?;
                let mut blocks = sigs.blocks_of(product);
                let Some(sig) = blocks.clone().find_map(|b| b.get(&task.name)) else {
                    let names: Vec<&str> = blocks
                        .by_ref()
                        .flat_map(|b| b.keys().map(String::as_str))
                        .collect();
                    diags.push(
                        Diagnostic::error(
                            Code::UnknownTask,
                            format!("`{product}` has no task `{}`", task.name),
                        )
                        .at(
                            task.span,
                            "no task of this name in the product's rule blocks",
                        )
                        .suggest_or_list(&task.name, "task", names),
                    );
                    return None;
                };
                let action = self.cx.actions.get(&sig.action)?;
                let param = action_output(action, out, diags)?;
                r(
                    Ref::InstalledOutput {
                        task: task.name.clone(),
                        output: out.name.clone(),
                    },
                    param.ty.clone(),
                )
            }
            _ => {
                diags.push(
                    Diagnostic::error(Code::Invalid, "`installed` is read as `installed.ATTR` or `installed.TASK.OUTPUT`")
                        .at(span, "not an attribute or output of the instance")
                        .with_help("name an attribute of the product, or a task of its rule blocks and one of its outputs"),
                );
                None
            }
        }
    }
}
