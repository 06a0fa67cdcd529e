//! The text miette draws a snippet from: one [`FileView`] per file, shared by
//! every diagnostic in it, that cuts out the lines around a span through the
//! file's line and character index.
//!
//! miette's own `SourceCode` for a string walks the text from its start for
//! every snippet (16,000 diagnostics took 18 s) and prints a line whole,
//! however long; past column 65,535 its underline overflows a format width
//! and panics. Here a snippet costs the lines it shows, and a line longer
//! than [`LONG_LINE`] (minified JSON) is shown as a window of [`CONTEXT`]
//! characters either side of the span.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use super::sanitize::{sanitize, sanitize_keeping_offsets};
use crate::source::SourceFile;
use crate::span::Span;

/// Lines longer than this many bytes are shown as a window around the span.
pub(super) const LONG_LINE: usize = 400;

/// Bytes shown either side of a span on a long line.
const CONTEXT: usize = 80;

pub(super) struct FileView<'s> {
    file: &'s SourceFile,
    name: String,
    /// The file's text, made safe to print (same offsets), and one space
    /// more: miette draws no label at the very end of a text (where "found
    /// end of file" points), and the space gives it a place to stand. It is
    /// shown only in a snippet whose span reaches it.
    text: String,
}

impl<'s> FileView<'s> {
    pub fn new(file: &'s SourceFile) -> FileView<'s> {
        let mut text = sanitize_keeping_offsets(&file.text).into_owned();
        text.push(' ');
        FileView {
            file,
            name: sanitize(&file.display_path()).into_owned(),
            text,
        }
    }

    fn is_long(&self, line: usize) -> bool {
        let (start, end) = self.file.line_range(line);
        end - start > LONG_LINE
    }

    /// Whether a span lies on a long line: such a line is shown only around
    /// its diagnostic's primary span, so other labels on it are not drawn.
    pub fn on_long_line(&self, span: Span) -> bool {
        self.is_long(self.file.line_index(span.start as usize))
    }

    /// A span cut to what a snippet can show: to the file (miette refuses a
    /// span past the end), to [`CONTEXT`] bytes on a long line, and before
    /// the first long line that a span over several lines reaches.
    pub fn clip(&self, span: Span) -> SourceSpan {
        let len = self.file.text.len();
        let start = (span.start as usize).min(len);
        let mut end = span.end().clamp(start, len);
        let first = self.file.line_index(start);
        let (_, first_end) = self.file.line_range(first);
        if self.is_long(first) {
            end = end.min(first_end).min(start + CONTEXT);
        } else if end > first_end {
            let last = self.file.line_index(end);
            if let Some(long) = (first + 1..=last).find(|&l| self.is_long(l)) {
                end = self.file.line_range(long - 1).1;
            }
        }
        let end = self.floor(end.max(start));
        (start, end - start).into()
    }

    /// The nearest character boundary at or before `at`.
    fn floor(&self, mut at: usize) -> usize {
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        at
    }

    /// The nearest character boundary at or after `at`.
    fn ceil(&self, mut at: usize) -> usize {
        while !self.text.is_char_boundary(at) {
            at += 1;
        }
        at
    }

    /// `[from, to)` of what a snippet of `span` shows, and its first line.
    fn window(&self, start: usize, end: usize, before: usize, after: usize) -> (usize, usize) {
        let file = self.file;
        let len = file.text.len();
        let first = file.line_index(start);
        // Through the line's `\n`, as miette's own reader does; through the
        // padding space only when the span reaches the end of the text.
        let through = |line: usize| {
            let (_, line_end) = file.line_range(line);
            if end > len || (end == len && start == len) {
                len + 1
            } else {
                (line_end + 1).min(len)
            }
        };
        if self.is_long(first) {
            let (line_start, line_end) = file.line_range(first);
            let from = if before == 0 {
                start
            } else {
                self.floor(start.saturating_sub(CONTEXT).max(line_start))
            };
            let to = if end.max(start + 1) + CONTEXT >= line_end {
                through(first)
            } else {
                self.ceil(end.max(start + 1) + CONTEXT)
            };
            return (from, to);
        }
        let last = file.line_index(end.saturating_sub(1).max(start));
        let mut top = first;
        while top > 0 && first - top < before && !self.is_long(top - 1) {
            top -= 1;
        }
        let mut bottom = last;
        while bottom + 1 < file.line_count() && bottom - last < after && !self.is_long(bottom + 1) {
            bottom += 1;
        }
        let from = if before == 0 {
            start
        } else {
            file.line_range(top).0
        };
        (from, through(bottom).max(from))
    }
}

impl SourceCode for FileView<'_> {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let start = span.offset();
        let end = start + span.len();
        if end > self.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let (from, to) = self.window(start, end, before, after);
        let line = self.file.line_index(from.min(self.file.text.len()));
        let (line_start, _) = self.file.line_range(line);
        let column = self.file.char_index(from) - self.file.char_index(line_start);
        // miette decides from this whether two snippets would overlap.
        let line_count = self.file.line_index(to.min(self.file.text.len())) + 1;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            &self.text.as_bytes()[from..to],
            (from, to - from).into(),
            line,
            column,
            line_count,
        )))
    }
}
