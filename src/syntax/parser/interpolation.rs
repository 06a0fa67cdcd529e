//! Interpolated strings: the `{expr}` parts of `require` messages, parsed
//! with the grammar's `interpolation` rule and spans shifted into the file.

use pest::Parser as _;

use super::{check_nesting, unescape, Builder};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{FileId, Span};
use crate::syntax::ast::{Expr, ExprKind, StringLit};
use crate::syntax::errors::syntax_error;
use crate::syntax::{OrdoParser, Rule};

/// A string with `{expr}` interpolations, as in `require` messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Interpolated {
    pub segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Text(String),
    Expr(Expr),
}

/// Splits a string literal into text and `{expr}` parts; `{{` and `}}` are
/// literal braces. Spans of the expressions point into the original file.
pub fn parse_interpolation(file: FileId, lit: &StringLit) -> Result<Interpolated, Diagnostic> {
    let raw = &lit.raw;
    let base = lit.span.start as usize + 1;
    let mut segments = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let bytes = raw.as_bytes();
    while i < raw.len() {
        let c = bytes[i];
        if c == b'{' && bytes.get(i + 1) == Some(&b'{') {
            text.push('{');
            i += 2;
        } else if c == b'}' && bytes.get(i + 1) == Some(&b'}') {
            text.push('}');
            i += 2;
        } else if c == b'{' {
            let Some(close) = raw[i..].find('}') else {
                let span = Span::new(file, base + i, base + i + 1);
                return Err(Diagnostic::error(Code::Syntax, "unclosed `{` in message")
                    .at(span, "this `{` starts an interpolation")
                    .with_help("close it with `}`, or write `{{` for a literal brace"));
            };
            if !text.is_empty() {
                segments.push(Segment::Text(unescape(&std::mem::take(&mut text))));
            }
            let inner_start = i + 1;
            let inner = &raw[inner_start..i + close];
            segments.push(Segment::Expr(parse_inner_expr(
                file,
                inner,
                base + inner_start,
            )?));
            i += close + 1;
        } else {
            let ch = raw[i..].chars().next().unwrap_or(' ');
            text.push(ch);
            i += ch.len_utf8();
        }
    }
    if !text.is_empty() {
        segments.push(Segment::Text(unescape(&text)));
    }
    Ok(Interpolated { segments })
}

fn parse_inner_expr(file: FileId, text: &str, offset: usize) -> Result<Expr, Diagnostic> {
    let shift = |mut d: Diagnostic| {
        if let Some(s) = d.span.as_mut() {
            s.start += offset as u32;
        }
        d
    };
    let text = &quotes_unescaped(text);
    check_nesting(file, text).map_err(shift)?;
    let mut pairs = OrdoParser::parse(Rule::interpolation, text)
        .map_err(|_| shift(syntax_error(file, text, 0..text.len(), Rule::interpolation)))?;
    let b = Builder { file, offset: 0 };
    let expr = pairs
        .next()
        .and_then(|p| p.into_inner().next())
        .expect("interpolation yields one expression");
    let mut e = b.expr(expr)?;
    shift_expr(&mut e, offset as u32);
    Ok(e)
}

/// An interpolation sits inside a string literal, so a string inside it is
/// written with escaped quotes: `"{note ?? \"none\"}"`. Each `\"` becomes
/// a quote and a space (the space outside the inner string), so every other
/// character keeps its offset and spans stay exact.
fn quotes_unescaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' && chars.peek() == Some(&'"') {
            chars.next();
            out.push_str(if in_string { "\" " } else { " \"" });
            in_string = !in_string;
        } else {
            out.push(c);
        }
    }
    out
}

fn shift_expr(e: &mut Expr, by: u32) {
    // An explicit stack: expression depth is bounded, but keep the habit.
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        e.span.start += by;
        match &mut e.kind {
            ExprKind::Lit(_) => {}
            ExprKind::Path(parts) => parts.iter_mut().for_each(|p| p.span.start += by),
            ExprKind::Unary(_, x) => stack.push(x),
            ExprKind::Binary(_, a, b) => {
                stack.push(a);
                stack.push(b);
            }
            ExprKind::In(x, list) => {
                stack.push(x);
                stack.extend(list.iter_mut());
            }
            ExprKind::If(c, a, b) => stack.extend([&mut **c, &mut **a, &mut **b]),
        }
    }
}
