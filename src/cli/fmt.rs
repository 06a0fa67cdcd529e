//! `ordo fmt`: the canonical layout of .ordo files (SPEC §7.3).

use std::path::PathBuf;

use super::{print_diagnostics, write_stdout, Exit, FmtArgs};
use crate::fmt::{format_paths, FmtError};
use crate::render::Format;

pub(crate) fn fmt(args: &FmtArgs) -> Exit {
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(
            std::env::var_os("ORDO_CATALOG").unwrap_or_else(|| "catalog".into()),
        )]
    } else {
        args.paths.clone()
    };
    if let Some(missing) = paths.iter().find(|p| !p.exists()) {
        eprintln!("error: no such file or folder: {}", missing.display());
        return Exit::Error;
    }
    match format_paths(&paths, args.check) {
        Ok(outcomes) => {
            let changed: Vec<_> = outcomes.iter().filter(|o| o.changed).collect();
            let mut out = String::new();
            for o in &changed {
                out.push_str(&o.path.display().to_string());
                out.push('\n');
            }
            write_stdout(&out);
            if args.check && !changed.is_empty() {
                eprintln!(
                    "{} not formatted; run `ordo fmt` to fix",
                    crate::plan::render::count(changed.len(), "file")
                );
                return Exit::Failure;
            }
            Exit::Success
        }
        Err(FmtError::Unformattable {
            sources,
            diagnostics,
        }) => {
            print_diagnostics(&diagnostics, &sources, Format::Human);
            eprintln!("error: no file was changed");
            Exit::Failure
        }
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Error
        }
    }
}
