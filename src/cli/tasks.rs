//! `ordo tasks`: the work items people can take, or (with `--all`) every one.

use clap::Args;

use super::outcome::store_error;
use super::status::table;
use super::{write_stdout, Exit, StateDir, StatusFormat};
use crate::store::{WorkFilter, WorkItem};

#[derive(Debug, Args)]
pub struct TasksArgs {
    /// Only the work items of this team.
    #[arg(long, value_name = "TEAM")]
    pub team: Option<String>,
    /// Only the work items claimed by this user.
    #[arg(long, value_name = "USER")]
    pub assignee: Option<String>,
    /// Also the done, failed and cancelled ones (default: open and claimed).
    #[arg(long)]
    pub all: bool,
    #[command(flatten)]
    pub state: StateDir,
    #[arg(long, value_enum, default_value_t)]
    pub format: StatusFormat,
}

pub(crate) fn tasks(args: &TasksArgs) -> Exit {
    let filter = WorkFilter {
        team: args.team.clone(),
        assignee: args.assignee.clone(),
        all: args.all,
    };
    let items = match args.state.reader() {
        Ok(Some(store)) => match store.work_items(&filter) {
            Ok(items) => items,
            Err(e) => return store_error(e),
        },
        // Nothing was ever stored here: no work, and nothing created.
        Ok(None) => Vec::new(),
        Err(e) => return store_error(e),
    };
    write_stdout(&match args.format {
        StatusFormat::Json => {
            let mut s = serde_json::to_string_pretty(&items).unwrap_or_default();
            s.push('\n');
            s
        }
        StatusFormat::Text => text(&items),
    });
    Exit::Success
}

fn text(items: &[WorkItem]) -> String {
    if items.is_empty() {
        return "no work items\n".into();
    }
    let mut rows = vec![[
        "ORDER", "TASK", "TEAM", "STATE", "ASSIGNEE", "READY", "DUE", "INPUTS", "OUTPUTS",
    ]
    .map(String::from)
    .to_vec()];
    for w in items {
        let due = match (&w.due_at, w.overdue) {
            (Some(d), true) => format!("{d} (overdue)"),
            (Some(d), false) => d.clone(),
            (None, _) => "-".into(),
        };
        let inputs = w
            .inputs
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}={s}"),
                other => format!("{k}={other}"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        let outputs = w
            .outputs
            .iter()
            .map(|o| format!("{}: {}", o.name, o.ty))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push(vec![
            w.order.clone(),
            w.task.clone(),
            w.team.clone(),
            w.state.as_str().into(),
            w.assignee.clone().unwrap_or_else(|| "-".into()),
            w.ready_at.clone(),
            due,
            inputs,
            outputs,
        ]);
    }
    table(&rows, super::render_options(&std::io::stdout()).color)
}
