//! pest's errors, in words. One function converts them, so every syntax error
//! reads the same.

use pest::error::{ErrorVariant, InputLocation};

use super::Rule;
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{FileId, Span};

pub(crate) fn syntax_error(file: FileId, text: &str, err: pest::error::Error<Rule>) -> Diagnostic {
    let (start, end) = match err.location {
        InputLocation::Pos(p) => (p, p),
        InputLocation::Span((s, e)) => (s, e),
    };
    let span = token_span(file, text, start, end);
    let found = found_text(text, start);
    match err.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            // Where an operand may stand, "a value or a name" says it better
            // than the list of every literal the grammar tried.
            let operand = positives
                .iter()
                .any(|r| matches!(r, Rule::path | Rule::expr));
            let mut words: Vec<&str> = positives
                .iter()
                .filter(|r| !(operand && is_operand(**r)))
                .filter_map(|r| describe(*r))
                .collect();
            if operand {
                words.push("a value or a name");
            }
            words.sort_unstable();
            words.dedup();
            let expected = join_alternatives(&words);
            let message = if expected.is_empty() {
                format!("unexpected {found}")
            } else {
                format!("expected {expected}, found {found}")
            };
            let label = if expected.is_empty() {
                "not valid here".to_string()
            } else {
                format!("expected {expected}")
            };
            let mut d = Diagnostic::error(Code::Syntax, message).at(span, label);
            if let Some(help) = help_for(&positives, text, start) {
                d = d.with_help(help);
            }
            d
        }
        ErrorVariant::CustomError { message } => {
            Diagnostic::error(Code::Syntax, message.clone()).at(span, message)
        }
    }
}

/// The span of the offending token, so the label underlines a word, not a point.
fn token_span(file: FileId, text: &str, start: usize, end: usize) -> Span {
    if end > start {
        return Span::new(file, start, end);
    }
    let rest = &text[start.min(text.len())..];
    let len = match rest.chars().next() {
        None => 0,
        Some(c) if c.is_alphanumeric() || c == '_' => rest
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(rest.len()),
        Some(c) => c.len_utf8(),
    };
    Span::new(file, start, start + len)
}

fn found_text(text: &str, start: usize) -> String {
    let rest = &text[start.min(text.len())..];
    let Some(c) = rest.chars().next() else {
        return "end of file".into();
    };
    if c == '\n' || c == '\r' {
        return "end of line".into();
    }
    if c.is_alphanumeric() || c == '_' {
        let word: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        return format!("`{word}`");
    }
    format!("`{c}`")
}

fn join_alternatives(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

fn help_for(positives: &[Rule], text: &str, start: usize) -> Option<String> {
    let rest = &text[start.min(text.len())..];
    if positives.contains(&Rule::currency)
        || rest.starts_with(|c: char| c.is_ascii_lowercase()) && positives.contains(&Rule::money)
    {
        return Some(
            "money is an amount and a 3-letter upper-case currency code, as in `39.99 EUR`".into(),
        );
    }
    if positives.contains(&Rule::task_decl) && positives.len() <= 2 {
        return Some(
            "a rule block holds tasks: `task NAME: ACTION(ARG: VALUE, …) { CLAUSES }`".into(),
        );
    }
    if positives.contains(&Rule::type_expr) {
        return Some("types are string, int, decimal, bool, date, datetime, duration, money, an enum name, `int(1..4)` or `string matching \"REGEX\"`".into());
    }
    if rest.starts_with('"') && positives.contains(&Rule::ident) {
        return Some("names are written without quotes".into());
    }
    None
}

fn is_operand(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::path
            | Rule::expr
            | Rule::string
            | Rule::number
            | Rule::number_raw
            | Rule::money
            | Rule::duration
            | Rule::percent
            | Rule::date
            | Rule::datetime
            | Rule::boolean
            | Rule::not_op
            | Rule::neg
    )
}

/// What a grammar rule is, in a product manager's words. Rules that are
/// implementation detail return `None` and stay out of the message.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::ident => "a name",
        Rule::qualified_name => "an action name like `network.activate`",
        Rule::string => "a string in double quotes",
        Rule::number | Rule::number_raw => "a number",
        Rule::int => "a whole number",
        Rule::currency => "a 3-letter currency code like `EUR`",
        Rule::money => "an amount of money like `39.99 EUR`",
        Rule::duration => "a duration like `30s` or `2h`",
        Rule::percent => "a percentage like `99.9%`",
        Rule::date | Rule::datetime => "a date",
        Rule::boolean => "`true` or `false`",
        Rule::catalog_decl => "`catalog`",
        Rule::stages_decl => "`stages`",
        Rule::enum_decl => "`enum`",
        Rule::customer_decl => "`customer`",
        Rule::action_decl => "`action`",
        Rule::product_decl => "`product`",
        Rule::bundle_decl => "`bundle`",
        Rule::order_decl => "`order`",
        Rule::stage_item => "a stage name",
        Rule::default_mark => "`(default)`",
        Rule::outputs => "`->` and the outputs",
        Rule::param_list | Rule::param => "a parameter `name: type`",
        Rule::type_expr | Rule::range_type | Rule::matching_type => "a type",
        Rule::description => "`description`",
        Rule::attr_decl => "`attr`",
        Rule::optional_mark => "`?`",
        Rule::relies_on => "`relies on`",
        Rule::price_line => "`price`",
        Rule::price_kind => "`once` or `monthly`",
        Rule::sla_line => "`sla`",
        Rule::require_rule | Rule::product_require => "`require`",
        Rule::price_amount => "an amount of money like `39.99 EUR` or `-2.00 EUR`",
        Rule::item_actions => "`on add`, `on modify` or `on delete`",
        Rule::include => "`include`",
        Rule::include_alias => "`as` and a name",
        Rule::rule_block => "`on add`, `on modify` or `on delete`",
        Rule::order_action => "`add`, `modify` or `delete`",
        Rule::task_decl => "`task`",
        Rule::task_body => "a `{` block of task clauses",
        Rule::call => "an action call",
        Rule::arg_list | Rule::arg => "an argument `name: value`",
        Rule::after_clause => "`after`",
        Rule::task_ref => "a task name",
        Rule::when_clause => "`when`",
        Rule::stage_clause => "`stage`",
        Rule::retry_clause => "`retry`",
        Rule::retry_kind => "`every` or `backoff`",
        Rule::timeout_clause => "`timeout`",
        Rule::undo_clause => "`undo`",
        Rule::no_return_clause => "`point of no return`",
        Rule::expr => "an expression",
        Rule::or_op | Rule::and_op => "an operator",
        Rule::eq | Rule::ne | Rule::le | Rule::ge | Rule::lt | Rule::gt => "an operator",
        Rule::add | Rule::sub | Rule::mul | Rule::div => "an operator",
        Rule::not_op | Rule::neg => "an expression",
        Rule::in_list => "`in [...]`",
        Rule::path => "a name",
        _ => return None,
    })
}
