//! The formatter's safety net: the formatted text must parse to the same tree
//! (spans aside) and hold the same comments, or the file is left alone.

use std::sync::OnceLock;

use regex::Regex;

use super::comments::{self, Comment};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{FileId, Span};
use crate::syntax::ast::*;
use crate::syntax::parse_module;

/// Expressions nested deeper than this are not formatted: the printer and the
/// check recurse once per level.
const MAX_DEPTH: usize = 256;

/// The tree with every span blanked, for comparing two parses of one text.
pub(crate) fn shape(module: &Module) -> String {
    static SPAN: OnceLock<Regex> = OnceLock::new();
    let span = SPAN.get_or_init(|| {
        Regex::new(r"Span \{ file: FileId\(\d+\), start: \d+, len: \d+ \}")
            .expect("a valid pattern")
    });
    span.replace_all(&format!("{module:?}"), "Span")
        .into_owned()
}

pub(crate) fn same_meaning(
    file: FileId,
    module: &Module,
    comments: &[Comment],
    formatted: &str,
) -> Result<(), Diagnostic> {
    // At the file's start, so that every rendering names the file.
    let refused = |what: &str| {
        Diagnostic::error(
            Code::Invalid,
            format!("internal error: the formatted text {what}; the file is left as it is"),
        )
        .at(Span::new(file, 0, 0), "this file")
        .with_help("this is a bug in `ordo fmt`: please report it with the file")
    };
    let reparsed = parse_module(file, formatted).map_err(|_| refused("does not parse"))?;
    if shape(&reparsed) != shape(module) {
        return Err(refused("would mean something else"));
    }
    let texts = |list: &[Comment]| {
        let mut t: Vec<String> = list.iter().map(|c| c.text.clone()).collect();
        t.sort_unstable();
        t
    };
    if texts(&comments::scan(formatted)) != texts(comments) {
        return Err(refused("would lose a comment"));
    }
    Ok(())
}

/// Refuses expressions nested deeper than [`MAX_DEPTH`], measured without
/// recursion.
pub(crate) fn depth_within_limit(module: &Module) -> Result<(), Diagnostic> {
    let mut stack: Vec<(&Expr, usize)> = roots(module).into_iter().map(|e| (e, 1)).collect();
    while let Some((e, depth)) = stack.pop() {
        if depth > MAX_DEPTH {
            return Err(
                Diagnostic::error(Code::Invalid, "expression nested too deeply to format")
                    .at(e.span, format!("more than {MAX_DEPTH} levels deep"))
                    .with_help("split the expression into simpler parts"),
            );
        }
        match &e.kind {
            ExprKind::Lit(_) | ExprKind::Path(_) => {}
            ExprKind::Unary(_, x) => stack.push((x, depth + 1)),
            ExprKind::Binary(_, a, b) => {
                stack.push((a, depth + 1));
                stack.push((b, depth + 1));
            }
            ExprKind::In(x, list) => {
                stack.push((x, depth + 1));
                stack.extend(list.iter().map(|i| (i, depth + 1)));
            }
            ExprKind::If(c, a, b) => stack.extend([c, a, b].map(|x| (&**x, depth + 1))),
        }
    }
    Ok(())
}

/// Every top-level expression of a module.
fn roots(module: &Module) -> Vec<&Expr> {
    fn tasks<'a>(list: &'a [TaskDecl], out: &mut Vec<&'a Expr>) {
        for t in list {
            out.extend(t.call.args.iter().map(|a| &a.value));
            for c in &t.clauses {
                match &c.kind {
                    ClauseKind::When(e) | ClauseKind::WaitUntil(e) => out.push(e),
                    ClauseKind::Require(r) => out.push(&r.cond),
                    ClauseKind::Undo(call) => out.extend(call.args.iter().map(|a| &a.value)),
                    _ => {}
                }
            }
        }
    }
    let mut out = Vec::new();
    for decl in &module.decls {
        match decl {
            Decl::Customer(c) => out.extend(c.attrs.iter().filter_map(|a| a.default.as_ref())),
            Decl::Product(p) | Decl::Bundle(p) => {
                for m in &p.members {
                    match m {
                        Member::Attr(a) => out.extend(a.default.as_ref()),
                        Member::Price(p) => out.extend(p.when.as_ref()),
                        Member::Require(r) => out.push(&r.cond),
                        Member::Include(i) => out.extend(i.args.iter().map(|a| &a.value)),
                        Member::Rule(r) => tasks(&r.tasks, &mut out),
                        Member::Sla(s) => out.extend(s.when.as_ref()),
                        Member::Description(_) | Member::ReliesOn(_) | Member::Offering(_) => {}
                    }
                }
            }
            Decl::Order(o) => tasks(&o.tasks, &mut out),
            Decl::Catalog(_) | Decl::Stages(_) | Decl::Enum(_) | Decl::Action(_) => {}
        }
    }
    out
}
