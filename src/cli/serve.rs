//! `ordo serve`: the resident engine and its HTTP API (`docs/server.md`).

use std::time::Duration;

use super::outcome::fail;
use super::{Exit, ServeArgs};
use crate::lifecycle::EventsLog;
use crate::render::Format;
use crate::server::{serve as run_server, ServeError, ServeOptions};

pub(crate) fn serve(args: &ServeArgs) -> Exit {
    let store = match args.state.location() {
        Ok(at) => at,
        Err(e) => return fail(e, Format::Human),
    };
    let options = ServeOptions {
        listen: args.listen,
        state: args.state.path.clone(),
        store,
        catalog: args.catalog.path.clone(),
        bindings: args.bindings.clone(),
        jobs: args.jobs.n,
        events_log: if args.events_log {
            EventsLog::PerOrder
        } else {
            EventsLog::Off
        },
        token_file: args.token_file.clone(),
        grace: Duration::from_secs(args.grace),
    };
    match run_server(options) {
        Ok(()) => Exit::Success,
        Err(ServeError::Lifecycle(e)) => fail(e, Format::Human),
        Err(e) => {
            eprintln!("error: {e}");
            Exit::Error
        }
    }
}
