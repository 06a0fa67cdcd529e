//! How large an order's plan may be: the one limit on an order's size that
//! its document cannot show (an item may bring any number of tasks).
//! `docs/limits.md` states it with the limits of the document itself
//! ([`crate::yaml::Limits`]).

use crate::diagnostic::{Code, Diagnostic};
use crate::order::OrderDoc;
use crate::span::Span;

/// The most tasks one order's plan may have (`ORDO_LIMIT_TASKS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanLimits {
    pub tasks: usize,
}

impl PlanLimits {
    pub const DEFAULT: PlanLimits = PlanLimits { tasks: 1_000_000 };

    /// The limit, as set in the environment: read on every decomposition,
    /// so `ordo serve` applies what it was started with to every order.
    pub fn from_env() -> Result<PlanLimits, String> {
        Ok(PlanLimits {
            tasks: crate::yaml::env_limit("ORDO_LIMIT_TASKS", PlanLimits::DEFAULT.tasks)?,
        })
    }

    /// The error for an order whose plan passes the limit at the item
    /// `item_span`, at `path` (`items[41]`).
    pub(super) fn too_many_tasks(&self, path: &str, item_span: Span) -> Diagnostic {
        Diagnostic::error(
            Code::OrderTooLarge,
            format!(
                "the order's plan has more than {} tasks, the limit of ORDO_LIMIT_TASKS: \
                 {path} brings it past",
                self.tasks
            ),
        )
        .at(item_span, "the plan passes the task limit with this item")
        .with_help(format!(
            "split the order, or set ORDO_LIMIT_TASKS to more than {} (docs/limits.md)",
            self.tasks
        ))
    }

    /// The error for a limit set wrongly in the environment.
    pub(super) fn misset(message: String, order: &OrderDoc) -> Diagnostic {
        Diagnostic::error(Code::OrderTooLarge, message)
            .at(order.id_span, "this order cannot be planned")
            .with_help(
                "ORDO_LIMIT_TASKS is the most tasks one order's plan may have (docs/limits.md)",
            )
    }
}
