//! Expressions and literals, printed on one line with the fewest parentheses
//! that give back the same tree.
//!
//! Binding strength, loosest first: `or`, `and`, `not`, comparisons and `in`,
//! `??`, `+ -`, `* /`, unary `-`. An `if … then … else …` binds loosest of
//! all: its `else` branch reaches as far as it can, so as an operand it is
//! always parenthesised. Binary operators associate to the left, so a right
//! operand of equal strength keeps its parentheses (`a - (b - c)`). A
//! comparison never takes another comparison as a bare operand: `a == b == c`
//! parses, but nobody means it, so the formatter always writes `(a == b) == c`.
//! And an `and` inside an `or` is always parenthesised, `a or (b and c)`: few
//! readers of a rule know which of the two binds tighter, and a chain broken
//! over lines would otherwise read the wrong way round (C compilers warn about
//! `a || b && c` for the same reason).

use crate::span::Span;
use crate::syntax::ast::{BinOp, Expr, ExprKind, StringLit, UnOp};
use crate::value::{format_duration, parse_duration, Value};

const IF: u8 = 0;
const OR: u8 = 1;
const AND: u8 = 2;
const NOT: u8 = 3;
const COMPARE: u8 = 4;
const COALESCE: u8 = 5;
const SUM: u8 = 6;
const PRODUCT: u8 = 7;
const NEG: u8 = 8;
const ATOM: u8 = 9;

/// The expression on one line.
pub(crate) fn expr(src: &str, e: &Expr) -> String {
    let mut out = String::new();
    write(src, e, &mut out);
    out
}

fn strength(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Lit(_) | ExprKind::Path(_) => ATOM,
        ExprKind::Unary(UnOp::Not, _) => NOT,
        ExprKind::Unary(UnOp::Neg, _) => NEG,
        ExprKind::In(..) => COMPARE,
        ExprKind::Binary(op, ..) => op_strength(*op),
        ExprKind::If(..) => IF,
    }
}

fn op_strength(op: BinOp) -> u8 {
    match op {
        BinOp::Or => OR,
        BinOp::And => AND,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => COMPARE,
        BinOp::Coalesce => COALESCE,
        BinOp::Add | BinOp::Sub => SUM,
        BinOp::Mul | BinOp::Div => PRODUCT,
    }
}

fn write(src: &str, e: &Expr, out: &mut String) {
    match &e.kind {
        ExprKind::Lit(v) => out.push_str(&literal(src, v, e.span)),
        ExprKind::Path(parts) => {
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(&p.name);
            }
        }
        ExprKind::Unary(UnOp::Not, x) => {
            out.push_str("not ");
            operand(src, x, strength(x) < NOT, out);
        }
        // `- -x` rather than `--x`, which reads as a decrement, or `-(-x)`:
        // brackets nest at most 32 deep, and a long chain of minus signs
        // would come back as text that no longer parses.
        ExprKind::Unary(UnOp::Neg, x) if matches!(x.kind, ExprKind::Unary(UnOp::Neg, _)) => {
            out.push_str("- ");
            write(src, x, out);
        }
        ExprKind::Unary(UnOp::Neg, x) => {
            out.push('-');
            operand(src, x, strength(x) < ATOM, out);
        }
        ExprKind::Binary(op, l, r) => {
            operand(src, l, parens_left(*op, l), out);
            out.push(' ');
            out.push_str(op.symbol());
            out.push(' ');
            operand(src, r, parens_right(*op, r), out);
        }
        ExprKind::In(x, list) => {
            operand(src, x, strength(x) <= COMPARE, out);
            out.push_str(" in [");
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(src, item, out);
            }
            out.push(']');
        }
        ExprKind::If(c, a, b) => {
            out.push_str("if ");
            write(src, c, out);
            out.push_str(" then ");
            write(src, a, out);
            out.push_str(" else ");
            write(src, b, out);
        }
    }
}

/// Whether the left operand of `op` needs parentheses.
fn parens_left(op: BinOp, l: &Expr) -> bool {
    let s = op_strength(op);
    let weaker = if s == COMPARE {
        strength(l) <= s
    } else {
        strength(l) < s
    };
    weaker || and_in_or(op, l)
}

/// Whether the right operand of `op` needs parentheses.
fn parens_right(op: BinOp, r: &Expr) -> bool {
    strength(r) <= op_strength(op) || and_in_or(op, r)
}

fn and_in_or(op: BinOp, operand: &Expr) -> bool {
    op == BinOp::Or && matches!(operand.kind, ExprKind::Binary(BinOp::And, ..))
}

/// The operands of a chain of `and`s or of `or`s, `a and b and c`, each
/// printed as it appears in the chain; `None` for any other expression.
pub(crate) fn chain<'e>(src: &str, e: &'e Expr) -> Option<(BinOp, Vec<(&'e Expr, String)>)> {
    let ExprKind::Binary(op @ (BinOp::And | BinOp::Or), ..) = &e.kind else {
        return None;
    };
    let mut rights = Vec::new();
    let mut left = e;
    while let ExprKind::Binary(o, l, r) = &left.kind {
        if o != op {
            break;
        }
        rights.push(&**r);
        left = l;
    }
    let text = |x: &Expr, parens: bool| {
        let mut out = String::new();
        operand(src, x, parens, &mut out);
        out
    };
    let mut operands = vec![(left, text(left, parens_left(*op, left)))];
    operands.extend(
        rights
            .into_iter()
            .rev()
            .map(|r| (r, text(r, parens_right(*op, r)))),
    );
    Some((*op, operands))
}

fn operand(src: &str, e: &Expr, parens: bool, out: &mut String) {
    if parens {
        out.push('(');
        write(src, e, out);
        out.push(')');
    } else {
        write(src, e, out);
    }
}

/// A string literal exactly as written between its quotes: escapes are never
/// rewritten (`"\d"` in a pattern stays `"\d"`), and `{…}` interpolations
/// stay byte for byte.
pub(crate) fn string(s: &StringLit) -> String {
    format!("\"{}\"", s.raw)
}

/// A literal as written in the source (`49.00`, `2h`, `"a\tb"`), so its
/// scale and spelling survive; money with one space before the currency.
pub(crate) fn literal(src: &str, v: &Value, span: Span) -> String {
    match v {
        Value::Money(m) => format!("{} {}", m.amount, m.currency),
        Value::Bool(b) => b.to_string(),
        _ => match src.get(span.range()) {
            Some(text) if !text.trim().is_empty() => text.trim().to_string(),
            _ => fallback(v),
        },
    }
}

/// A literal from its value alone, for nodes whose span does not point into
/// this text (never the case for a freshly parsed file).
fn fallback(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let escaped = s
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
                .replace('\t', "\\t");
            format!("\"{escaped}\"")
        }
        Value::Percent(p) => format!("{p}%"),
        other => other.to_string(),
    }
}

/// The duration that ends the clause at `span`, as written, if the source
/// still says `ms`; else its shortest spelling.
pub(crate) fn duration(src: &str, span: Span, ms: u64) -> String {
    let written = src
        .get(span.range())
        .and_then(|t| t.split_whitespace().last())
        .filter(|w| parse_duration(w) == Some(ms));
    match written {
        Some(w) => w.to_string(),
        None => format_duration(ms),
    }
}
