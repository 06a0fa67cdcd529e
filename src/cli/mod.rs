//! The command line of SPEC §7: clap definitions of every command here, one
//! file per command for what it does. The CLI only wires library stages
//! together and renders their results; it decides what the library leaves to
//! the caller (streams, colour, exit status).

mod cancel;
mod check;
mod fmt;
mod inventory;
mod outcome;
mod plan;
mod quote;
mod resume;
mod revise;
mod run;
mod serve;
mod status;
pub mod task;
pub mod tasks;
mod test;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::compile::compile;
use crate::diagnostic::Diagnostics;
use crate::model::Catalog;
use crate::render::{self, Format, RenderOptions};
use crate::source::Sources;

/// Runs the command line of this process and returns its exit status.
pub fn run() -> ExitCode {
    run_from(std::env::args_os()).into()
}

/// Runs a command line given as arguments (the first is the program name).
pub fn run_from<I, T>(args: I) -> Exit
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout and succeed; usage errors exit 2.
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Error
            } else {
                Exit::Success
            };
        }
    };
    match &cli.command {
        Command::Check(args) => check::check(args),
        Command::Plan(args) => plan::plan(args),
        Command::Quote(args) => quote::quote(args),
        Command::Run(args) => run::run(args),
        Command::Status(args) => status::status(args),
        Command::Inventory(args) => inventory::inventory(args),
        Command::Resume(args) => resume::resume(args),
        Command::Cancel(args) => cancel::cancel(args),
        Command::Revise(args) => revise::revise(args),
        Command::Test(args) => test::test(args),
        Command::Fmt(args) => fmt::fmt(args),
        Command::Serve(args) => serve::serve(args),
        Command::Tasks(args) => tasks::tasks(args),
        Command::Task(args) => task::task(args),
    }
}

/// The exit status of SPEC §7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success (warnings never change it).
    Success = 0,
    /// 1: the catalog or order is invalid, or the order did not complete.
    Failure = 1,
    /// 2: a usage or I/O error.
    Error = 2,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> ExitCode {
        ExitCode::from(exit as u8)
    }
}

#[derive(Debug, Parser)]
#[command(name = "ordo", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile the catalog and report every error and warning.
    Check(CheckArgs),
    /// Decompose an order into its task plan.
    Plan(PlanArgs),
    /// Price an order and show its SLA terms.
    Quote(QuoteArgs),
    /// Plan an order and execute it.
    Run(RunArgs),
    /// Show the state of one order, or list the orders.
    Status(StatusArgs),
    /// List the installed base (product instances), or show one instance.
    Inventory(InventoryArgs),
    /// Continue an interrupted or held order with its stored plan.
    Resume(ResumeArgs),
    /// Cancel an order, compensating the tasks it has done.
    Cancel(CancelArgs),
    /// Amend an order in flight with its revised document.
    Revise(ReviseArgs),
    /// Run the catalog's tests (CATALOG/tests/*.yaml).
    Test(TestArgs),
    /// Format .ordo files in the canonical layout.
    Fmt(FmtArgs),
    /// Run the engine and the HTTP API over the state folder's orders.
    Serve(ServeArgs),
    /// List work items: the manual tasks people do.
    Tasks(tasks::TasksArgs),
    /// Claim, release, complete or fail a work item.
    Task(task::TaskArgs),
}

/// `--catalog DIR`.
#[derive(Debug, Args)]
pub struct CatalogDir {
    /// The catalog: a folder of .ordo files, or one file.
    #[arg(
        id = "catalog",
        long = "catalog",
        value_name = "DIR",
        default_value = "catalog",
        env = "ORDO_CATALOG"
    )]
    pub path: PathBuf,
}

/// `--jobs N`.
#[derive(Debug, Args)]
pub struct Jobs {
    /// Most tasks running at once [default: 4 per CPU].
    #[arg(
        id = "jobs",
        long = "jobs",
        value_name = "N",
        default_value_t = default_jobs(),
        hide_default_value = true,
        value_parser = parse_jobs
    )]
    pub n: usize,
}

/// `--state DIR` and `--store URL`.
#[derive(Debug, Args)]
pub struct StateDir {
    /// Where order state is kept.
    #[arg(
        id = "state",
        long = "state",
        value_name = "DIR",
        default_value = ".ordo",
        env = "ORDO_STATE"
    )]
    pub path: PathBuf,
    /// The store holding the orders, instead of the state folder's:
    /// `postgres://USER@HOST:PORT/DATABASE` or `sqlite:DIR`.
    #[arg(
        id = "store",
        long = "store",
        value_name = "URL",
        env = "ORDO_STORE",
        hide_env_values = true
    )]
    pub store: Option<String>,
}

impl StateDir {
    /// The store `--store` names, else the state folder's.
    pub fn location(&self) -> Result<crate::store::Location, crate::lifecycle::LifecycleError> {
        Ok(crate::store::Location::parse(
            self.store.as_deref(),
            &self.path,
        )?)
    }

    /// Opens the store for a reading command, writing nothing; `None` when
    /// nothing was ever stored there.
    pub fn reader(&self) -> Result<Option<Box<dyn crate::store::Store>>, crate::store::StoreError> {
        let location = crate::store::Location::parse(self.store.as_deref(), &self.path)?;
        crate::store::open_read_only(&location)
    }
}

/// `--deny warnings`.
#[derive(Debug, Args)]
pub struct Deny {
    /// `--deny warnings`: catalog warnings are errors (for CI).
    #[arg(id = "deny", long = "deny", value_name = "WHAT", value_enum)]
    pub what: Vec<Denied>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Denied {
    Warnings,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub catalog: CatalogDir,
    #[command(flatten)]
    pub deny: Deny,
    /// How to print diagnostics: human on stderr; json and github on stdout.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub catalog: CatalogDir,
    /// The order file (YAML or JSON).
    #[arg(value_name = "ORDER")]
    pub order: PathBuf,
    /// The state folder whose installed base `instance:` items name.
    #[command(flatten)]
    pub state: StateDir,
    #[arg(long, value_enum, default_value_t)]
    pub format: PlanFormat,
    /// Show what revising the stored order ORDER_ID with ORDER would keep,
    /// redo, undo and add, changing nothing (text or json).
    #[arg(long, value_name = "ORDER_ID")]
    pub revise: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum PlanFormat {
    #[default]
    Text,
    Json,
    /// Graphviz.
    Dot,
    Mermaid,
    /// A picture ordo lays out and draws itself.
    Svg,
    /// One self-contained page: the picture and a table of the tasks.
    Html,
}

#[derive(Debug, Args)]
pub struct QuoteArgs {
    #[command(flatten)]
    pub catalog: CatalogDir,
    /// The order file (YAML or JSON).
    #[arg(value_name = "ORDER")]
    pub order: PathBuf,
    /// The state folder whose installed base `instance:` items name.
    #[command(flatten)]
    pub state: StateDir,
    #[arg(long, value_enum, default_value_t)]
    pub format: QuoteFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum QuoteFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub catalog: CatalogDir,
    /// The order file (YAML or JSON).
    #[arg(value_name = "ORDER")]
    pub order: PathBuf,
    /// The bindings file mapping actions to implementations (default: simulate all).
    #[arg(long, value_name = "FILE")]
    pub bindings: Option<PathBuf>,
    #[command(flatten)]
    pub jobs: Jobs,
    #[command(flatten)]
    pub state: StateDir,
    /// How to print diagnostics (of the order, the catalog and the
    /// bindings): human on stderr; json and github on stdout.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// The summary lists only the tasks that need a look: failed, still
    /// running, or with an error.
    #[arg(long)]
    pub failures: bool,
    /// No progress on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Stay until the order ends, instead of exiting once it only waits
    /// (on work items, on dates).
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The order to show; without it, every order is listed.
    #[arg(value_name = "ORDER_ID")]
    pub order_id: Option<String>,
    #[command(flatten)]
    pub state: StateDir,
    #[arg(long, value_enum, default_value_t)]
    pub format: StatusFormat,
}

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// The instance to show (`ORD-1001/1`); without it, instances are listed.
    #[arg(value_name = "INSTANCE_ID")]
    pub instance_id: Option<String>,
    /// Only this customer's instances.
    #[arg(long, value_name = "ID")]
    pub customer: Option<String>,
    /// Only instances of this product.
    #[arg(long, value_name = "P")]
    pub product: Option<String>,
    /// Only instances in this status: `active` or `terminated`.
    #[arg(long, value_name = "S")]
    pub status: Option<String>,
    #[command(flatten)]
    pub state: StateDir,
    #[arg(long, value_enum, default_value_t)]
    pub format: StatusFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum StatusFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    #[arg(value_name = "ORDER_ID")]
    pub order_id: String,
    /// The bindings file [default: the one the order was run with].
    #[arg(long, value_name = "FILE")]
    pub bindings: Option<PathBuf>,
    #[command(flatten)]
    pub jobs: Jobs,
    #[command(flatten)]
    pub state: StateDir,
    /// How to print diagnostics (of the order, the catalog and the
    /// bindings): human on stderr; json and github on stdout.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// The summary lists only the tasks that need a look: failed, still
    /// running, or with an error.
    #[arg(long)]
    pub failures: bool,
    /// No progress on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// Stay until the order ends, instead of exiting once it only waits
    /// (on work items, on dates).
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct ReviseArgs {
    #[command(flatten)]
    pub catalog: CatalogDir,
    #[arg(value_name = "ORDER_ID")]
    pub order_id: String,
    /// The whole order as it should now be (YAML or JSON), same id.
    #[arg(value_name = "REVISED_ORDER")]
    pub order: PathBuf,
    /// The bindings file, when no process runs the order [default: the one
    /// the order was run with].
    #[arg(long, value_name = "FILE")]
    pub bindings: Option<PathBuf>,
    #[command(flatten)]
    pub jobs: Jobs,
    #[command(flatten)]
    pub state: StateDir,
    /// How to print diagnostics: human on stderr; json and github on stdout.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// The summary lists only the tasks that need a look.
    #[arg(long)]
    pub failures: bool,
    /// No progress on stderr.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    #[arg(value_name = "ORDER_ID")]
    pub order_id: String,
    /// The bindings file for the compensation, when no process runs the
    /// order [default: the one the order was run with].
    #[arg(long, value_name = "FILE")]
    pub bindings: Option<PathBuf>,
    #[command(flatten)]
    pub state: StateDir,
    /// The summary lists only the tasks that need a look: failed, still
    /// running, or with an error.
    #[arg(long)]
    pub failures: bool,
    /// No progress on stderr.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    #[command(flatten)]
    pub catalog: CatalogDir,
    /// Rewrite golden plan files instead of comparing with them.
    #[arg(long)]
    pub bless: bool,
    #[command(flatten)]
    pub deny: Deny,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (loopback unless you mean otherwise).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8622")]
    pub listen: std::net::SocketAddr,
    #[command(flatten)]
    pub state: StateDir,
    #[command(flatten)]
    pub catalog: CatalogDir,
    /// The bindings file submitted orders run with (default: simulate all).
    #[arg(long, value_name = "FILE")]
    pub bindings: Option<PathBuf>,
    /// Most attempts running at once, over every order [default: 4 per CPU].
    #[command(flatten)]
    pub jobs: Jobs,
    /// Also write each order's events log, STATE/events/ORDER.jsonl, as
    /// `ordo run` does (the store keeps every event either way).
    #[arg(long)]
    pub events_log: bool,
    /// A file holding the bearer token every request but /healthz needs.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Seconds running orders get to finish after SIGTERM or SIGINT.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub grace: u64,
}

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Files or folders to format.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Change nothing; list the files that would change and exit 1 if any.
    #[arg(long)]
    pub check: bool,
}

pub(crate) fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()) * 4
}

fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// Loads the catalog, or says why not on stderr (an I/O error: exit 2).
pub(crate) fn load_catalog(path: &Path) -> Result<Sources, Exit> {
    load_catalog_as(path, Format::Human)
}

/// [`load_catalog`], reporting a catalog that cannot be read in `format`:
/// a machine reading `--format json` gets JSON for this error too.
pub(crate) fn load_catalog_as(path: &Path, format: Format) -> Result<Sources, Exit> {
    crate::lifecycle::load_catalog(path).map_err(|e| outcome::fail(e, format))
}

/// A catalog compiled for a command that takes `--deny warnings`.
pub(crate) struct Compiled {
    /// None when it has errors, or warnings that were denied.
    pub catalog: Option<Catalog>,
    pub diags: Diagnostics,
    /// The catalog compiled, and only `--deny warnings` set it aside.
    pub only_warnings_denied: bool,
}

/// Compiles the catalog; under `--deny warnings` a warning is an error, and
/// then there is no catalog.
pub(crate) fn compile_catalog(sources: &Sources, deny: &Deny) -> Compiled {
    let (catalog, mut diags) = compile(sources);
    if deny.what.contains(&Denied::Warnings) && diags.warnings() > 0 {
        diags.deny_warnings();
        return Compiled {
            only_warnings_denied: catalog.is_some(),
            catalog: None,
            diags,
        };
    }
    Compiled {
        catalog,
        diags,
        only_warnings_denied: false,
    }
}

/// Prints diagnostics: the human format on stderr, machine formats on stdout.
pub(crate) fn print_diagnostics(diags: &Diagnostics, sources: &Sources, format: Format) {
    match format {
        Format::Human => {
            let opts = render_options(&std::io::stderr());
            write_stderr(&render::render(diags, sources, format, &opts));
        }
        Format::Json | Format::Github => {
            write_stdout(&render::render(
                diags,
                sources,
                format,
                &RenderOptions::default(),
            ));
        }
    }
}

/// Colour only on a terminal and never under `NO_COLOR` (no-color.org: set
/// and not empty); width from `COLUMNS` when the shell exports it.
pub(crate) fn render_options(stream: &impl IsTerminal) -> RenderOptions {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let width = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok())
        .filter(|&w: &usize| w >= 40)
        .unwrap_or(80);
    RenderOptions {
        color: !no_color && stream.is_terminal(),
        width,
    }
}

/// Writes to stdout; a closed pipe (`ordo … | head`) is not worth a panic.
pub(crate) fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Writes to stdout as `write` goes, through a buffer: for outputs too
/// large to hold as one text (the JSON of a plan of a million tasks). A
/// closed pipe ends it quietly, as for [`write_stdout`].
pub(crate) fn stream_stdout(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let _ = write(&mut out).and_then(|()| out.flush());
}

pub(crate) fn write_stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exit(args: &[&str]) -> Exit {
        run_from(std::iter::once("ordo").chain(args.iter().copied()))
    }

    #[test]
    fn definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_errors_exit_2() {
        assert_eq!(exit(&["check", "--frobnicate"]), Exit::Error);
        assert_eq!(exit(&["run", "o.yaml", "--jobs", "0"]), Exit::Error);
        assert_eq!(exit(&["check", "--format", "xml"]), Exit::Error);
    }

    #[test]
    fn defaults_follow_the_spec() {
        let Cli {
            command: Command::Run(run),
        } = Cli::try_parse_from(["ordo", "run", "o.yaml"]).unwrap()
        else {
            panic!("not run");
        };
        assert_eq!(run.jobs.n, default_jobs());
        assert!(run.jobs.n >= 4);
        // The environment variables, when a developer has them set, win.
        if std::env::var_os("ORDO_STATE").is_none() {
            assert_eq!(run.state.path, PathBuf::from(".ordo"));
        }
        if std::env::var_os("ORDO_CATALOG").is_none() {
            assert_eq!(run.catalog.path, PathBuf::from("catalog"));
        }
        assert!(run.bindings.is_none() && !run.quiet);
    }
}
