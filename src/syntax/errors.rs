//! pest's errors, in words. One function converts them, so every syntax error
//! reads the same.
//!
//! pest's own report names the rules that failed farthest into the text, but
//! not the literal tokens (`)`, `:`, the closing `"`), and those are most
//! often what is missing; its farthest *rule* can even lie before the real
//! place (a missing `else` was reported at the `!=` of the condition). So a
//! text that failed is parsed once more with pest's error detail on (only on
//! the error path: the detail costs time), which also records the tokens
//! tried at the farthest position. The message names what is required there
//! ahead of what could merely have followed (an operator, `?`), and when the
//! line ended before it, points at the line's end rather than at the correct
//! code on the next line.

use std::ops::Range;
use std::sync::Mutex;

use pest::error::{ErrorVariant, InputLocation};

use super::{OrdoParser, Rule};
use crate::diagnostic::{Code, Diagnostic};
use crate::span::{FileId, Span};

/// Words that start a declaration, a member or a clause: a line starting
/// with one of them is the next construct, not the rest of a broken one.
const CONSTRUCT_KEYWORDS: &[&str] = &[
    "catalog",
    "stages",
    "enum",
    "customer",
    "action",
    "product",
    "bundle",
    "order",
    "description",
    "attr",
    "relies",
    "price",
    "sla",
    "require",
    "include",
    "on",
    "task",
    "after",
    "when",
    "stage",
    "retry",
    "timeout",
    "undo",
    "point",
    "manual",
    "wait",
];

const CURRENCY: &str = "a 3-letter currency code like `EUR`";
const OPERATOR: &str = "an operator";
const IN_LIST: &str = "`in [...]`";

/// The top-level ones.
pub(crate) const DECLARATION_KEYWORDS: &[&str] = &[
    "catalog", "stages", "enum", "customer", "action", "product", "bundle", "order",
];

/// The syntax error of `whole[range]` parsed as `rule`, with spans into
/// `whole`. Call it only for a text that does not parse.
pub(crate) fn syntax_error(
    file: FileId,
    whole: &str,
    range: Range<usize>,
    rule: Rule,
) -> Diagnostic {
    let text = &whole[range.clone()];
    let Some(err) = parse_with_detail(rule, text) else {
        return Diagnostic::error(Code::Syntax, "the text does not parse")
            .at(Span::new(file, range.start, range.start), "here");
    };
    let at = |p: usize| range.start + p;
    let (start, end) = match err.location {
        InputLocation::Pos(p) => (at(p), at(p)),
        InputLocation::Span((s, e)) => (at(s), at(e)),
    };
    let positives = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { message } => {
            let span = token_span(file, whole, start, end);
            return Diagnostic::error(Code::Syntax, message.clone()).at(span, message.clone());
        }
    };
    let ctx = Context {
        file,
        whole,
        floor: range.start,
    };
    match err.parse_attempts() {
        Some(attempts) if at(attempts.max_position) >= start => {
            let pos = at(attempts.max_position);
            let rules = if pos == start {
                positives.clone()
            } else {
                Vec::new()
            };
            let in_string = attempts.call_stacks().iter().any(|s| {
                s.deepest.get_rule() == Some(&Rule::string_body)
                    || s.parent == Some(Rule::string_body)
            });
            if in_string {
                return ctx.unclosed_string(start, pos);
            }
            let tokens = literal_tokens(attempts.expected_tokens());
            let words = wanted(&rules, &tokens);
            if words.iter().any(|w| ![OPERATOR, IN_LIST].contains(w)) {
                return ctx.expected(pos, &rules, words);
            }
            // Only an operator, or nothing: a lookahead matched a prefix of
            // the next word (the `a` of `amount` for `and`, `relies` of
            // `reliesonQ`) and hid what pest tried before it. Parse the text
            // up to that word alone: what it expects at its end is what is
            // missing.
            let word = ctx.word_start(pos);
            let rules = if word == start { positives } else { Vec::new() };
            let tokens = expected_at_end(rule, &text[..word - range.start]).unwrap_or_default();
            let words = wanted(&rules, &tokens);
            ctx.expected(word, &rules, words)
        }
        _ => ctx.expected(start, &positives, wanted(&positives, &[])),
    }
}

/// The literal tokens a parse of `text` expects at its very end, if it fails
/// there.
fn expected_at_end(rule: Rule, text: &str) -> Option<Vec<String>> {
    let err = parse_with_detail(rule, text)?;
    let attempts = err.parse_attempts()?;
    (attempts.max_position == text.len()).then(|| literal_tokens(attempts.expected_tokens()))
}

/// pest does not export its token type; its display is the literal text.
fn literal_tokens<T: std::fmt::Display>(tokens: Vec<T>) -> Vec<String> {
    tokens.iter().map(T::to_string).collect()
}

/// What the rules and literal tokens tried at one position stand for, in
/// words: the required ones, or the optional ones when none is required.
fn wanted(rules: &[Rule], tokens: &[String]) -> Vec<&'static str> {
    let mut wanted = Wanted::default();
    // Where an operand may stand, "a value or a name" says it better than
    // the list of every literal the grammar tried.
    let operand = rules.iter().any(|r| matches!(r, Rule::path | Rule::expr));
    for rule in rules {
        if operand && is_operand(*rule) {
            continue;
        }
        match describe(*rule) {
            // What could have continued a complete construct: `1 EUR` for a
            // number, `?` after an attribute's name.
            Some(w @ (OPERATOR | IN_LIST | "`?`" | "`matching`" | CURRENCY)) => {
                wanted.optional.push(w)
            }
            Some(w) => wanted.required.push(w),
            None => {}
        }
    }
    if operand {
        wanted.required.push("a value or a name");
    }
    for token in tokens {
        match token_word(token) {
            Some(Want::Required(w)) => wanted.required.push(w),
            Some(Want::Optional(w)) => wanted.optional.push(w),
            None => {}
        }
    }
    wanted.words()
}

/// pest's detail is a process-wide switch, read when a parse starts; the lock
/// keeps one detailed parse from switching it off under another.
static DETAIL: Mutex<()> = Mutex::new(());

fn parse_with_detail(rule: Rule, text: &str) -> Option<pest::error::Error<Rule>> {
    use pest::Parser as _;
    let _guard = DETAIL.lock().unwrap_or_else(|e| e.into_inner());
    pest::set_error_detail(true);
    let err = OrdoParser::parse(rule, text).err();
    pest::set_error_detail(false);
    err
}

/// What could stand at the error: required words first; optional ones (an
/// operator could continue the expression, `?` could mark an attribute
/// optional) only when nothing is required.
#[derive(Default)]
struct Wanted {
    required: Vec<&'static str>,
    optional: Vec<&'static str>,
}

impl Wanted {
    fn words(mut self) -> Vec<&'static str> {
        let mut words = if self.required.is_empty() {
            std::mem::take(&mut self.optional)
        } else {
            std::mem::take(&mut self.required)
        };
        words.sort_unstable();
        words.dedup();
        words
    }
}

struct Context<'a> {
    file: FileId,
    whole: &'a str,
    /// Where the parsed text starts: the search for the previous token stops
    /// there.
    floor: usize,
}

impl Context<'_> {
    fn expected(&self, pos: usize, rules: &[Rule], mut words: Vec<&'static str>) -> Diagnostic {
        let found_word = word_at(self.whole, pos);
        // A declaration after an unclosed block: the `}` is what is missing,
        // not one more member.
        // `order.credit` continues an expression; `order {` starts a block.
        let next_declaration = DECLARATION_KEYWORDS.contains(&found_word)
            && !self.whole[pos + found_word.len()..].starts_with('.');
        let unclosed = next_declaration && words.contains(&"`}`");
        if unclosed {
            words = vec!["`}`"];
        }
        let expected = join_alternatives(&words);
        // The next line starts a construct of its own, and what is missing
        // ends the one before: point at the end of that line.
        let next_construct = CONSTRUCT_KEYWORDS.contains(&found_word)
            || self.whole[pos.min(self.whole.len())..].starts_with('}');
        // Only a separator or a closing word is missing (`,` between
        // arguments, the `)` of a call): it belongs at the end of the line
        // before, whatever the next line holds.
        let closing = !words.is_empty()
            && words
                .iter()
                .all(|w| matches!(*w, "`,`" | "`)`" | "`]`" | "`else`"));
        let missing_at_line_end = unclosed
            || closing
            || next_construct
                && !words.iter().any(|w| starts_construct(w) || *w == "`}`")
                && !expected.is_empty();
        let (span, found) = match self.previous_line_end(pos) {
            Some(end) if missing_at_line_end => {
                (Span::new(self.file, end, end), "end of line".to_string())
            }
            _ => (
                token_span(self.file, self.whole, pos, pos),
                found_text(self.whole, pos),
            ),
        };
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
        if let Some(help) = help_for(rules, &words, self.whole, span.start as usize) {
            d = d.with_help(help);
        }
        d
    }

    fn unclosed_string(&self, open: usize, pos: usize) -> Diagnostic {
        Diagnostic::error(
            Code::Syntax,
            "this string is not closed: expected `\"` before the end of the line",
        )
        .at(Span::new(self.file, pos, pos), "expected the closing `\"`")
        .with_related(Span::new(self.file, open, open + 1), "the string starts here")
        .with_help("a string is written on one line, between double quotes; write `\\\"` for a quote inside it")
    }

    /// The start of the word `pos` is in (`pos` itself between words).
    fn word_start(&self, pos: usize) -> usize {
        let before = &self.whole[self.floor..pos];
        let word = before
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .count();
        pos - word
    }

    /// The end of the last token before `pos`, when a line break lies between
    /// them.
    fn previous_line_end(&self, pos: usize) -> Option<usize> {
        let before = &self.whole[self.floor..pos.min(self.whole.len())];
        let mut end = before.trim_end().len();
        // A comment at the end of that line is not the token either.
        let line_start = before[..end].rfind('\n').map_or(0, |i| i + 1);
        if let Some(hash) = comment_start(&before[line_start..end]) {
            end = before[..line_start + hash].trim_end().len();
        }
        before[end..]
            .contains('\n')
            .then_some(self.floor + end)
            .filter(|&e| e > self.floor)
    }
}

/// Where a `#` comment starts in a line, outside strings.
fn comment_start(line: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

enum Want {
    Required(&'static str),
    Optional(&'static str),
}

/// A literal token of the grammar, in words. Tokens of no use to a reader
/// (whitespace, the first letters pest peeks at to skip the operators) are
/// `None`.
fn token_word(token: &str) -> Option<Want> {
    use Want::*;
    Some(match token {
        ")" => Required("`)`"),
        // What may follow a complete construct: `int(…)`, `in […]`, a
        // task's `{ … }` block.
        "(" => Optional("`(`"),
        "]" => Required("`]`"),
        "[" => Optional("`[`"),
        "}" => Required("`}`"),
        "{" => Optional("`{`"),
        ":" => Required("`:`"),
        "," => Required("`,`"),
        ".." => Required("`..`"),
        "->" => Optional("`->`"),
        "?" => Optional("`?`"),
        "o" | "a" | "=" | "!" | "<" | ">" | "+" | "-" | "*" | "/" | "in" => Optional(OPERATOR),
        _ => return None,
    })
}

/// Whether a word of the message names the start of a member, clause or
/// declaration (as opposed to the rest of the construct being read).
fn starts_construct(word: &str) -> bool {
    let inner = word.trim_start_matches('`');
    CONSTRUCT_KEYWORDS
        .iter()
        .any(|k| inner.starts_with(k) && inner[k.len()..].starts_with(['`', ' ']))
}

/// The word at `pos`, if a letter starts one there.
fn word_at(text: &str, pos: usize) -> &str {
    let rest = &text[pos.min(text.len())..];
    let len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    &rest[..len]
}

/// The span of the offending token, so the label underlines a word, not a point.
fn token_span(file: FileId, text: &str, start: usize, end: usize) -> Span {
    if end > start {
        return Span::new(file, start, end);
    }
    let rest = &text[start.min(text.len())..];
    let len = match rest.chars().next() {
        None | Some('\n') | Some('\r') => 0,
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
    if let Some(op) = ["->", "==", "!=", "<=", ">=", ".."]
        .into_iter()
        .find(|op| rest.starts_with(op))
    {
        return format!("`{op}`");
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

fn help_for(positives: &[Rule], words: &[&str], text: &str, start: usize) -> Option<String> {
    let rest = &text[start.min(text.len())..];
    if words.contains(&CURRENCY)
        || rest.starts_with(|c: char| c.is_ascii_lowercase()) && positives.contains(&Rule::money)
    {
        return Some(
            "money is an amount and a 3-letter upper-case currency code, as in `39.99 EUR`".into(),
        );
    }
    let found = word_at(text, start);
    // `stagecommit`, `relieson`: a keyword glued to the next word.
    if let Some(keyword) = words.iter().find_map(|w| {
        let k = w
            .strip_prefix('`')?
            .trim_end_matches('`')
            .split(' ')
            .next()?;
        (found.len() > k.len() && found.starts_with(k)).then_some(k)
    }) {
        return Some(format!(
            "a keyword is a word of its own: write `{keyword} {}`",
            &found[keyword.len()..]
        ));
    }
    if words == ["`else`"] {
        return Some(
            "a rule reads `require CONDITION else \"MESSAGE\"`: the message says what is wrong"
                .into(),
        );
    }
    if words == ["`:`"] {
        return Some("a name and its type or value are separated by `:`, as in `attr roaming: bool` or `speed: \"1G\"`".into());
    }
    if rest.starts_with('=') && !rest.starts_with("==") {
        return Some("compare with `==`; a single `=` gives an attribute its default".into());
    }
    if words.contains(&"`,`") {
        return Some(
            "the items of a list are separated by `,`, and the list closed by its bracket".into(),
        );
    }
    if words == ["`)`"] {
        return Some("every `(` needs its `)`".into());
    }
    if let Some(help) = placement_help(found, words) {
        return Some(help);
    }
    if found == "include" && words.contains(&"`relies on`") {
        return Some("only a bundle includes products; a product names what it needs with `relies on PRODUCT`".into());
    }
    if found == "relies" && words.contains(&"`include`") {
        return Some(
            "a bundle holds its products with `include`; `relies on` is for products".into(),
        );
    }
    if positives.contains(&Rule::kw_task) && words.len() <= 2 {
        return Some(
            "a rule block holds tasks: `task NAME: ACTION(ARG: VALUE, …) { CLAUSES }`".into(),
        );
    }
    if positives.contains(&Rule::type_expr) || words.contains(&"a type") {
        return Some("types are string, int, decimal, bool, date, datetime, duration, money, an enum name, `int(1..4)` or `string matching \"REGEX\"`".into());
    }
    if rest.starts_with('"') && positives.contains(&Rule::ident) {
        return Some("names are written without quotes".into());
    }
    None
}

/// Where a construct keyword belongs, when it stands where it cannot.
fn placement_help(found: &str, words: &[&str]) -> Option<String> {
    if words
        .iter()
        .any(|w| w.trim_matches('`').split(' ').next() == Some(found))
    {
        return None;
    }
    let member = "a line of a product or bundle, outside its `on add { … }` blocks";
    Some(match found {
        "attr" => "`attr` declares an attribute of a product, a bundle or the `customer` block, outside rule blocks".into(),
        "task" => "a task belongs in a rule block (`on add { … }`) or in the `order { … }` block".into(),
        "after" | "when" | "stage" | "retry" | "timeout" | "undo" | "point" | "manual" | "wait" => format!(
            "`{found}` is a clause of a task: write it inside the task's braces, as in `task t: a.b() {{ {found} … }}`"
        ),
        "description" | "price" | "sla" => format!("`{found}` is {member}"),
        "require" => format!("`require` is {member}, or a clause inside a task's braces"),
        _ => return None,
    })
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
            | Rule::null
            | Rule::if_expr
            | Rule::if_kw
    )
}

/// What a grammar rule is, in a product manager's words. Rules that are
/// implementation detail return `None` and stay out of the message.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        // pest names the whole file when no declaration could start.
        Rule::file => "a declaration (`product`, `bundle`, `action`, `enum`, `stages`, `customer`, `order` or `catalog`)",
        Rule::ident => "a name",
        Rule::qualified_name => "an action name like `network.activate`",
        Rule::string => "a string in double quotes",
        Rule::number | Rule::number_raw => "a number",
        Rule::int => "a whole number",
        Rule::currency => CURRENCY,
        Rule::money => "an amount of money like `39.99 EUR`",
        Rule::duration => "a duration like `30s` or `2h`",
        Rule::percent => "a percentage like `99.9%`",
        Rule::date | Rule::datetime => "a date",
        Rule::boolean => "`true` or `false`",
        Rule::kw_catalog => "`catalog`",
        Rule::kw_version => "`version`",
        Rule::kw_stages => "`stages`",
        Rule::kw_default => "`default`",
        Rule::kw_enum => "`enum`",
        Rule::kw_customer => "`customer`",
        Rule::kw_action => "`action`",
        Rule::kw_product => "`product`",
        Rule::kw_bundle => "`bundle`",
        Rule::kw_order => "`order`",
        Rule::kw_description => "`description`",
        Rule::kw_offering => "`offering`",
        Rule::kw_characteristic => "`characteristic`",
        Rule::kw_attr => "`attr`",
        Rule::kw_relies => "`relies on`",
        Rule::kw_on => "`on`",
        Rule::kw_price => "`price`",
        Rule::kw_sla => "`sla`",
        Rule::kw_when => "`when`",
        Rule::kw_require => "`require`",
        Rule::else_kw => "`else`",
        Rule::then_kw => "`then`",
        Rule::coalesce => OPERATOR,
        Rule::kw_include => "`include`",
        Rule::kw_task => "`task`",
        Rule::kw_after => "`after`",
        Rule::kw_stage => "`stage`",
        Rule::kw_retry => "`retry`",
        Rule::kw_timeout => "`timeout`",
        Rule::kw_undo => "`undo`",
        Rule::kw_manual => "`manual`",
        Rule::kw_wait => "`wait`",
        Rule::kw_until => "`until`",
        Rule::wait_until => "`until` and a date",
        Rule::kw_point => "`point of no return`",
        Rule::kw_of => "`of`",
        Rule::kw_no => "`no`",
        Rule::kw_return => "`return`",
        Rule::kw_matching => "`matching`",
        Rule::kw_string | Rule::kw_int => "a type",
        Rule::stage_item => "a stage name",
        Rule::default_mark => "`(default)`",
        Rule::outputs => "`->` and the outputs",
        Rule::param_list | Rule::param => "a parameter `name: type`",
        Rule::type_expr | Rule::range_type | Rule::matching_type => "a type",
        Rule::optional_mark => "`?`",
        Rule::price_kind => "`once` or `monthly`",
        Rule::price_amount => "an amount of money like `39.99 EUR` or `-2.00 EUR`",
        Rule::include_alias | Rule::as_keyword => "`as` and a name",
        Rule::order_action => "`add`, `modify` or `delete`",
        Rule::task_body => "a `{` block of task clauses",
        Rule::call => "an action call",
        Rule::arg_list | Rule::arg => "an argument `name: value`",
        Rule::task_ref => "a task name",
        Rule::retry_kind => "`every` or `backoff`",
        Rule::expr => "an expression",
        Rule::or_op | Rule::and_op => OPERATOR,
        Rule::eq | Rule::ne | Rule::le | Rule::ge | Rule::lt | Rule::gt => OPERATOR,
        Rule::add | Rule::sub | Rule::mul | Rule::div => OPERATOR,
        Rule::not_op | Rule::neg => "an expression",
        Rule::in_list | Rule::kw_in => IN_LIST,
        Rule::path => "a name",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use crate::span::FileId;
    use crate::syntax::parse_module;

    /// The shipped catalog with one token taken out, at every place that
    /// token stands.
    fn broken_catalogs() -> Vec<(String, usize, String)> {
        let texts = [
            include_str!("../../catalog/broadband.ordo"),
            include_str!("../../catalog/bundles.ordo"),
            include_str!("../../catalog/actions.ordo"),
            include_str!("../../catalog/voip.ordo"),
            include_str!("../../catalog/iptv.ordo"),
            include_str!("../../catalog/order.ordo"),
            include_str!("../../catalog/catalog.ordo"),
        ];
        let mut out = Vec::new();
        for text in texts {
            for token in [")", "(", ":", ",", "\"", "{", "}", "else", "=="] {
                for (at, _) in text.match_indices(token) {
                    let mut broken = text.to_string();
                    broken.replace_range(at..at + token.len(), "");
                    out.push((token.to_string(), at, broken));
                }
            }
        }
        out
    }

    #[test]
    fn a_syntax_error_always_names_what_it_expected_and_never_what_it_found() {
        let mut checked = 0;
        for (token, at, text) in broken_catalogs() {
            let what = format!("`{token}` taken out at {at}");
            let Err(d) = parse_module(FileId(0), &text) else {
                continue;
            };
            checked += 1;
            assert!(
                !d.message.starts_with("unexpected"),
                "{what}: {}",
                d.message
            );
            if let Some((expected, found)) = d.message.split_once(", found ") {
                assert!(
                    !expected.contains(found),
                    "{what}: expected what it found: {}",
                    d.message
                );
            }
            assert!(d.span.is_some(), "{what}: {}", d.message);
            // What was taken out is what the message asks for. (Without its
            // `(`, a text has a `)` too many, and without an opening `"` the
            // closing one opens a string: neither is missing where it fails.)
            if matches!(token.as_str(), "else" | ")" | ":" | "}" | "{" | ",") {
                assert!(
                    d.message.contains(&format!("`{token}`")),
                    "{what}: {}",
                    d.message
                );
            }
            // And it says so on the line it was taken from (or, if it
            // started its line, the one before), not on a correct line after.
            if matches!(token.as_str(), "else" | ":" | ",") {
                let line = |offset: usize| text[..offset].matches('\n').count() + 1;
                let started_line = text[..at]
                    .rsplit('\n')
                    .next()
                    .is_some_and(|l| l.trim().is_empty());
                let error_line = line(d.span.map_or(0, |s| s.start as usize));
                assert!(
                    error_line == line(at) || started_line && error_line + 1 == line(at),
                    "{what}: line {error_line}: {}",
                    d.message
                );
            }
        }
        assert!(checked > 100, "only {checked} broken texts");
    }
}
