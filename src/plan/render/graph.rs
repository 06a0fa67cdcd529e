//! The plan as a graph picture: Graphviz DOT and Mermaid, one cluster per stage.

use std::fmt::Write;

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
            let mut attrs = format!(
                "label=\"{}\\n{}\"",
                dot_escape(&t.id),
                dot_escape(&t.action)
            );
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
            let label = format!(
                "{}<br/>{}",
                mermaid_escape(&t.id),
                mermaid_escape(&t.action)
            );
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
