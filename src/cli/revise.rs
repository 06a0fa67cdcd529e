//! `ordo revise` and `ordo plan --revise`: amend an order in flight with its
//! revised document (`docs/revisions.md`). The rules live in
//! [`crate::lifecycle::revise`]; this file plans, calls and prints.

use super::outcome::{execute, fail, plan_order, store_error, Shown};
use super::{write_stdout, Exit, PlanArgs, PlanFormat, ReviseArgs};
use crate::exec::ExecOptions;
use crate::lifecycle::revise::{preview, request, ReviseError};
use crate::lifecycle::{self, Advance, EventsLog};
use crate::plan::render;
use crate::plan::Plan;
use crate::render::{sanitize, Format};
use crate::store::StoreError;

pub(crate) fn revise(args: &ReviseArgs) -> Exit {
    if let Err(e) = lifecycle::check_order_id(&args.order_id) {
        return fail(e, Format::Human);
    }
    let json = args.format == Format::Json;
    let planned = match plan_order(&args.catalog.path, &args.order, &args.state, json) {
        Ok(p) => p,
        Err(exit) => return exit,
    };
    let opened = args
        .state
        .location()
        .and_then(|at| lifecycle::open_for(&at, &args.order_id))
        .and_then(|store| {
            let stored = store.load(&args.order_id)?;
            Ok((store, stored))
        });
    let (store, stored) = match opened {
        Ok(o) => o,
        Err(e) => return fail(e, Format::Human),
    };
    let (record, fresh) =
        match lifecycle::bindings_for(&args.state.path, &stored, args.bindings.as_deref()) {
            Ok(found) => found,
            Err(e) => return fail(e, Format::Human),
        };
    // Checked against the revised plan before it is stored: its new tasks
    // may call actions the running version did not.
    let bindings = match lifecycle::checked_bindings(&record, &planned.plan) {
        Ok(b) => b,
        Err(e) => return fail(e, args.format),
    };
    let version = match request(&*store, &stored, &planned.plan, &planned.document(), false) {
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
    execute(
        Advance {
            store: &*store,
            lock: &lock,
            state: &args.state.path,
            events_log: EventsLog::PerOrder,
            plan: &stored.plan,
            initial: &stored.records,
            bindings: &bindings,
            options: ExecOptions {
                jobs: args.jobs.n,
                ..ExecOptions::default()
            },
            loaded: None,
        },
        &Shown {
            quiet: args.quiet,
            failures: args.failures,
        },
    )
}

/// `ordo plan --revise ID ORDER`: the delta against the stored order,
/// changing nothing (the store is opened read-only).
pub(crate) fn plan_revision(args: &PlanArgs, order: &str, plan: &Plan) -> Exit {
    if let Err(e) = lifecycle::check_order_id(order) {
        return fail(e, Format::Human);
    }
    let store = match args.state.reader() {
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
        PlanFormat::Dot | PlanFormat::Mermaid | PlanFormat::Svg | PlanFormat::Html => {
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
