//! How the commands that call the lifecycle render its results: errors as
//! messages and exit statuses, warnings, the progress and the summary.

use std::path::Path;

use super::{print_diagnostics, write_stdout, Exit};
use crate::exec::{summary_with, OrderState, Progress, SummaryOptions};
use crate::lifecycle::{self, store_conflict, Advance, Advanced, LifecycleError, Planned};
use crate::render::Format;
use crate::source::Sources;
use crate::store::StoreError;

/// Prints a lifecycle error (diagnostics in `format`) and gives the exit
/// status: 1 when the catalog, the order or the bindings are invalid or the
/// order is not in a state for this, 2 for usage and I/O errors.
pub(crate) fn fail(e: LifecycleError, format: Format) -> Exit {
    match e {
        LifecycleError::Store(e) => store_error(e),
        LifecycleError::Catalog(d) => {
            match format {
                Format::Human => eprintln!("error: {}", d.message),
                Format::Json | Format::Github => {
                    print_diagnostics(&(*d).into(), &Sources::new(), format);
                }
            }
            Exit::Error
        }
        LifecycleError::Invalid { diags, sources } => {
            print_diagnostics(&diags, &sources, format);
            Exit::Failure
        }
        LifecycleError::Unrunnable(e) => {
            eprintln!("error: {e}");
            Exit::Failure
        }
        other => {
            eprintln!("error: {other}");
            Exit::Error
        }
    }
}

/// A store error as a message with its code and an exit status: 1 when the
/// order is not in a state to do this, 2 for everything else (usage and I/O).
pub(crate) fn store_error(e: StoreError) -> Exit {
    match miette::Diagnostic::code(&e) {
        Some(code) => eprintln!("error[{code}]: {e}"),
        None => eprintln!("error: {e}"),
    }
    if store_conflict(&e) {
        Exit::Failure
    } else {
        Exit::Error
    }
}

/// Plans the order file; diagnostics that stop it are printed (JSON on
/// stdout when `json`), and so are warnings in the human format. A catalog
/// that cannot be read is reported in the human format.
pub(crate) fn plan_order(
    catalog: &Path,
    order: &Path,
    state: &super::StateDir,
    json: bool,
) -> Result<Planned, Exit> {
    let format = if json { Format::Json } else { Format::Human };
    let location = state.location().map_err(|e| fail(e, Format::Human))?;
    match lifecycle::plan_order_file(catalog, order, &location) {
        Ok(planned) => {
            if !planned.warnings.is_empty() && !json {
                print_diagnostics(&planned.warnings, &planned.sources, format);
            }
            Ok(planned)
        }
        Err(e @ LifecycleError::Catalog(_)) => Err(fail(e, Format::Human)),
        Err(e) => Err(fail(e, format)),
    }
}

/// How `run`, `resume` and `cancel` show an advance.
pub(crate) struct Shown {
    pub quiet: bool,
    /// Only the tasks that need a look in the summary (`--failures`).
    pub failures: bool,
}

/// Advances the order with a progress display, prints the summary, and
/// gives the exit status: 0 when the order completed, 1 otherwise.
pub(crate) fn execute(a: Advance<'_>, shown: &Shown) -> Exit {
    let (plan, store, order) = (a.plan, a.store, a.lock.order().to_string());
    let mut progress = Progress::new(plan, shown.quiet);
    progress.resuming(a.initial);
    let advanced = match lifecycle::advance(a, &mut |event| progress.observe(event)) {
        Ok(advanced) => advanced,
        Err(e) => return fail(e, Format::Human),
    };
    let outcome = advanced.outcome();
    // A revision switched the order to another version: its plan.
    let revised = (outcome.tasks.len() != plan.tasks.len()
        || outcome
            .tasks
            .iter()
            .zip(&plan.tasks)
            .any(|(o, t)| o.id != t.id))
    .then(|| store.load(&order).ok().map(|s| s.plan))
    .flatten();
    let plan = revised.as_ref().unwrap_or(plan);
    let options = SummaryOptions {
        failures: shown.failures,
        color: super::render_options(&std::io::stdout()).color,
    };
    write_stdout(&summary_with(plan, outcome, &options));
    // A parked order (in progress, waiting) is not a failure.
    if matches!(advanced, Advanced::Parked { .. }) || outcome.state == OrderState::Completed {
        Exit::Success
    } else {
        Exit::Failure
    }
}
