//! What the store keeps of the bindings an order runs with: the file's text
//! and the folder its relative programs resolve in, not a path to a file
//! that may have moved, changed or gone by the time the order resumes.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::BindingsError;

/// The bindings of an order, as stored with it (`docs/state.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BindingsRecord {
    /// No bindings file: every action is simulated.
    Simulated,
    /// A bindings file, as it was read.
    File {
        /// The path as it was given, for messages.
        path: PathBuf,
        /// The absolute folder of the file as named (a symbolic link's own
        /// folder, not its target's): relative programs resolve here.
        folder: PathBuf,
        /// The file's text.
        text: String,
    },
}

impl BindingsRecord {
    /// Reads a bindings file into a record.
    pub fn read(path: &Path) -> Result<BindingsRecord, BindingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| BindingsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let folder = path.parent().unwrap_or(Path::new(""));
        let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
        Ok(BindingsRecord::File {
            path: path.to_path_buf(),
            folder,
            text,
        })
    }

    /// The record of an optional bindings file: [`BindingsRecord::Simulated`] without one.
    pub fn read_or_simulate(path: Option<&Path>) -> Result<BindingsRecord, BindingsError> {
        path.map_or(Ok(BindingsRecord::Simulated), BindingsRecord::read)
    }
}
