//! The plan as a picture: SVG drawn from ordo's own [layout](super::layout),
//! stage headers, dependency edges with arrowheads, the critical path marked
//! (thick outline and a diamond, named in the legend), and optionally each
//! task's state in a live order (a colour, plus an icon and a word: colour is
//! never the only signal). Every text is escaped; the output is
//! deterministic.

use std::fmt::Write;

use super::layout::{layout, Layout, MARGIN, NODE_H, NODE_W};
use crate::exec::TaskState;
use crate::plan::{Plan, PlanTask};
use crate::render::sanitize_line;

/// What the picture shows of a task of a live order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Its task record's state.
    Task(TaskState),
    /// Ready, but waiting on a person (a work item) or a date.
    Waiting,
}

impl Status {
    /// Every status, in the order a task goes through them (the legend's).
    const ALL: [Status; 8] = [
        Status::Task(TaskState::Pending),
        Status::Waiting,
        Status::Task(TaskState::Running),
        Status::Task(TaskState::Done),
        Status::Task(TaskState::Skipped),
        Status::Task(TaskState::Failed),
        Status::Task(TaskState::Compensated),
        Status::Task(TaskState::Cancelled),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Task(s) => s.as_str(),
            Status::Waiting => "waiting",
        }
    }

    /// A glyph shown before the state's name in the node.
    fn icon(self) -> &'static str {
        match self {
            Status::Task(TaskState::Pending) => "○",
            Status::Task(TaskState::Running) => "▶",
            Status::Task(TaskState::Done) => "✓",
            Status::Task(TaskState::Skipped) => "–",
            Status::Task(TaskState::Failed) => "✗",
            Status::Task(TaskState::Compensated) => "↺",
            Status::Task(TaskState::Cancelled) => "⊘",
            Status::Waiting => "◔",
        }
    }
}

/// Text made safe for XML content and attribute values: characters that
/// could act on a terminal or reorder text shown as their escapes (as every
/// text renderer does), then the five XML specials as entities.
pub(crate) fn xml(text: &str) -> String {
    let text = sanitize_line(text);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters of `text`, with `…` when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// A coordinate without trailing zeros (`16`, `40.5`).
fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// The facts a node shows under its action: who does it and what it waits
/// for (as in every graph format), a run-time condition, a point
/// of no return. The one place to add what else a node should say about its
/// task (the picture, its accessible labels and the HTML table use it).
pub(crate) fn notes(t: &PlanTask) -> Vec<String> {
    let mut notes = super::node_notes(t);
    if let Some(w) = &t.when {
        notes.push(format!("when {w}"));
    }
    if t.point_of_no_return {
        notes.push("point of no return".to_string());
    }
    notes
}

const STYLE: &str = "
.ordo-plan{font-family:system-ui,-apple-system,'Segoe UI','DejaVu Sans',sans-serif;font-size:12px}
.ordo-plan .band{fill:#f8fafc;stroke:#cbd5e1}
.ordo-plan .stage-name{font-size:15px;font-weight:700;fill:#0f172a}
.ordo-plan .stage-count{fill:#475569}
.ordo-plan .edge{fill:none;stroke:#64748b;stroke-width:1.4}
.ordo-plan .edge.critical{stroke:#b91c1c;stroke-width:3.2}
.ordo-plan .edge.barrier{stroke-dasharray:6 4}
.ordo-plan .node{fill:#fff;stroke:#334155;stroke-width:1.2}
.ordo-plan .critical .node{stroke:#b91c1c;stroke-width:3.2}
.ordo-plan .conditional .node{stroke-dasharray:5 3}
.ordo-plan .ponr-ring{fill:none;stroke:#334155;stroke-width:1}
.ordo-plan .cp-mark{fill:#b91c1c}
.ordo-plan .id{font-weight:700;font-size:13px;fill:#0f172a}
.ordo-plan .action{fill:#1e293b}
.ordo-plan .note{font-style:italic;fill:#475569}
.ordo-plan .state{font-weight:700;fill:#0f172a}
.ordo-plan .legend-title{font-weight:700}
.ordo-plan .s-pending .node,.ordo-plan .sw.s-pending{fill:#f1f5f9}
.ordo-plan .s-running .node,.ordo-plan .sw.s-running{fill:#bfdbfe}
.ordo-plan .s-done .node,.ordo-plan .sw.s-done{fill:#bbf7d0}
.ordo-plan .s-skipped .node,.ordo-plan .sw.s-skipped{fill:#e7e5e4}
.ordo-plan .s-failed .node,.ordo-plan .sw.s-failed{fill:#fecaca}
.ordo-plan .s-compensated .node,.ordo-plan .sw.s-compensated{fill:#fde68a}
.ordo-plan .s-cancelled .node,.ordo-plan .sw.s-cancelled{fill:#d1d5db}
.ordo-plan .s-waiting .node,.ordo-plan .sw.s-waiting{fill:#ddd6fe}
";

/// Characters of an id, an action or a note that fit in a node.
const ID_CHARS: usize = 27;
const LINE_CHARS: usize = 32;
/// Height of one legend line.
const LEGEND_LINE: f64 = 20.0;

/// The plan as an SVG picture. `states` (by task index) colours and labels
/// each task with its state in a live order; `None` draws the plan alone.
pub fn svg(plan: &Plan, states: Option<&[Status]>) -> String {
    let links = links(plan);
    let l = layout(
        plan,
        &links.iter().map(|&(a, b, _)| (a, b)).collect::<Vec<_>>(),
    );
    let path: Vec<&str> = plan
        .critical_path
        .iter()
        .map(|&i| plan.tasks[i].id.as_str())
        .collect();
    let legend = legend_lines(plan, states, &path, l.width);
    let legend_y = l.height + 8.0;
    let height = legend_y + legend.len() as f64 * LEGEND_LINE + MARGIN;
    let mut out = String::with_capacity(600 * plan.tasks.len() + 4096);
    let title = format!("Plan of order {}", plan.order);
    let stages = l.bands.len();
    let desc = format!(
        "{} in {} ({}). Critical path: {}.",
        super::count(plan.tasks.len(), "task"),
        super::count(stages, "stage"),
        l.bands
            .iter()
            .map(|b| plan.stages[b.stage].as_str())
            .collect::<Vec<_>>()
            .join(", "),
        if path.is_empty() {
            "none".to_string()
        } else {
            path.join(" → ")
        }
    );
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"ordo-plan\" role=\"img\" \
         aria-labelledby=\"ordo-plan-title ordo-plan-desc\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">",
        w = num(l.width),
        h = num(height)
    );
    let _ = writeln!(out, "<title id=\"ordo-plan-title\">{}</title>", xml(&title));
    let _ = writeln!(out, "<desc id=\"ordo-plan-desc\">{}</desc>", xml(&desc));
    let _ = writeln!(out, "<style>{STYLE}</style>");
    out.push_str(
        "<defs>\
         <marker id=\"ordo-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#64748b\"/></marker>\
         <marker id=\"ordo-arrow-critical\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"4.5\" markerHeight=\"4.5\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#b91c1c\"/></marker>\
         </defs>\n",
    );
    stage_bands(&mut out, plan, &l);
    edges(&mut out, plan, &l, &links);
    nodes(&mut out, plan, &l, states);
    let _ = writeln!(out, "<g class=\"legend\" aria-label=\"legend\">");
    for (k, line) in legend.iter().enumerate() {
        let y = legend_y + k as f64 * LEGEND_LINE;
        line.draw(&mut out, MARGIN, y);
    }
    out.push_str("</g>\n</svg>\n");
    out
}

fn stage_bands(out: &mut String, plan: &Plan, l: &Layout) {
    out.push_str("<g class=\"stages\">\n");
    for b in &l.bands {
        let name = &plan.stages[b.stage];
        let n = plan.tasks.iter().filter(|t| t.stage == b.stage).count();
        let _ = writeln!(
            out,
            "<g class=\"stage\" data-stage=\"{name}\" aria-label=\"stage {name}\">\
             <rect class=\"band\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"8\"/>\
             <text class=\"stage-name\" x=\"{tx}\" y=\"{ty}\">{label}</text>\
             <text class=\"stage-count\" x=\"{tx}\" y=\"{cy}\">{count}</text></g>",
            name = xml(name),
            x = num(b.x - 8.0),
            y = num(MARGIN),
            w = num(b.width + 16.0),
            h = num(l.height - 2.0 * MARGIN + 8.0),
            tx = num(b.x),
            ty = num(MARGIN + 18.0),
            cy = num(MARGIN + 34.0),
            label = xml(&clip(name, (b.width / 8.5) as usize)),
            count = super::count(n, "task"),
        );
    }
    out.push_str("</g>\n");
}

/// What the picture links: every dependency (from, to, false), then the
/// links of the critical path that are stage barriers (from, to, true).
fn links(plan: &Plan) -> Vec<(usize, usize, bool)> {
    let mut links: Vec<(usize, usize, bool)> = plan
        .tasks
        .iter()
        .enumerate()
        .flat_map(|(i, t)| t.after.iter().map(move |&j| (j, i, false)))
        .collect();
    for w in plan.critical_path.windows(2) {
        if !plan.tasks[w[1]].after.contains(&w[0]) {
            links.push((w[0], w[1], true));
        }
    }
    links
}

/// An edge's path: out of the source's right side, through each lane it
/// was given, into the target's left side, with horizontal tangents.
fn edge_path(from: (f64, f64), lanes: &[(f64, f64, f64)], to: (f64, f64)) -> String {
    let mut d = format!("M{} {}", num(from.0), num(from.1));
    let mut at = from;
    let curve = |d: &mut String, at: &mut (f64, f64), x: f64, y: f64| {
        let dx = ((x - at.0) / 2.0).max(10.0);
        let _ = write!(
            d,
            " C{} {} {} {} {} {}",
            num(at.0 + dx),
            num(at.1),
            num(x - dx),
            num(y),
            num(x),
            num(y)
        );
        *at = (x, y);
    };
    for &(left, right, y) in lanes {
        curve(&mut d, &mut at, left, y);
        let _ = write!(d, " L{} {}", num(right), num(y));
        at = (right, y);
    }
    curve(&mut d, &mut at, to.0, to.1);
    d
}

fn edges(out: &mut String, plan: &Plan, l: &Layout, links: &[(usize, usize, bool)]) {
    let on_path: std::collections::BTreeSet<(usize, usize)> = plan
        .critical_path
        .windows(2)
        .map(|w| (w[0], w[1]))
        .collect();
    out.push_str("<g class=\"edges\">\n");
    // Critical links last, so they are drawn over the others.
    let mut order: Vec<usize> = (0..links.len()).collect();
    order.sort_by_key(|&k| on_path.contains(&(links[k].0, links[k].1)));
    for k in order {
        let (from, to, barrier) = links[k];
        let critical = on_path.contains(&(from, to));
        let start = (l.pos[from].0 + NODE_W, l.pos[from].1 + NODE_H / 2.0);
        let end = (l.pos[to].0, l.pos[to].1 + NODE_H / 2.0);
        let class = match (critical, barrier) {
            (true, true) => "edge critical barrier",
            (true, false) => "edge critical",
            _ => "edge",
        };
        let marker = if critical {
            "ordo-arrow-critical"
        } else {
            "ordo-arrow"
        };
        let (a, b) = (xml(&plan.tasks[from].id), xml(&plan.tasks[to].id));
        let what = if barrier {
            "stage barrier"
        } else {
            "dependency"
        };
        let _ = writeln!(
            out,
            "<path class=\"{class}\" data-from=\"{a}\" data-to=\"{b}\" marker-end=\"url(#{marker})\" \
             d=\"{}\"><title>{what}: {a} → {b}</title></path>",
            edge_path(start, &l.routes[k], end)
        );
    }
    out.push_str("</g>\n");
}

fn nodes(out: &mut String, plan: &Plan, l: &Layout, states: Option<&[Status]>) {
    let step = super::critical_steps(plan);
    let cp_len = plan.critical_path.len();
    out.push_str("<g class=\"tasks\">\n");
    for (i, t) in plan.tasks.iter().enumerate() {
        let (x, y) = l.pos[i];
        let state = states.and_then(|s| s.get(i)).copied();
        let mut class = String::from("task");
        if step.contains_key(&i) {
            class.push_str(" critical");
        }
        if t.when.is_some() {
            class.push_str(" conditional");
        }
        if let Some(s) = state {
            let _ = write!(class, " s-{}", s.as_str());
        }
        let notes = notes(t);
        let mut label = format!(
            "task {}, action {}, stage {}",
            t.id, t.action, plan.stages[t.stage]
        );
        for n in &notes {
            let _ = write!(label, ", {n}");
        }
        if let Some(k) = step.get(&i) {
            let _ = write!(label, ", critical path step {k} of {cp_len}");
        }
        if let Some(s) = state {
            let _ = write!(label, ", state {}", s.as_str());
        }
        let _ = write!(
            out,
            "<g class=\"{class}\" data-task=\"{id}\" aria-label=\"{label}\"><title>{label}</title>\
             <rect class=\"node\" x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"6\"/>",
            id = xml(&t.id),
            label = xml(&label),
            x = num(x),
            y = num(y),
            w = num(NODE_W),
            h = num(NODE_H),
        );
        if t.point_of_no_return {
            let _ = write!(
                out,
                "<rect class=\"ponr-ring\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"4\"/>",
                num(x + 3.5),
                num(y + 3.5),
                num(NODE_W - 7.0),
                num(NODE_H - 7.0)
            );
        }
        if let Some(k) = step.get(&i) {
            let (cx, cy) = (x + NODE_W - 14.0, y + 14.0);
            let _ = write!(
                out,
                "<path class=\"cp-mark\" d=\"M{} {} L{} {} L{} {} L{} {} z\"/>\
                 <text class=\"cp-step\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{k}</text>",
                num(cx),
                num(cy - 7.0),
                num(cx + 7.0),
                num(cy),
                num(cx),
                num(cy + 7.0),
                num(cx - 7.0),
                num(cy),
                num(cx - 10.0),
                num(cy + 4.0),
            );
        }
        let mut lines = vec![
            ("id", clip(&t.id, ID_CHARS)),
            ("action", clip(&t.action, LINE_CHARS)),
        ];
        // Two note lines, or one above a state; the rest counted.
        let room = if state.is_some() { 1 } else { 2 };
        for (k, n) in notes.iter().take(room).enumerate() {
            let more = if k + 1 == room && notes.len() > room {
                format!(" (+{})", notes.len() - room)
            } else {
                String::new()
            };
            lines.push(("note", clip(&format!("{n}{more}"), LINE_CHARS)));
        }
        for (k, (class, text)) in lines.iter().enumerate() {
            let _ = write!(
                out,
                "<text class=\"{class}\" x=\"{}\" y=\"{}\">{}</text>",
                num(x + 10.0),
                num(y + 19.0 + 17.0 * k as f64),
                xml(text)
            );
        }
        if let Some(s) = state {
            let _ = write!(
                out,
                "<text class=\"state\" x=\"{}\" y=\"{}\">{} {}</text>",
                num(x + 10.0),
                num(y + NODE_H - 8.0),
                s.icon(),
                s.as_str()
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str("</g>\n");
}

/// One line of the legend: an optional sample shape, then text.
struct LegendLine {
    sample: Sample,
    text: String,
    bold: bool,
}

enum Sample {
    None,
    Critical,
    Barrier,
    Conditional,
    PointOfNoReturn,
    State(Status),
}

impl LegendLine {
    fn draw(&self, out: &mut String, x: f64, y: f64) {
        let (sx, tx) = (x, x + 40.0);
        let mid = y + LEGEND_LINE / 2.0;
        match self.sample {
            Sample::None => {}
            Sample::Critical => {
                let _ = write!(
                    out,
                    "<path class=\"cp-mark\" d=\"M{a} {t} L{b} {m} L{a} {btm} L{c} {m} z\"/>\
                     <path class=\"edge critical\" d=\"M{} {m} L{} {m}\"/>",
                    num(sx + 14.0),
                    num(sx + 34.0),
                    a = num(sx + 7.0),
                    b = num(sx + 14.0),
                    c = num(sx),
                    t = num(mid - 7.0),
                    m = num(mid),
                    btm = num(mid + 7.0),
                );
            }
            Sample::Barrier => {
                let _ = write!(
                    out,
                    "<path class=\"edge critical barrier\" d=\"M{} {m} L{} {m}\"/>",
                    num(sx),
                    num(sx + 34.0),
                    m = num(mid)
                );
            }
            Sample::Conditional | Sample::PointOfNoReturn | Sample::State(_) => {
                let class = match self.sample {
                    Sample::Conditional => "conditional".to_string(),
                    Sample::State(s) => format!("s-{}", s.as_str()),
                    _ => String::new(),
                };
                let _ = write!(
                    out,
                    "<g class=\"{class}\"><rect class=\"node\" x=\"{}\" y=\"{}\" width=\"34\" height=\"16\" rx=\"3\"/></g>",
                    num(sx),
                    num(mid - 8.0)
                );
                if let Sample::PointOfNoReturn = self.sample {
                    let _ = write!(out, "<rect class=\"ponr-ring\" x=\"{}\" y=\"{}\" width=\"28\" height=\"10\" rx=\"2\"/>", num(sx + 3.0), num(mid - 5.0));
                }
            }
        }
        let class = if self.bold {
            "legend-title"
        } else {
            "legend-text"
        };
        let _ = writeln!(
            out,
            "<text class=\"{class}\" x=\"{}\" y=\"{}\">{}</text>",
            num(if matches!(self.sample, Sample::None) {
                x
            } else {
                tx
            }),
            num(mid + 4.0),
            xml(&self.text)
        );
    }
}

/// The legend: what each mark means, the states present, then the critical
/// path by name, wrapped to the picture's width.
fn legend_lines(
    plan: &Plan,
    states: Option<&[Status]>,
    path: &[&str],
    width: f64,
) -> Vec<LegendLine> {
    let line = |sample, text: &str| LegendLine {
        sample,
        text: text.to_string(),
        bold: false,
    };
    let mut lines = vec![LegendLine {
        sample: Sample::None,
        text: "Legend".to_string(),
        bold: true,
    }];
    lines.push(line(
        Sample::Critical,
        "on the critical path: thick red outline, ◆ and its step number",
    ));
    if plan
        .critical_path
        .windows(2)
        .any(|w| !plan.tasks[w[1]].after.contains(&w[0]))
    {
        lines.push(line(
            Sample::Barrier,
            "critical path across a stage barrier",
        ));
    }
    if plan.tasks.iter().any(|t| t.when.is_some()) {
        lines.push(line(
            Sample::Conditional,
            "dashed outline: condition decided at run time",
        ));
    }
    if plan.tasks.iter().any(|t| t.point_of_no_return) {
        lines.push(line(
            Sample::PointOfNoReturn,
            "double outline: point of no return",
        ));
    }
    if let Some(states) = states {
        let states = &states[..states.len().min(plan.tasks.len())];
        for s in Status::ALL {
            let n = states.iter().filter(|&&x| x == s).count();
            if n == 0 {
                continue;
            }
            lines.push(line(
                Sample::State(s),
                &format!("{} {}: {n}", s.icon(), s.as_str()),
            ));
        }
    }
    let chars = ((width - 2.0 * MARGIN) / 7.0).max(40.0) as usize;
    let mut text = String::from("Critical path: ");
    if path.is_empty() {
        text.push_str("none");
    }
    for (k, id) in path.iter().enumerate() {
        let piece = if k == 0 {
            id.to_string()
        } else {
            format!(" → {id}")
        };
        if text.chars().count() + piece.chars().count() > chars && !text.trim().is_empty() {
            lines.push(line(Sample::None, &text));
            text = String::from("   ");
        }
        text.push_str(&piece);
    }
    lines.push(line(Sample::None, &text));
    lines
}

#[cfg(test)]
mod tests {
    use super::super::layout::test_plan;
    use super::*;

    #[test]
    fn escapes_xml_and_terminal_characters() {
        assert_eq!(xml("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(xml("x\u{1b}[31m\u{202e}"), "x\\u{1b}[31m\\u{202e}");
    }

    #[test]
    fn clips_long_text_with_an_ellipsis() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
    }

    #[test]
    fn states_show_as_a_word_and_icon_not_only_a_colour() {
        let mut plan = test_plan(&[(0, &[]), (1, &[0])]);
        plan.critical_path = vec![0, 1];
        let s = svg(
            &plan,
            Some(&[Status::Task(TaskState::Done), Status::Waiting]),
        );
        assert!(s.contains("class=\"task critical s-done\""), "{s}");
        assert!(s.contains("✓ done</text>"));
        assert!(s.contains("◔ waiting</text>"));
        assert!(s.contains("◔ waiting: 1</text>"));
        let plain = svg(&plan, None);
        assert!(!plain.contains("s-done\""));
    }

    #[test]
    fn a_critical_link_across_a_stage_barrier_is_drawn() {
        let mut plan = test_plan(&[(0, &[]), (1, &[])]);
        plan.critical_path = vec![0, 1];
        let s = svg(&plan, None);
        assert!(
            s.contains("class=\"edge critical barrier\" data-from=\"t0\" data-to=\"t1\""),
            "{s}"
        );
    }
}
