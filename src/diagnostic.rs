//! Diagnostics: one type for every error and warning a user can cause, with a
//! stable [`Code`], spans into [`Sources`], and three renderings (miette's
//! graphical report, the JSON shape of SPEC §7.1, GitHub workflow commands).

use std::fmt;

use serde::Serialize;

use crate::span::Span;

/// The stable codes of SPEC §7.1. Never renamed; new ones may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Code {
    Syntax,
    Duplicate,
    UnknownType,
    UnknownProduct,
    UnknownAction,
    UnknownTask,
    UnknownAttribute,
    UnknownOutput,
    MissingInput,
    UnknownInput,
    TypeMismatch,
    Cycle,
    StageOrder,
    Stage,
    Currency,
    /// A catalog construct that parses but cannot be meant (added code).
    Invalid,
    OrderSyntax,
    OrderUnknownProduct,
    OrderAttribute,
    OrderRequire,
    OrderReliesOn,
    OrderDuplicateItem,
    OrderCycle,
    /// An item whose product has no rules for its action (a warning).
    OrderNoRules,
    OrderInstance,
    /// An order whose plan has more tasks than `ORDO_LIMIT_TASKS` allows
    /// (added code).
    OrderTooLarge,
    /// A bindings file that cannot be used (added code).
    Bindings,
    /// A catalog test file (`ordo test`) that is not of the test shape
    /// (added code).
    Test,
    /// A declared action no task or undo calls (a warning).
    UnusedAction,
    /// A product with no rule blocks at all (a warning).
    EmptyProduct,
    /// A product that can be added but has no `on delete` (a warning).
    NoDelete,
    /// A task reads an output of a conditional task without a condition
    /// that implies the task ran (a warning, SPEC §8.8).
    UnguardedOutput,
    /// A catalog that cannot be read: no such path, no `.ordo` file in the
    /// folder, a file that cannot be read (added code; exit status 2).
    Load,
    /// A `wait` clause that cannot be meant: `wait until` of a type other
    /// than a date or datetime, or a zero `wait` (added code).
    Wait,
    /// A `manual` clause that cannot be meant: a team name of the wrong
    /// form, or `manual` with `retry` or `timeout` (added code).
    Manual,
    WorkOutput,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "ordo::syntax",
            Code::Duplicate => "ordo::duplicate",
            Code::UnknownType => "ordo::unknown_type",
            Code::UnknownProduct => "ordo::unknown_product",
            Code::UnknownAction => "ordo::unknown_action",
            Code::UnknownTask => "ordo::unknown_task",
            Code::UnknownAttribute => "ordo::unknown_attribute",
            Code::UnknownOutput => "ordo::unknown_output",
            Code::MissingInput => "ordo::missing_input",
            Code::UnknownInput => "ordo::unknown_input",
            Code::TypeMismatch => "ordo::type_mismatch",
            Code::Cycle => "ordo::cycle",
            Code::StageOrder => "ordo::stage_order",
            Code::Stage => "ordo::stage",
            Code::Currency => "ordo::currency",
            Code::Invalid => "ordo::invalid",
            Code::OrderSyntax => "ordo::order::syntax",
            Code::OrderUnknownProduct => "ordo::order::unknown_product",
            Code::OrderAttribute => "ordo::order::attribute",
            Code::OrderRequire => "ordo::order::require",
            Code::OrderReliesOn => "ordo::order::relies_on",
            Code::OrderDuplicateItem => "ordo::order::duplicate_item",
            Code::OrderCycle => "ordo::order::cycle",
            Code::OrderNoRules => "ordo::order::no_rules",
            Code::OrderInstance => "ordo::order::instance",
            Code::OrderTooLarge => "ordo::order::too_large",
            Code::Bindings => "ordo::bindings",
            Code::Test => "ordo::test",
            Code::UnusedAction => "ordo::unused_action",
            Code::EmptyProduct => "ordo::empty_product",
            Code::NoDelete => "ordo::no_delete",
            Code::UnguardedOutput => "ordo::unguarded_output",
            Code::Load => "ordo::load",
            Code::Wait => "ordo::wait",
            Code::Manual => "ordo::manual",
            Code::WorkOutput => "ordo::work::output",
        }
    }

    /// Every code, in declaration order.
    pub const ALL: [Code; 36] = [
        Code::Syntax,
        Code::Duplicate,
        Code::UnknownType,
        Code::UnknownProduct,
        Code::UnknownAction,
        Code::UnknownTask,
        Code::UnknownAttribute,
        Code::UnknownOutput,
        Code::MissingInput,
        Code::UnknownInput,
        Code::TypeMismatch,
        Code::Cycle,
        Code::StageOrder,
        Code::Stage,
        Code::Currency,
        Code::Invalid,
        Code::OrderSyntax,
        Code::OrderUnknownProduct,
        Code::OrderAttribute,
        Code::OrderRequire,
        Code::OrderReliesOn,
        Code::OrderDuplicateItem,
        Code::OrderCycle,
        Code::OrderNoRules,
        Code::OrderInstance,
        Code::OrderTooLarge,
        Code::Bindings,
        Code::Test,
        Code::UnusedAction,
        Code::EmptyProduct,
        Code::NoDelete,
        Code::UnguardedOutput,
        Code::Load,
        Code::Wait,
        Code::Manual,
        Code::WorkOutput,
    ];

    /// The code named `ordo::…`, if there is one.
    pub fn from_name(name: &str) -> Option<Code> {
        Code::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A secondary label ("first declared here").
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    /// Where it happened; `None` only for errors with no place in a file.
    pub span: Option<Span>,
    /// Text of the primary label.
    pub label: String,
    pub related: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span: None,
            label: String::new(),
            related: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Attaches the primary span and its label.
    pub fn at(mut self, span: Span, label: impl Into<String>) -> Diagnostic {
        self.span = Some(span);
        self.label = label.into();
        self
    }

    pub fn with_related(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.related.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    /// Adds "did you mean `x`?" when a known name is close to `unknown`.
    pub fn suggest<'a>(
        self,
        unknown: &str,
        known: impl IntoIterator<Item = &'a str>,
    ) -> Diagnostic {
        match did_you_mean(unknown, known) {
            Some(s) => self.with_help(format!("did you mean `{s}`?")),
            None => self,
        }
    }

    /// Adds a "did you mean" help or, without a close match, a list of the
    /// names that would be valid here.
    pub fn suggest_or_list<'a>(
        self,
        unknown: &str,
        what: &str,
        known: impl IntoIterator<Item = &'a str>,
    ) -> Diagnostic {
        let mut known: Vec<&str> = known.into_iter().collect();
        known.sort_unstable();
        known.dedup();
        if let Some(s) = did_you_mean(unknown, known.iter().copied()) {
            return self.with_help(format!("did you mean `{s}`?"));
        }
        if known.is_empty() {
            return self.with_help(format!("no {what} is declared here"));
        }
        const SHOWN: usize = 8;
        let mut list = code_list(known.iter().take(SHOWN).copied());
        if known.len() > SHOWN {
            list.push_str(&format!(" and {} more", known.len() - SHOWN));
        }
        self.with_help(format!("the {what}s here are {list}"))
    }
}

/// Names as a list for a message: `` `a`, `b`, `c` ``.
pub fn code_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The closest known name to `unknown`, if close enough to be a likely typo.
pub fn did_you_mean<'a>(
    unknown: &str,
    known: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(f64, &str)> = None;
    for k in known {
        if k == unknown {
            continue;
        }
        let score = if k.eq_ignore_ascii_case(unknown) {
            1.0
        } else {
            strsim::jaro_winkler(&unknown.to_ascii_lowercase(), &k.to_ascii_lowercase())
        };
        if score >= 0.8 && best.is_none_or(|(b, name)| score > b || (score == b && k < name)) {
            best = Some((score, k));
        }
    }
    best.map(|(_, k)| k)
}

/// Every diagnostic of a run, rendered together.
#[derive(Debug, Clone, Default)]
pub struct Diagnostics {
    pub list: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.list.push(d);
    }

    pub fn extend(&mut self, other: impl IntoIterator<Item = Diagnostic>) {
        self.list.extend(other);
    }

    pub fn errors(&self) -> usize {
        self.list
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn warnings(&self) -> usize {
        self.list.len() - self.errors()
    }

    pub fn has_errors(&self) -> bool {
        self.errors() > 0
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Sorts by file, position, then code, and drops exact repeats, so output
    /// is stable whatever order the checks ran in.
    pub fn sort(&mut self) {
        self.list.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                (
                    d.span.map(|s| (s.file, s.start, s.len)),
                    d.code,
                    d.message.clone(),
                )
            };
            key(a).cmp(&key(b))
        });
        self.list.dedup();
    }
}

impl Diagnostics {
    /// `--deny warnings`: every warning becomes an error, for CI.
    pub fn deny_warnings(&mut self) {
        for d in &mut self.list {
            d.severity = Severity::Error;
        }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics { list: vec![d] }
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_found_by_name() {
        let mut names: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
        for c in Code::ALL {
            assert_eq!(Code::from_name(c.as_str()), Some(c));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Code::ALL.len());
        assert_eq!(Code::from_name("ordo::nope"), None);
    }

    #[test]
    fn suggests_close_names_only() {
        let known = ["reserve_port", "activate", "ship_cpe"];
        assert_eq!(did_you_mean("reserve_prot", known), Some("reserve_port"));
        assert_eq!(did_you_mean("zzz", known), None);
        assert_eq!(did_you_mean("Activate", known), Some("activate"));
    }
}
