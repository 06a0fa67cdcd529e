//! Source positions. Every AST and model node carries a [`Span`]; it becomes a
//! `miette::SourceSpan` only when a diagnostic is rendered.

use serde::{Deserialize, Serialize};

/// Index of a file in a [`crate::source::Sources`] table.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct FileId(pub u32);

/// A byte range in one source file. Unlike a bare `{ start, len }`, it names the
/// file too: a catalog is many files sharing one namespace, and a diagnostic
/// about a duplicate points into two of them.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub len: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span {
            file,
            start: start as u32,
            len: end.saturating_sub(start) as u32,
        }
    }

    pub fn end(self) -> usize {
        self.start as usize + self.len as usize
    }

    /// The smallest span covering both; spans of different files keep `self`.
    pub fn merge(self, other: Span) -> Span {
        if self.file != other.file {
            return self;
        }
        let start = self.start.min(other.start) as usize;
        let end = self.end().max(other.end());
        Span::new(self.file, start, end)
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end()
    }
}

impl From<Span> for miette::SourceSpan {
    fn from(span: Span) -> Self {
        (span.start as usize, span.len as usize).into()
    }
}
