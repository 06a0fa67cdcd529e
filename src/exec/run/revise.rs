//! Revisions inside a run: the safe point a run stops at for a revision to
//! be applied, and the compensation of only the tasks a revision takes back.

use super::{Phase, Run, Stop};
use crate::exec::executor::{ExecError, RunOutcome};
use crate::exec::frontier::Frontier;
use crate::exec::pool::Pool;
use crate::exec::state::{OrderState, TaskState};

impl Run<'_, '_> {
    /// Stopped for a revision, with nothing running: tasks waiting for a
    /// retry go back to `pending` (the revised version decides about them),
    /// and the run ends for the revision to be applied. A task that failed
    /// for good or whose outcome is unknown meanwhile turns the stop into
    /// an ordinary one (`None`): the revision is not applied.
    pub(super) fn safe_point(&mut self) -> Result<Option<RunOutcome>, ExecError> {
        if let Some(t) = (0..self.records.len()).find(|&t| self.unsettled(t)) {
            self.stop = Some(Stop::Unknown(t));
            return Ok(None);
        }
        if let Some(t) =
            (0..self.records.len()).find(|&t| self.records[t].state == TaskState::Failed)
        {
            let error = self.records[t].error.clone().unwrap_or_default();
            self.stop = Some(Stop::Failed {
                task: Some(t),
                error,
            });
            return Ok(None);
        }
        for t in 0..self.records.len() {
            if self.records[t].state == TaskState::Running {
                let error = self.records[t].error.clone();
                self.emit_task(t, TaskState::Pending, error)?;
            }
        }
        self.flush()?;
        Ok(Some(RunOutcome {
            revising: true,
            ..self.outcome(OrderState::InProgress, None)
        }))
    }

    /// Compensation of the selected tasks only (a revision's undos).
    pub(super) fn take_back(
        &mut self,
        pool: &mut Pool<'_, '_>,
        stages: &[usize],
        ranks: usize,
    ) -> Result<RunOutcome, ExecError> {
        self.stop = Some(Stop::Revise);
        self.phase = Phase::Compensate;
        let backward: Vec<usize> = stages.iter().map(|s| ranks - 1 - s).collect();
        let (mut frontier, ready) =
            Frontier::new(&self.ex.dependents, &self.ex.deps, backward, ranks);
        self.drive(pool, &mut frontier, ready)?;
        if self.undo_failures.is_empty() {
            self.flush()?;
            return Ok(RunOutcome {
                revising: true,
                ..self.outcome(OrderState::InProgress, None)
            });
        }
        let problems: Vec<String> = self
            .undo_failures
            .iter()
            .map(|(t, e)| format!("the undo of {} failed: {e}", self.id(*t)))
            .collect();
        let reason = format!(
            "{} (while revising the order; resume to try again)",
            problems.join("; ")
        );
        self.finish(OrderState::Held, Some(reason))
    }
}
