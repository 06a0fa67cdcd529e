//! `ordo revise` and `ordo plan --revise`: amend an order in flight with its
//! revised document (`docs/revisions.md`). The rules live in
//! [`crate::lifecycle::revise`]; this file plans, calls and prints.

use super::execute::{checked_bindings, execute_durable, Durable};
use super::order::plan_order_file;
use super::state::{bindings_for, check_order_id, events_log, open_for, store_error};
use super::{write_stdout, Exit, PlanArgs, PlanFormat, ReviseArgs};
use crate::exec::{summary_with, ExecOptions, Progress, SummaryOptions, Tee};
use crate::lifecycle::revise::{apply_pending, preview, request, Applied, Apply, ReviseError};
use crate::plan::render;
use crate::plan::Plan;
use crate::render::{sanitize, Format};
use crate::store::{SqliteStore, Store, StoreError};

pub(crate) fn revise(args: &ReviseArgs) -> Exit {
    if let Err(exit) = check_order_id(&args.order_id) {
        return exit;
    }
    let json = args.format == Format::Json;
    let (plan, sources, file) =
        match plan_order_file(&args.catalog.path, &args.order, &args.state.path, json) {
            Ok(p) => p,
            Err(exit) => return exit,
        };
    let store = match open_for(&args.state.path, &args.order_id) {
        Ok(s) => s,
        Err(exit) => return exit,
    };
    let stored = match store.load(&args.order_id) {
        Ok(s) => s,
        Err(e) => return store_error(e),
    };
    let (record, fresh) = match bindings_for(&args.state.path, &stored, args.bindings.as_deref()) {
        Ok(found) => found,
        Err(exit) => return exit,
    };
    // Checked against the revised plan before it is stored: its new tasks
    // may call actions the running version did not.
    let bindings = match checked_bindings(&record, &plan, args.format) {
        Ok(b) => b,
        Err(exit) => return exit,
    };
    let document = crate::yaml::parse(file, sources.get(file))
        .map(|n| n.to_json())
        .unwrap_or_default();
    let version = match request(&store, &stored, &plan, &document, false) {
        Ok(v) => v,
        Err(e) => return revise_error(e),
    };
    let lock = match store.acquire_runner(&stored.id) {
        Ok(lock) => lock,
        Err(StoreError::Locked { holder, .. }) => {
            println!(
                "revision to version {version} requested: the runner of order {} (pid {} on {}) \
                 starts no new task, lets running ones finish and switches; `ordo status {}` shows \
                 the revision",
                stored.id, holder.pid, holder.host, stored.id
            );
            return Exit::Success;
        }
        Err(e) => return store_error(e),
    };
    if fresh {
        if let Err(e) = store.set_bindings(&stored.id, &record) {
            return store_error(e);
        }
    }
    if !args.quiet {
        eprintln!(
            "revision to version {version} stored; no process runs order {}: applying it here",
            stored.id
        );
    }
    execute_durable(Durable {
        store: &store,
        lock: &lock,
        state: &args.state.path,
        plan: &stored.plan,
        bindings: &bindings,
        jobs: args.jobs.n,
        quiet: args.quiet,
        failures: args.failures,
    })
}

/// Applies the order's waiting revision, if any, for the holder of its lock
/// (`ordo revise`, `ordo resume`, and a run that stopped for one): its
/// undos, recorded in the store and the events log, then the switch.
pub(crate) fn apply_waiting(d: &Durable<'_>, base: &ExecOptions) -> Result<(), Exit> {
    let order = d.lock.order();
    match d.store.pending_revision(order) {
        Ok(None) => return Ok(()),
        Ok(Some(_)) => {}
        Err(e) => return Err(store_error(e)),
    }
    let stored = d.store.load(order).map_err(store_error)?;
    let events = events_log(d.state, &stored.plan)?;
    let durable = d.store.journal(d.lock).map_err(store_error)?;
    let mut progress = Progress::new(&stored.plan, d.quiet);
    let apply = Apply {
        store: d.store,
        lock: d.lock,
        bindings: d.bindings,
        options: base.clone(),
    };
    let applied = apply_pending(&apply, &mut Tee(durable, events), &mut |e| {
        progress.observe(e)
    });
    match applied {
        Ok(Applied::Nothing) => Ok(()),
        Ok(Applied::Switched(delta)) => {
            let c = delta.counts();
            if !d.quiet {
                eprintln!(
                    "order {order} revised to version {}: {} kept, {} redone, {} undone, {} added",
                    delta.to, c.kept, c.redone, c.undone, c.added
                );
            }
            Ok(())
        }
        Ok(Applied::Refused(e)) => {
            eprintln!("warning: the revision was not applied: {e}");
            Ok(())
        }
        Ok(Applied::Held(outcome)) => {
            let options = SummaryOptions {
                failures: d.failures,
                color: super::render_options(&std::io::stdout()).color,
            };
            write_stdout(&summary_with(&stored.plan, &outcome, &options));
            Err(Exit::Failure)
        }
        Err(e) => Err(revise_error(e)),
    }
}

/// `ordo plan --revise ID ORDER`: the delta against the stored order,
/// changing nothing (the store is opened read-only).
pub(crate) fn plan_revision(args: &PlanArgs, order: &str, plan: &Plan) -> Exit {
    if let Err(exit) = check_order_id(order) {
        return exit;
    }
    let store = match SqliteStore::open_read_only(&args.state.path) {
        Ok(Some(s)) => s,
        Ok(None) => {
            return store_error(StoreError::NoSuchOrder {
                order: order.to_string(),
            })
        }
        Err(e) => return store_error(e),
    };
    let stored = match store.load(order) {
        Ok(s) => s,
        Err(e) => return store_error(e),
    };
    if plan.order != stored.id {
        return revise_error(ReviseError::OtherOrder {
            order: stored.id,
            revised: plan.order.clone(),
        });
    }
    let delta = preview(&stored, plan);
    match args.format {
        PlanFormat::Json => write_stdout(&render::json_revised(plan, &delta)),
        PlanFormat::Text => write_stdout(&sanitize(&render::revision_text(&delta))),
        PlanFormat::Dot | PlanFormat::Mermaid => {
            eprintln!("error: `ordo plan --revise` prints text or json");
            return Exit::Error;
        }
    }
    Exit::Success
}

/// A revision error as a message with its code, and its exit status.
fn revise_error(e: ReviseError) -> Exit {
    match e {
        ReviseError::Store(e) => store_error(e),
        ReviseError::Exec(e) => {
            eprintln!("error: {e}");
            Exit::Error
        }
        e @ ReviseError::OtherOrder { .. } => {
            match miette::Diagnostic::code(&e) {
                Some(code) => eprintln!("error[{code}]: {e}"),
                None => eprintln!("error: {e}"),
            }
            Exit::Failure
        }
    }
}
