//! How much one document may hold.

/// The most one document may hold, so that no file, however written, can
/// take more memory or stack than these allow. Orders, bindings files and
/// catalog test files all share them; `docs/limits.md` states them. Each can
/// be set by an environment variable, read on every parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Size of the file in bytes (`ORDO_LIMIT_BYTES`).
    pub bytes: usize,
    /// Values (scalars, lists, mappings, each alias counting all it repeats)
    /// (`ORDO_LIMIT_VALUES`).
    pub values: usize,
    /// How deep lists and mappings nest (`ORDO_LIMIT_DEPTH`, at most
    /// [`Limits::MAX_DEPTH`]): values are walked recursively later.
    pub depth: usize,
    /// Bytes of text the document expands to: every scalar, and again every
    /// time an alias repeats it (`ORDO_LIMIT_EXPANDED`). A one-megabyte
    /// string aliased two thousand times is two gigabytes.
    pub expanded: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        bytes: 64 << 20,
        values: 4_000_000,
        depth: 64,
        expanded: 64 << 20,
    };

    /// The ceiling of `ORDO_LIMIT_DEPTH`: deeper, a recursive walk of the
    /// values could overflow the stack.
    pub const MAX_DEPTH: usize = 100;

    /// The limits, with any set in the environment.
    pub fn from_env() -> Result<Limits, String> {
        let read = env_limit;
        let d = Limits::DEFAULT;
        Ok(Limits {
            bytes: read("ORDO_LIMIT_BYTES", d.bytes)?,
            values: read("ORDO_LIMIT_VALUES", d.values)?,
            depth: read("ORDO_LIMIT_DEPTH", d.depth)?.min(Limits::MAX_DEPTH),
            expanded: read("ORDO_LIMIT_EXPANDED", d.expanded)?,
        })
    }

    /// The errors, each naming its limit and the variable that sets it.
    pub(super) fn too_many_bytes(&self, bytes: usize) -> String {
        format!(
            "the file is {bytes} bytes, more than the limit of {} (set ORDO_LIMIT_BYTES to change it)",
            self.bytes
        )
    }

    /// `aliased`: the document repeats values by aliases, which count
    /// every value they repeat (said only then: it is no help otherwise).
    pub(super) fn too_many_values(&self, aliased: bool) -> String {
        format!(
            "the document holds more than {} values, the limit ({}set ORDO_LIMIT_VALUES to change it)",
            self.values,
            if aliased { "aliases count every value they repeat; " } else { "" }
        )
    }

    pub(super) fn too_deep(&self) -> String {
        format!(
            "lists and mappings nest more than {} levels deep, the limit (set ORDO_LIMIT_DEPTH to change it)",
            self.depth
        )
    }

    pub(super) fn expands_too_far(&self, aliased: bool) -> String {
        format!(
            "the document expands to more than {} bytes of text, the limit ({}set ORDO_LIMIT_EXPANDED to change it)",
            self.expanded,
            if aliased { "aliases count every value they repeat; " } else { "" }
        )
    }
}

/// A limit set by the environment variable `name`, else `default`; a value
/// that is not a positive whole number is an error that says so.
pub(crate) fn env_limit(name: &str, default: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{name} is `{v}`, not a positive whole number")),
        },
    }
}
