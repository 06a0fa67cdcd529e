//! What `plan`, `quote`, `run` and `test` share: catalog and order in, plan out.

use std::path::Path;

use super::state::store_error;
use super::{load_catalog, print_diagnostics, Exit, StateDir};
use crate::compile::compile;
use crate::diagnostic::Diagnostics;
use crate::inventory::InstalledBase;
use crate::order::read_order;
use crate::order::OrderDoc;
use crate::plan::{decompose_on, Plan};
use crate::render::Format;
use crate::source::{SourceFile, Sources};
use crate::store::StoreError;

/// Compiles the catalog, reads the order and decomposes it. Diagnostics that
/// stop it are printed (JSON on stdout when `json`); warnings are printed too.
pub(crate) fn plan_order(
    catalog: &Path,
    order: &Path,
    state: &StateDir,
    json: bool,
) -> Result<(Plan, Sources), Exit> {
    plan_order_file(catalog, order, state, json).map(|(plan, sources, _)| (plan, sources))
}

/// [`plan_order`], also giving the order file's id in the sources.
pub(crate) fn plan_order_file(
    catalog: &Path,
    order: &Path,
    state: &StateDir,
    json: bool,
) -> Result<(Plan, Sources, crate::span::FileId), Exit> {
    let format = if json { Format::Json } else { Format::Human };
    let mut sources = load_catalog(catalog)?;
    let (catalog, diags) = compile(&sources);
    let Some(catalog) = catalog else {
        print_diagnostics(&diags, &sources, format);
        return Err(Exit::Failure);
    };
    let text = match std::fs::read_to_string(order) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read the order {}: {e}", order.display());
            return Err(Exit::Error);
        }
    };
    let file = sources.add(SourceFile::new(order, text));
    let mut all = diags;
    let result = match read_order(file, sources.get(file)) {
        Ok(doc) => decompose_on(&catalog, &doc, &installed_base(state, &doc)?),
        Err(e) => Err(e),
    };
    match result {
        Ok((plan, warnings)) => {
            all.extend(warnings);
            if !all.is_empty() && !json {
                print_diagnostics(&all, &sources, format);
            }
            Ok((plan, sources, file))
        }
        Err(errors) => {
            all.extend(errors);
            let mut all = Diagnostics { list: all.list };
            all.sort();
            print_diagnostics(&all, &sources, format);
            Err(Exit::Failure)
        }
    }
}

/// The instances the order names, from the state folder read-only (none
/// when nothing was ever stored there).
fn installed_base(state: &StateDir, order: &OrderDoc) -> Result<InstalledBase, Exit> {
    let store = match super::state::open_reader(state) {
        Ok(Some(store)) => store,
        // Nothing stored, or a schema from before the installed base (which
        // `ordo run` upgrades when it opens the folder to write): no instances.
        Ok(None) | Err(StoreError::NeedsUpgrade { .. }) => return Ok(InstalledBase::default()),
        Err(e) => return Err(store_error(e)),
    };
    InstalledBase::for_order(&*store, order).map_err(store_error)
}
