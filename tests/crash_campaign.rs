//! The crash campaign (issue 20, "Done means"): random SIGKILLs of the real
//! `ordo run`, `ordo resume` and `ordo cancel`, with a plugin that keeps one
//! effect file per task and, at random, answers "retry later" or does its
//! work and answers after its timeout; then resumes to the end and checks:
//!
//! - every effect of an order that ended `failed` or `cancelled` is undone,
//!   and an order `held` names the task whose effect is left (or one that
//!   depends on it);
//! - no two live calls of one idempotency key at once;
//! - no task recorded done is invoked again;
//! - undos run in reverse dependency order.
//!
//! Bounded: a fixed seed, a fixed number of trials, every wait with a limit.
//! Kills land after a drawn number of plugin log lines, so where they land
//! varies with the machine; what is asserted does not.

mod crash_support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Instant;

use crash_support::*;

/// This test binary as the fixtures' exec plugin.
#[test]
fn plugin_entry() {
    serve_if_plugin();
}

const SEED: u64 = 20;
const TRIALS: usize = 25;
const TASKS: [&str; 5] = ["1/a", "1/b", "1/c", "1/d", "1/e"];

/// What each task of `Chain` depends on, directly or not (e is in a later
/// stage than all the others).
fn depends_on(task: &str) -> &'static [&'static str] {
    match task {
        "1/b" | "1/c" => &["1/a"],
        "1/d" => &["1/a", "1/b", "1/c"],
        "1/e" => &["1/a", "1/b", "1/c", "1/d"],
        _ => &[],
    }
}

/// xorshift64*: reproducible draws from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Trial {
    lab: Lab,
    id: String,
    seed: String,
    fail: Option<&'static str>,
    /// Tags in the order their processes ran, and the tasks the store had
    /// done once each had ended (or been killed).
    steps: Vec<(String, BTreeSet<String>)>,
}

impl Trial {
    fn command(&self, tag: &str, args: &[&str]) -> Command {
        let mut cmd = self.lab.command(tag, args);
        self.configure(&mut cmd);
        cmd
    }

    fn configure(&self, cmd: &mut Command) {
        cmd.env("CRASH_SEED", &self.seed)
            .env("CRASH_P_RETRY", "0.15")
            .env("CRASH_P_SLOW", "0.1")
            .env("CRASH_SLOW_MS", "700");
        if let Some(task) = self.fail {
            cmd.env("CRASH_FAIL", task);
        }
    }

    /// Runs `cmd`; with `kill_after`, kills it with SIGKILL once the plugin
    /// has logged that many more lines (unless it ended first).
    fn step(&mut self, tag: &str, cmd: Command, kill_after: Option<usize>) {
        let before = self.lab.calls().len();
        let mut running = self.lab.start(cmd);
        if let Some(k) = kill_after {
            let deadline = Instant::now() + PATIENCE;
            while self.lab.calls().len() < before + k && !running.exited() {
                assert!(Instant::now() < deadline, "{tag}: no progress");
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            running.kill9();
        } else {
            let out = running.finish();
            assert!(
                matches!(out.code, Some(0 | 1)),
                "{} {tag}: {}",
                self.id,
                out.show()
            );
        }
        let done = self.done();
        self.steps.push((tag.to_string(), done));
    }

    fn status(&self) -> serde_json::Value {
        self.lab.status(&self.id)
    }

    fn done(&self) -> BTreeSet<String> {
        task_states(&self.status())
            .into_iter()
            .filter(|(_, s)| s == "done")
            .map(|(t, _)| t)
            .collect()
    }
}

fn trial(n: usize, rng: &mut Rng) -> String {
    let lab = Lab::new();
    let id = format!("O-T{n}");
    let order = lab.order(&id, "Chain", "");
    let fail = match rng.below(4) {
        0 => Some("1/b"),
        1 => Some("1/e"),
        _ => None,
    };
    let mut t = Trial {
        lab,
        id: id.clone(),
        seed: format!("{SEED}-{n}"),
        fail,
        steps: Vec::new(),
    };
    let kill = |rng: &mut Rng| (rng.below(10) < 7).then(|| 1 + rng.below(6) as usize);

    let mut run = t.lab.run_command("run", &order);
    t.configure(&mut run);
    let k = kill(rng);
    t.step("run", run, k);
    for i in 0..rng.below(4) {
        let (verb, tag) = if rng.below(3) == 0 {
            ("cancel", format!("cancel{i}"))
        } else {
            ("resume", format!("resume{i}"))
        };
        let cmd = t.command(&tag, &[verb, &id]);
        let k = kill(rng);
        t.step(&tag, cmd, k);
    }
    // To the end: resume until the order is final (a held order is resumed
    // too: the plugin answers in the end).
    for i in 0..8 {
        let state = t.status()["state"].as_str().unwrap().to_string();
        if matches!(state.as_str(), "completed" | "failed" | "cancelled") {
            break;
        }
        let tag = format!("final{i}");
        let cmd = t.command(&tag, &["resume", &id]);
        t.step(&tag, cmd, None);
    }
    check(&t)
}

fn check(t: &Trial) -> String {
    let calls = t.lab.calls();
    let status = t.status();
    let state = status["state"].as_str().unwrap();
    let ctx = || {
        format!(
            "order {} (fail {:?}), steps {:?}\nstatus {status:#}\ncalls {calls:#?}",
            t.id,
            t.fail,
            t.steps.iter().map(|(tag, _)| tag).collect::<Vec<_>>()
        )
    };
    // No two live calls of one key.
    assert!(
        !calls.iter().any(|c| c.phase == "overlap"),
        "two live calls of one key: {}",
        ctx()
    );
    // No task recorded done is invoked (forwards) by a later process.
    let order_of: BTreeMap<&str, usize> = t
        .steps
        .iter()
        .enumerate()
        .map(|(i, (tag, _))| (tag.as_str(), i))
        .collect();
    for (i, (tag, done)) in t.steps.iter().enumerate() {
        for c in calls.iter().filter(|c| c.is_start() && !c.undo) {
            let later = order_of.get(c.tag.as_str()).is_some_and(|&j| j > i);
            assert!(
                !(later && done.contains(&c.task)),
                "{} was done after {tag}, yet {} invoked it: {}",
                c.task,
                c.tag,
                ctx()
            );
        }
    }
    // Every effect undone, or named.
    let effects = t.lab.effects();
    match state {
        "completed" => {
            let all: BTreeSet<String> = TASKS.iter().map(|s| s.to_string()).collect();
            assert_eq!(effects, all, "{}", ctx());
        }
        "failed" | "cancelled" => {
            assert!(effects.is_empty(), "left applied: {effects:?}: {}", ctx());
        }
        "held" => {
            let reason = status["reason"].as_str().unwrap_or_default();
            let named: Vec<&str> = TASKS
                .iter()
                .copied()
                .filter(|t| reason.contains(t))
                .collect();
            for e in &effects {
                assert!(
                    named
                        .iter()
                        .any(|n| n == e || depends_on(n).contains(&e.as_str())),
                    "{e} is left applied and the reason does not name it: {}",
                    ctx()
                );
            }
        }
        other => panic!("the order ended {other}: {}", ctx()),
    }
    // Undos in reverse dependency order: when y depends on x and both were
    // undone, y's last undo ended before x's first undo started.
    let undone = |task: &str| {
        calls
            .iter()
            .any(|c| c.undo && c.task == task && c.phase == "end")
    };
    for y in TASKS {
        for &x in depends_on(y) {
            if !(undone(y) && undone(x)) {
                continue;
            }
            let y_end = calls
                .iter()
                .rposition(|c| c.undo && c.task == y && c.result.as_deref() == Some("ok"));
            let x_start = calls
                .iter()
                .position(|c| c.undo && c.task == x && c.is_start());
            if let (Some(y_end), Some(x_start)) = (y_end, x_start) {
                assert!(
                    y_end < x_start,
                    "{y} depends on {x}, so its undo must end before {x}'s starts: {}",
                    ctx()
                );
            }
        }
    }
    state.to_string()
}

#[test]
fn random_kills_of_run_resume_and_cancel_leave_no_effect_applied() {
    let mut rng = Rng(SEED.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut ended: BTreeMap<String, usize> = BTreeMap::new();
    for n in 0..TRIALS {
        *ended.entry(trial(n, &mut rng)).or_default() += 1;
    }
    eprintln!("{TRIALS} trials ended: {ended:?}");
    // The campaign exercised compensation, not only happy endings.
    assert!(
        ended.keys().any(|s| s != "completed"),
        "every trial completed: {ended:?}"
    );
}
