//! Text from users and plugins, made safe to print on a terminal. An order's
//! attribute value or a plugin's error message can hold escape sequences
//! that recolour, move the cursor, retitle the window or hide text; printed
//! as they are, they would let an input forge what an operator reads.
//!
//! Every text renderer (diagnostics, run summaries, `ordo status`) passes
//! such text through [`sanitize`]. JSON output keeps the exact value: JSON
//! escapes control characters itself.

use std::borrow::Cow;

/// The text with every character that could act on a terminal written as
/// its escape, `\u{1b}`: control characters other than line feed and tab,
/// and the bidirectional overrides that reorder what is shown
/// ("Trojan Source"). Text without any comes back as it is.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    escape(text, is_unsafe)
}

/// [`sanitize`] for text shown on one line, such as a table cell: line
/// feeds and tabs are escaped too, so a value cannot break the row.
pub fn sanitize_line(text: &str) -> Cow<'_, str> {
    escape(text, |c| is_unsafe(c) || c == '\n' || c == '\t')
}

fn escape(text: &str, unsafe_here: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&unsafe_here) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_here(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The text with every unsafe character replaced by as many `?` as it has
/// bytes, so byte offsets into it stay those of the original: what a source
/// snippet is drawn from. A `\r` before a `\n` is a line break and stays.
pub(crate) fn sanitize_keeping_offsets(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let line_break = c == '\r' && chars.peek() == Some(&'\n');
        if is_unsafe(c) && !line_break {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_visible_and_clean_text_is_not_copied() {
        assert_eq!(
            sanitize("red \x1b[31mX\x1b[0m\x07 \u{9b}2J \r\u{202e}"),
            "red \\u{1b}[31mX\\u{1b}[0m\\u{7} \\u{9b}2J \\u{d}\\u{202e}"
        );
        assert!(matches!(sanitize("plain, é\ttab\nline"), Cow::Borrowed(_)));
        assert_eq!(
            sanitize_line("two\nlines\tand \x1b"),
            "two\\u{a}lines\\u{9}and \\u{1b}"
        );
    }

    #[test]
    fn the_snippet_form_keeps_every_offset() {
        let text = "a\x1b[2Jb\u{9b}c\r\nd\re\u{202e}";
        let safe = sanitize_keeping_offsets(text);
        assert_eq!(safe, "a?[2Jb??c\r\nd?e???");
        assert_eq!(safe.len(), text.len());
    }
}
