//! Layout of declarations: the top level, enums, stages, actions, the customer
//! record and the catalog line. Products and tasks are in `blocks.rs`.

use super::comments::{closing_after, skip_trivia};
use super::expr::string;
use super::printer::{width, Gap, Printer};
use crate::span::Span;
use crate::syntax::ast::*;

impl Printer<'_> {
    pub(crate) fn module(&mut self, module: &Module) {
        let mut previous: Option<&Decl> = None;
        for decl in &module.decls {
            let span = decl_span(decl);
            // Actions read as a table of an outside system's operations:
            // authors group them with blank lines, and the grouping stays.
            let gap = match (previous, decl) {
                (Some(Decl::Action(_)), Decl::Action(_)) => Gap::Keep,
                _ => Gap::Separate,
            };
            previous = Some(decl);
            self.line_at(span.start as usize, gap);
            self.decl(decl);
            self.seen(span.end());
        }
    }

    fn decl(&mut self, decl: &Decl) {
        match decl {
            Decl::Catalog(c) => {
                self.text("catalog ");
                self.text(&string(&c.name));
                if let Some(v) = &c.version {
                    self.text(" version ");
                    self.text(&string(v));
                }
            }
            Decl::Stages(s) => self.stages(s),
            Decl::Enum(e) => self.enum_decl(e),
            Decl::Customer(c) => {
                self.text("customer");
                let open = skip_trivia(self.src, c.span.start as usize + "customer".len());
                self.block(open, c.span, &c.attrs, |p, attr| {
                    p.line_at(attr.span.start as usize, Gap::Keep);
                    p.attr(attr);
                    p.seen(attr.span.end());
                });
            }
            Decl::Action(a) => self.action(a),
            Decl::Product(p) => self.product("product", p),
            Decl::Bundle(b) => self.product("bundle", b),
            Decl::Order(o) => {
                self.text("order");
                let open = skip_trivia(self.src, o.span.start as usize + "order".len());
                self.block(open, o.span, &o.tasks, |p, task| p.task(task));
            }
        }
    }

    /// ` {`, one line per item, `}`; or ` {}` when there is nothing inside,
    /// comments included. `open` is the source offset of the `{`, `span` ends
    /// with the `}`.
    pub(crate) fn block<T>(
        &mut self,
        open: usize,
        span: Span,
        items: &[T],
        mut item: impl FnMut(&mut Self, &T),
    ) {
        let close = span.end().saturating_sub(1);
        if items.is_empty() && !self.has_comment(open, close) {
            self.text(" {}");
            return;
        }
        self.open(" {");
        for it in items {
            item(self, it);
        }
        self.close(close, "}");
    }

    /// `stages a -> b (default) -> c`, or one stage per line when it is too
    /// long or holds comments.
    fn stages(&mut self, s: &StagesDecl) {
        let item = |st: &StageItem| match st.default {
            Some(_) => format!("{} (default)", st.name.name),
            None => st.name.name.clone(),
        };
        let items: Vec<String> = s.stages.iter().map(item).collect();
        let flat = format!("stages {}", items.join(" -> "));
        // Comments before the last stage would be carried to a line break,
        // so they ask for the broken layout; later ones go after the line.
        let last_break = s.stages.last().map_or(0, |st| st.name.span.start as usize);
        if self.fits(width(&flat)) && !self.has_comment(s.span.start as usize, last_break) {
            self.text(&flat);
            return;
        }
        self.text("stages ");
        self.indent += 1;
        for (i, (st, text)) in s.stages.iter().zip(&items).enumerate() {
            if i > 0 {
                self.line_at(st.name.span.start as usize, Gap::Tight);
                self.text("-> ");
            }
            self.text(text);
            self.seen(st.default.unwrap_or(st.name.span).end());
        }
        self.indent -= 1;
    }

    /// `enum Name { "a", "b" }`, or one value per line with a trailing comma.
    fn enum_decl(&mut self, e: &EnumDecl) {
        self.text("enum ");
        self.text(&e.name.name);
        let open = skip_trivia(self.src, e.name.span.end());
        let close = e.span.end().saturating_sub(1);
        let values: Vec<String> = e.values.iter().map(string).collect();
        if values.is_empty() && !self.has_comment(open, close) {
            self.text(" {}");
            return;
        }
        let flat = format!(" {{ {} }}", values.join(", "));
        if self.fits(width(&flat)) && !self.has_comment(open, close) {
            self.text(&flat);
            return;
        }
        self.open(" {");
        for (v, text) in e.values.iter().zip(&values) {
            self.line_at(v.span.start as usize, Gap::Tight);
            self.text(text);
            self.text(",");
            self.seen(v.span.end());
        }
        self.close(close, "}");
    }

    /// `action ns.name(p: T, …) -> (o: T, …)` on one line if it fits. Else,
    /// when the parameters fit on the first line, `-> (o: T, …)` goes on a
    /// line of its own, indented once, if it fits there and holds no
    /// comment, or the outputs go one per line after `-> (`. Else the
    /// parameters go one per line, and `) -> (o: T, …)` after them, the
    /// outputs one per line too if still too long.
    fn action(&mut self, a: &ActionDecl) {
        self.text("action ");
        self.text(&a.name.name);
        let start = a.span.start as usize;
        let params_close = match a.params.last() {
            Some(p) => closing_after(self.src, p.ty.span.end()),
            None => skip_trivia(self.src, skip_trivia(self.src, a.name.span.end()) + 1),
        };
        let outputs_close = a.span.end().saturating_sub(1);
        let flat_params = format!("({})", params(&a.params));
        let flat_outputs = outputs(&a.outputs);
        let params_flat = self.fits(width(&flat_params)) && !self.has_comment(start, params_close);
        if !params_flat {
            self.open("(");
            self.param_lines(&a.params);
            self.close(params_close, ")");
        } else {
            self.text(&flat_params);
        }
        if a.outputs.is_empty() {
            return;
        }
        let arrow = skip_trivia(self.src, params_close + 1);
        let outputs_comment = self.has_comment(params_close, outputs_close);
        if !outputs_comment && self.fits(width(&flat_outputs)) {
            self.text(&flat_outputs);
            return;
        }
        let own_line = flat_outputs.trim_start();
        if params_flat
            && self.fits_indented(width(own_line))
            && !self.has_comment(arrow, outputs_close)
        {
            self.seen(params_close + 1);
            self.indent += 1;
            self.line_at(arrow, Gap::Tight);
            self.text(own_line);
            self.indent -= 1;
            return;
        }
        self.open(" -> (");
        self.param_lines(&a.outputs);
        self.close(outputs_close, ")");
    }

    fn param_lines(&mut self, list: &[Param]) {
        for p in list {
            self.line_at(p.name.span.start as usize, Gap::Tight);
            self.text(&param(p));
            self.text(",");
            self.seen(p.ty.span.end());
        }
    }

    /// `attr name?: T = default`, on one line.
    pub(crate) fn attr(&mut self, a: &AttrDecl) {
        self.text("attr ");
        self.text(&a.name.name);
        if a.optional {
            self.text("?");
        }
        self.text(": ");
        self.text(&type_expr(&a.ty));
        if let Some(d) = &a.default {
            self.text(" = ");
            self.condition(d, 0);
        }
        if let Some(c) = &a.characteristic {
            self.text(" characteristic ");
            self.text(&string(c));
        }
    }
}

fn params(list: &[Param]) -> String {
    list.iter().map(param).collect::<Vec<_>>().join(", ")
}

fn outputs(list: &[Param]) -> String {
    if list.is_empty() {
        String::new()
    } else {
        format!(" -> ({})", params(list))
    }
}

fn param(p: &Param) -> String {
    let mark = if p.optional { "?" } else { "" };
    format!("{}{mark}: {}", p.name.name, type_expr(&p.ty))
}

pub(crate) fn type_expr(t: &TypeExpr) -> String {
    match &t.kind {
        TypeExprKind::Named(name) => name.name.clone(),
        TypeExprKind::Range { lo, hi } => format!("int({lo}..{hi})"),
        TypeExprKind::Matching(pattern) => format!("string matching {}", string(pattern)),
    }
}

pub(crate) fn decl_span(decl: &Decl) -> Span {
    match decl {
        Decl::Catalog(d) => d.span,
        Decl::Stages(d) => d.span,
        Decl::Enum(d) => d.span,
        Decl::Customer(d) => d.span,
        Decl::Action(d) => d.span,
        Decl::Product(d) | Decl::Bundle(d) => d.span,
        Decl::Order(d) => d.span,
    }
}
