//! Cycles among tasks: inside a rule block, in the order block, and across
//! products linked by `relies on` (for the same order action, a cycle there
//! makes every order holding both products cyclic).

use std::collections::HashMap;

use crate::dag::{cycle_path, Dag};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::expr::TaskRef;
use crate::model::{Product, Task};
use crate::span::Span;
use crate::syntax::ast::OrderAction;

/// A rule block: product and action, or the order block (`None`).
type Block<'a> = Option<(&'a str, OrderAction)>;

/// Reported cycles stop here: past a few, the rest are more of the same mistake.
const MAX_REPORTED: usize = 10;

pub(super) fn check_cycles(
    products: &std::collections::BTreeMap<String, Product>,
    order_tasks: &[Task],
    diags: &mut Diagnostics,
) {
    let mut nodes: Vec<(Block<'_>, &Task)> = Vec::new();
    for p in products.values() {
        for (action, tasks) in &p.rules {
            nodes.extend(tasks.iter().map(|t| (Some((p.name.as_str(), *action)), t)));
        }
    }
    nodes.extend(order_tasks.iter().map(|t| (None, t)));
    let index: HashMap<(Block<'_>, &str), usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, (b, t))| ((*b, t.name.as_str()), i))
        .collect();
    let mut deps: Vec<Vec<(usize, Span)>> = Vec::with_capacity(nodes.len());
    for (block, t) in &nodes {
        let mut d = Vec::new();
        for (dep, span) in t.deps.iter().cloned() {
            let key = match &dep {
                TaskRef::Local { task } => (*block, task.as_str()),
                TaskRef::Order { task } => (None, task.as_str()),
                TaskRef::Relied { product, task } => match (block, products.get_key_value(product))
                {
                    (Some((_, action)), Some((name, _))) => {
                        (Some((name.as_str(), *action)), task.as_str())
                    }
                    _ => continue,
                },
            };
            // A relied-on task absent from the same action's block is no edge here.
            if let Some(&j) = index.get(&key) {
                d.push((j, span));
            }
        }
        deps.push(d);
    }
    for _ in 0..MAX_REPORTED {
        let plain: Vec<Vec<usize>> = deps
            .iter()
            .map(|d| d.iter().map(|(j, _)| *j).collect())
            .collect();
        let Err(cycle) = Dag::new(&plain).order(|i| i) else {
            return;
        };
        diags.push(cycle_diagnostic(&nodes, &deps, &cycle));
        // Cut the edge that closes it and look for another.
        let (first, last) = (cycle[0], cycle[cycle.len() - 1]);
        deps[first].retain(|(j, _)| *j != last);
    }
}

/// The cycle as a path `a -> b -> c -> a` ("a runs before b"), labelled on
/// the reference that closes it, with the other references as related labels.
fn cycle_diagnostic(
    nodes: &[(Block<'_>, &Task)],
    deps: &[Vec<(usize, Span)>],
    cycle: &[usize],
) -> Diagnostic {
    let one_block = cycle.iter().all(|&n| nodes[n].0 == nodes[cycle[0]].0);
    let name = |n: usize| {
        let (block, task) = nodes[n];
        match block {
            _ if one_block => task.name.clone(),
            Some((product, action)) => format!("{product}.{}:{}", action.as_str(), task.name),
            None => format!("order.{}", task.name),
        }
    };
    let span_of = |waiter: usize, waited: usize| {
        deps[waiter]
            .iter()
            .find(|(j, _)| *j == waited)
            .map(|(_, s)| *s)
    };
    let (first, last) = (cycle[0], cycle[cycle.len() - 1]);
    let mut d = Diagnostic::error(
        Code::Cycle,
        format!(
            "tasks depend on each other in a cycle: {}",
            cycle_path(cycle, name)
        ),
    );
    if let Some(span) = span_of(first, last) {
        d = d.at(
            span,
            format!(
                "`{}` waits for `{}` here, which closes the cycle",
                name(first),
                name(last)
            ),
        );
    }
    // The first few links; a long cycle's message says how many more.
    for w in cycle.windows(2).take(8) {
        if let Some(span) = span_of(w[1], w[0]) {
            d = d.with_related(span, format!("`{}` waits for `{}`", name(w[1]), name(w[0])));
        }
    }
    d.with_help("remove one of these dependencies (an `after` or a read of another task's output)")
}
