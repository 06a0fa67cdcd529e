//! The resolved, typed catalog: what analysis makes of the AST, and the input
//! of decomposition. Everything that can be known without an order has been
//! checked by the time a [`Catalog`] exists.

mod analyze;
pub mod expr;
pub mod types;

use std::collections::BTreeMap;

use regex::Regex;
use serde::Serialize;

pub use analyze::analyze;
pub(crate) use analyze::value_fits;
pub use expr::{Expr, ExprKind, Message, MessagePart, Ref, TaskRef};
pub use types::Type;

use crate::span::Span;
use crate::syntax::ast::{OrderAction, PriceKind, RetryKind};
use crate::value::{Money, Value};

/// Names that expressions reserve; no attribute or order task may take them.
pub const RESERVED_ATTRIBUTES: [&str; 3] = ["order", "item", "price"];
pub const RESERVED_ORDER_TASKS: [&str; 3] = ["id", "customer", "price"];

#[derive(Debug, Clone)]
pub struct Catalog {
    pub name: Option<String>,
    pub version: Option<String>,
    pub stages: Vec<String>,
    pub default_stage: usize,
    pub enums: BTreeMap<String, EnumDef>,
    /// Fields of an order's customer record; `None` without a `customer` block.
    pub customer: Option<Vec<AttrDef>>,
    pub actions: BTreeMap<String, ActionDef>,
    /// Products and bundles (one namespace).
    pub products: BTreeMap<String, Product>,
    pub order_tasks: Vec<Task>,
    /// The one currency of every price line, if any are declared.
    pub currency: Option<String>,
    /// SHA-256 of the catalog's sources, pinning orders to what they were planned with.
    pub hash: String,
    /// Compiled `string matching` patterns, by pattern text.
    pub patterns: BTreeMap<String, Regex>,
}

#[derive(Debug, Clone)]
pub struct EnumDef {
    pub name: String,
    pub values: Vec<String>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct AttrDef {
    pub name: String,
    pub ty: Type,
    pub optional: bool,
    pub default: Option<Value>,
    /// The TMF622 characteristic name that sets it, beside its own name.
    pub characteristic: Option<String>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParamDef {
    pub name: String,
    pub ty: Type,
    /// An optional parameter may be left out of a call or given null.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub optional: bool,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct ActionDef {
    pub name: String,
    pub params: Vec<ParamDef>,
    pub outputs: Vec<ParamDef>,
    pub span: Span,
}

impl ActionDef {
    pub fn output(&self, name: &str) -> Option<&ParamDef> {
        self.outputs.iter().find(|o| o.name == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductKind {
    Product,
    Bundle,
}

#[derive(Debug, Clone)]
pub struct Product {
    pub name: String,
    pub kind: ProductKind,
    pub description: Option<String>,
    /// TMF622 offering and specification ids and names that order it.
    pub offerings: Vec<String>,
    pub attrs: Vec<AttrDef>,
    pub relies_on: Vec<Relies>,
    pub prices: Vec<PriceRule>,
    pub slas: Vec<Sla>,
    /// Rules on the state an `add` or `modify` item asks for.
    pub requires: Vec<Require>,
    /// Rules written `require on ACTION, …`: for those actions only.
    pub requires_on: Vec<(Vec<OrderAction>, Require)>,
    /// Rule blocks of a product (empty for bundles).
    pub rules: BTreeMap<OrderAction, Vec<Task>>,
    /// Included products of a bundle (empty for products).
    pub includes: Vec<Included>,
    pub span: Span,
}

impl Product {
    pub fn attr(&self, name: &str) -> Option<&AttrDef> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// The attribute a TMF622 characteristic sets: the one of that name,
    /// else the one whose `characteristic` alias it is.
    pub fn attr_for_characteristic(&self, name: &str) -> Option<&AttrDef> {
        self.attr(name).or_else(|| {
            self.attrs
                .iter()
                .find(|a| a.characteristic.as_deref() == Some(name))
        })
    }

    /// The product-level `require`s an item of this action must meet.
    pub fn requires_for(&self, action: OrderAction) -> impl Iterator<Item = &Require> {
        let state = action != OrderAction::Delete;
        self.requires.iter().filter(move |_| state).chain(
            self.requires_on
                .iter()
                .filter(move |(on, _)| on.contains(&action))
                .map(|(_, r)| r),
        )
    }

    /// Whether any rule block declares a task of this name.
    pub fn has_task(&self, name: &str) -> bool {
        self.rules.values().flatten().any(|t| t.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct Relies {
    pub product: String,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct PriceRule {
    pub kind: PriceKind,
    /// Negative for a discount line.
    pub amount: Money,
    /// The item actions it applies to: a one-off line `add` unless it names
    /// others; a monthly line, the price of a state, `add` and `modify`.
    pub actions: Vec<OrderAction>,
    /// On attributes only; decided at plan time.
    pub when: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sla {
    pub name: String,
    pub value: Value,
    /// On attributes only; decided at plan time. Of several lines of one
    /// term, the last that applies gives its value.
    #[serde(skip)]
    pub when: Option<Expr>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Require {
    pub cond: Expr,
    pub message: Message,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Included {
    pub product: String,
    /// The child's name in the bundle: its alias (`include P as NAME`), else
    /// the product's name. Child items are `BUNDLE_ITEM/NAME`.
    pub name: String,
    /// Child attribute name → expression over the bundle's attributes.
    pub args: Vec<(String, Expr)>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Retry {
    pub count: u32,
    pub kind: RetryKind,
    pub delay_ms: u64,
}

#[derive(Debug, Clone)]
pub struct Call {
    pub action: String,
    /// Arguments in the order of the action's declared parameters.
    pub args: Vec<(String, Expr)>,
    pub span: Span,
}

/// What a task waits for once its dependencies are done (`wait until EXPR`,
/// `wait D`). Plans keep it as [`crate::plan::PlanWait`].
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wait {
    /// No earlier than this instant: a date or datetime expression (a date
    /// is 00:00 UTC). Folded at plan time when it can be, else evaluated at
    /// dispatch against outputs, like inputs. Null does not wait.
    Until(Expr),
    /// No earlier than `ms` milliseconds after the task's dependencies are
    /// done.
    After { ms: u64 },
}

impl Wait {
    /// The earliest instant the task may start, its dependencies having been
    /// done at `deps_done`: `None` when it need not wait (a `wait until` that
    /// is null). `lookup` answers the references a plan's `Until` still
    /// holds (other tasks' outputs), as for inputs.
    pub fn not_before(
        &self,
        deps_done: chrono::DateTime<chrono::Utc>,
        lookup: &mut impl FnMut(&Ref) -> Option<Value>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, expr::EvalError> {
        match self {
            Wait::Until(e) => Ok(crate::value::instant(&e.eval(lookup)?)),
            Wait::After { ms } => Ok(Some(
                i64::try_from(*ms)
                    .ok()
                    .and_then(|ms| {
                        deps_done.checked_add_signed(chrono::TimeDelta::milliseconds(ms))
                    })
                    .ok_or(expr::EvalError::Overflow)?,
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Task {
    pub name: String,
    pub call: Call,
    /// Explicit `after` references.
    pub after: Vec<(TaskRef, Span)>,
    /// On attributes only when `when_at_run` is false.
    pub when: Option<Expr>,
    /// Whether `when` reads task outputs and so is decided at run time.
    pub when_at_run: bool,
    pub stage: usize,
    pub requires: Vec<Require>,
    pub retry: Option<Retry>,
    pub timeout_ms: Option<u64>,
    pub undo: Option<Call>,
    pub point_of_no_return: bool,
    /// `manual "TEAM"`: the team whose people do the task.
    pub manual: Option<String>,
    /// `wait until EXPR` or `wait D`.
    pub wait: Option<Wait>,
    pub span: Span,
    /// [`Task::dependencies`], computed once by analysis.
    pub deps: Vec<(TaskRef, Span)>,
}

impl Task {
    /// Tasks whose outputs this task reads (in its arguments, `when`,
    /// `require` and `undo`), excluding itself, with the span of the first read.
    pub fn data_refs(&self) -> Vec<(TaskRef, Span)> {
        let mut out: Vec<(TaskRef, Span)> = Vec::new();
        for e in self.exprs() {
            for (r, span) in e.spanned_refs() {
                if let Ref::Output { task, .. } = r {
                    let own = matches!(task, TaskRef::Local { task } if *task == self.name);
                    if !own && !out.iter().any(|(t, _)| t == task) {
                        out.push((task.clone(), span));
                    }
                }
            }
        }
        out
    }

    /// Direct dependencies: `after` references, then data references.
    pub fn dependencies(&self) -> Vec<(TaskRef, Span)> {
        let mut deps = self.after.clone();
        for (t, span) in self.data_refs() {
            if !deps.iter().any(|(d, _)| *d == t) {
                deps.push((t, span));
            }
        }
        deps
    }

    /// Every expression of the task, in clause order.
    pub fn exprs(&self) -> impl Iterator<Item = &Expr> {
        self.call
            .args
            .iter()
            .map(|(_, e)| e)
            .chain(self.when.iter())
            .chain(self.wait.iter().filter_map(|w| match w {
                Wait::Until(e) => Some(e),
                Wait::After { .. } => None,
            }))
            .chain(
                self.requires
                    .iter()
                    .flat_map(|r| std::iter::once(&r.cond).chain(r.message.exprs())),
            )
            .chain(self.undo.iter().flat_map(|u| u.args.iter().map(|(_, e)| e)))
    }
}

impl Catalog {
    /// Number of tasks over every rule block and the order block.
    pub fn task_count(&self) -> usize {
        self.products
            .values()
            .flat_map(|p| p.rules.values())
            .map(Vec::len)
            .sum::<usize>()
            + self.order_tasks.len()
    }

    /// The product or bundle a TMF622 offering or specification id or name
    /// orders: the one of that name, else the one listing it in `offering`.
    pub fn product_for_offering(&self, name: &str) -> Option<&Product> {
        self.products.get(name).or_else(|| {
            self.products
                .values()
                .find(|p| p.offerings.iter().any(|o| o == name))
        })
    }

    pub fn count(&self, kind: ProductKind) -> usize {
        self.products.values().filter(|p| p.kind == kind).count()
    }
}
