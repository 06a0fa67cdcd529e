//! The line machinery every layout rule is written with: an open output line,
//! indentation, and the comments and blank lines carried over from the source
//! at each line break.
//!
//! Comments are placed by position. Each time the layout starts a new line for
//! a node that begins at source offset `pos`, every comment not yet printed that
//! starts before `pos` is printed first: a comment that followed code on its
//! source line goes at the end of the open line, any other on its own line.
//! Since nodes are printed in source order, every comment is printed exactly
//! once, and it stays between the same two line-starting nodes.
//!
//! Output is kept as lines until [`Printer::finish`], which aligns the
//! trailing comments of consecutive lines to one column (see [`align`]).

use super::comments::{has_blank_line, Comment};

/// The widest line the layout aims for, in characters.
pub(crate) const MAX_WIDTH: usize = 100;
const INDENT: &str = "  ";

/// How blank lines of the source are carried over at a line break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Gap {
    /// None: list elements, enum values, parameters.
    Tight,
    /// At most one where the source had one or more: block members.
    Keep,
    /// At least one, and at most one where the source had one (between
    /// declarations, before `on` blocks); it goes before the node's own
    /// comments unless the author put one among them.
    Separate,
}

/// One finished line of output.
#[derive(Debug, Clone, PartialEq, Eq)]
enum OutLine {
    Blank,
    /// A comment on a line of its own, indentation included.
    Comment(String),
    /// Code, indentation included, and the comment that ends the line.
    Code {
        text: String,
        comment: Option<String>,
    },
}

pub(crate) struct Printer<'a> {
    pub(super) src: &'a str,
    comments: &'a [Comment],
    next_comment: usize,
    out: Vec<OutLine>,
    /// The open line, indentation included; empty when no line is open.
    line: String,
    /// The comment that ends the open line.
    trailing: Option<String>,
    pub(super) indent: usize,
    /// Source offset just past the last node or comment printed: where the
    /// search for blank lines before the next one starts.
    last_end: usize,
    /// Nothing printed since the block opened: no blank line may come here.
    fresh: bool,
}

impl<'a> Printer<'a> {
    pub(crate) fn new(src: &'a str, comments: &'a [Comment]) -> Printer<'a> {
        Printer {
            src,
            comments,
            next_comment: 0,
            out: Vec::new(),
            line: String::new(),
            trailing: None,
            indent: 0,
            last_end: 0,
            fresh: true,
        }
    }

    /// Prints what comments remain and returns the text, ending in one line
    /// break (or empty, for a file with nothing in it).
    pub(crate) fn finish(mut self) -> String {
        self.flush(self.src.len(), Gap::Keep);
        align(&mut self.out);
        let mut text = String::with_capacity(self.src.len() + self.src.len() / 8);
        for line in &self.out {
            match line {
                OutLine::Blank => {}
                OutLine::Comment(t) => text.push_str(t),
                OutLine::Code { text: t, comment } => {
                    text.push_str(t);
                    if let Some(c) = comment {
                        text.push(' ');
                        text.push_str(c);
                    }
                }
            }
            text.push('\n');
        }
        text
    }

    /// Appends text to the open line.
    pub(crate) fn text(&mut self, s: &str) {
        if self.line.is_empty() {
            self.line.push_str(&INDENT.repeat(self.indent));
        }
        self.line.push_str(s);
    }

    /// The column the next text would start at.
    pub(crate) fn column(&self) -> usize {
        if self.line.is_empty() {
            self.indent * INDENT.len()
        } else {
            self.line.chars().count()
        }
    }

    /// Whether `width` more characters fit on the open line.
    pub(crate) fn fits(&self, width: usize) -> bool {
        self.column() + width <= MAX_WIDTH
    }

    /// Whether `width` characters fit on a new line indented once more.
    pub(crate) fn fits_indented(&self, width: usize) -> bool {
        (self.indent + 1) * INDENT.len() + width <= MAX_WIDTH
    }

    /// Whether a comment starts in `from..to` of the source.
    pub(crate) fn has_comment(&self, from: usize, to: usize) -> bool {
        let i = self.comments.partition_point(|c| c.start < from);
        self.comments.get(i).is_some_and(|c| c.start < to)
    }

    /// Starts a new line for a node that begins at source offset `pos`,
    /// printing the comments that come before it.
    pub(crate) fn line_at(&mut self, pos: usize, gap: Gap) {
        let blank = self.flush(pos, gap);
        if blank {
            self.blank_line();
        }
        self.last_end = self.last_end.max(pos);
        self.fresh = false;
    }

    /// Records that the node ending at `end` has been printed.
    pub(crate) fn seen(&mut self, end: usize) {
        let end = self.code_end(end);
        self.last_end = self.last_end.max(end);
    }

    /// `end` moved back over whitespace and comments. A pest rule that ends in
    /// an optional part (`attr … (= expr)?`, a task without body) spans the
    /// whitespace and comments skipped while looking for that part.
    fn code_end(&self, end: usize) -> usize {
        let mut end = end.min(self.src.len());
        loop {
            let trimmed = self.src.get(..end).map_or(end, |s| s.trim_end().len());
            let i = self.comments.partition_point(|c| c.end < trimmed);
            match self.comments.get(i) {
                Some(c) if c.end == trimmed && c.start < trimmed => end = c.start,
                _ => return trimmed,
            }
        }
    }

    /// Ends the open line with ` {`, `(` or similar, and indents what follows.
    pub(crate) fn open(&mut self, opener: &str) {
        self.text(opener);
        self.indent += 1;
        self.fresh = true;
    }

    /// Prints the comments before the closing bracket at source offset
    /// `pos`, then the bracket on a line of its own.
    pub(crate) fn close(&mut self, pos: usize, closer: &str) {
        self.flush(pos, Gap::Keep);
        self.indent = self.indent.saturating_sub(1);
        self.fresh = false;
        self.text(closer);
        self.seen(pos + closer.len());
    }

    /// Prints the comments that start before `pos` and ends the open line.
    /// Returns whether a blank line belongs before the node at `pos`.
    fn flush(&mut self, pos: usize, gap: Gap) -> bool {
        let end = self.comments[self.next_comment..]
            .iter()
            .position(|c| c.start >= pos)
            .map_or(self.comments.len(), |n| self.next_comment + n);
        let pending = &self.comments[self.next_comment..end];
        self.next_comment = end;
        // `Separate` wants one blank line somewhere between the previous node
        // and this one; if the author left none, it goes before the first
        // line this break prints.
        let mut owe_blank = gap == Gap::Separate && !has_blank_line(self.src, self.last_end, pos);
        for c in pending {
            // A second comment on one line would read as part of the first.
            if c.trailing && !self.line.trim().is_empty() && self.trailing.is_none() {
                self.trailing = Some(c.text.clone());
            } else {
                self.end_line();
                let blank = gap != Gap::Tight && has_blank_line(self.src, self.last_end, c.start);
                if (blank || owe_blank) && !self.fresh {
                    self.blank_line();
                }
                owe_blank = false;
                let indent = INDENT.repeat(self.indent);
                self.out
                    .push(OutLine::Comment(format!("{indent}{}", c.text)));
                self.fresh = false;
            }
            self.last_end = self.last_end.max(c.end);
        }
        self.end_line();
        let blank = gap != Gap::Tight && has_blank_line(self.src, self.last_end, pos);
        (blank || owe_blank) && !self.fresh
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.line);
        let comment = self.trailing.take();
        let text = line.trim_end();
        if !text.is_empty() {
            self.out.push(OutLine::Code {
                text: text.to_string(),
                comment,
            });
        }
    }

    fn blank_line(&mut self) {
        if self.out.last().is_some_and(|l| *l != OutLine::Blank) {
            self.out.push(OutLine::Blank);
        }
    }
}

/// Aligns trailing comments to one column in each run of lines, as authors
/// align them by hand (and as gofmt does). A run is a sequence of consecutive
/// code lines at the same indentation: a blank line, a comment on a line of
/// its own, or a line indented differently (the inside of a multi-line
/// member) ends it. Lines without a comment stay in the run. The column is one
/// space past the longest commented line of the run, so a run with one comment
/// gets the single space of an unaligned comment.
fn align(lines: &mut [OutLine]) {
    let indent_of = |l: &OutLine| match l {
        OutLine::Code { text, .. } => Some(text.len() - text.trim_start().len()),
        _ => None,
    };
    let mut start = 0;
    while start < lines.len() {
        let Some(indent) = indent_of(&lines[start]) else {
            start += 1;
            continue;
        };
        let end = lines[start..]
            .iter()
            .position(|l| indent_of(l) != Some(indent))
            .map_or(lines.len(), |n| start + n);
        let column = lines[start..end]
            .iter()
            .filter_map(|l| match l {
                OutLine::Code {
                    text,
                    comment: Some(_),
                } => Some(width(text)),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        for line in &mut lines[start..end] {
            if let OutLine::Code {
                text,
                comment: Some(_),
            } = line
            {
                let pad = column - width(text);
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        start = end;
    }
}

/// The width of a text in columns (characters).
pub(crate) fn width(s: &str) -> usize {
    s.chars().count()
}
