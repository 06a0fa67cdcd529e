//! Which tasks may go next: a task is ready once every task it waits for has
//! finished and every task of every earlier stage has finished (the stage
//! barrier). The same walk runs forwards (execution: a task waits for its
//! dependencies) and backwards (compensation: a task waits for its
//! dependents, and stages are taken last to first).
//!
//! Stage barriers are counters per stage, not edges: a plan of n tasks in
//! two stages would otherwise need n²/4 of them.

use crate::plan::TaskIdx;

pub(crate) struct Frontier<'a> {
    /// Tasks each task releases when it finishes.
    succs: &'a [Vec<TaskIdx>],
    /// Unfinished tasks each task waits for.
    blockers: Vec<u32>,
    /// The stage of each task in walking order (0 = walked first).
    rank: Vec<usize>,
    /// Unfinished tasks per rank.
    left: Vec<usize>,
    /// The lowest rank with unfinished tasks; `left.len()` when all finished.
    open: usize,
    /// Tasks whose blockers finished but whose rank is not open yet.
    parked: Vec<Vec<TaskIdx>>,
    finished: Vec<bool>,
}

impl<'a> Frontier<'a> {
    /// `preds[t]` are the tasks `t` waits for and `succs` their inverse;
    /// `rank[t] < ranks`. Returns the walk and the tasks ready at once.
    pub fn new(
        preds: &[Vec<TaskIdx>],
        succs: &'a [Vec<TaskIdx>],
        rank: Vec<usize>,
        ranks: usize,
    ) -> (Frontier<'a>, Vec<TaskIdx>) {
        let mut left = vec![0; ranks];
        for &r in &rank {
            left[r] += 1;
        }
        let open = left.iter().position(|&n| n > 0).unwrap_or(ranks);
        let mut f = Frontier {
            succs,
            blockers: preds.iter().map(|p| p.len() as u32).collect(),
            rank,
            left,
            open,
            parked: vec![Vec::new(); ranks],
            finished: vec![false; preds.len()],
        };
        let mut ready = Vec::new();
        for t in 0..preds.len() {
            if f.blockers[t] == 0 {
                f.release(t, &mut ready);
            }
        }
        (f, ready)
    }

    fn release(&mut self, t: TaskIdx, ready: &mut Vec<TaskIdx>) {
        if self.rank[t] <= self.open {
            ready.push(t);
        } else {
            self.parked[self.rank[t]].push(t);
        }
    }

    /// Marks `t` finished (once; later calls do nothing) and appends the
    /// tasks that became ready.
    pub fn finish(&mut self, t: TaskIdx, ready: &mut Vec<TaskIdx>) {
        if std::mem::replace(&mut self.finished[t], true) {
            return;
        }
        for &s in self.succs[t].iter() {
            self.blockers[s] -= 1;
            if self.blockers[s] == 0 {
                self.release(s, ready);
            }
        }
        self.left[self.rank[t]] -= 1;
        while self.open < self.left.len() && self.left[self.open] == 0 {
            self.open += 1;
            if let Some(parked) = self.parked.get_mut(self.open) {
                ready.append(parked);
            }
        }
    }

    pub fn all_finished(&self) -> bool {
        self.open == self.left.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_hold_back_tasks_without_edges() {
        // 0 and 1 in stage 0, 2 in stage 1 with no edge; 3 after 2.
        let preds = vec![vec![], vec![], vec![], vec![2]];
        let succs = vec![vec![], vec![], vec![3], vec![]];
        let (mut f, ready) = Frontier::new(&preds, &succs, vec![0, 0, 1, 1], 2);
        assert_eq!(ready, vec![0, 1]);
        let mut ready = Vec::new();
        f.finish(0, &mut ready);
        assert!(ready.is_empty());
        f.finish(1, &mut ready);
        assert_eq!(ready, vec![2]);
        ready.clear();
        f.finish(2, &mut ready);
        assert_eq!(ready, vec![3]);
        f.finish(3, &mut ready);
        assert!(f.all_finished());
    }
}
