//! The `#` comments of a source text. The grammar throws comments away, so the
//! formatter finds them again with a small scanner that knows strings: a `#`
//! inside `"…"` is text, not a comment.

/// One `#` comment, from `#` to the end of its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Comment {
    /// Byte offset of the `#`.
    pub start: usize,
    /// Byte offset just past the comment's last character.
    pub end: usize,
    /// The comment as written, `#` included, trailing whitespace removed.
    pub text: String,
    /// Code precedes the comment on its line: it is a trailing comment.
    pub trailing: bool,
}

/// Every comment of `src`, in source order.
pub(crate) fn scan(src: &str) -> Vec<Comment> {
    let bytes = src.as_bytes();
    let mut comments = Vec::new();
    let mut code_on_line = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                code_on_line = false;
                i += 1;
            }
            b'#' => {
                let end = src[i..].find('\n').map_or(src.len(), |n| i + n);
                let text = src[i..end].trim_end();
                comments.push(Comment {
                    start: i,
                    end: i + text.len(),
                    text: text.to_string(),
                    trailing: code_on_line,
                });
                i = end;
            }
            b'"' => {
                code_on_line = true;
                i = skip_string(bytes, i);
            }
            b' ' | b'\t' | b'\r' => i += 1,
            _ => {
                code_on_line = true;
                i += 1;
            }
        }
    }
    comments
}

/// The offset just past the string starting at `open` (a `"`). An unclosed
/// string ends at the line break, as the grammar's does.
fn skip_string(bytes: &[u8], open: usize) -> usize {
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The offset of the first code character at or after `pos`, skipping
/// whitespace and comments.
pub(crate) fn skip_trivia(src: &str, mut pos: usize) -> usize {
    let bytes = src.as_bytes();
    while pos < bytes.len() {
        match bytes[pos] {
            b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
            b'#' => pos = src[pos..].find('\n').map_or(src.len(), |n| pos + n),
            _ => return pos,
        }
    }
    src.len()
}

/// The offset of the closing bracket of a list whose last element ends at
/// `pos`: skips whitespace, comments and a trailing comma.
pub(crate) fn closing_after(src: &str, pos: usize) -> usize {
    let mut pos = skip_trivia(src, pos);
    while src.as_bytes().get(pos) == Some(&b',') {
        pos = skip_trivia(src, pos + 1);
    }
    pos
}

/// Whether `src[from..to]` holds a blank line: a line with only whitespace,
/// wholly inside the range.
pub(crate) fn has_blank_line(src: &str, from: usize, to: usize) -> bool {
    let Some(gap) = src.get(from..to) else {
        return false;
    };
    let lines: Vec<&str> = gap.split('\n').collect();
    lines.len() > 2
        && lines[1..lines.len() - 1]
            .iter()
            .any(|l| l.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_inside_a_string_is_no_comment() {
        let src = "enum E { \"a#b\", \"c\\\"#\" } # real\n  # own line\n";
        let c = scan(src);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].text, "# real");
        assert!(c[0].trailing);
        assert_eq!(c[1].text, "# own line");
        assert!(!c[1].trailing);
        assert_eq!(&src[c[1].start..c[1].end], "# own line");
    }

    #[test]
    fn trivia_and_closers_are_skipped() {
        let src = "a , # x\n ) b";
        assert_eq!(closing_after(src, 1), src.find(')').unwrap());
        assert_eq!(skip_trivia(src, 1), 2);
        assert_eq!(skip_trivia(src, 3), src.find(')').unwrap());
    }

    #[test]
    fn blank_lines_are_whole_lines() {
        let src = "a\n\n  b\nc";
        assert!(has_blank_line(src, 1, 5));
        assert!(!has_blank_line(src, 5, src.len()));
        assert!(!has_blank_line(src, 3, 1));
    }
}
