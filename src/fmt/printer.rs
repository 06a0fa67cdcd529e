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

pub(crate) struct Printer<'a> {
    pub(super) src: &'a str,
    comments: &'a [Comment],
    next_comment: usize,
    out: String,
    /// The open line, indentation included; empty when no line is open.
    line: String,
    pub(super) indent: usize,
    /// Source offset just past the last node or comment printed: where the
    /// search for blank lines before the next one starts.
    last_end: usize,
    /// Nothing printed since the block opened: no blank line may come here.
    fresh: bool,
    /// The open line ends in a comment.
    line_has_comment: bool,
}

impl<'a> Printer<'a> {
    pub(crate) fn new(src: &'a str, comments: &'a [Comment]) -> Printer<'a> {
        Printer {
            src,
            comments,
            next_comment: 0,
            out: String::with_capacity(src.len() + src.len() / 8),
            line: String::new(),
            indent: 0,
            last_end: 0,
            fresh: true,
            line_has_comment: false,
        }
    }

    /// Prints what comments remain and returns the text, ending in one line
    /// break (or empty, for a file with nothing in it).
    pub(crate) fn finish(mut self) -> String {
        self.flush(self.src.len(), Gap::Keep);
        self.out
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
            if c.trailing && !self.line.trim().is_empty() && !self.line_has_comment {
                self.line.push(' ');
                self.line.push_str(&c.text);
                self.line_has_comment = true;
            } else {
                self.end_line();
                let blank = gap != Gap::Tight && has_blank_line(self.src, self.last_end, c.start);
                if (blank || owe_blank) && !self.fresh {
                    self.blank_line();
                }
                owe_blank = false;
                self.text(&c.text);
                self.end_line();
                self.fresh = false;
            }
            self.last_end = self.last_end.max(c.end);
        }
        self.end_line();
        let blank = gap != Gap::Tight && has_blank_line(self.src, self.last_end, pos);
        (blank || owe_blank) && !self.fresh
    }

    fn end_line(&mut self) {
        self.line_has_comment = false;
        let line = std::mem::take(&mut self.line);
        let line = line.trim_end();
        if !line.is_empty() {
            self.out.push_str(line);
            self.out.push('\n');
        }
    }

    fn blank_line(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }
}

/// The width of a text in columns (characters).
pub(crate) fn width(s: &str) -> usize {
    s.chars().count()
}
