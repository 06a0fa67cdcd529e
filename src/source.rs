//! The table of source files a run reads: catalog files and the order file.
//! Diagnostics refer to files by [`FileId`] and are rendered against this table.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::span::{FileId, Span};

/// One loaded text file.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user gave it (relative paths stay relative, so rendered
    /// diagnostics do not depend on where the tool runs).
    pub path: PathBuf,
    pub text: String,
    line_starts: Vec<usize>,
    /// `char_marks[k]`: how many characters start before byte `k * BLOCK`.
    /// With it a position is found by walking at most one block, whatever
    /// the length of its line: a minified JSON order is one line of
    /// megabytes, and walking from the line's start for every value made
    /// reading it quadratic.
    char_marks: Vec<usize>,
    /// Whether the text is all ASCII, where a character's index is its byte
    /// offset and no lookup walks at all (two per YAML value were a third
    /// of reading a 100,000-task order).
    ascii: bool,
    /// Bytes walked by position lookups so far, so tests can check that
    /// reading stays linear without timing anything.
    walked: AtomicUsize,
}

/// Bytes per entry of [`SourceFile::char_marks`]: the most a lookup walks.
const BLOCK: usize = 256;

impl Clone for SourceFile {
    fn clone(&self) -> SourceFile {
        SourceFile {
            path: self.path.clone(),
            text: self.text.clone(),
            line_starts: self.line_starts.clone(),
            char_marks: self.char_marks.clone(),
            ascii: self.ascii,
            walked: AtomicUsize::new(self.bytes_walked()),
        }
    }
}

/// Whether a byte begins a character (is not a UTF-8 continuation byte).
fn starts_char(b: u8) -> bool {
    b & 0xC0 != 0x80
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let mut char_marks = Vec::with_capacity(text.len() / BLOCK + 1);
        let mut chars = 0;
        for block in text.as_bytes().chunks(BLOCK) {
            char_marks.push(chars);
            chars += block.iter().filter(|&&b| starts_char(b)).count();
        }
        char_marks.push(chars);
        SourceFile {
            path: path.into(),
            ascii: chars == text.len(),
            text,
            line_starts,
            char_marks,
            walked: AtomicUsize::new(0),
        }
    }

    /// Path with `/` separators, as shown in diagnostics.
    pub fn display_path(&self) -> String {
        self.path.to_string_lossy().replace('\\', "/")
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_index(offset);
        let start = self.line_starts[line];
        let column = self.char_index(offset) - self.char_index(start);
        (line + 1, column + 1)
    }

    /// Byte offset of a 1-based line and column (in characters); clamps to the text.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        self.offset_of_char(self.char_index(start) + column.saturating_sub(1))
    }

    /// 0-based index of the line holding a byte offset.
    pub fn line_index(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// Byte offset where a 0-based line starts, and where it ends (before its
    /// `\n`); the end of the text past the last line.
    pub fn line_range(&self, line: usize) -> (usize, usize) {
        let len = self.text.len();
        let start = self.line_starts.get(line).copied().unwrap_or(len);
        let end = self.line_starts.get(line + 1).map_or(len, |next| next - 1);
        (start, end)
    }

    /// How many lines the text has (an empty text has one, empty, line).
    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// How many characters start before a byte offset.
    pub fn char_index(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        if self.ascii {
            return offset;
        }
        let block = offset / BLOCK;
        let from = block * BLOCK;
        self.walked.fetch_add(offset - from, Ordering::Relaxed);
        self.char_marks[block]
            + self.text.as_bytes()[from..offset]
                .iter()
                .filter(|&&b| starts_char(b))
                .count()
    }

    /// Byte offset of the character with a 0-based index; the end of the
    /// text past the last one.
    pub fn offset_of_char(&self, index: usize) -> usize {
        if self.ascii {
            return index.min(self.text.len());
        }
        // The last block that starts at or before the character.
        let block = self.char_marks.partition_point(|&c| c <= index).max(1) - 1;
        let bytes = self.text.as_bytes();
        let mut chars = self.char_marks[block];
        let mut at = block * BLOCK;
        let from = at;
        while at < bytes.len() {
            if starts_char(bytes[at]) {
                if chars == index {
                    break;
                }
                chars += 1;
            }
            at += 1;
        }
        self.walked.fetch_add(at - from, Ordering::Relaxed);
        at.min(bytes.len())
    }

    /// Bytes walked by position lookups since the file was loaded.
    pub fn bytes_walked(&self) -> usize {
        self.walked.load(Ordering::Relaxed)
    }
}

/// Every file of a run, addressed by [`FileId`]. The files are shared: a
/// server clones its catalog's table for every order it plans, and adds
/// only the order's file to its copy.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<std::sync::Arc<SourceFile>>,
}

impl Sources {
    pub fn new() -> Sources {
        Sources::default()
    }

    pub fn add(&mut self, file: SourceFile) -> FileId {
        self.files.push(std::sync::Arc::new(file));
        FileId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), &**f))
    }

    pub fn text(&self, span: Span) -> &str {
        let file = self.get(span.file);
        file.text.get(span.range()).unwrap_or("")
    }

    /// SHA-256 over every file's name and text, in table order: what pins an
    /// order to the catalog it was planned with.
    pub fn content_hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for f in &self.files {
            let name = f
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            h.update((name.len() as u64).to_le_bytes());
            h.update(name.as_bytes());
            h.update((f.text.len() as u64).to_le_bytes());
            h.update(f.text.as_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads one `.ordo` file, or every `*.ordo` file below a folder (sorted by
    /// path, so diagnostics come out in a stable order).
    pub fn load_catalog(path: &Path) -> std::io::Result<Sources> {
        let mut paths = Vec::new();
        if path.is_dir() {
            collect_ordo_files(path, &mut paths)?;
            paths.sort();
        } else {
            paths.push(path.to_path_buf());
        }
        let mut sources = Sources::new();
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot read {}: {e}", p.display()))
            })?;
            sources.add(SourceFile::new(p, text));
        }
        Ok(sources)
    }
}

fn collect_ordo_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    // An explicit stack, not recursion: folder depth is the user's to choose.
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| {
            std::io::Error::new(e.kind(), format!("cannot read {}: {e}", dir.display()))
        })?;
        for entry in entries {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "ordo") {
                out.push(path);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_column_counts_characters_from_one() {
        let f = SourceFile::new("a", "ab\ncdé\nx");
        assert_eq!(f.line_column(0), (1, 1));
        assert_eq!(f.line_column(3), (2, 1));
        assert_eq!(f.line_column(8), (3, 1));
        assert_eq!(f.line_column(7), (2, 4));
        assert_eq!(f.offset_of(2, 3), 5);
    }

    #[test]
    fn characters_and_bytes_convert_both_ways_across_blocks() {
        let text = "aé€😀\n".repeat(200);
        let f = SourceFile::new("a", text.as_str());
        for (index, (offset, _)) in text.char_indices().enumerate() {
            assert_eq!(f.char_index(offset), index);
            assert_eq!(f.offset_of_char(index), offset);
        }
        assert_eq!(f.offset_of_char(text.chars().count()), text.len());
        assert_eq!(f.offset_of_char(usize::MAX), text.len());
        assert_eq!(f.line_column(text.len()), (201, 1));
    }

    #[test]
    fn a_lookup_walks_at_most_one_block() {
        let f = SourceFile::new("a", "x".repeat(1_000_000));
        f.line_column(999_999);
        f.offset_of(1, 999_999);
        assert!(f.bytes_walked() <= 2 * BLOCK, "{}", f.bytes_walked());
    }

    #[test]
    fn an_ascii_texts_positions_are_its_offsets_and_walk_nothing() {
        let text = "id: ORD-1\nitems:\n  - { id: \"1\" }\n".repeat(100);
        let f = SourceFile::new("a", text.as_str());
        for offset in [0, 1, 255, 256, 257, text.len() - 1, text.len()] {
            assert_eq!(f.char_index(offset), offset);
            assert_eq!(f.offset_of_char(offset), offset);
        }
        assert_eq!(f.offset_of_char(usize::MAX), text.len());
        assert_eq!(f.line_column(text.len()), (301, 1));
        assert_eq!(f.offset_of(2, 3), 12);
        assert_eq!(f.bytes_walked(), 0);
    }
}
