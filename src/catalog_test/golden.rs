//! Golden plans: a test's `plan:` file holds the text plan (`ordo plan`'s
//! text format) the order must decompose into, byte for byte. `--bless`
//! writes it instead of comparing.

use std::fs;
use std::io;
use std::path::Path;

use similar::TextDiff;

/// What became of a golden plan.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Golden {
    /// The file holds this plan.
    Same,
    /// The file was written (it was missing or different), under `--bless`.
    Blessed,
    /// The file does not exist.
    Missing,
    /// The file holds another plan: the unified diff from it to this one.
    Differs(String),
}

/// Compares `plan` with the golden file at `path`, or, with `bless`, makes
/// the file hold `plan` (creating its folder if needed). `shown` is the path
/// as the diff's header names it.
pub(crate) fn golden(path: &Path, shown: &str, plan: &str, bless: bool) -> io::Result<Golden> {
    let existing = match fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    // Line ends a checkout may have converted do not make a plan differ.
    let existing = existing.map(|t| t.replace("\r\n", "\n"));
    match existing {
        Some(text) if text == plan => Ok(Golden::Same),
        _ if bless => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir)?;
            }
            fs::write(path, plan)?;
            Ok(Golden::Blessed)
        }
        None => Ok(Golden::Missing),
        Some(text) => Ok(Golden::Differs(diff(&text, plan, shown))),
    }
}

/// The unified diff from the golden text to the plan, three lines of context.
pub(crate) fn diff(golden: &str, plan: &str, shown: &str) -> String {
    TextDiff::from_lines(golden, plan)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{shown} (golden)"), "the plan now")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bless_writes_then_compare_passes_and_a_change_is_a_diff() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("golden/a.plan.txt");
        let plan = "order X: 2 tasks\n\nstage fulfil\n  a\n  b\n";
        assert_eq!(golden(&path, "a", plan, false).ok(), Some(Golden::Missing));
        assert_eq!(golden(&path, "a", plan, true).ok(), Some(Golden::Blessed));
        assert_eq!(golden(&path, "a", plan, false).ok(), Some(Golden::Same));
        assert_eq!(golden(&path, "a", plan, true).ok(), Some(Golden::Same));
        let changed = plan.replace("  b\n", "  c\n");
        let Ok(Golden::Differs(d)) = golden(&path, "a.plan.txt", &changed, false) else {
            panic!("a difference expected");
        };
        assert!(
            d.starts_with("--- a.plan.txt (golden)\n+++ the plan now\n@@"),
            "{d}"
        );
        assert!(d.contains("\n-  b\n+  c\n"), "{d}");
    }
}
