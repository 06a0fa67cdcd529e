//! Typing of the null-safe constructs (SPEC §8.8): presence tests
//! `x == null` / `x != null`, `a ?? b` and `if … then … else …`.

use super::scope::Scope;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::expr::{Expr, ExprKind};
use crate::model::types::a as an;
use crate::model::Type;
use crate::span::Span;
use crate::syntax::ast;

impl Scope<'_, '_> {
    /// `x != null` (`present`) or `x == null`: any `x` may be tested.
    pub(super) fn presence(
        &self,
        present: bool,
        x: &ast::Expr,
        span: Span,
        diags: &mut Diagnostics,
    ) -> Option<Expr> {
        let x = self.expr(x, diags)?;
        Some(Expr {
            kind: ExprKind::Present(Box::new(x), present),
            ty: Type::Bool,
            span,
        })
    }

    pub(super) fn if_expr(
        &self,
        cond: &ast::Expr,
        then: &ast::Expr,
        other: &ast::Expr,
        span: Span,
        diags: &mut Diagnostics,
    ) -> Option<Expr> {
        let cond = self.condition(cond, "the condition of `if`", diags);
        let (a, b) = (self.expr(then, diags), self.expr(other, diags));
        let (cond, a, b) = (cond?, a?, b?);
        let Some(ty) = one_type(&a.ty, &b.ty) else {
            diags.push(
                Diagnostic::error(
                    Code::TypeMismatch,
                    format!(
                        "the branches of `if` must have one type, found {} and {}",
                        an(&a.ty),
                        an(&b.ty)
                    ),
                )
                .at(b.span, format!("this is {}", an(&b.ty)))
                .with_related(a.span, format!("this is {}", an(&a.ty)))
                .with_help("give both branches values of the same type"),
            );
            return None;
        };
        Some(Expr {
            kind: ExprKind::If(Box::new(cond), Box::new(a), Box::new(b)),
            ty,
            span,
        })
    }
}

/// The one type of two values that stand for each other (the branches of an
/// `if`, the sides of `??`): `null` takes the other side's type, an int
/// widens to a decimal, a string literal narrows to an enum.
pub(super) fn one_type(a: &Type, b: &Type) -> Option<Type> {
    match (a, b) {
        (Type::Null, other) | (other, Type::Null) => Some(other.clone()),
        _ if a.fits(b) => Some(b.clone()),
        _ if b.fits(a) => Some(a.clone()),
        _ => None,
    }
}
