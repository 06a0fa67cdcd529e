//! The installed base through the real binary (SPEC §8.1): what completed
//! orders leave behind, what `ordo inventory` shows, and that orders which
//! do not complete leave it as it was.

mod durable_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const CATALOG: &str = r#"
catalog "Inventory fixtures" version "1"

action net.activate(speed: string) -> (circuit: string)
action net.change(circuit: string, from: string, speed: string) -> (ref: string)
action net.cease(circuit: string)
action bill.start(plan: string) -> (subscription: string)
action tv.start(circuit: string) -> (ref: string)

product Line {
  attr address: string
  attr speed: string = "500M"
  attr note?: string

  on add {
    task activate: net.activate(speed: speed)
    task billing: bill.start(plan: speed)
  }

  on modify {
    task change: net.change(
      circuit: installed.activate.circuit ?? "unknown",
      from: installed.speed,
      speed: speed,
    ) {
      point of no return
    }
    task billing: bill.start(plan: speed) {
      after change
    }
  }

  on delete {
    task cease: net.cease(circuit: installed.activate.circuit ?? "unknown")
  }
}

product Tv {
  relies on Line

  on add {
    task start: tv.start(circuit: Line.activate.circuit) {
      after Line.billing
    }
  }

  on delete {}
}

product Phone {
  attr number: string = "1"

  on add {
    task port: bill.start(plan: number)
  }
}
"#;

/// A project folder: `catalog/`, the state folder, orders and bindings.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("catalog")).unwrap();
        std::fs::write(dir.path().join("catalog/catalog.ordo"), CATALOG).unwrap();
        Project { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn ordo(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_ordo"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("ORDO_CATALOG")
            .env_remove("ORDO_STATE")
            .env("NO_COLOR", "1")
            .output()
            .expect("the ordo binary runs")
    }

    /// `ordo run ORDER --quiet [--bindings FILE]`, its exit code.
    fn run(&self, order: &Path, bindings: Option<&Path>) -> Option<i32> {
        let mut args = vec!["run", order.to_str().unwrap(), "--quiet"];
        if let Some(b) = bindings {
            args.extend(["--bindings", b.to_str().unwrap()]);
        }
        let out = self.ordo(&args);
        out.status.code()
    }

    /// `ordo inventory ARGS --format json`'s stdout.
    fn inventory(&self, args: &[&str]) -> String {
        let mut all = vec!["inventory"];
        all.extend(args);
        all.extend(["--format", "json"]);
        let out = self.ordo(&all);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }
}

/// Bindings where `bill.start` fails for good, everything else simulated.
fn failing_billing(p: &Project) -> PathBuf {
    p.write(
        "fail.yaml",
        "actions:\n  \"bill.start\": { simulate: { fail_permanently: true } }\n  \"*\": { simulate: {} }\n",
    )
}

fn add_order(id: &str, customer: &str, attrs: &str) -> String {
    format!(
        "id: {id}\ncustomer: {{ id: {customer} }}\nitems:\n  - id: \"1\"\n    action: add\n    product: Line\n    attributes: {attrs}\n"
    )
}

#[test]
fn a_completed_add_leaves_an_active_instance_with_attributes_defaults_and_outputs() {
    let p = Project::new();
    let order = p.write(
        "a.yaml",
        &add_order("ORD-1", "C-1", "{ address: \"1 Main St\" }"),
    );
    assert_eq!(p.run(&order, None), Some(0));

    let one: Value = serde_json::from_str(&p.inventory(&["ORD-1/1"])).unwrap();
    assert_eq!(one["id"], "ORD-1/1");
    assert_eq!(one["product"], "Line");
    assert_eq!(one["customer"], "C-1");
    assert_eq!(one["status"], "active");
    assert_eq!(one["parent"], Value::Null);
    assert_eq!(
        one["attributes"],
        serde_json::json!({ "address": "1 Main St", "speed": "500M", "note": null })
    );
    assert_eq!(
        one["outputs"],
        serde_json::json!({
            "activate": { "circuit": "1/activate.circuit" },
            "billing": { "subscription": "1/billing.subscription" },
        })
    );
    assert_eq!(one["created_by"], "ORD-1");
    assert_eq!(one["updated_by"], "ORD-1");
    // The keys in the order of SPEC §8.1.
    let keys: Vec<&str> = one
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "product",
            "customer",
            "status",
            "parent",
            "attributes",
            "outputs",
            "created_by",
            "updated_by",
            "created_at",
            "updated_at"
        ]
    );

    let list: Value = serde_json::from_str(&p.inventory(&[])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0], one);

    let text = p.ordo(&["inventory"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(
        text.contains("ORD-1/1") && text.contains("active"),
        "{text}"
    );
}

#[test]
fn inventory_filters_by_customer_product_and_status() {
    let p = Project::new();
    for (id, customer) in [("ORD-1", "C-1"), ("ORD-2", "C-2")] {
        let order = p.write(
            &format!("{id}.yaml"),
            &add_order(id, customer, "{ address: \"x\" }"),
        );
        assert_eq!(p.run(&order, None), Some(0));
    }
    let ids = |args: &[&str]| -> Vec<String> {
        let list: Value = serde_json::from_str(&p.inventory(args)).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&[]), ["ORD-1/1", "ORD-2/1"]);
    assert_eq!(ids(&["--customer", "C-2"]), ["ORD-2/1"]);
    assert_eq!(ids(&["--product", "Line"]).len(), 2);
    assert_eq!(ids(&["--product", "Other"]), Vec::<String>::new());
    assert_eq!(ids(&["--status", "active"]).len(), 2);
    assert_eq!(ids(&["--status", "terminated"]), Vec::<String>::new());
    let bad = p.ordo(&["inventory", "--status", "gone"]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    let unknown = p.ordo(&["inventory", "ORD-9/1"]);
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
}

#[test]
fn inventory_of_a_folder_never_written_is_empty_and_creates_nothing() {
    let p = Project::new();
    assert_eq!(p.inventory(&[]), "[]\n");
    assert!(!p.path(".ordo").exists());
}

#[test]
fn a_failed_order_leaves_the_inventory_byte_identical() {
    let p = Project::new();
    let first = p.write(
        "a.yaml",
        &add_order("ORD-1", "C-1", "{ address: \"1 Main St\" }"),
    );
    assert_eq!(p.run(&first, None), Some(0));
    let before = p.inventory(&[]);

    let failing = failing_billing(&p);
    let second = p.write(
        "b.yaml",
        &add_order("ORD-2", "C-1", "{ address: \"2 Main St\" }"),
    );
    assert_eq!(p.run(&second, Some(&failing)), Some(1));
    let status = p.ordo(&["status", "ORD-2", "--format", "json"]);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["state"], "failed", "{status:#}");
    assert_eq!(p.inventory(&[]), before);
}

#[test]
fn a_cancelled_order_leaves_the_inventory_byte_identical() {
    use durable_support::Lab;
    let lab = Lab::new();
    let inventory = || {
        let out = lab.ordo("inventory", &["inventory", "--format", "json"]);
        assert_eq!(out.code, Some(0), "{}", out.show());
        out.stdout
    };
    let first = lab.line_order("ORD-A", 0);
    let out = lab.start(lab.command("a", &lab.run_args(&first))).finish();
    assert_eq!(out.code, Some(0), "{}", out.show());
    let before = inventory();
    assert!(before.contains("ORD-A/1"), "{before}");

    // d is held at the plugin until the cancel is in.
    lab.hold("1/d");
    let second = lab.line_order("ORD-B", 0);
    let run = lab.spawn_run("b", &second);
    lab.wait_for("1/d to start", |calls| {
        calls
            .iter()
            .any(|c| c.key.starts_with("ORD-B/") && c.task == "1/d" && c.is_start())
    });
    let cancel = lab.ordo("cancel", &["cancel", "ORD-B"]);
    assert_eq!(cancel.code, Some(0), "{}", cancel.show());
    lab.release("1/d");
    let out = run.finish();
    assert_eq!(out.code, Some(1), "{}", out.show());
    assert_eq!(lab.status("ORD-B")["state"], "cancelled");
    assert_eq!(inventory(), before);
}

/// Bindings where a plugin answers `action` with the inputs it was sent (as
/// JSON in its `ref` output), every other action simulated.
fn echo(p: &Project, action: &str) -> PathBuf {
    p.write(
        "echo.py",
        "import json, sys\nreq = json.loads(sys.stdin.readline())\nprint(json.dumps({\"outputs\": {\"ref\": json.dumps(req[\"inputs\"], sort_keys=True)}}))\n",
    );
    p.write(
        "echo.yaml",
        &format!("actions:\n  \"{action}\": {{ exec: [\"python3\", \"./echo.py\"] }}\n  \"*\": {{ simulate: {{}} }}\n"),
    )
}

fn change_order(id: &str, customer: &str, action: &str, extra: &str) -> String {
    format!(
        "id: {id}\ncustomer: {{ id: {customer} }}\nitems:\n  - id: \"1\"\n    action: {action}\n{extra}"
    )
}

/// `ordo plan ORDER`'s exit code and stderr.
fn plan(p: &Project, order: &Path) -> (Option<i32>, String) {
    let out = p.ordo(&["plan", order.to_str().unwrap()]);
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn a_modify_with_a_partial_delta_keeps_the_other_values_and_a_delete_terminates() {
    let p = Project::new();
    let add = p.write(
        "a.yaml",
        &add_order("ORD-1", "C-1", "{ address: \"1 Main St\", note: \"gate\" }"),
    );
    assert_eq!(p.run(&add, None), Some(0));
    let created: Value = serde_json::from_str(&p.inventory(&["ORD-1/1"])).unwrap();

    let modify = p.write(
        "m.yaml",
        &change_order(
            "ORD-2",
            "C-1",
            "modify",
            "    instance: ORD-1/1\n    attributes: { speed: \"1G\" }\n",
        ),
    );
    let echo = echo(&p, "net.change");
    assert_eq!(p.run(&modify, Some(&echo)), Some(0));
    let changed: Value = serde_json::from_str(&p.inventory(&["ORD-1/1"])).unwrap();
    assert_eq!(
        changed["attributes"],
        serde_json::json!({ "address": "1 Main St", "speed": "1G", "note": "gate" })
    );
    assert_eq!(changed["status"], "active");
    assert_eq!(changed["created_by"], "ORD-1");
    assert_eq!(changed["updated_by"], "ORD-2");
    assert_eq!(changed["created_at"], created["created_at"]);
    // The add's outputs stay; the modify's tasks' are added or replaced.
    assert_eq!(
        changed["outputs"]["activate"],
        created["outputs"]["activate"]
    );
    // The modify's task read the instance as it was.
    let sent: Value =
        serde_json::from_str(changed["outputs"]["change"]["ref"].as_str().unwrap()).unwrap();
    assert_eq!(
        sent,
        serde_json::json!({ "circuit": "1/activate.circuit", "from": "500M", "speed": "1G" })
    );
    assert_eq!(
        changed["outputs"]["billing"],
        serde_json::json!({ "subscription": "1/billing.subscription" })
    );

    // A delete needs no attributes, nor the product.
    let delete = p.write(
        "d.yaml",
        &change_order("ORD-3", "C-1", "delete", "    instance: ORD-1/1\n"),
    );
    assert_eq!(p.run(&delete, None), Some(0));
    let gone: Value = serde_json::from_str(&p.inventory(&["ORD-1/1"])).unwrap();
    assert_eq!(gone["status"], "terminated");
    assert_eq!(gone["updated_by"], "ORD-3");
    assert_eq!(gone["attributes"], changed["attributes"]);
    assert_eq!(p.inventory(&["--status", "active"]), "[]\n");
}

#[test]
fn every_order_instance_error_points_at_the_order_line() {
    let p = Project::new();
    for (id, customer) in [("ORD-1", "C-1"), ("ORD-2", "C-1")] {
        let order = p.write(
            &format!("{id}.yaml"),
            &add_order(id, customer, "{ address: \"x\" }"),
        );
        assert_eq!(p.run(&order, None), Some(0));
    }
    let cease = p.write(
        "c.yaml",
        &change_order("ORD-3", "C-1", "delete", "    instance: ORD-2/1\n"),
    );
    assert_eq!(p.run(&cease, None), Some(0));

    let cases = [
        (
            "unknown",
            "C-1",
            "modify",
            "    instance: ORD-9/1\n",
            "there is no instance `ORD-9/1`",
        ),
        (
            "customer",
            "C-2",
            "modify",
            "    instance: ORD-1/1\n",
            "belongs to customer C-1, not to C-2",
        ),
        (
            "product",
            "C-1",
            "modify",
            "    product: Phone\n    instance: ORD-1/1\n",
            "instance `ORD-1/1` is a Line, not a Phone",
        ),
        (
            "terminated",
            "C-1",
            "delete",
            "    instance: ORD-2/1\n",
            "was terminated by order ORD-3",
        ),
        (
            "add",
            "C-1",
            "add",
            "    product: Line\n    instance: ORD-1/1\n    attributes: { address: x }\n",
            "an add item creates its instance",
        ),
    ];
    for (name, customer, action, extra, message) in cases {
        let order = p.write(
            &format!("{name}.yaml"),
            &change_order(&format!("ORD-{name}"), customer, action, extra),
        );
        let (code, stderr) = plan(&p, &order);
        assert_eq!(code, Some(1), "{name}: {stderr}");
        assert!(stderr.contains("ordo::order::instance"), "{name}: {stderr}");
        assert!(stderr.contains(message), "{name}: {stderr}");
        let line = if name == "product" {
            6
        } else {
            6 + usize::from(name == "add")
        };
        assert!(
            stderr.contains(&format!("{name}.yaml:{line}:")),
            "{name}: {stderr}"
        );
    }
}

/// A modify or delete item that names no instance was planned as before the
/// installed base, changing nothing installed: SPEC §8.1 makes it an
/// `ordo::order::instance` error at the item's `action`, in every command
/// that plans an order.
#[test]
fn a_modify_or_delete_without_instance_is_refused_at_its_action() {
    let p = Project::new();
    let add = p.write("a.yaml", &add_order("ORD-1", "C-1", "{ address: \"x\" }"));
    assert_eq!(p.run(&add, None), Some(0));
    for action in ["modify", "delete"] {
        let name = format!("{action}.yaml");
        let order = p.write(
            &name,
            &change_order("ORD-2", "C-1", action, "    product: Line\n"),
        );
        let at = format!("{name}:5:13");
        for cmd in ["plan", "quote", "run"] {
            let out = p.ordo(&[cmd, order.to_str().unwrap()]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{cmd} {action}: {stderr}");
            assert!(stderr.contains("ordo::order::instance"), "{stderr}");
            assert!(
                stderr.contains(&format!("a {action} item names the instance it changes")),
                "{stderr}"
            );
            assert!(stderr.contains(&at), "{cmd} {action}: {stderr}");
        }
        // A catalog test of it is rejected at the same place.
        std::fs::create_dir_all(p.path("catalog/tests")).unwrap();
        let test = p.write(
            "catalog/tests/t.yaml",
            &format!(
                "order:\n  id: ORD-T\n  customer: {{ id: C-1 }}\n  items:\n    - id: \"1\"\n      action: {action}\n      product: Line\nexpect:\n  tasks: []\n"
            ),
        );
        let out = p.ordo(&["test"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "test {action}: {stdout}");
        assert!(
            stdout.contains("catalog/tests/t.yaml:6:15: ordo::order::instance: items[0]"),
            "test {action}: {stdout}"
        );
        std::fs::remove_file(test).unwrap();
    }
    // Nothing was changed: the line is as its add left it.
    let line: Value = serde_json::from_str(&p.inventory(&["ORD-1/1"])).unwrap();
    assert_eq!(line["updated_by"], "ORD-1", "{line:#}");
}

#[test]
fn an_instance_another_order_in_flight_is_changing_is_refused_naming_that_order() {
    let p = Project::new();
    let add = p.write("a.yaml", &add_order("ORD-1", "C-1", "{ address: \"x\" }"));
    assert_eq!(p.run(&add, None), Some(0));
    // ORD-2 passes its point of no return, then fails: it is held, in flight.
    let failing = failing_billing(&p);
    let first = p.write(
        "m1.yaml",
        &change_order(
            "ORD-2",
            "C-1",
            "modify",
            "    instance: ORD-1/1\n    attributes: { speed: \"1G\" }\n",
        ),
    );
    assert_eq!(p.run(&first, Some(&failing)), Some(1));
    let status = p.ordo(&["status", "ORD-2", "--format", "json"]);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["state"], "held", "{status:#}");
    let before = p.inventory(&[]);

    let second = p.write(
        "m2.yaml",
        &change_order("ORD-3", "C-1", "delete", "    instance: ORD-1/1\n"),
    );
    let (code, stderr) = plan(&p, &second);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("ordo::order::instance"), "{stderr}");
    assert!(stderr.contains("being changed by order ORD-2"), "{stderr}");
    assert_eq!(p.run(&second, None), Some(1));
    assert_eq!(p.inventory(&[]), before, "a held order changes no instance");
}

#[test]
fn relies_on_is_met_by_the_customers_active_instance() {
    let p = Project::new();
    let line = p.write("a.yaml", &add_order("ORD-1", "C-1", "{ address: \"x\" }"));
    assert_eq!(p.run(&line, None), Some(0));
    let tv = p.write(
        "tv.yaml",
        &change_order("ORD-2", "C-1", "add", "    product: Tv\n"),
    );
    // No Line in the order: the instance meets `relies on Line`, and
    // `after Line.billing` is already satisfied.
    let planned = p.ordo(&["plan", tv.to_str().unwrap(), "--format", "json"]);
    assert_eq!(planned.status.code(), Some(0), "{planned:?}");
    let planned: Value = serde_json::from_slice(&planned.stdout).unwrap();
    assert_eq!(planned["tasks"][0]["id"], "1/start");
    assert_eq!(planned["tasks"][0]["after"], serde_json::json!([]));
    assert_eq!(p.run(&tv, Some(&echo(&p, "tv.start"))), Some(0));
    let installed: Value = serde_json::from_str(&p.inventory(&["ORD-2/1"])).unwrap();
    let sent: Value =
        serde_json::from_str(installed["outputs"]["start"]["ref"].as_str().unwrap()).unwrap();
    assert_eq!(sent, serde_json::json!({ "circuit": "1/activate.circuit" }));

    // Another customer has no Line to rely on.
    let other = p.write(
        "other.yaml",
        &change_order("ORD-3", "C-2", "add", "    product: Tv\n"),
    );
    let (code, stderr) = plan(&p, &other);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("ordo::order::relies_on"), "{stderr}");

    // With two Lines, the item names the one it relies on.
    let second = p.write("b.yaml", &add_order("ORD-4", "C-1", "{ address: \"y\" }"));
    assert_eq!(p.run(&second, None), Some(0));
    let (code, stderr) = plan(&p, &tv_again(&p, ""));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("ordo::order::instance") && stderr.contains("ORD-1/1, ORD-4/1"),
        "{stderr}"
    );
    let (code, stderr) = plan(&p, &tv_again(&p, "    relies_on: [\"ORD-4/1\"]\n"));
    assert_eq!(code, Some(0), "{stderr}");

    // The delete guard: the Line the Tv relies on goes only with the Tv.
    let alone = p.write(
        "cease-line.yaml",
        &change_order("ORD-6", "C-1", "delete", "    instance: ORD-1/1\n"),
    );
    let (code, stderr) = plan(&p, &alone);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("ordo::order::instance")
            && stderr.contains("Tv ORD-2/1 relies on `ORD-1/1`")
            && stderr.contains("cease-line.yaml:6:"),
        "{stderr}"
    );
    let both = p.write(
        "cease-both.yaml",
        "id: ORD-7\ncustomer: { id: C-1 }\nitems:\n  - id: \"1\"\n    action: delete\n    instance: ORD-1/1\n  - id: \"2\"\n    action: delete\n    instance: ORD-2/1\n",
    );
    assert_eq!(p.run(&both, None), Some(0));
    let active: Value = serde_json::from_str(&p.inventory(&["--status", "active"])).unwrap();
    assert_eq!(active[0]["id"], "ORD-4/1");
    assert_eq!(active.as_array().unwrap().len(), 1);
}

fn tv_again(p: &Project, extra: &str) -> PathBuf {
    p.write(
        "tv2.yaml",
        &change_order("ORD-5", "C-1", "add", &format!("    product: Tv\n{extra}")),
    )
}

/// The README's tour: the shipped catalog's triple play added, changed and
/// ceased through its installed instances.
#[test]
fn the_tour_adds_modifies_and_ceases_the_triple_play() {
    let p = Project::new();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let catalog = root.join("catalog");
    let run = |example: &str| {
        let order = root.join("examples").join(example);
        let out = p.ordo(&[
            "run",
            "--catalog",
            catalog.to_str().unwrap(),
            order.to_str().unwrap(),
            "--quiet",
        ]);
        assert_eq!(out.status.code(), Some(0), "{example}: {out:?}");
    };
    let instance = |id: &str| -> Value { serde_json::from_str(&p.inventory(&[id])).unwrap() };

    run("triple-play.yaml");
    // The technician's visit is field-ops' work: the order parks until it
    // is completed.
    let visit = p.ordo(&[
        "task",
        "complete",
        "ORD-1001",
        "1/Broadband/visit",
        "--as",
        "alice",
        "--output",
        "ont_serial=ONT-4471",
        "--output",
        "closed_at=2026-12-05T11:20:00Z",
        "--quiet",
    ]);
    assert_eq!(visit.status.code(), Some(0), "{visit:?}");
    let list: Value = serde_json::from_str(&p.inventory(&["--customer", "C-42"])).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "ORD-1001/1",
            "ORD-1001/1/Broadband",
            "ORD-1001/1/IPTV",
            "ORD-1001/1/VoIP"
        ]
    );
    assert_eq!(instance("ORD-1001/1/Broadband")["parent"], "ORD-1001/1");
    assert_eq!(
        instance("ORD-1001/1/Broadband")["attributes"]["speed"],
        "1G"
    );

    run("triple-play-upgrade.yaml");
    let line = instance("ORD-1001/1/Broadband");
    assert_eq!(line["attributes"]["speed"], "500M");
    assert_eq!(line["attributes"]["address"], "1 Main St, Springfield");
    assert_eq!(line["updated_by"], "ORD-1011");
    assert_eq!(instance("ORD-1001/1")["attributes"]["tv"], "family");

    run("triple-play-cease.yaml");
    let list: Value = serde_json::from_str(&p.inventory(&["--status", "terminated"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 4, "{list:#}");
    assert_eq!(p.inventory(&["--status", "active"]), "[]\n");
}
