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

#[test]
fn an_empty_order_id_is_an_order_error_with_its_position() {
    let lab = Lab::new();
    let out = run_yaml(&lab, "empty.yaml", &line_order("\"\"", ["\"1\"", "\"2\""]));
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(out.stderr.contains("ordo::order::syntax"), "{}", out.show());
    assert!(
        out.stderr.contains("the order id is empty"),
        "{}",
        out.show()
    );
    assert!(out.stderr.contains("empty.yaml:1:5"), "{}", out.show());
    assert_eq!(files_under(&lab.state), Vec::<String>::new());
}

#[test]
fn empty_item_ids_and_ids_with_control_characters_are_order_errors() {
    let lab = Lab::new();
    let out = run_yaml(
        &lab,
        "items.yaml",
        &line_order("ORD-ITEMS", ["\"\"", "\"a\\nb\""]),
    );
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert!(
        out.stderr
            .contains("items[0].id: an item id cannot be empty"),
        "{}",
        out.show()
    );
    assert!(out.stderr.contains("items.yaml:4:9"), "{}", out.show());
    assert!(
        out.stderr
            .contains("items[1].id: an item id cannot contain control characters"),
        "{}",
        out.show()
    );
    assert!(out.stderr.contains("items.yaml:8:9"), "{}", out.show());
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
