//! Cycles among tasks: inside a rule block, in the order block, and across
//! products linked by `relies on` (for the same order action, a cycle there
//! makes every order holding both products cyclic).

use std::collections::{BTreeMap, VecDeque};

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};

use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::expr::TaskRef;
use crate::model::{Product, Task};
use crate::span::Span;
use crate::syntax::ast::OrderAction;

/// A rule block: product and order action, or the order block (`None`).
type Block<'a> = Option<(&'a str, OrderAction)>;

/// A task node: product and block, or the order block (`None`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Node<'a> {
    block: Option<(&'a str, OrderAction)>,
    task: &'a str,
    span: Span,
}

pub(super) fn check_cycles(
    products: &BTreeMap<String, Product>,
    order_tasks: &[Task],
    diags: &mut Diagnostics,
) {
    let mut graph: DiGraph<Node<'_>, Span> = DiGraph::new();
    let mut index: BTreeMap<(Block<'_>, &str), NodeIndex> = BTreeMap::new();
    let mut blocks: Vec<(Block<'_>, &Task)> = Vec::new();
    for p in products.values() {
        for (action, tasks) in &p.rules {
            for t in tasks {
                blocks.push((Some((p.name.as_str(), *action)), t));
            }
        }
    }
    blocks.extend(order_tasks.iter().map(|t| (None, t)));
    for (block, t) in &blocks {
        let n = graph.add_node(Node {
            block: *block,
            task: &t.name,
            span: t.span,
        });
        index.insert((*block, t.name.as_str()), n);
    }
    for (block, t) in &blocks {
        let from = index[&(*block, t.name.as_str())];
        for (dep, span) in t.dependencies() {
            let key = match &dep {
                TaskRef::Local { task } => (*block, task.as_str()),
                TaskRef::Order { task } => (None, task.as_str()),
                TaskRef::Relied { product, task } => match block {
                    Some((_, action)) => match products.get_key_value(product) {
                        Some((name, _)) => (Some((name.as_str(), *action)), task.as_str()),
                        None => continue,
                    },
                    None => continue,
                },
            };
            // A relied-on task absent from the same action's block is no edge here.
            if let Some(&to) = index.get(&key) {
                // Edges point from a dependency to its dependent.
                graph.add_edge(to, from, span);
            }
        }
    }
    let mut sccs: Vec<Vec<NodeIndex>> = tarjan_scc(&graph)
        .into_iter()
        .filter(|c| c.len() > 1)
        .collect();
    for c in &mut sccs {
        c.sort_by(|a, b| graph[*a].cmp(&graph[*b]));
    }
    sccs.sort_by(|a, b| graph[a[0]].cmp(&graph[b[0]]));
    for scc in sccs {
        diags.push(cycle_diagnostic(&graph, &scc));
    }
}

/// Finds one cycle through the first node of the component and reports it as
/// a path, labelled on the reference that closes it.
fn cycle_diagnostic(graph: &DiGraph<Node<'_>, Span>, scc: &[NodeIndex]) -> Diagnostic {
    let start = scc[0];
    let members: std::collections::BTreeSet<NodeIndex> = scc.iter().copied().collect();
    // Breadth-first from `start` within the component, back to `start`.
    let mut parent: BTreeMap<NodeIndex, (NodeIndex, Span)> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    let mut closing: Option<(NodeIndex, Span)> = None;
    'search: while let Some(n) = queue.pop_front() {
        let mut next: Vec<_> = graph
            .edges(n)
            .map(|e| (petgraph::visit::EdgeRef::target(&e), *e.weight()))
            .collect();
        next.sort_by_key(|(t, _)| graph[*t].clone());
        for (t, span) in next {
            if !members.contains(&t) {
                continue;
            }
            if t == start {
                closing = Some((n, span));
                break 'search;
            }
            if let std::collections::btree_map::Entry::Vacant(e) = parent.entry(t) {
                e.insert((n, span));
                queue.push_back(t);
            }
        }
    }
    let (last, close_span) =
        closing.expect("a strongly connected component of two or more nodes has a cycle");
    let mut path = vec![last];
    let mut spans = Vec::new();
    let mut n = last;
    while n != start {
        let (p, span) = parent[&n];
        spans.push((n, span));
        path.push(p);
        n = p;
    }
    path.reverse();
    let one_block = path.iter().all(|n| graph[*n].block == graph[start].block);
    let name = |n: NodeIndex| {
        let node = &graph[n];
        match node.block {
            _ if one_block => node.task.to_string(),
            Some((product, action)) => format!("{product}.{}:{}", action.as_str(), node.task),
            None => format!("order.{}", node.task),
        }
    };
    let mut text: Vec<String> = path.iter().map(|n| name(*n)).collect();
    text.push(name(start));
    // `a -> b` reads "a runs before b".
    let mut d = Diagnostic::error(
        Code::Cycle,
        format!(
            "tasks depend on each other in a cycle: {}",
            text.join(" -> ")
        ),
    )
    .at(
        close_span,
        format!(
            "`{}` waits for `{}` here, which closes the cycle",
            name(start),
            name(last)
        ),
    );
    for (n, span) in spans.into_iter().rev() {
        d = d.with_related(
            span,
            format!("`{}` waits for `{}`", name(n), name(parent_of(&path, n))),
        );
    }
    d.with_help("remove one of these dependencies (an `after` or a read of another task's output)")
}

fn parent_of(path: &[NodeIndex], n: NodeIndex) -> NodeIndex {
    let i = path.iter().position(|x| *x == n).unwrap_or(0);
    path[i.saturating_sub(1)]
}
