//! The plan as a graph picture: Graphviz DOT and Mermaid, one cluster per stage.

use std::fmt::Write;

use super::node_notes;
use crate::plan::Plan;

fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Graphviz: `ordo plan … --format dot | dot -Tsvg > plan.svg`.
pub fn dot(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph \"{}\" {{", dot_escape(&plan.order));
    out.push_str("  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
    for (s, stage) in plan.stages.iter().enumerate() {
        if !plan.tasks.iter().any(|t| t.stage == s) {
            continue;
        }
        let _ = writeln!(
            out,
            "  subgraph \"cluster_{s}\" {{\n    label=\"{}\";",
            dot_escape(stage)
        );
        for (i, t) in plan.tasks.iter().enumerate().filter(|(_, t)| t.stage == s) {
            let lines: Vec<String> = [t.id.clone(), t.action.clone()]
                .into_iter()
                .chain(node_notes(t))
                .map(|l| dot_escape(&l))
                .collect();
            let mut attrs = format!("label=\"{}\"", lines.join("\\n"));
            if t.point_of_no_return {
                attrs.push_str(", peripheries=2");
            }
            if t.when.is_some() {
                attrs.push_str(", style=\"rounded,dashed\"");
            }
            let _ = writeln!(out, "    t{i} [{attrs}];");
        }
        out.push_str("  }\n");
    }
    for (i, t) in plan.tasks.iter().enumerate() {
        for &j in &t.after {
            let _ = writeln!(out, "  t{j} -> t{i};");
        }
    }
    out.push_str("}\n");
    out
}

fn mermaid_escape(s: &str) -> String {
    s.replace('"', "#quot;")
}

/// Mermaid: renders in Markdown viewers that support ```mermaid blocks.
pub fn mermaid(plan: &Plan) -> String {
    let mut out = String::from("flowchart LR\n");
    for (s, stage) in plan.stages.iter().enumerate() {
        if !plan.tasks.iter().any(|t| t.stage == s) {
            continue;
        }
        let _ = writeln!(out, "  subgraph stage_{s}[\"{}\"]", mermaid_escape(stage));
        for (i, t) in plan.tasks.iter().enumerate().filter(|(_, t)| t.stage == s) {
            let lines: Vec<String> = [t.id.clone(), t.action.clone()]
                .into_iter()
                .chain(node_notes(t))
                .map(|l| mermaid_escape(&l))
                .collect();
            let label = lines.join("<br/>");
            let shape = if t.point_of_no_return {
                format!("[[\"{label}\"]]")
            } else if t.when.is_some() {
                format!("{{{{\"{label}\"}}}}")
            } else {
                format!("[\"{label}\"]")
            };
            let _ = writeln!(out, "    t{i}{shape}");
        }
        out.push_str("  end\n");
    }
    for (i, t) in plan.tasks.iter().enumerate() {
        for &j in &t.after {
            let _ = writeln!(out, "  t{j} --> t{i}");
        }
    }
    out
}
