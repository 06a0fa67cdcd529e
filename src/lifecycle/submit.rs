//! Submitting an order: the catalog compiled, the order document read and
//! decomposed into its plan against the installed base, the bindings checked
//! against the plan, and the order stored with both, before anything runs.

use std::path::Path;
use std::sync::Arc;

use super::LifecycleError;
use crate::compile::compile;
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::exec::{Bindings, BindingsError, BindingsRecord};
use crate::inventory::InstalledBase;
use crate::model::Catalog;
use crate::order::OrderDoc;
use crate::plan::{decompose_on, Plan};
use crate::source::{SourceFile, Sources};
use crate::span::FileId;
use crate::store::{Location, OrderStatus, Store, StoreError};
use crate::tmf::{read_any_order, read_product_order, ProductOrderRequest};

/// Reads the catalog's sources; a catalog that cannot be read at all is a
/// [`LifecycleError::Catalog`].
pub fn load_catalog(path: &Path) -> Result<Sources, LifecycleError> {
    let unreadable =
        |message: String| LifecycleError::Catalog(Box::new(Diagnostic::error(Code::Load, message)));
    if !path.exists() {
        return Err(unreadable(format!(
            "no catalog at {}: give its folder with --catalog or ORDO_CATALOG",
            path.display()
        )));
    }
    match Sources::load_catalog(path) {
        Ok(sources) if sources.files().next().is_none() => {
            Err(unreadable(format!("no .ordo files in {}", path.display())))
        }
        Ok(sources) => Ok(sources),
        Err(e) => Err(unreadable(e.to_string())),
    }
}

/// A catalog that compiled, with its sources and its warnings: what orders
/// are planned with (the server compiles it once, and shares the model
/// between its requests: a clone copies the sources only).
#[derive(Debug, Clone)]
pub struct CompiledCatalog {
    pub sources: Sources,
    pub catalog: Arc<Catalog>,
    pub warnings: Diagnostics,
}

/// Compiles the catalog; its errors are a [`LifecycleError::Invalid`].
pub fn compile_catalog(sources: Sources) -> Result<CompiledCatalog, LifecycleError> {
    let (catalog, diags) = compile(&sources);
    match catalog {
        Some(catalog) => Ok(CompiledCatalog {
            sources,
            catalog: Arc::new(catalog),
            warnings: diags,
        }),
        None => Err(LifecycleError::Invalid { diags, sources }),
    }
}

/// An order decomposed into its plan.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    /// The catalog's sources and the order's.
    pub sources: Sources,
    /// The order document in `sources`.
    pub file: FileId,
    /// The order as given, as JSON (a TMF622 ProductOrder in ordo's order
    /// shape): what the store keeps with the plan.
    pub document: serde_json::Value,
    /// The catalog's and the order's warnings (none stopped it).
    pub warnings: Diagnostics,
}

impl Planned {
    /// The order as given, as JSON: what the store keeps with the plan.
    pub fn document(&self) -> serde_json::Value {
        self.document.clone()
    }
}

/// Compiles the catalog at `catalog`, reads the order file and decomposes
/// it against the installed base in the store at `state` (read-only).
pub fn plan_order_file(
    catalog: &Path,
    order: &Path,
    state: &Location,
) -> Result<Planned, LifecycleError> {
    let compiled = compile_catalog(load_catalog(catalog)?)?;
    let text = std::fs::read_to_string(order).map_err(|e| {
        LifecycleError::Io(format!("cannot read the order {}: {e}", order.display()))
    })?;
    let model = Arc::clone(&compiled.catalog);
    plan_order_text(compiled, order, text, |doc| {
        installed_base(state, &model, doc)
    })
}

/// Decomposes the order document `text` (YAML or JSON; `name` is where its
/// positions point) with a compiled catalog; `base` gives the instances
/// the order names. Its errors, with the catalog's warnings, are a
/// [`LifecycleError::Invalid`], sorted.
pub fn plan_order_text(
    compiled: CompiledCatalog,
    name: &Path,
    text: String,
    base: impl FnOnce(&OrderDoc) -> Result<InstalledBase, LifecycleError>,
) -> Result<Planned, LifecycleError> {
    // A TMF622 ProductOrder file is named after the file: the CLI assigns
    // no ids.
    let id = name
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| crate::order::valid_order_id(s))
        .unwrap_or_else(|| "product-order".to_string());
    let read = |catalog: &Catalog, file, source: &SourceFile| {
        read_any_order(catalog, file, source, &id).map(|(doc, kept)| (doc, kept, ()))
    };
    plan_with(compiled, name, text, base, read).map(|(planned, ())| planned)
}

/// Decomposes a TMF622 ProductOrder body (JSON; `name` is where its
/// positions point) as the order `id`, which the server assigns; also gives
/// what TMF622 keeps beside the order. A body that is not a ProductOrder
/// (no `productOrderItem`) is one of its errors.
pub fn plan_product_order(
    compiled: CompiledCatalog,
    name: &Path,
    id: &str,
    text: String,
    base: impl FnOnce(&OrderDoc) -> Result<InstalledBase, LifecycleError>,
) -> Result<(Planned, ProductOrderRequest), LifecycleError> {
    let read = |catalog: &Catalog, file, source: &SourceFile| {
        let request = read_product_order(catalog, file, source, id)?;
        let document = request.order.to_json();
        Ok((request.order.clone(), document, request))
    };
    plan_with(compiled, name, text, base, read)
}

/// The one planning pipeline: `read` turns the order document into ordo's
/// order (and what to keep with it), which is decomposed against the
/// installed base.
fn plan_with<X>(
    compiled: CompiledCatalog,
    name: &Path,
    text: String,
    base: impl FnOnce(&OrderDoc) -> Result<InstalledBase, LifecycleError>,
    read: impl FnOnce(
        &Catalog,
        FileId,
        &SourceFile,
    ) -> Result<(OrderDoc, serde_json::Value, X), Diagnostics>,
) -> Result<(Planned, X), LifecycleError> {
    let CompiledCatalog {
        mut sources,
        catalog,
        warnings,
    } = compiled;
    let file = sources.add(SourceFile::new(name, text));
    let mut all = warnings;
    let (doc, document, extra) = match read(&catalog, file, sources.get(file)) {
        Ok(read) => read,
        Err(errors) => return Err(invalid(all, errors, sources)),
    };
    match decompose_on(&catalog, &doc, &base(&doc)?) {
        Ok((plan, warnings)) => {
            all.extend(warnings);
            let planned = Planned {
                plan,
                sources,
                file,
                document,
                warnings: all,
            };
            Ok((planned, extra))
        }
        Err(errors) => Err(invalid(all, errors, sources)),
    }
}

/// The catalog's warnings and the order's errors, sorted.
fn invalid(mut all: Diagnostics, errors: Diagnostics, sources: Sources) -> LifecycleError {
    all.extend(errors);
    let mut diags = Diagnostics { list: all.list };
    diags.sort();
    LifecycleError::Invalid { diags, sources }
}

/// The instances the order names, from the state folder read-only (none
/// when nothing was ever stored there).
fn installed_base(
    state: &Location,
    catalog: &Catalog,
    order: &OrderDoc,
) -> Result<InstalledBase, LifecycleError> {
    let store = match crate::store::open_read_only(state) {
        Ok(Some(store)) => store,
        // Nothing stored, or a schema from before the installed base (which
        // `ordo run` upgrades when it opens the folder to write): no instances.
        Ok(None) | Err(StoreError::NeedsUpgrade { .. } | StoreError::PgNeedsUpgrade { .. }) => {
            return Ok(InstalledBase::default())
        }
        Err(e) => return Err(e.into()),
    };
    Ok(InstalledBase::for_order_in(&*store, catalog, order)?)
}

/// Reads a bindings file into what the store keeps; without one, every
/// action is simulated.
pub fn read_bindings(path: Option<&Path>) -> Result<BindingsRecord, LifecycleError> {
    BindingsRecord::read_or_simulate(path).map_err(LifecycleError::Bindings)
}

/// The bindings of `record`, checked against `plan` before anything runs
/// (`docs/execution.md`, "Checked before anything runs"): every mistake in
/// them, and every reason they cannot run this plan, is a
/// [`LifecycleError::Invalid`].
pub fn checked_bindings(record: &BindingsRecord, plan: &Plan) -> Result<Bindings, LifecycleError> {
    let mut sources = Sources::new();
    let bindings = match Bindings::from_record(record, &mut sources) {
        Ok(b) => b,
        Err(BindingsError::Invalid(diags)) => {
            return Err(LifecycleError::Invalid { diags, sources })
        }
        Err(e) => return Err(LifecycleError::Bindings(e)),
    };
    let diags = bindings.check(plan);
    if diags.has_errors() {
        return Err(LifecycleError::Invalid { diags, sources });
    }
    Ok(bindings)
}

/// Stores a planned order (`acknowledged`, every task `pending`) with its
/// document and the bindings it runs with. Check the bindings against the
/// plan first ([`checked_bindings`]): a mistake found once tasks run would
/// come after their side effects.
pub fn submit(
    store: &dyn Store,
    planned: &Planned,
    record: &BindingsRecord,
) -> Result<OrderStatus, LifecycleError> {
    Ok(store.create_bound_order(&planned.plan, &planned.document(), Some(record))?)
}
