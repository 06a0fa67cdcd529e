//! Bindings checked against a plan before anything runs: every action the
//! plan's tasks and undos call is bound, a `simulate` binding's outputs are
//! outputs those actions declare, of their types, and an `exec` binding's
//! program exists and may be executed. (An `http` binding's URL and headers
//! are checked when the file is read; its service is not called before the
//! order runs.) Each of these, found only when the
//! task runs, would come after other tasks' real side effects.
//!
//! Only the bindings the plan uses are checked: one bindings file serves
//! orders of many products, and a binding this order does not call says
//! nothing about it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Binding, Bindings, Implementation, PluginEnv};
use crate::diagnostic::{code_list, Code, Diagnostic, Diagnostics};
use crate::exec::action::value_from_json;
use crate::model::Type;
use crate::plan::Plan;

/// An action the plan calls, with its declared outputs.
type Called<'p> = (&'p str, &'p [(String, Type)]);

impl Bindings {
    /// Every reason these bindings cannot run `plan`, as diagnostics with
    /// code `ordo::bindings` at the place in the bindings file.
    pub fn check(&self, plan: &Plan) -> Diagnostics {
        // Each action the plan calls, with its declared outputs.
        let mut actions: BTreeMap<&str, &[(String, Type)]> = BTreeMap::new();
        for t in &plan.tasks {
            // People do a manual task: no binding runs it.
            if t.manual.is_none() {
                actions.insert(&t.action, &t.outputs);
            }
            if let Some(u) = &t.undo {
                actions.insert(&u.action, &u.outputs);
            }
        }
        let mut diags = Diagnostics::new();
        let mut covered: BTreeMap<usize, Vec<Called>> = BTreeMap::new();
        for (action, outputs) in actions {
            match self.resolve_index(action) {
                Some(i) => covered.entry(i).or_default().push((action, outputs)),
                None => diags.push(
                    Diagnostic::error(
                        Code::Bindings,
                        format!("no binding runs the action `{action}`, which this order calls"),
                    )
                    .with_help(format!(
                        "bind it under `actions:`, e.g.  \"{action}\": {{ simulate: {{}} }}, or add a `\"*\"` binding"
                    )),
                ),
            }
        }
        for (i, actions) in covered {
            let binding = &self.entries[i];
            match &binding.implementation {
                Implementation::Simulate(options) => {
                    simulated_outputs(binding, &options.outputs, &actions, plan, &mut diags);
                }
                Implementation::Exec { program, env, .. } => {
                    if let Some(fault) = program_fault(program, env) {
                        diags.push(program_error(binding, program, fault));
                    }
                }
                // Its URL and headers were checked when the file was read;
                // the service itself is not called before the order runs.
                Implementation::Noop
                | Implementation::Http(_)
                | Implementation::Custom(_)
                | Implementation::Manual { .. } => {}
            }
        }
        diags.sort();
        diags
    }
}

/// The outputs a `simulate` binding fixes: each one declared by an action
/// it covers, and of the type that action declares.
fn simulated_outputs(
    binding: &Binding,
    outputs: &BTreeMap<String, serde_json::Value>,
    actions: &[Called],
    plan: &Plan,
    diags: &mut Diagnostics,
) {
    let names = || actions.iter().map(|(a, _)| *a);
    for (name, value) in outputs {
        let at = binding.written.outputs.get(name);
        let declaring: Vec<(&str, &Type)> = actions
            .iter()
            .filter_map(|(a, outs)| outs.iter().find(|(n, _)| n == name).map(|(_, t)| (*a, t)))
            .collect();
        if declaring.is_empty() {
            let of = match actions {
                [(action, _)] => format!("`{action}`"),
                _ => format!(
                    "any action `{}` binds in this order ({})",
                    binding.pattern,
                    code_list(names())
                ),
            };
            let mut d = Diagnostic::error(
                Code::Bindings,
                format!("`{name}` is not an output of {of}, so this value would never be used"),
            );
            if let Some((key, _)) = at {
                d = d.at(*key, "unknown output");
            }
            let known = actions
                .iter()
                .flat_map(|(_, outs)| outs.iter().map(|(n, _)| n.as_str()));
            d = d.suggest_or_list(name, "output", known);
            diags.push(d);
            continue;
        }
        for (action, ty) in declaring {
            if let Err(why) = value_from_json(ty, value, &plan.enums) {
                let mut d = Diagnostic::error(
                    Code::Bindings,
                    format!("the output `{name}` of `{action}` is declared `{ty}`: {why}"),
                );
                if let Some((_, value)) = at {
                    d = d.at(*value, format!("not {ty}"));
                }
                diags.push(d.with_help(format!(
                    "write a value of type `{ty}`, or leave `{name}` out to have one made up"
                )));
            }
        }
    }
}

fn program_error(binding: &Binding, program: &Path, fault: Fault) -> Diagnostic {
    let shown = program.display();
    let (message, label, help) = match fault {
        Fault::Missing => (
            format!("the program `{shown}` does not exist"),
            "no such file",
            "a relative path is relative to the bindings file's folder".to_string(),
        ),
        Fault::NotOnPath => (
            format!("the program `{shown}` is not found on PATH"),
            "not on PATH",
            "install it, give its path, or set PATH under `env: { set: ... }`".to_string(),
        ),
        Fault::NotAFile => (
            format!("the program `{shown}` is not a file"),
            "not a file",
            "name the plugin's executable file".to_string(),
        ),
        Fault::NotExecutable => (
            format!("the program `{shown}` is not executable"),
            "not executable",
            format!("make it executable: chmod +x {shown}"),
        ),
    };
    let d = Diagnostic::error(Code::Bindings, message).with_help(help);
    match binding.written.program {
        Some(span) => d.at(span, label),
        None => d,
    }
}

/// Why a program cannot be started.
#[derive(Debug, PartialEq, Eq)]
enum Fault {
    Missing,
    NotOnPath,
    NotAFile,
    NotExecutable,
}

/// Why `program` cannot be started, if it cannot: a path (it has a folder
/// in it) must be an executable file; a bare name must be one in a folder
/// of the plugin's PATH (its `env: set:` PATH, else ordo's), as the
/// operating system looks it up.
fn program_fault(program: &Path, env: &PluginEnv) -> Option<Fault> {
    if program.components().count() > 1 {
        return executable(program).err();
    }
    let path = env
        .set
        .get("PATH")
        .map(Into::into)
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .any(|candidate: PathBuf| executable(&candidate).is_ok());
    (!found).then_some(Fault::NotOnPath)
}

fn executable(path: &Path) -> Result<(), Fault> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|_| Fault::Missing)?;
    if !meta.is_file() {
        return Err(Fault::NotAFile);
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Err(Fault::NotExecutable);
    }
    Ok(())
}
