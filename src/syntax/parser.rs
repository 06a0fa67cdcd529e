//! Builds the AST from pest's parse tree.

use pest::iterators::Pair;
use pest::Parser as _;
use rust_decimal::Decimal;

use super::ast::*;
use super::errors::{syntax_error, DECLARATION_KEYWORDS};
use super::{OrdoParser, Rule};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{FileId, Span};

pub use interpolation::{parse_interpolation, Interpolated, Segment};

/// Deeper nesting than this is refused before pest sees it: pest recurses per
/// nesting level, and no real rule nests brackets this deep.
const MAX_NESTING: usize = 32;

/// Parses one `.ordo` file; a file that does not parse gives its first
/// syntax error. [`parse_module_recovering`] gives all of them.
pub fn parse_module(file: FileId, text: &str) -> Result<Module, Diagnostic> {
    let (module, mut errors) = parse_module_recovering(file, text);
    if errors.is_empty() {
        Ok(module)
    } else {
        Err(errors.swap_remove(0))
    }
}

/// Parses one `.ordo` file, reporting every broken declaration: the file is
/// cut at each line that starts with a top-level keyword (`product`,
/// `action`, …) and every piece is parsed on its own, so a broken
/// declaration costs its own error and no more, and pest's token queue (two
/// tokens of about 40 bytes a pair) holds one declaration at a time rather
/// than the whole file. The module holds the declarations that parsed.
///
/// When every piece parses, their declarations are those of the whole file:
/// no declaration can run on into a line that starts with a top-level
/// keyword (each ends with `}`, `)`, a string, or a name that only `->`,
/// `(` or `version` could continue). A piece that does not parse may be
/// part of a declaration cut in two (a name `order` at the start of a
/// line): then the whole file is parsed, and its errors, if it fails too,
/// are those of the pieces.
pub fn parse_module_recovering(file: FileId, text: &str) -> (Module, Vec<Diagnostic>) {
    if let Err(d) = check_nesting(file, text) {
        return (Module::default(), vec![d]);
    }
    let mut decls = Vec::new();
    // A piece's error, or the range of a piece that does not parse: that
    // one is worded only if the whole file fails too.
    let mut errors: Vec<Result<Diagnostic, std::ops::Range<usize>>> = Vec::new();
    for range in declaration_pieces(text) {
        let b = Builder {
            file,
            offset: range.start,
        };
        match b.module(&text[range.clone()]) {
            Ok(m) => decls.extend(m.decls),
            Err(Some(d)) => errors.push(Ok(d)),
            Err(None) => errors.push(Err(range)),
        }
    }
    if errors.iter().any(Result::is_err) {
        let b = Builder { file, offset: 0 };
        if let Ok(module) = b.module(text) {
            return (module, Vec::new());
        }
    }
    let errors = errors
        .into_iter()
        .map(|e| e.unwrap_or_else(|range| syntax_error(file, text, range, Rule::file)))
        .collect();
    (Module { decls }, errors)
}

/// The file cut before every line that starts (unindented) with a top-level
/// keyword.
fn declaration_pieces(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut starts = vec![0];
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let word = line
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("");
        let after = line[word.len()..].chars().next();
        if line_start > 0 && DECLARATION_KEYWORDS.contains(&word) && !matches!(after, Some('.')) {
            starts.push(line_start);
        }
        line_start += line.len();
    }
    starts
        .iter()
        .zip(starts.iter().skip(1).chain([&text.len()]))
        .map(|(&s, &e)| s..e)
        .collect()
}

fn check_nesting(file: FileId, text: &str) -> Result<(), Diagnostic> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut in_comment = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_comment {
            in_comment = c != '\n';
            continue;
        }
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' | '\n' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '#' => in_comment = true,
            '"' => in_string = true,
            '(' | '[' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Err(
                        Diagnostic::error(Code::Syntax, "brackets nested too deeply")
                            .at(
                                Span::new(file, i, i + 1),
                                format!("more than {MAX_NESTING} levels deep"),
                            )
                            .with_help("split the expression into simpler parts"),
                    );
                }
            }
            ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

struct Builder {
    file: FileId,
    /// Where the parsed text starts in the file.
    offset: usize,
}

type R<T> = Result<T, Diagnostic>;

impl Builder {
    /// The declarations of `text`; `Err(None)` when it does not parse (the
    /// caller words the error, knowing the whole file).
    fn module(&self, text: &str) -> Result<Module, Option<Diagnostic>> {
        let mut pairs = OrdoParser::parse(Rule::file, text).map_err(|_| None)?;
        let root = pairs.next().expect("the file rule always yields one pair");
        let mut decls = Vec::new();
        for pair in root.into_inner() {
            if pair.as_rule() == Rule::EOI {
                break;
            }
            decls.push(self.decl(pair).map_err(Some)?);
        }
        Ok(Module { decls })
    }

    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, self.offset + s.start(), self.offset + s.end())
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    /// The names of a dotted pair (`order.customer.id`, `P.task`), each
    /// with its own span.
    fn dotted(&self, pair: &Pair<'_, Rule>) -> Vec<Ident> {
        let mut offset = self.span(pair).start as usize;
        pair.as_str()
            .split('.')
            .map(|part| {
                let ident = Ident {
                    name: part.to_string(),
                    span: Span::new(self.file, offset, offset + part.len()),
                };
                offset += part.len() + 1;
                ident
            })
            .collect()
    }

    fn string(&self, pair: Pair<'_, Rule>) -> StringLit {
        let span = self.span(&pair);
        let raw = pair
            .into_inner()
            .next()
            .map_or("", |p| p.as_str())
            .to_string();
        StringLit {
            value: unescape(&raw),
            raw,
            span,
        }
    }

    fn decl(&self, pair: Pair<'_, Rule>) -> R<Decl> {
        let span = self.span(&pair);
        Ok(match pair.as_rule() {
            Rule::catalog_decl => {
                let mut it = pair.into_inner();
                let name = self.string(it.next().expect("catalog name"));
                let version = it.next().map(|p| self.string(p));
                Decl::Catalog(CatalogDecl {
                    name,
                    version,
                    span,
                })
            }
            Rule::stages_decl => {
                let stages = pair
                    .into_inner()
                    .map(|item| {
                        let mut it = item.into_inner();
                        let name = self.ident(it.next().expect("stage name"));
                        let default = it.next().map(|d| self.span(&d));
                        StageItem { name, default }
                    })
                    .collect();
                Decl::Stages(StagesDecl { stages, span })
            }
            Rule::enum_decl => {
                let mut it = pair.into_inner();
                let name = self.ident(it.next().expect("enum name"));
                let values = it.map(|p| self.string(p)).collect();
                Decl::Enum(EnumDecl { name, values, span })
            }
            Rule::customer_decl => {
                let attrs = pair.into_inner().map(|p| self.attr(p)).collect::<R<_>>()?;
                Decl::Customer(CustomerDecl { attrs, span })
            }
            Rule::action_decl => {
                let mut it = pair.into_inner();
                let name = self.ident(it.next().expect("action name"));
                let params = self.params(it.next().expect("parameter list"));
                let outputs = it
                    .next()
                    .map(|o| self.params(o.into_inner().next().expect("output list")))
                    .unwrap_or_default();
                Decl::Action(ActionDecl {
                    name,
                    params,
                    outputs,
                    span,
                })
            }
            Rule::product_decl | Rule::bundle_decl => {
                let is_bundle = pair.as_rule() == Rule::bundle_decl;
                let mut it = pair.into_inner();
                let name = self.ident(it.next().expect("product name"));
                let members = it.map(|p| self.member(p)).collect::<R<_>>()?;
                let decl = ProductDecl {
                    name,
                    members,
                    span,
                };
                if is_bundle {
                    Decl::Bundle(decl)
                } else {
                    Decl::Product(decl)
                }
            }
            Rule::order_decl => {
                let tasks = pair.into_inner().map(|p| self.task(p)).collect::<R<_>>()?;
                Decl::Order(OrderDecl { tasks, span })
            }
            other => unreachable!("grammar yields no {other:?} as a declaration"),
        })
    }

    fn params(&self, pair: Pair<'_, Rule>) -> Vec<Param> {
        pair.into_inner()
            .map(|p| {
                let mut it = p.into_inner().peekable();
                let name = self.ident(it.next().expect("param name"));
                let optional = it.next_if(|p| p.as_rule() == Rule::optional_mark).is_some();
                let ty = self.type_expr(it.next().expect("param type"));
                Param { name, ty, optional }
            })
            .collect()
    }

    fn type_expr(&self, pair: Pair<'_, Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let inner = pair.into_inner().next().expect("type");
        let kind = match inner.as_rule() {
            Rule::ident => TypeExprKind::Named(self.ident(inner)),
            Rule::range_type => {
                let mut it = inner.into_inner();
                // The grammar guarantees digits; saturate rather than panic on overflow.
                let mut bound = || {
                    let text = it.next().map_or("0", |p| p.as_str());
                    text.parse::<i64>().unwrap_or(if text.starts_with('-') {
                        i64::MIN
                    } else {
                        i64::MAX
                    })
                };
                let lo = bound();
                let hi = bound();
                TypeExprKind::Range { lo, hi }
            }
            Rule::matching_type => {
                TypeExprKind::Matching(self.string(inner.into_inner().next().expect("pattern")))
            }
            other => unreachable!("grammar yields no {other:?} as a type"),
        };
        TypeExpr { kind, span }
    }

    fn attr(&self, pair: Pair<'_, Rule>) -> R<AttrDecl> {
        let span = self.span(&pair);
        let mut it = pair.into_inner().peekable();
        let name = self.ident(it.next().expect("attr name"));
        let optional = it.next_if(|p| p.as_rule() == Rule::optional_mark).is_some();
        let ty = self.type_expr(it.next().expect("attr type"));
        let default = it
            .next_if(|p| p.as_rule() == Rule::expr)
            .map(|p| self.expr(p))
            .transpose()?;
        let characteristic = it
            .next()
            .map(|p| self.string(p.into_inner().next().expect("name")));
        Ok(AttrDecl {
            name,
            optional,
            ty,
            default,
            characteristic,
            span,
        })
    }

    fn member(&self, pair: Pair<'_, Rule>) -> R<Member> {
        let span = self.span(&pair);
        Ok(match pair.as_rule() {
            Rule::description => {
                Member::Description(self.string(pair.into_inner().next().expect("text")))
            }
            Rule::offering => Member::Offering(Offering {
                names: pair.into_inner().map(|p| self.string(p)).collect(),
                span,
            }),
            Rule::attr_decl => Member::Attr(self.attr(pair)?),
            Rule::relies_on => {
                Member::ReliesOn(self.ident(pair.into_inner().next().expect("product")))
            }
            Rule::price_line => {
                let mut it = pair.into_inner();
                let kind = match it.next().expect("price kind").as_str() {
                    "once" => PriceKind::Once,
                    _ => PriceKind::Monthly,
                };
                let (amount, currency) = self.price_amount(it.next().expect("amount"))?;
                let mut it = it.peekable();
                let on = it
                    .next_if(|p| p.as_rule() == Rule::item_actions)
                    .map(|p| self.item_actions(p));
                let when = it.next().map(|p| self.expr(p)).transpose()?;
                Member::Price(PriceLine {
                    kind,
                    amount,
                    currency,
                    on,
                    when,
                    span,
                })
            }
            Rule::sla_line => {
                let mut it = pair.into_inner();
                let name = self.ident(it.next().expect("sla name"));
                let v = it.next().expect("sla value");
                let value_span = self.span(&v);
                let value = self.literal(v)?;
                let when = it.next().map(|p| self.expr(p)).transpose()?;
                Member::Sla(SlaLine {
                    name,
                    value,
                    value_span,
                    when,
                    span,
                })
            }
            Rule::product_require => Member::Require(self.require(pair)?),
            Rule::rule_block => {
                let mut it = pair.into_inner();
                let a = it.next().expect("order action");
                let action_span = self.span(&a);
                let action = order_action(&a);
                let tasks = it.map(|p| self.task(p)).collect::<R<_>>()?;
                Member::Rule(RuleBlock {
                    action,
                    action_span,
                    tasks,
                    span,
                })
            }
            Rule::include => {
                let mut it = pair.into_inner();
                let product = self.ident(it.next().expect("product"));
                let mut it = it.peekable();
                let alias = it
                    .next_if(|p| p.as_rule() == Rule::include_alias)
                    .and_then(|p| p.into_inner().last())
                    .map(|p| self.ident(p));
                let args = self.args(it.next().expect("arguments"))?;
                Member::Include(Include {
                    product,
                    alias,
                    args,
                    span,
                })
            }
            other => unreachable!("grammar yields no {other:?} as a member"),
        })
    }

    fn require(&self, pair: Pair<'_, Rule>) -> R<RequireRule> {
        let span = self.span(&pair);
        let mut it = pair.into_inner().peekable();
        let on = it
            .next_if(|p| p.as_rule() == Rule::item_actions)
            .map(|p| self.item_actions(p));
        let cond = self.expr(it.next().expect("condition"))?;
        let message = self.string(it.next().expect("message"));
        Ok(RequireRule {
            cond,
            message,
            on,
            span,
        })
    }

    fn item_actions(&self, pair: Pair<'_, Rule>) -> ItemActions {
        let span = self.span(&pair);
        let actions = pair
            .into_inner()
            .map(|a| (order_action(&a), self.span(&a)))
            .collect();
        ItemActions { actions, span }
    }

    /// `49.00 EUR` or, for a discount, `-2.00 EUR`.
    fn price_amount(&self, pair: Pair<'_, Rule>) -> R<(Decimal, Ident)> {
        let mut negative = false;
        let mut money = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::negative => negative = true,
                _ => money = Some(self.money(p)?),
            }
        }
        let (money, currency) = money.expect("a price has an amount");
        let amount = if negative {
            -money.amount
        } else {
            money.amount
        };
        Ok((amount, currency))
    }

    fn task(&self, pair: Pair<'_, Rule>) -> R<TaskDecl> {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let name = self.ident(it.next().expect("task name"));
        let call = self.call(it.next().expect("call"))?;
        let clauses = match it.next() {
            Some(body) => body
                .into_inner()
                .map(|c| self.clause(c))
                .collect::<R<_>>()?,
            None => Vec::new(),
        };
        Ok(TaskDecl {
            name,
            call,
            clauses,
            span,
        })
    }

    fn call(&self, pair: Pair<'_, Rule>) -> R<Call> {
        let span = self.span(&pair);
        let mut it = pair.into_inner();
        let action = self.ident(it.next().expect("action"));
        let args = self.args(it.next().expect("arguments"))?;
        Ok(Call { action, args, span })
    }

    fn args(&self, pair: Pair<'_, Rule>) -> R<Vec<Arg>> {
        pair.into_inner()
            .map(|a| {
                let mut it = a.into_inner();
                let name = self.ident(it.next().expect("arg name"));
                let value = self.expr(it.next().expect("arg value"))?;
                Ok(Arg { name, value })
            })
            .collect()
    }

    fn clause(&self, pair: Pair<'_, Rule>) -> R<Clause> {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::after_clause => ClauseKind::After(
                pair.into_inner()
                    .map(|r| TaskRef {
                        span: self.span(&r),
                        parts: self.dotted(&r),
                    })
                    .collect(),
            ),
            Rule::when_clause => {
                ClauseKind::When(self.expr(pair.into_inner().next().expect("condition"))?)
            }
            Rule::stage_clause => {
                ClauseKind::Stage(self.ident(pair.into_inner().next().expect("stage")))
            }
            Rule::require_rule => ClauseKind::Require(self.require(pair)?),
            Rule::retry_clause => {
                let mut it = pair.into_inner();
                let n = it.next().expect("count");
                let count = n.as_str().parse::<u32>().map_err(|_| {
                    Diagnostic::error(
                        Code::Syntax,
                        "a retry count is a whole number from 0 to 4294967295",
                    )
                    .at(self.span(&n), "not a valid retry count")
                })?;
                let kind = match it.next().expect("retry kind").as_str() {
                    "every" => RetryKind::Every,
                    _ => RetryKind::Backoff,
                };
                let delay_ms = self.duration(it.next().expect("delay"))?;
                ClauseKind::Retry {
                    count,
                    kind,
                    delay_ms,
                }
            }
            Rule::timeout_clause => ClauseKind::Timeout {
                ms: self.duration(pair.into_inner().next().expect("duration"))?,
            },
            Rule::undo_clause => {
                ClauseKind::Undo(self.call(pair.into_inner().next().expect("call"))?)
            }
            Rule::no_return_clause => ClauseKind::NoReturn,
            Rule::manual_clause => {
                ClauseKind::Manual(self.string(pair.into_inner().next().expect("team")))
            }
            Rule::wait_clause => {
                let inner = pair.into_inner().next().expect("wait");
                match inner.as_rule() {
                    Rule::wait_until => ClauseKind::WaitUntil(
                        self.expr(inner.into_inner().next().expect("instant"))?,
                    ),
                    _ => ClauseKind::WaitFor {
                        ms: self.duration(inner)?,
                    },
                }
            }
            other => unreachable!("grammar yields no {other:?} as a clause"),
        };
        Ok(Clause { kind, span })
    }
}

fn order_action(pair: &Pair<'_, Rule>) -> OrderAction {
    match pair.as_str() {
        "add" => OrderAction::Add,
        "modify" => OrderAction::Modify,
        _ => OrderAction::Delete,
    }
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

mod expr;
mod interpolation;

#[cfg(test)]
mod tests;
