//! Expressions and literals: pest's pairs of an `expr` to the AST, by
//! precedence (pest's Pratt parser), with the literal values checked.

use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate};
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};
use rust_decimal::Decimal;

use super::{Builder, R};
use crate::diagnostic::{Code, Diagnostic};
use crate::syntax::ast::*;
use crate::syntax::Rule;
use crate::value::{parse_duration, Money, Value};

/// Tokens in one expression, brackets included. The AST of an expression is
/// as deep as it is long (`a + b + c …` nests to the left), and every later
/// pass walks it recursively; no real rule comes near this.
const MAX_EXPR_TOKENS: usize = 500;

/// The most pairs that start at one byte of an expression: a nested `expr`,
/// its first operand, and that operand's first part (`money` and its
/// `number_raw`, `if_expr` and its `if_kw`). Every pair is at least a byte
/// long, so an expression shorter than `MAX_EXPR_TOKENS / PAIRS_PER_BYTE`
/// bytes cannot have too many tokens, and counting them (a walk of all its
/// pairs, again for every nested expression) is skipped.
const PAIRS_PER_BYTE: usize = 3;

fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: OnceLock<PrattParser<Rule>> = OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::or_op, Assoc::Left))
            .op(Op::infix(Rule::and_op, Assoc::Left))
            .op(Op::prefix(Rule::not_op))
            .op(Op::infix(Rule::eq, Assoc::Left)
                | Op::infix(Rule::ne, Assoc::Left)
                | Op::infix(Rule::lt, Assoc::Left)
                | Op::infix(Rule::le, Assoc::Left)
                | Op::infix(Rule::gt, Assoc::Left)
                | Op::infix(Rule::ge, Assoc::Left)
                | Op::postfix(Rule::in_list))
            .op(Op::infix(Rule::coalesce, Assoc::Left))
            .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
            .op(Op::infix(Rule::mul, Assoc::Left) | Op::infix(Rule::div, Assoc::Left))
            .op(Op::prefix(Rule::neg))
    })
}

impl Builder {
    pub(super) fn duration(&self, pair: Pair<'_, Rule>) -> R<u64> {
        parse_duration(pair.as_str()).ok_or_else(|| {
            Diagnostic::error(Code::Syntax, "duration out of range")
                .at(self.span(&pair), "too long")
                .with_help("durations go up to about 584 million years")
        })
    }

    pub(super) fn money(&self, pair: Pair<'_, Rule>) -> R<(Money, Ident)> {
        let mut it = pair.into_inner();
        let n = it.next().expect("amount");
        let amount = self.decimal(&n)?;
        let currency = self.ident(it.next().expect("currency"));
        Ok((
            Money {
                amount,
                currency: currency.name.clone(),
            },
            currency,
        ))
    }

    fn decimal(&self, pair: &Pair<'_, Rule>) -> R<Decimal> {
        let text = pair.as_str().trim_end_matches('%');
        Decimal::from_str_exact(text).map_err(|_| {
            Diagnostic::error(
                Code::Syntax,
                format!("the number {text} cannot be represented exactly"),
            )
            .at(self.span(pair), "too large or too precise")
            .with_help("numbers have at most 28 significant digits")
        })
    }

    pub(super) fn literal(&self, pair: Pair<'_, Rule>) -> R<Value> {
        let span = self.span(&pair);
        Ok(match pair.as_rule() {
            Rule::string => Value::String(self.string(pair).value),
            Rule::boolean => Value::Bool(pair.as_str() == "true"),
            Rule::null => Value::Null,
            Rule::number => {
                let text = pair.as_str();
                if text.contains('.') {
                    Value::Decimal(self.decimal(&pair)?)
                } else {
                    match text.parse::<i64>() {
                        Ok(i) => Value::Int(i),
                        Err(_) => Value::Decimal(self.decimal(&pair)?),
                    }
                }
            }
            Rule::percent => Value::Percent(self.decimal(&pair)?),
            Rule::money => Value::Money(self.money(pair)?.0),
            Rule::duration => Value::Duration(self.duration(pair)?),
            Rule::date => {
                let d = NaiveDate::parse_from_str(pair.as_str(), "%Y-%m-%d").map_err(|_| {
                    Diagnostic::error(Code::Syntax, "not a valid date").at(span, "no such day")
                })?;
                Value::Date(d)
            }
            Rule::datetime => {
                let d = DateTime::parse_from_rfc3339(pair.as_str()).map_err(|_| {
                    Diagnostic::error(Code::Syntax, "not a valid date and time")
                        .at(span, "no such moment")
                })?;
                Value::DateTime(d)
            }
            other => unreachable!("grammar yields no {other:?} as a literal"),
        })
    }

    pub(super) fn expr(&self, pair: Pair<'_, Rule>) -> R<Expr> {
        let long = pair.as_span().end() - pair.as_span().start() > MAX_EXPR_TOKENS / PAIRS_PER_BYTE;
        let tokens = if long {
            pair.clone().into_inner().flatten().count()
        } else {
            0
        };
        if tokens > MAX_EXPR_TOKENS {
            return Err(Diagnostic::error(Code::Syntax, "expression too long")
                .at(
                    self.span(&pair),
                    format!("{tokens} tokens; at most {MAX_EXPR_TOKENS}"),
                )
                .with_help("split the rule into several simpler ones"));
        }
        let mut inner = pair.into_inner();
        // A lone operand (most arguments are one name or one value) has no
        // operator to order: the Pratt parser would only hand it back.
        if inner.len() == 1 {
            return self.primary(inner.next().expect("one operand"));
        }
        pratt()
            .map_primary(|p| self.primary(p))
            .map_prefix(|op, rhs| {
                let rhs = rhs?;
                let span = self.span(&op).merge(rhs.span);
                let op = if op.as_rule() == Rule::not_op {
                    UnOp::Not
                } else {
                    UnOp::Neg
                };
                Ok(Expr {
                    kind: ExprKind::Unary(op, Box::new(rhs)),
                    span,
                })
            })
            .map_postfix(|lhs, op| {
                let lhs = lhs?;
                let span = lhs.span.merge(self.span(&op));
                let list = op.into_inner().map(|e| self.expr(e)).collect::<R<_>>()?;
                Ok(Expr {
                    kind: ExprKind::In(Box::new(lhs), list),
                    span,
                })
            })
            .map_infix(|lhs, op, rhs| {
                let (lhs, rhs) = (lhs?, rhs?);
                let op = match op.as_rule() {
                    Rule::or_op => BinOp::Or,
                    Rule::and_op => BinOp::And,
                    Rule::eq => BinOp::Eq,
                    Rule::ne => BinOp::Ne,
                    Rule::lt => BinOp::Lt,
                    Rule::le => BinOp::Le,
                    Rule::gt => BinOp::Gt,
                    Rule::ge => BinOp::Ge,
                    Rule::add => BinOp::Add,
                    Rule::sub => BinOp::Sub,
                    Rule::mul => BinOp::Mul,
                    Rule::coalesce => BinOp::Coalesce,
                    _ => BinOp::Div,
                };
                let span = lhs.span.merge(rhs.span);
                Ok(Expr {
                    kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                    span,
                })
            })
            .parse(inner)
    }

    fn primary(&self, pair: Pair<'_, Rule>) -> R<Expr> {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::expr => self.expr(pair),
            Rule::if_expr => {
                let mut parts = pair.into_inner().filter(|p| p.as_rule() == Rule::expr);
                let mut next = || self.expr(parts.next().expect("if, then and else parts"));
                let (cond, then, other) = (next()?, next()?, next()?);
                Ok(Expr {
                    kind: ExprKind::If(Box::new(cond), Box::new(then), Box::new(other)),
                    span,
                })
            }
            Rule::path => Ok(Expr {
                kind: ExprKind::Path(self.dotted(&pair)),
                span,
            }),
            _ => Ok(Expr {
                kind: ExprKind::Lit(self.literal(pair)?),
                span,
            }),
        }
    }
}
