//! Layout of products, bundles, rule blocks, tasks, calls and clauses.

use super::comments::skip_trivia;
use super::expr::{chain, duration, expr, literal, string};
use super::printer::{width, Gap, Printer};
use crate::syntax::ast::*;

impl Printer<'_> {
    /// A product or bundle: members one per line, in source order.
    pub(crate) fn product(&mut self, keyword: &str, p: &ProductDecl) {
        self.text(keyword);
        self.text(" ");
        self.text(&p.name.name);
        let open = skip_trivia(self.src, p.name.span.end());
        let mut prev_end = open + 1;
        self.block(open, p.span, &p.members, |pr, m| {
            let (start, end) = member_range(pr.src, m, prev_end);
            // A rule block is a section of its own: a blank line sets it off.
            let gap = if matches!(m, Member::Rule(_)) {
                Gap::Separate
            } else {
                Gap::Keep
            };
            pr.line_at(start, gap);
            pr.member(m);
            pr.seen(end);
            prev_end = end;
        });
    }

    fn member(&mut self, m: &Member) {
        match m {
            Member::Description(s) => {
                self.text("description ");
                self.text(&string(s));
            }
            Member::Offering(o) => {
                let names: Vec<String> = o.names.iter().map(string).collect();
                self.text(&format!("offering {}", names.join(", ")));
            }
            Member::Attr(a) => self.attr(a),
            Member::ReliesOn(p) => {
                self.text("relies on ");
                self.text(&p.name);
            }
            Member::Price(p) => {
                let line = format!("price {} {} {}", p.kind.as_str(), p.amount, p.currency.name);
                self.text(&line);
                if let Some(on) = &p.on {
                    self.text(" ");
                    self.text(&item_actions(on));
                }
                if let Some(w) = &p.when {
                    self.text(" when ");
                    self.condition(w, 0);
                }
            }
            Member::Sla(s) => {
                let value = literal(self.src, &s.value, s.value_span);
                self.text(&format!("sla {} {value}", s.name.name));
                if let Some(w) = &s.when {
                    self.text(" when ");
                    self.condition(w, 0);
                }
            }
            Member::Require(r) => self.require(r),
            Member::Rule(r) => {
                self.text("on ");
                self.text(r.action.as_str());
                let open = skip_trivia(self.src, r.action_span.end());
                self.block(open, r.span, &r.tasks, |p, task| p.task(task));
            }
            Member::Include(inc) => {
                self.text("include ");
                let close = inc.span.end().saturating_sub(1);
                let name = match &inc.alias {
                    Some(alias) => format!("{} as {}", inc.product.name, alias.name),
                    None => inc.product.name.clone(),
                };
                self.call(&name, &inc.args, inc.product.span.start as usize, close, 0);
            }
        }
    }

    /// `task name: action(args) { clauses }`; no braces without clauses.
    pub(crate) fn task(&mut self, t: &TaskDecl) {
        self.line_at(t.span.start as usize, Gap::Keep);
        self.text("task ");
        self.text(&t.name.name);
        self.text(": ");
        let suffix = if t.clauses.is_empty() { "" } else { " {" };
        let call = &t.call;
        let close = call.span.end().saturating_sub(1);
        self.call(
            &call.action.name,
            &call.args,
            call.span.start as usize,
            close,
            suffix.len(),
        );
        if !t.clauses.is_empty() {
            self.open(suffix);
            for c in &t.clauses {
                self.line_at(c.span.start as usize, Gap::Keep);
                self.clause(c);
                self.seen(c.span.end());
            }
            self.close(t.span.end().saturating_sub(1), "}");
        }
        self.seen(t.span.end());
    }

    /// `name(arg: expr, …)` on one line if it fits with `suffix` more
    /// characters after it and holds no comment; else one argument per line,
    /// each with a trailing comma. `start..close` is the call in the source,
    /// `close` the offset of its `)`.
    fn call(&mut self, name: &str, args: &[Arg], start: usize, close: usize, suffix: usize) {
        let texts: Vec<String> = args
            .iter()
            .map(|a| format!("{}: {}", a.name.name, expr(self.src, &a.value)))
            .collect();
        let flat = format!("{name}({})", texts.join(", "));
        if self.fits(width(&flat) + suffix) && !self.has_comment(start, close) {
            self.text(&flat);
            return;
        }
        self.text(name);
        self.open("(");
        for (a, text) in args.iter().zip(&texts) {
            self.line_at(a.name.span.start as usize, Gap::Tight);
            self.text(text);
            self.text(",");
            self.seen(a.value.span.end());
        }
        self.close(close, ")");
    }

    fn clause(&mut self, c: &Clause) {
        match &c.kind {
            ClauseKind::After(refs) => {
                let names: Vec<String> = refs
                    .iter()
                    .map(|r| {
                        r.parts
                            .iter()
                            .map(|p| p.name.as_str())
                            .collect::<Vec<_>>()
                            .join(".")
                    })
                    .collect();
                self.text("after ");
                self.text(&names.join(", "));
            }
            ClauseKind::When(e) => {
                self.text("when ");
                self.condition(e, 0);
            }
            ClauseKind::Stage(s) => {
                self.text("stage ");
                self.text(&s.name);
            }
            ClauseKind::Require(r) => self.require(r),
            ClauseKind::Retry {
                count,
                kind,
                delay_ms,
            } => {
                let kind = match kind {
                    RetryKind::Every => "every",
                    RetryKind::Backoff => "backoff",
                };
                let delay = duration(self.src, c.span, *delay_ms);
                self.text(&format!("retry {count} {kind} {delay}"));
            }
            ClauseKind::Timeout { ms } => {
                let d = duration(self.src, c.span, *ms);
                self.text(&format!("timeout {d}"));
            }
            ClauseKind::Undo(call) => {
                self.text("undo ");
                let close = call.span.end().saturating_sub(1);
                self.call(
                    &call.action.name,
                    &call.args,
                    call.span.start as usize,
                    close,
                    0,
                );
            }
            ClauseKind::NoReturn => self.text("point of no return"),
            ClauseKind::Manual(team) => {
                self.text("manual ");
                self.text(&string(team));
            }
            ClauseKind::WaitUntil(e) => {
                self.text("wait until ");
                self.condition(e, 0);
            }
            ClauseKind::WaitFor { ms } => {
                let d = duration(self.src, c.span, *ms);
                self.text(&format!("wait {d}"));
            }
        }
    }

    /// `require cond else "message"` on one line if it fits and holds no
    /// comment; else `else "message"` goes on a line of its own, indented
    /// once more, below the condition (itself broken if still too long).
    fn require(&mut self, r: &RequireRule) {
        self.text("require ");
        if let Some(on) = &r.on {
            self.text(&item_actions(on));
            self.text(" ");
        }
        let message = string(&r.message);
        let flat = format!("{} else {message}", expr(self.src, &r.cond));
        // A comment before `else` keeps its place by a break there; one
        // between `else` and the message moves to the end of the line.
        let else_at = else_keyword(self.src, r.cond.span.end());
        if self.fits(width(&flat)) && !self.has_comment(r.cond.span.start as usize, else_at) {
            self.text(&flat);
            return;
        }
        self.condition(&r.cond, 0);
        self.seen(r.cond.span.end());
        self.indent += 1;
        self.line_at(else_at, Gap::Tight);
        self.text("else ");
        self.text(&message);
        self.indent -= 1;
    }

    /// An expression that ends a line (but for `suffix` more characters). A
    /// chain of `and`s or `or`s that is too long, or holds comments, breaks
    /// before each operator, one operand per line, indented once more.
    pub(crate) fn condition(&mut self, e: &Expr, suffix: usize) {
        let flat = expr(self.src, e);
        let Some((op, operands)) = chain(self.src, e) else {
            self.text(&flat);
            return;
        };
        let last = operands.last().map_or(0, |(x, _)| x.span.start as usize);
        if self.fits(width(&flat) + suffix) && !self.has_comment(e.span.start as usize, last) {
            self.text(&flat);
            return;
        }
        self.indent += 1;
        for (i, (x, text)) in operands.iter().enumerate() {
            if i > 0 {
                self.line_at(x.span.start as usize, Gap::Tight);
                self.text(op.symbol());
                self.text(" ");
            }
            self.text(text);
            self.seen(x.span.end());
        }
        self.indent -= 1;
    }
}

/// `on add, delete`.
fn item_actions(on: &ItemActions) -> String {
    let names: Vec<&str> = on.actions.iter().map(|(a, _)| a.as_str()).collect();
    format!("on {}", names.join(", "))
}

/// The offset of the `else` after a condition ending at `cond_end`. An
/// expression's span leaves out the parentheses around it, so `)`s are
/// skipped as well as whitespace and comments.
fn else_keyword(src: &str, cond_end: usize) -> usize {
    let mut pos = skip_trivia(src, cond_end);
    while src.as_bytes().get(pos) == Some(&b')') {
        pos = skip_trivia(src, pos + 1);
    }
    pos
}

/// Where a member starts and ends in the source. Descriptions and `relies on`
/// keep no span of their keyword: they start at the first code after the
/// previous member.
fn member_range(src: &str, m: &Member, prev_end: usize) -> (usize, usize) {
    let span = match m {
        Member::Description(s) => return (skip_trivia(src, prev_end), s.span.end()),
        Member::ReliesOn(p) => return (skip_trivia(src, prev_end), p.span.end()),
        Member::Offering(o) => o.span,
        Member::Attr(a) => a.span,
        Member::Price(p) => p.span,
        Member::Sla(s) => s.span,
        Member::Require(r) => r.span,
        Member::Rule(r) => r.span,
        Member::Include(i) => i.span,
    };
    (span.start as usize, span.end())
}
