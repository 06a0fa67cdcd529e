//! First pass: every top-level name, duplicates, stages, types and action
//! signatures — what the later passes look names up in.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

use super::values::const_value;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::types::{builtin, BUILTIN_TYPES};
use crate::model::{ActionDef, AttrDef, EnumDef, ParamDef, ProductKind, Type, RESERVED_ATTRIBUTES};
use crate::span::{FileId, Span};
use crate::syntax::ast::*;

/// The declarations of every file, first declaration of each name kept.
#[derive(Default)]
pub(super) struct Decls<'a> {
    pub catalog: Option<&'a CatalogDecl>,
    pub stages: Option<&'a StagesDecl>,
    pub enums: BTreeMap<&'a str, &'a EnumDecl>,
    pub customer: Option<&'a CustomerDecl>,
    pub actions: BTreeMap<&'a str, &'a ActionDecl>,
    pub products: BTreeMap<&'a str, (ProductKind, &'a ProductDecl)>,
    /// Products and bundles declared more than once: which declaration a
    /// use means is unknown, so uses are not checked against either.
    pub twice: BTreeSet<&'a str>,
    pub order: Option<&'a OrderDecl>,
}

pub(super) fn duplicate(what: &str, name: &Ident, first: Span) -> Diagnostic {
    Diagnostic::error(
        Code::Duplicate,
        format!("{what} `{}` is declared twice", name.name),
    )
    .at(name.span, "declared again here")
    .with_related(first, "first declared here")
    .with_help(format!("rename or remove one of the two {what}s"))
}

fn duplicate_block(what: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error(Code::Duplicate, format!("a catalog has at most one {what}"))
        .at(span, "second one here")
        .with_related(first, "first one here")
        .with_help(format!("merge the two {what}s into one"))
}

pub(super) fn collect<'a>(modules: &'a [(FileId, Module)], diags: &mut Diagnostics) -> Decls<'a> {
    let mut d = Decls::default();
    for (_, module) in modules {
        for decl in &module.decls {
            match decl {
                Decl::Catalog(c) => match d.catalog {
                    Some(first) => {
                        diags.push(duplicate_block("`catalog` header", c.span, first.span))
                    }
                    None => d.catalog = Some(c),
                },
                Decl::Stages(s) => match d.stages {
                    Some(first) => diags.push(duplicate_block("`stages` line", s.span, first.span)),
                    None => d.stages = Some(s),
                },
                Decl::Customer(c) => match d.customer {
                    Some(first) => {
                        diags.push(duplicate_block("`customer` block", c.span, first.span))
                    }
                    None => d.customer = Some(c),
                },
                Decl::Order(o) => match d.order {
                    Some(first) => diags.push(duplicate_block("`order` block", o.span, first.span)),
                    None => d.order = Some(o),
                },
                Decl::Enum(e) => match d.enums.get(e.name.name.as_str()) {
                    Some(first) => diags.push(duplicate("enum", &e.name, first.name.span)),
                    None => {
                        d.enums.insert(&e.name.name, e);
                    }
                },
                Decl::Action(a) => match d.actions.get(a.name.name.as_str()) {
                    Some(first) => diags.push(duplicate("action", &a.name, first.name.span)),
                    None => {
                        d.actions.insert(&a.name.name, a);
                    }
                },
                Decl::Product(p) | Decl::Bundle(p) => {
                    let kind = if matches!(decl, Decl::Bundle(_)) {
                        ProductKind::Bundle
                    } else {
                        ProductKind::Product
                    };
                    match d.products.get(p.name.name.as_str()) {
                        Some((_, first)) => {
                            diags.push(duplicate("product or bundle", &p.name, first.name.span));
                            d.twice.insert(&p.name.name);
                        }
                        None => {
                            d.products.insert(&p.name.name, (kind, p));
                        }
                    }
                }
            }
        }
    }
    d
}

/// What every later pass looks names up in.
pub(super) struct Context<'a> {
    pub stages: Vec<String>,
    pub default_stage: usize,
    pub enums: BTreeMap<String, EnumDef>,
    pub patterns: BTreeMap<String, Regex>,
    pub customer: Option<Vec<AttrDef>>,
    pub actions: BTreeMap<String, ActionDef>,
    pub products: &'a BTreeMap<&'a str, (ProductKind, &'a ProductDecl)>,
    /// See [`Decls::twice`].
    pub twice: &'a BTreeSet<&'a str>,
    /// Stages are declared but none is the default: where a task without a
    /// `stage` clause runs is unknown, so stage order is not checked.
    pub no_default_stage: bool,
    /// Attributes whose type or default is in error (by the span of their
    /// name): an include does not also report them missing.
    pub broken_attrs: BTreeSet<Span>,
}

impl<'a> Context<'a> {
    pub fn build(decls: &'a Decls<'a>, diags: &mut Diagnostics) -> Context<'a> {
        let mut cx = Context {
            stages: vec!["fulfil".to_string()],
            default_stage: 0,
            enums: BTreeMap::new(),
            patterns: BTreeMap::new(),
            customer: None,
            actions: BTreeMap::new(),
            products: &decls.products,
            twice: &decls.twice,
            no_default_stage: false,
            broken_attrs: BTreeSet::new(),
        };
        if let Some(s) = decls.stages {
            cx.resolve_stages(s, diags);
        }
        for e in decls.enums.values() {
            cx.resolve_enum(e, diags);
        }
        for a in decls.actions.values() {
            let params = cx.params(&a.params, "parameter", diags);
            let outputs = cx.params(&a.outputs, "output", diags);
            cx.actions.insert(
                a.name.name.clone(),
                ActionDef {
                    name: a.name.name.clone(),
                    params,
                    outputs,
                    span: a.name.span,
                },
            );
        }
        if let Some(c) = decls.customer {
            let attrs = cx.attrs(&c.attrs, diags);
            cx.customer = Some(attrs);
        }
        cx
    }

    fn resolve_stages(&mut self, s: &StagesDecl, diags: &mut Diagnostics) {
        let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
        let mut names = Vec::new();
        let mut default = None;
        for item in &s.stages {
            if let Some(first) = seen.get(item.name.name.as_str()) {
                diags.push(duplicate("stage", &item.name, *first));
                continue;
            }
            seen.insert(&item.name.name, item.name.span);
            if let Some(mark) = item.default {
                match default {
                    Some((_, first)) => diags.push(
                        Diagnostic::error(Code::Stage, "more than one stage is marked `(default)`")
                            .at(mark, "second default")
                            .with_related(first, "first default")
                            .with_help("mark exactly one stage `(default)`: tasks without a `stage` clause go there"),
                    ),
                    None => default = Some((names.len(), mark)),
                }
            }
            names.push(item.name.name.clone());
        }
        self.no_default_stage = default.is_none();
        match default {
            Some((i, _)) => self.default_stage = i,
            None => diags.push(
                Diagnostic::error(Code::Stage, "no stage is marked `(default)`")
                    .at(s.span, "stages declared here")
                    .with_help(format!(
                        "mark the stage where tasks without a `stage` clause belong, e.g. `{} (default)`",
                        names.get(names.len() / 2).map_or("fulfil", |n| n.as_str())
                    )),
            ),
        }
        if !names.is_empty() {
            self.stages = names;
        }
    }

    fn resolve_enum(&mut self, e: &EnumDecl, diags: &mut Diagnostics) {
        let mut values: Vec<String> = Vec::new();
        let mut spans: Vec<Span> = Vec::new();
        for v in &e.values {
            if let Some(i) = values.iter().position(|x| *x == v.value) {
                diags.push(
                    Diagnostic::error(
                        Code::Duplicate,
                        format!("enum value \"{}\" is listed twice", v.value),
                    )
                    .at(v.span, "listed again here")
                    .with_related(spans[i], "first listed here")
                    .with_help("remove one of the two"),
                );
                continue;
            }
            values.push(v.value.clone());
            spans.push(v.span);
        }
        if values.is_empty() {
            diags.push(
                Diagnostic::error(
                    Code::Invalid,
                    format!("enum `{}` has no values", e.name.name),
                )
                .at(e.name.span, "empty enum")
                .with_help("list its values: `enum Speed { \"100M\", \"1G\" }`"),
            );
        }
        self.enums.insert(
            e.name.name.clone(),
            EnumDef {
                name: e.name.name.clone(),
                values,
                span: e.name.span,
            },
        );
    }

    /// Resolves a type expression; `None` after reporting an error.
    pub fn resolve_type(&mut self, t: &TypeExpr, diags: &mut Diagnostics) -> Option<Type> {
        match &t.kind {
            TypeExprKind::Named(name) => {
                if let Some(ty) = builtin(&name.name) {
                    return Some(ty);
                }
                if self.enums.contains_key(&name.name) {
                    return Some(Type::Enum {
                        name: name.name.clone(),
                    });
                }
                let known = BUILTIN_TYPES
                    .iter()
                    .copied()
                    .chain(self.enums.keys().map(String::as_str));
                diags.push(
                    Diagnostic::error(Code::UnknownType, format!("unknown type `{}`", name.name))
                        .at(name.span, "no such type")
                        .suggest_or_list(&name.name, "type", known),
                );
                None
            }
            TypeExprKind::Range { lo, hi } => {
                if lo > hi {
                    diags.push(
                        Diagnostic::error(Code::Invalid, format!("the range {lo}..{hi} is empty"))
                            .at(t.span, "lower bound above upper bound")
                            .with_help(format!("write `int({hi}..{lo})`")),
                    );
                    return None;
                }
                Some(Type::IntRange { lo: *lo, hi: *hi })
            }
            TypeExprKind::Matching(pattern) => {
                if !self.patterns.contains_key(&pattern.value) {
                    match Regex::new(&format!("^(?:{})$", pattern.value)) {
                        Ok(re) => {
                            self.patterns.insert(pattern.value.clone(), re);
                        }
                        Err(e) => {
                            let reason = e.to_string();
                            let last = reason
                                .lines()
                                .last()
                                .unwrap_or("invalid")
                                .trim()
                                .to_string();
                            diags.push(
                                Diagnostic::error(Code::Invalid, "not a valid regular expression")
                                    .at(pattern.span, last)
                                    .with_help("patterns use Rust regex syntax and must match the whole value"),
                            );
                            return None;
                        }
                    }
                }
                Some(Type::Matching {
                    pattern: pattern.value.clone(),
                })
            }
        }
    }

    fn params(&mut self, params: &[Param], what: &str, diags: &mut Diagnostics) -> Vec<ParamDef> {
        let mut out: Vec<ParamDef> = Vec::new();
        for p in params {
            if let Some(first) = out.iter().find(|o| o.name == p.name.name) {
                diags.push(duplicate(what, &p.name, first.span));
                continue;
            }
            // An unresolvable type was reported; keep the name so calls do not cascade.
            let ty = self.resolve_type(&p.ty, diags).unwrap_or(Type::Null);
            out.push(ParamDef {
                name: p.name.name.clone(),
                ty,
                optional: p.optional,
                span: p.name.span,
            });
        }
        out
    }

    /// Resolves attribute declarations (customer fields or product attributes).
    pub fn attrs(&mut self, attrs: &[AttrDecl], diags: &mut Diagnostics) -> Vec<AttrDef> {
        let mut out: Vec<AttrDef> = Vec::new();
        for a in attrs {
            if let Some(first) = out.iter().find(|o| o.name == a.name.name) {
                diags.push(duplicate("attribute", &a.name, first.span));
                continue;
            }
            if RESERVED_ATTRIBUTES.contains(&a.name.name.as_str()) {
                diags.push(
                    Diagnostic::error(
                        Code::Invalid,
                        format!("`{}` is a reserved name", a.name.name),
                    )
                    .at(a.name.span, "cannot name an attribute")
                    .with_help(
                        "`order`, `item` and `price` are read by expressions; choose another name",
                    ),
                );
            }
            let ty = self.resolve_type(&a.ty, diags);
            let default = match (&a.default, &ty) {
                (Some(e), Some(ty)) => const_value(self, e, ty, diags),
                _ => None,
            };
            if ty.is_none() || a.default.is_some() && default.is_none() {
                self.broken_attrs.insert(a.name.span);
            }
            if a.optional && a.default.is_some() {
                diags.push(
                    Diagnostic::warning(
                        Code::Invalid,
                        format!("optional attribute `{}` has a default", a.name.name),
                    )
                    .at(a.name.span, "marked optional")
                    .with_help("an attribute with a default is never absent: drop the `?`"),
                );
            }
            out.push(AttrDef {
                name: a.name.name.clone(),
                ty: ty.unwrap_or(Type::Null),
                optional: a.optional,
                default,
                characteristic: a.characteristic.as_ref().map(|c| c.value.clone()),
                span: a.name.span,
            });
        }
        out
    }

    pub fn stage_of(&self, clauses: &[Clause]) -> usize {
        clauses
            .iter()
            .find_map(|c| match &c.kind {
                ClauseKind::Stage(s) => self.stages.iter().position(|n| *n == s.name),
                _ => None,
            })
            .unwrap_or(self.default_stage)
    }
}
