//! Dependency graphs as index lists: a topological order and, when there is
//! none, one cycle. Both are loops over explicit worklists — no recursion, so
//! a chain of 20,000 tasks is as safe as a chain of three (petgraph's
//! `tarjan_scc` and `is_cyclic_directed` recurse once per node).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// `deps[i]` lists the nodes `i` waits for.
pub struct Dag<'a> {
    deps: &'a [Vec<usize>],
    dependents: Vec<Vec<usize>>,
}

impl<'a> Dag<'a> {
    pub fn new(deps: &'a [Vec<usize>]) -> Dag<'a> {
        let mut dependents = vec![Vec::new(); deps.len()];
        for (i, d) in deps.iter().enumerate() {
            for &j in d {
                dependents[j].push(i);
            }
        }
        Dag { deps, dependents }
    }

    /// Kahn's algorithm, taking the ready node of smallest `key` first, so
    /// the order is deterministic. `Err` holds one cycle when there is one.
    pub fn order<K: Ord>(&self, key: impl Fn(usize) -> K) -> Result<Vec<usize>, Vec<usize>> {
        let n = self.deps.len();
        let mut indegree: Vec<usize> = self.deps.iter().map(Vec::len).collect();
        let mut ready: BinaryHeap<Reverse<(K, usize)>> = (0..n)
            .filter(|&i| indegree[i] == 0)
            .map(|i| Reverse((key(i), i)))
            .collect();
        let mut out = Vec::with_capacity(n);
        while let Some(Reverse((_, i))) = ready.pop() {
            out.push(i);
            for &k in &self.dependents[i] {
                indegree[k] -= 1;
                if indegree[k] == 0 {
                    ready.push(Reverse((key(k), k)));
                }
            }
        }
        if out.len() == n {
            Ok(out)
        } else {
            Err(self.cycle_among(&indegree))
        }
    }

    /// One cycle, in dependency order (each node waits for the one before it,
    /// the first for the last), among the nodes a Kahn walk left with a
    /// positive in-degree: each of those waits for another of them.
    fn cycle_among(&self, indegree: &[usize]) -> Vec<usize> {
        let stuck = |j: usize| indegree[j] > 0;
        let Some(start) = (0..indegree.len()).find(|&i| stuck(i)) else {
            return Vec::new();
        };
        let mut position = vec![usize::MAX; indegree.len()];
        let mut walk = Vec::new();
        let mut v = start;
        loop {
            position[v] = walk.len();
            walk.push(v);
            // Nodes behind a cycle are stuck too, but every stuck node waits
            // for a stuck node, so walking backwards must repeat.
            let Some(&p) = self.deps[v].iter().filter(|&&j| stuck(j)).min() else {
                return walk;
            };
            if position[p] != usize::MAX {
                let mut cycle = walk[position[p]..].to_vec();
                cycle.reverse();
                // Start at the smallest node, so the report does not depend on the walk.
                let min = cycle
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, n)| **n)
                    .map_or(0, |(i, _)| i);
                cycle.rotate_left(min);
                return cycle;
            }
            v = p;
        }
    }
}

/// A cycle as a path, `a -> b -> c -> a`, abbreviated in the middle when it
/// is long (a message naming 20,000 tasks helps nobody).
pub fn cycle_path(cycle: &[usize], name: impl Fn(usize) -> String) -> String {
    const HEAD: usize = 6;
    const TAIL: usize = 3;
    let mut parts: Vec<String> = Vec::new();
    if cycle.len() > HEAD + TAIL + 1 {
        parts.extend(cycle[..HEAD].iter().map(|&n| name(n)));
        parts.push(format!("… {} more …", cycle.len() - HEAD - TAIL));
        parts.extend(cycle[cycle.len() - TAIL..].iter().map(|&n| name(n)));
    } else {
        parts.extend(cycle.iter().map(|&n| name(n)));
    }
    if let Some(&first) = cycle.first() {
        parts.push(name(first));
    }
    parts.join(" -> ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_and_finds_cycles_without_recursion() {
        let n = 200_000;
        let chain: Vec<Vec<usize>> = (0..n)
            .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
            .collect();
        let order = Dag::new(&chain).order(|i| i).unwrap();
        assert_eq!(order.len(), n);
        let mut cyclic = chain.clone();
        cyclic[0].push(n - 1);
        let cycle = Dag::new(&cyclic).order(|i| i).unwrap_err();
        assert_eq!(cycle.len(), n);
        // In dependency order: each waits for the one before it.
        for w in cycle.windows(2) {
            assert!(cyclic[w[1]].contains(&w[0]));
        }
        assert!(cyclic[cycle[0]].contains(cycle.last().unwrap()));
    }

    #[test]
    fn a_cycle_behind_a_tail() {
        // 3 waits for 2, 2 for 1, 1 for 2: the cycle is 1 <-> 2, not 3.
        let deps = vec![vec![], vec![2], vec![1], vec![2]];
        let cycle = Dag::new(&deps).order(|i| i).unwrap_err();
        let mut sorted = cycle.clone();
        sorted.sort();
        assert_eq!(sorted, [1, 2]);
    }
}
