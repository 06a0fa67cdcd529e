//! The state folder is never destroyed, and never falsely refused, through
//! the real binary: a WAL beside a missing database, processes starting
//! together on a fresh folder, read commands that write nothing, damage
//! found before the first write, and ids that could not name their files.

mod durable_support;

use std::path::Path;

use durable_support::*;

/// `ordo run` of an order written as `yaml` in the lab, to its end.
fn run_yaml(lab: &Lab, name: &str, yaml: &str) -> Out {
    let path = lab.root.join(name);
    std::fs::write(&path, yaml).unwrap();
    lab.ordo("run", &lab.run_args(&path))
}

fn line_order(id: &str, item_ids: [&str; 2]) -> String {
    let [a, b] = item_ids;
    format!(
        "id: {id}\ncustomer: {{ id: C-9, email: c9@example.com }}\nitems:\n  - id: {a}\n    action: add\n    product: Line\n    attributes: {{ ms: 1 }}\n  - id: {b}\n    action: add\n    product: Line\n    attributes: {{ ms: 1 }}\n"
    )
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                found.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    found.sort();
    found
}

/// Asserts that `out` exited with `code` and said each of `needles`.
fn assert_says(out: &Out, code: i32, needles: &[&str], ctx: &str) {
    assert_eq!(out.code, Some(code), "{ctx}\n{}", out.show());
    for needle in needles {
        assert!(
            out.stderr.contains(needle),
            "{needle:?}: {ctx}\n{}",
            out.show()
        );
    }
}

#[test]
fn an_empty_order_id_is_an_order_error_with_its_position() {
    let lab = Lab::new();
    let out = run_yaml(&lab, "empty.yaml", &line_order("\"\"", ["\"1\"", "\"2\""]));
    let says = [
        "ordo::order::syntax",
        "the order id is empty",
        "empty.yaml:1:5",
    ];
    assert_says(&out, 1, &says, "id: \"\"");
    assert_eq!(files_under(&lab.state), Vec::<String>::new());
}

#[test]
fn empty_item_ids_and_ids_with_control_characters_are_order_errors() {
    let lab = Lab::new();
    let items = ["\"\"", "\"a\\nb\""];
    let out = run_yaml(&lab, "items.yaml", &line_order("ORD-ITEMS", items));
    let says = [
        "items[0].id: an item id cannot be empty",
        "items.yaml:4:9",
        "items[1].id: an item id cannot contain control characters",
        "items.yaml:8:9",
    ];
    assert_says(&out, 1, &says, "item ids");
    assert_eq!(files_under(&lab.state), Vec::<String>::new());
}

/// How many processes start together on one fresh folder, and how often.
const TOGETHER: usize = 12;
const ROUNDS: usize = 25;

#[test]
fn processes_starting_together_on_a_fresh_folder_are_not_refused() {
    let lab = Lab::new();
    for round in 0..ROUNDS {
        let state = lab.root.join(format!("state-{round}"));
        let mut started = Vec::new();
        for n in 0..TOGETHER {
            let args: Vec<std::ffi::OsString> = if n % 3 == 2 {
                vec!["status".into()]
            } else {
                let id = format!("ORD-R{round}N{n}");
                let order = lab.line_order(&id, 1);
                vec![
                    "run".into(),
                    "--catalog".into(),
                    lab.catalog.clone().into(),
                    order.into(),
                    "--quiet".into(),
                ]
            };
            started.push(lab.start(lab.command_in(&state, "together", &args)));
        }
        for (n, process) in started.into_iter().enumerate() {
            let out = process.finish();
            assert_eq!(
                out.code,
                Some(0),
                "round {round}, process {n} was refused:\n{}",
                out.show()
            );
        }
        let out = lab
            .start(lab.command_in(&state, "status", &["status", "--format", "json"]))
            .finish();
        assert_eq!(out.code, Some(0), "{}", out.show());
        let list: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(
            list.as_array().unwrap().len(),
            TOGETHER - TOGETHER / 3,
            "{}",
            out.show()
        );
    }
}

const HELD: &str = "ORD-HELD";

/// `ordo run` killed while its first task is held at the plugin's gate: the
/// order lives only in the write-ahead log (nothing was checkpointed), the
/// runner's lock is left behind, and the order is `in_progress`.
fn killed_run(lab: &Lab) {
    let order = lab.line_order(HELD, 1);
    lab.hold("1/probe");
    let mut run = lab.spawn_run("run", &order);
    lab.wait_for("1/probe to start", |calls| {
        calls.iter().any(|c| c.task == "1/probe" && c.is_start())
    });
    run.kill9();
    lab.release("1/probe");
    lab.settle();
    let wal = lab.state.join("ordo.db-wal");
    assert!(
        std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0),
        "the killed run left no WAL: {:?}",
        files_under(&lab.state)
    );
}

/// The state folder's files and their bytes, but for SQLite's shared-memory
/// index (`-shm`), which readers write to by design and which holds no state.
fn snapshot(state: &Path) -> Vec<(String, Vec<u8>)> {
    files_under(state)
        .into_iter()
        .filter(|f| !f.ends_with("-shm"))
        .map(|f| {
            let bytes = std::fs::read(state.join(&f)).unwrap();
            (f, bytes)
        })
        .collect()
}

fn assert_unchanged(state: &Path, before: &[(String, Vec<u8>)], what: &str) {
    let after = snapshot(state);
    let names = |s: &[(String, Vec<u8>)]| s.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>();
    assert_eq!(names(&after), names(before), "{what}: files came or went");
    for ((f, a), (_, b)) in after.iter().zip(before) {
        assert!(a == b, "{what} changed {f}");
    }
}

#[test]
fn a_missing_or_emptied_database_beside_its_wal_is_refused_and_the_wal_kept() {
    let lab = Lab::new();
    killed_run(&lab);
    let db = lab.state.join("ordo.db");
    let order = lab.root.join(format!("{HELD}.yaml"));
    for damage in ["deleted", "truncated"] {
        match damage {
            "deleted" => std::fs::remove_file(&db).unwrap(),
            _ => std::fs::write(&db, b"").unwrap(),
        }
        let before = snapshot(&lab.state);
        let commands: Vec<Vec<std::ffi::OsString>> = vec![
            vec!["status".into()],
            vec!["status".into(), HELD.into()],
            vec!["resume".into(), HELD.into()],
            vec!["cancel".into(), HELD.into()],
            lab.run_args(&order),
        ];
        for args in &commands {
            let out = lab.ordo(damage, args);
            let ctx = format!("ordo.db {damage}, `ordo {:?}`", args[0]);
            let says = [
                "ordo::store::journal_without_database",
                "ordo.db-wal",
                "restore",
            ];
            assert_says(&out, 2, &says, &ctx);
            assert_unchanged(&lab.state, &before, &ctx);
        }
    }
}

#[test]
fn status_writes_nothing_and_leaves_a_damaged_wal_as_it_found_it() {
    let lab = Lab::new();
    killed_run(&lab);
    // A torn last frame, as a crash in the middle of a write leaves it.
    let wal = lab.state.join("ordo.db-wal");
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes.extend(std::iter::repeat_n(0x5a, 1000));
    std::fs::write(&wal, &bytes).unwrap();
    let before = snapshot(&lab.state);
    let list = lab.ordo("status", &["status"]);
    assert_eq!(list.code, Some(0), "{}", list.show());
    assert!(list.stdout.contains(HELD), "{}", list.show());
    let one = lab.status(HELD);
    assert_eq!(one["state"], "in_progress", "{one:#}");
    assert_unchanged(&lab.state, &before, "ordo status");
}

#[test]
fn status_of_a_folder_without_a_database_creates_nothing() {
    let lab = Lab::new();
    std::fs::create_dir(&lab.state).unwrap();
    let out = lab.ordo("status", &["status"]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (Some(0), "no orders\n"),
        "{}",
        out.show()
    );
    let out = lab.ordo("status", &["status", "ORD-1"]);
    assert_eq!(out.code, Some(2), "{}", out.show());
    assert_eq!(files_under(&lab.state), Vec::<String>::new());
}

/// Opens the state database in this process, changes it, and closes it
/// again (checkpointing, so no WAL is left).
fn tamper(state: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(state.join("ordo.db")).unwrap();
    conn.execute_batch(sql).unwrap();
    drop(conn);
    assert!(!state.join("ordo.db-wal").exists());
}

/// `ordo resume` and `ordo cancel` of the held order are refused as damaged,
/// and the state folder is as it was.
fn refused_as_damaged_writing_nothing(lab: &Lab) {
    let before = snapshot(&lab.state);
    for command in ["resume", "cancel"] {
        let out = lab.ordo(command, &[command, HELD]);
        let ctx = format!("ordo {command}:\n{}", out.show());
        assert_unchanged(&lab.state, &before, &ctx);
        assert_says(&out, 2, &["ordo::store::corrupt"], &ctx);
    }
}

#[test]
fn resume_and_cancel_refuse_a_damaged_order_before_writing() {
    let lab = Lab::new();
    killed_run(&lab);
    tamper(
        &lab.state,
        &format!("UPDATE order_plans SET plan = '{{\"order\": ' WHERE order_id = '{HELD}'"),
    );
    refused_as_damaged_writing_nothing(&lab);
}

#[test]
fn resume_and_cancel_refuse_a_damaged_database_before_writing() {
    let lab = Lab::new();
    killed_run(&lab);
    tamper(&lab.state, "PRAGMA wal_checkpoint(TRUNCATE)");
    // Garbage over the database's last page, where the task rows are.
    let db = lab.state.join("ordo.db");
    let mut bytes = std::fs::read(&db).unwrap();
    let page = 4096;
    assert!(bytes.len() >= 3 * page, "{} bytes", bytes.len());
    let at = bytes.len() - page;
    for (i, b) in bytes[at..].iter_mut().enumerate() {
        *b = (i * 7919 % 251) as u8;
    }
    std::fs::write(&db, &bytes).unwrap();
    refused_as_damaged_writing_nothing(&lab);
}

/// `ordo ARGS` as a user who may not write to the lab: `nobody` through
/// `setpriv` when the tests run as root (whom permissions do not stop),
/// else the user running the tests.
fn as_reader(lab: &Lab, args: &[&str]) -> Out {
    use std::process::Command;
    // SAFETY: geteuid has no preconditions.
    let mut cmd = if unsafe { libc::geteuid() } == 0 {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_ordo"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_ordo"))
    };
    cmd.args(args)
        .arg("--state")
        .arg(&lab.state)
        .current_dir("/")
        .env_remove("ORDO_STATE")
        .env("NO_COLOR", "1");
    lab.start(cmd).finish()
}

#[test]
fn status_reads_a_state_folder_it_may_not_write_to() {
    use std::os::unix::fs::PermissionsExt;
    let lab = Lab::new();
    let order = lab.line_order("ORD-RO", 1);
    let run = lab.ordo(
        "run",
        &[
            "run".as_ref(),
            "--catalog".as_ref(),
            lab.catalog.as_os_str(),
            order.as_os_str(),
            "--quiet".as_ref(),
        ],
    );
    assert_eq!(run.code, Some(0), "{}", run.show());
    let mode = |path: &Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    mode(&lab.root, 0o755);
    mode(&lab.state.join("ordo.db"), 0o444);
    mode(&lab.state, 0o555);
    let before = snapshot(&lab.state);
    let list = as_reader(&lab, &["status"]);
    let one = as_reader(&lab, &["status", "ORD-RO", "--format", "json"]);
    mode(&lab.state, 0o755);
    assert_eq!(list.code, Some(0), "{}", list.show());
    assert!(list.stdout.contains("ORD-RO"), "{}", list.show());
    assert_eq!(one.code, Some(0), "{}", one.show());
    assert!(one.stdout.contains("\"completed\""), "{}", one.show());
    assert_unchanged(&lab.state, &before, "ordo status");
}
