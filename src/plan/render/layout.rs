//! Where each task of a plan goes in its picture, computed by ordo (no
//! external tool): one band of columns per stage, within a stage one column
//! per layer of dependency depth, and within a column rows ordered to reduce
//! edge crossings (barycentre sweeps). Deterministic: the same plan always
//! gets the same layout.

use crate::plan::{Plan, TaskIdx};

/// A task node's size and the gaps between nodes, in SVG user units.
pub(crate) const NODE_W: f64 = 220.0;
pub(crate) const NODE_H: f64 = 78.0;
/// The room a long edge takes where it passes a column.
const LANE_H: f64 = 14.0;
const GAP_X: f64 = 56.0;
const GAP_Y: f64 = 18.0;
/// Extra room between two stages' bands.
const STAGE_GAP: f64 = 28.0;
pub(crate) const MARGIN: f64 = 16.0;
/// Room above the nodes for the stage headers.
pub(crate) const HEADER_H: f64 = 44.0;
/// Barycentre sweeps (each one left to right, then right to left).
const SWEEPS: usize = 4;

/// A stage that has tasks: its band of columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Band {
    pub stage: usize,
    pub x: f64,
    pub width: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Layout {
    /// Per task (by [`TaskIdx`]): the top-left corner of its node.
    pub pos: Vec<(f64, f64)>,
    /// Per task: its global column and its place in that column.
    pub cell: Vec<(usize, usize)>,
    /// Per edge given to [`layout`], in that order: where it passes the
    /// columns between its ends, as (left x, right x, y) lanes kept free
    /// of nodes.
    pub routes: Vec<Vec<(f64, f64, f64)>>,
    pub bands: Vec<Band>,
    /// The extent of the nodes and headers, margins included.
    pub width: f64,
    pub height: f64,
}

/// Each task's layer within its stage: 0 when none of its dependencies is
/// in the same stage, else one more than the deepest of those. Tasks are in
/// topological order, so one pass suffices.
fn layers(plan: &Plan) -> Vec<usize> {
    let mut layer = vec![0usize; plan.tasks.len()];
    for (i, t) in plan.tasks.iter().enumerate() {
        layer[i] = t
            .after
            .iter()
            .filter(|&&j| j < i && plan.tasks[j].stage == t.stage)
            .map(|&j| layer[j] + 1)
            .max()
            .unwrap_or(0);
    }
    layer
}

/// The graph whose rows are ordered: the tasks, then one lane node per
/// column a long edge passes, chained from the edge's source to its target.
struct Grid {
    columns: Vec<Vec<usize>>,
    preds: Vec<Vec<usize>>,
    succs: Vec<Vec<usize>>,
}

/// Orders each column's nodes by the mean place of their neighbours in the
/// columns already placed, alternately from the left (predecessors) and
/// from the right (successors). Ties keep the previous order, so the result
/// depends only on the plan.
fn order_rows(g: &mut Grid) {
    let mut row = vec![0usize; g.preds.len()];
    for col in &g.columns {
        for (r, &i) in col.iter().enumerate() {
            row[i] = r;
        }
    }
    let reorder = |col: &mut Vec<usize>, row: &mut [usize], near: &[Vec<usize>]| {
        let mut keyed: Vec<(f64, usize, usize)> = col
            .iter()
            .map(|&i| {
                let key = if near[i].is_empty() {
                    row[i] as f64
                } else {
                    near[i].iter().map(|&j| row[j] as f64).sum::<f64>() / near[i].len() as f64
                };
                (key, row[i], i)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        for (r, (_, _, i)) in keyed.into_iter().enumerate() {
            col[r] = i;
            row[i] = r;
        }
    };
    for _ in 0..SWEEPS {
        for c in 1..g.columns.len() {
            reorder(&mut g.columns[c], &mut row, &g.preds);
        }
        for c in (0..g.columns.len().saturating_sub(1)).rev() {
            reorder(&mut g.columns[c], &mut row, &g.succs);
        }
    }
}

/// Lays out the plan's tasks and `edges` (from, to): its dependencies and
/// any other links to draw. Every edge must go from a column to a later one,
/// which dependencies and stage barriers do.
pub(crate) fn layout(plan: &Plan, edges: &[(TaskIdx, TaskIdx)]) -> Layout {
    let n = plan.tasks.len();
    let layer = layers(plan);
    // Global columns: each used stage's layers, stage after stage.
    let mut first_col = vec![0usize; plan.stages.len()];
    let mut stage_cols = vec![0usize; plan.stages.len()];
    for (i, t) in plan.tasks.iter().enumerate() {
        stage_cols[t.stage] = stage_cols[t.stage].max(layer[i] + 1);
    }
    let mut cols = 0;
    for s in 0..plan.stages.len() {
        first_col[s] = cols;
        cols += stage_cols[s];
    }
    let mut g = Grid {
        columns: vec![Vec::new(); cols],
        preds: vec![Vec::new(); n],
        succs: vec![Vec::new(); n],
    };
    let mut column_of: Vec<usize> = (0..n)
        .map(|i| first_col[plan.tasks[i].stage] + layer[i])
        .collect();
    for (i, &c) in column_of.iter().enumerate() {
        g.columns[c].push(i);
    }
    // Long edges get a lane node in each column they pass.
    let mut lanes: Vec<Vec<usize>> = Vec::with_capacity(edges.len());
    for &(from, to) in edges {
        let mut prev = from;
        let mut own = Vec::new();
        for c in column_of[from] + 1..column_of[to] {
            let v = g.preds.len();
            g.preds.push(vec![prev]);
            g.succs.push(Vec::new());
            g.succs[prev].push(v);
            g.columns[c].push(v);
            column_of.push(c);
            own.push(v);
            prev = v;
        }
        g.preds[to].push(prev);
        g.succs[prev].push(to);
        lanes.push(own);
    }
    order_rows(&mut g);

    // Column x positions: stages separated by an extra gap.
    let mut col_x = vec![0.0; cols];
    let mut bands = Vec::new();
    let mut x = MARGIN;
    for s in 0..plan.stages.len() {
        if stage_cols[s] == 0 {
            continue;
        }
        let start = x;
        for cx in &mut col_x[first_col[s]..first_col[s] + stage_cols[s]] {
            *cx = x;
            x += NODE_W + GAP_X;
        }
        bands.push(Band {
            stage: s,
            x: start,
            width: x - GAP_X - start,
        });
        x += STAGE_GAP;
    }
    // Within a column, nodes and lanes stacked in their order.
    let mut pos = vec![(0.0, 0.0); g.preds.len()];
    let mut cell = vec![(0, 0); n];
    let mut bottom: f64 = MARGIN + HEADER_H + NODE_H;
    for (c, col) in g.columns.iter().enumerate() {
        let mut y = MARGIN + HEADER_H;
        for (r, &i) in col.iter().enumerate() {
            pos[i] = (col_x[c], y);
            let h = if i < n { NODE_H } else { LANE_H };
            if i < n {
                cell[i] = (c, r);
            }
            bottom = bottom.max(y + h);
            y += h + GAP_Y;
        }
    }
    let routes = lanes
        .iter()
        .map(|own| {
            own.iter()
                .map(|&v| (pos[v].0, pos[v].0 + NODE_W, pos[v].1 + LANE_H / 2.0))
                .collect()
        })
        .collect();
    pos.truncate(n);
    let width = if bands.is_empty() {
        2.0 * MARGIN + NODE_W
    } else {
        x - STAGE_GAP - GAP_X + MARGIN
    };
    Layout {
        pos,
        cell,
        routes,
        bands,
        width,
        height: bottom + MARGIN,
    }
}

/// A plan of tasks `t0`, `t1`, … given as (stage, dependencies), in two
/// stages `s0` and `s1`, for the renderers' unit tests.
#[cfg(test)]
pub(crate) fn test_plan(tasks: &[(usize, &[usize])]) -> Plan {
    let zero = serde_json::json!({ "amount": "0", "currency": "EUR" });
    let tasks: Vec<_> = tasks
        .iter()
        .enumerate()
        .map(|(i, (stage, after))| {
            serde_json::json!({
                "id": format!("t{i}"), "item": null, "product": null, "name": format!("t{i}"),
                "action": "a.b", "stage": stage, "after": after, "inputs": [], "when": null,
                "requires": [], "retry": null, "timeout_ms": null, "undo": null,
                "point_of_no_return": false, "outputs": []
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "order": "O-1", "catalog_hash": "h", "stages": ["s0", "s1"], "items": [],
        "tasks": tasks, "critical_path": [],
        "price": { "once": zero, "monthly": zero }
    }))
    .expect("a test plan")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Edges that cross between two adjacent columns.
    fn crossings(l: &Layout, edges: &[(TaskIdx, TaskIdx)]) -> usize {
        let mut n = 0;
        for (a, &(s1, t1)) in edges.iter().enumerate() {
            for &(s2, t2) in &edges[a + 1..] {
                let (r1, r2) = (
                    l.cell[s1].1 as i64 - l.cell[s2].1 as i64,
                    l.cell[t1].1 as i64 - l.cell[t2].1 as i64,
                );
                if r1 * r2 < 0 {
                    n += 1;
                }
            }
        }
        n
    }

    #[test]
    fn barycentre_uncrosses_a_swapped_pair() {
        // a0 -> b1, a1 -> b0 in task order: crossed unless reordered.
        let plan = test_plan(&[(0, &[]), (0, &[]), (0, &[1]), (0, &[0])]);
        let l = layout(&plan, &[(1, 2), (0, 3)]);
        assert_eq!(l.cell[0].0, 0);
        assert_eq!(l.cell[2].0, 1);
        assert_eq!(crossings(&l, &[(1, 2), (0, 3)]), 0);
    }

    #[test]
    fn layers_follow_same_stage_dependencies_only() {
        let plan = test_plan(&[(0, &[]), (0, &[0]), (1, &[1]), (1, &[2])]);
        let l = layout(&plan, &[(0, 1), (1, 2), (2, 3)]);
        let cols: Vec<usize> = l.cell.iter().map(|c| c.0).collect();
        assert_eq!(cols, [0, 1, 2, 3]);
        assert_eq!(l.bands.len(), 2);
        assert!(l.bands[1].x > l.bands[0].x + l.bands[0].width);
        assert!(l.routes.iter().all(Vec::is_empty));
    }

    #[test]
    fn a_long_edge_passes_columns_in_a_lane_clear_of_nodes() {
        // t0 -> t1 -> t2 and t0 -> t2 directly: the long edge gets a lane
        // in t1's column, beside t1, not through it.
        let plan = test_plan(&[(0, &[]), (0, &[0]), (0, &[1, 0])]);
        let l = layout(&plan, &[(0, 1), (1, 2), (0, 2)]);
        assert_eq!(l.routes[2].len(), 1);
        let (left, right, y) = l.routes[2][0];
        assert_eq!((left, right), (l.pos[1].0, l.pos[1].0 + NODE_W));
        assert!(
            y < l.pos[1].1 || y > l.pos[1].1 + NODE_H,
            "{y} {:?}",
            l.pos[1]
        );
    }

    proptest::proptest! {
        /// On any plan: edges go left to right, and no two boxes (nodes or
        /// lanes) of a column overlap, so no edge runs behind a node.
        #[test]
        fn nothing_overlaps_and_edges_go_right(
            raw in proptest::collection::vec((0usize..2, proptest::collection::vec(0usize..40, 0..3)), 1..40)
        ) {
            let spec: Vec<(usize, Vec<usize>)> = raw
                .iter()
                .enumerate()
                .map(|(i, (stage, after))| {
                    let stage = if i < raw.len() / 2 { 0 } else { *stage };
                    let mut after: Vec<usize> = after
                        .iter()
                        .filter(|&&j| j < i && (raw.len() / 2 > j || stage == 1))
                        .copied()
                        .collect();
                    after.sort();
                    after.dedup();
                    (stage, after)
                })
                .collect();
            let tasks: Vec<(usize, &[usize])> = spec.iter().map(|(s, a)| (*s, a.as_slice())).collect();
            let plan = test_plan(&tasks);
            let edges: Vec<(usize, usize)> = spec
                .iter()
                .enumerate()
                .flat_map(|(i, (_, a))| a.iter().map(move |&j| (j, i)))
                .collect();
            let l = layout(&plan, &edges);
            let mut boxes: Vec<(f64, f64, f64)> = l.pos.iter().map(|&(x, y)| (x, y, y + NODE_H)).collect();
            for (k, &(from, to)) in edges.iter().enumerate() {
                proptest::prop_assert!(l.pos[from].0 < l.pos[to].0);
                for &(left, _, y) in &l.routes[k] {
                    proptest::prop_assert!(left > l.pos[from].0 && left < l.pos[to].0);
                    boxes.push((left, y - LANE_H / 2.0, y + LANE_H / 2.0));
                }
            }
            for (a, b) in boxes.iter().enumerate().flat_map(|(k, a)| boxes[k + 1..].iter().map(move |b| (a, b))) {
                if a.0 == b.0 {
                    proptest::prop_assert!(a.2 <= b.1 || b.2 <= a.1, "{a:?} overlaps {b:?}");
                }
            }
        }
    }
}
