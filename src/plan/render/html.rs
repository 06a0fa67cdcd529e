//! The plan as one self-contained HTML page: inline CSS, the SVG picture
//! inline, and a table of the tasks below it. No script, no asset from
//! anywhere else; readable on a laptop screen and at phone width (the picture
//! scrolls sideways inside its frame, the table reflows).

use std::fmt::Write;

use super::svg::{notes, svg, xml, Status};
use crate::plan::Plan;

const STYLE: &str = "
*{box-sizing:border-box}
body{margin:0;padding:16px;font-family:system-ui,-apple-system,'Segoe UI','DejaVu Sans',sans-serif;color:#0f172a;background:#fff;line-height:1.4}
h1{font-size:1.4rem;margin:0 0 4px}
h2{font-size:1.1rem;margin:24px 0 8px}
.facts{margin:0 0 12px;color:#334155}
.facts dt{display:inline;font-weight:700}
.facts dd{display:inline;margin:0 16px 0 4px}
.picture{overflow:auto;max-height:80vh;border:1px solid #cbd5e1;border-radius:8px;-webkit-overflow-scrolling:touch}
.picture:focus{outline:3px solid #2563eb}
.picture svg{display:block}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid #e2e8f0;overflow-wrap:anywhere}
th{background:#f1f5f9;position:sticky;top:0}
code{font-family:ui-monospace,'DejaVu Sans Mono',monospace;font-size:.95em}
.cp{font-weight:700;color:#b91c1c}
.path{margin:0 0 12px;overflow-wrap:anywhere}
@media (max-width:640px){
 body{padding:8px}
 table,thead,tbody,tr,th,td{display:block}
 thead{position:absolute;left:-9999px}
 tr{border:1px solid #e2e8f0;border-radius:6px;margin:0 0 8px;padding:4px}
 td{border:0;padding:2px 4px}
 td::before{content:attr(data-label) ': ';font-weight:700}
}
";

/// The page: a heading with the order's facts, the picture, the task table.
/// `states` as for [`svg`].
pub fn html(plan: &Plan, states: Option<&[Status]>) -> String {
    let title = format!("Plan of order {}", plan.order);
    let mut out = String::with_capacity(1200 * plan.tasks.len() + 8192);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{t}</h1>\n",
        t = xml(&title)
    );
    let stages = super::used_stages(plan);
    let _ = writeln!(
        out,
        "<dl class=\"facts\"><dt>Tasks</dt><dd>{}</dd><dt>Stages</dt><dd>{stages}</dd>\
         <dt>Once</dt><dd>{}</dd><dt>Monthly</dt><dd>{}</dd><dt>Critical path</dt><dd>{}</dd></dl>",
        plan.tasks.len(),
        xml(&plan.price.once.to_string()),
        xml(&plan.price.monthly.to_string()),
        super::count(plan.critical_path.len(), "task"),
    );
    let path: Vec<String> = plan
        .critical_path
        .iter()
        .map(|&i| format!("<code>{}</code>", xml(&plan.tasks[i].id)))
        .collect();
    let _ = writeln!(
        out,
        "<p class=\"path\"><span class=\"cp\">◆ Critical path:</span> {}</p>",
        if path.is_empty() {
            "none".to_string()
        } else {
            path.join(" → ")
        }
    );
    out.push_str(
        "<h2 id=\"picture\">The plan as a picture</h2>\n\
         <div class=\"picture\" tabindex=\"0\" role=\"region\" aria-labelledby=\"picture\">\n",
    );
    out.push_str(&svg(plan, states));
    out.push_str("</div>\n");
    task_table(&mut out, plan, states);
    out.push_str("</main>\n</body>\n</html>\n");
    out
}

fn task_table(out: &mut String, plan: &Plan, states: Option<&[Status]>) {
    let step = super::critical_steps(plan);
    out.push_str(
        "<h2 id=\"tasks\">Tasks</h2>\n<div class=\"table-wrap\">\n<table aria-labelledby=\"tasks\">\n<thead><tr>\
         <th scope=\"col\">Task</th><th scope=\"col\">Stage</th><th scope=\"col\">Action</th>\
         <th scope=\"col\">After</th><th scope=\"col\">Notes</th><th scope=\"col\">Critical path</th>",
    );
    if states.is_some() {
        out.push_str("<th scope=\"col\">State</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (i, t) in plan.tasks.iter().enumerate() {
        let after: Vec<String> = t
            .after
            .iter()
            .map(|&j| format!("<code>{}</code>", xml(&plan.tasks[j].id)))
            .collect();
        let notes: Vec<String> = notes(t).iter().map(|n| xml(n)).collect();
        let cp = match step.get(&i) {
            Some(k) => format!("<span class=\"cp\">◆ step {k}</span>"),
            None => "—".to_string(),
        };
        let _ = write!(
            out,
            "<tr data-task=\"{id}\"><td data-label=\"Task\"><code>{id}</code></td>\
             <td data-label=\"Stage\">{}</td><td data-label=\"Action\"><code>{}</code></td>\
             <td data-label=\"After\">{}</td><td data-label=\"Notes\">{}</td>\
             <td data-label=\"Critical path\">{cp}</td>",
            xml(&plan.stages[t.stage]),
            xml(&t.action),
            or_dash(after.join(", ")),
            or_dash(notes.join("; ")),
            id = xml(&t.id),
        );
        if let Some(states) = states {
            let s = states.get(i).map(|s| s.as_str()).unwrap_or("");
            let _ = write!(out, "<td data-label=\"State\">{s}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
}

fn or_dash(cell: String) -> String {
    if cell.is_empty() {
        "—".to_string()
    } else {
        cell
    }
}
