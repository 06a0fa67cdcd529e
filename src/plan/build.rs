//! Decomposition, second half: the tasks of every item, their dependencies,
//! the check that they form a DAG, a stage-respecting topological order and
//! the critical path. Nothing here recurses: plans of 100,000 tasks are normal.

use crate::inventory::{InstalledBase, Instance};
use rustc_hash::FxHashMap as HashMap;

use super::items::{Checked, Item};
use super::limits::PlanLimits;
use super::{Outputs, PlanCall, PlanTask, PlanWait, TaskIdx};
use crate::dag::{cycle_path, Dag};
use crate::diagnostic::{Code, Diagnostic, Diagnostics};
use crate::model::expr::{Decision, Replacement};
use crate::model::{Call, Catalog, Expr, Ref, Require, Task, TaskRef, Type, Wait};
use crate::order::OrderDoc;
use crate::span::Span;
use crate::syntax::ast::PriceKind;
use crate::value::{instant, Value};
use chrono::{DateTime, Utc};

/// Plan tasks by (item, or `None` for the order block; task name). Hashed
/// with FxHash: it is asked once per dependency and per reference of every
/// task, and SipHash was a tenth of planning.
type Index<'a> = HashMap<(Option<usize>, &'a str), usize>;

/// A task before ordering: which item (None: order level) and which rule.
struct Proto<'c> {
    item: Option<usize>,
    task: &'c Task,
    id: String,
}

pub(super) struct Built {
    pub tasks: Vec<PlanTask>,
    pub critical_path: Vec<TaskIdx>,
}

pub(super) fn build_tasks(
    catalog: &Catalog,
    order: &OrderDoc,
    checked: &Checked<'_>,
    base: &InstalledBase,
    limits: &PlanLimits,
    diags: &mut Diagnostics,
) -> Option<Built> {
    let actions = catalog
        .actions
        .iter()
        .map(|(name, a)| {
            let list: Vec<(String, Type)> = a
                .outputs
                .iter()
                .map(|o| (o.name.clone(), o.ty.clone()))
                .collect();
            let optional = a
                .params
                .iter()
                .filter(|p| p.optional)
                .map(|p| p.name.clone())
                .collect();
            (name.as_str(), (Outputs::from(list), optional))
        })
        .collect();
    let cx = Cx {
        catalog,
        actions,
        order,
        checked,
        base,
    };
    let mut protos: Vec<Proto<'_>> = Vec::new();
    for t in &catalog.order_tasks {
        if cx.applies(None, t) {
            protos.push(Proto {
                item: None,
                task: t,
                id: t.name.clone(),
            });
        }
    }
    for (i, item) in checked.items.iter().enumerate() {
        let Some(rules) = item.product.rules.get(&item.action) else {
            if item.product.kind == crate::model::ProductKind::Product {
                let doc = &order.items[item.doc];
                diags.push(
                    Diagnostic::warning(
                        Code::OrderNoRules,
                        format!(
                            "{}: {} has no `on {}` rules, so this item adds no tasks",
                            doc.path(),
                            item.product.name,
                            item.action.as_str()
                        ),
                    )
                    .at(doc.id_span, "no tasks for this item")
                    .with_related(item.product.span, "product declared here"),
                );
            }
            continue;
        };
        for t in rules {
            if cx.applies(Some(i), t) {
                protos.push(Proto {
                    item: Some(i),
                    task: t,
                    id: task_id(&item.id, &t.name),
                });
            }
        }
        // Refused as soon as it is known, before the tasks take memory.
        if protos.len() > limits.tasks {
            let doc = &order.items[item.doc];
            diags.push(limits.too_many_tasks(&doc.path(), doc.id_span));
            return None;
        }
    }
    let (mut protos, index) = cx.leave_out_decided(protos);
    // Each task's dependencies, once each, in the order its rule names them.
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(protos.len());
    let mut ok = true;
    for p in &protos {
        let mut d: Vec<usize> = Vec::new();
        for (tref, span) in &p.task.deps {
            let Some(j) = cx.target(p.item, tref, &index) else {
                continue;
            };
            if protos[j].task.stage > p.task.stage {
                ok = false;
                diags.push(cx.stage_order(p, &protos[j], *span));
            }
            if !d.contains(&j) {
                d.push(j);
            }
        }
        deps.push(d);
    }
    if !ok {
        return None;
    }
    // Smallest (stage, declaration) first: deterministic, and every task of a
    // stage comes before any task of a later one.
    let order_idx = match Dag::new(&deps).order(|i| (protos[i].task.stage, i)) {
        Ok(order) => order,
        Err(cycle) => {
            diags.push(cx.cycle(&protos, &index, &cycle));
            return None;
        }
    };
    let mut position = vec![0usize; protos.len()];
    for (pos, &i) in order_idx.iter().enumerate() {
        position[i] = pos;
    }
    let mut tasks: Vec<PlanTask> = order_idx
        .iter()
        .map(|&i| {
            let mut after: Vec<TaskIdx> = deps[i].iter().map(|&j| position[j]).collect();
            after.sort_unstable();
            cx.plan_task(&protos[i], after, &index, &protos)
        })
        .collect();
    // Each task takes its id from its proto, now that no other task's
    // inputs need it: one copy of each id, not two.
    drop((deps, index));
    for (task, &i) in tasks.iter_mut().zip(&order_idx) {
        task.id = std::mem::take(&mut protos[i].id);
    }
    let critical_path = critical_path(&tasks);
    Some(Built {
        tasks,
        critical_path,
    })
}

/// An order's requested date, as rules read it: a datetime, or null.
fn requested_value(at: &Option<(DateTime<Utc>, Span)>) -> Value {
    at.map_or(Value::Null, |(t, _)| Value::DateTime(t.fixed_offset()))
}

/// A `wait until` as the plan keeps it: folded to the UTC instant it stands
/// for (a date is its 00:00 UTC), no wait at all when it folded to null, or
/// the expression left for the executor to evaluate on outputs.
fn planned_until(e: Expr) -> Option<PlanWait> {
    match e.as_lit() {
        Some(Value::Null) => None,
        Some(v) => {
            let at = instant(v)?;
            Some(PlanWait::Until(Expr::lit(
                Value::DateTime(at.fixed_offset()),
                Type::DateTime,
                e.span,
            )))
        }
        None => Some(PlanWait::Until(e)),
    }
}

/// `ITEM/NAME`: the id of a task of an item.
fn task_id(item: &str, name: &str) -> String {
    let mut id = String::with_capacity(item.len() + 1 + name.len());
    id.push_str(item);
    id.push('/');
    id.push_str(name);
    id
}

fn index_of<'p>(protos: &[Proto<'p>]) -> Index<'p> {
    protos
        .iter()
        .enumerate()
        .map(|(i, p)| ((p.item, p.task.name.as_str()), i))
        .collect()
}

struct Cx<'a, 'c> {
    catalog: &'a Catalog,
    /// Each action's outputs and optional parameters, built once.
    actions: HashMap<&'a str, (Outputs, Vec<String>)>,
    order: &'a OrderDoc,
    checked: &'a Checked<'c>,
    /// The instances modify and delete items change.
    base: &'a InstalledBase,
}

impl<'c> Cx<'_, 'c> {
    fn item(&self, i: usize) -> &Item<'c> {
        &self.checked.items[i]
    }

    /// Answers what is known at plan time.
    fn plan_value(&self, item: Option<usize>, r: &Ref) -> Option<Value> {
        let price = &self.checked.price;
        Some(match r {
            Ref::Attr { name } => item
                .and_then(|i| self.item(i).attrs.get(name).cloned())
                .unwrap_or(Value::Null),
            Ref::ItemId => Value::String(item.map(|i| self.item(i).id.clone()).unwrap_or_default()),
            Ref::ItemPrice { kind } => {
                let p = &self.item(item?).price;
                Value::Money(match kind {
                    PriceKind::Once => p.once.clone(),
                    PriceKind::Monthly => p.monthly.clone(),
                })
            }
            Ref::OrderId => Value::String(self.order.id.clone()),
            Ref::RequestedStart => requested_value(&self.order.requested_start),
            Ref::RequestedCompletion => requested_value(&self.order.requested_completion),
            Ref::OrderCount { action } => Value::Int(
                self.checked
                    .items
                    .iter()
                    .filter(|i| i.parent.is_none() && i.action == *action)
                    .count() as i64,
            ),
            Ref::Customer { field } => self
                .checked
                .customer
                .get(field)
                .cloned()
                .unwrap_or(Value::Null),
            Ref::OrderPrice { kind } => Value::Money(match kind {
                PriceKind::Once => price.once.clone(),
                PriceKind::Monthly => price.monthly.clone(),
            }),
            Ref::Installed { name } => self
                .installed(item)
                .and_then(|i| i.attributes.get(name).cloned())
                .unwrap_or(Value::Null),
            Ref::InstalledOutput { task, output } => self
                .installed(item)
                .and_then(|i| i.outputs.get(task)?.get(output).cloned())
                .unwrap_or(Value::Null),
            // A relied-on product met by an instance: its recorded output.
            Ref::Output {
                task: TaskRef::Relied { product, task },
                output,
            } => {
                let id = self.item(item?).relied_instances.get(product)?;
                self.base
                    .instances
                    .get(id)
                    .and_then(|i| i.outputs.get(task)?.get(output).cloned())
                    .unwrap_or(Value::Null)
            }
            Ref::Output { .. } | Ref::TaskOutput { .. } => return None,
        })
    }

    /// The instance the item changes, if it names one.
    fn installed(&self, item: Option<usize>) -> Option<&Instance> {
        let id = self.item(item?).instance.as_ref()?;
        self.base.instances.get(id)
    }

    /// Whether a plan-time `when` (on attributes and order fields) keeps the
    /// task. Run-time conditions are decided, as far as the plan knows them,
    /// by [`Cx::leave_out_decided`].
    fn applies(&self, item: Option<usize>, t: &Task) -> bool {
        match &t.when {
            Some(w) if !t.when_at_run => {
                w.holds(&mut |r| self.plan_value(item, r)).unwrap_or(false)
            }
            _ => true,
        }
    }

    /// What the plan makes of a reference: a value known at plan time, a
    /// planned task's output (by task id, from `planned`), or null for the
    /// output of a task left out of the plan. The one substitution of plan
    /// time, so what decides a condition is also what the plan keeps of it.
    fn plan_ref(
        &self,
        item: Option<usize>,
        r: &Ref,
        planned: impl Fn(&TaskRef) -> Option<String>,
    ) -> Option<Replacement> {
        if let Some(v) = self.plan_value(item, r) {
            return Some(Replacement::Value(v));
        }
        let Ref::Output { task, output } = r else {
            return None;
        };
        Some(match planned(task) {
            Some(id) => Replacement::Ref(Ref::TaskOutput {
                task: id,
                output: output.clone(),
            }),
            // A task left out of the plan has no outputs: they read as null,
            // as a skipped task's do at run time.
            None => Replacement::Value(Value::Null),
        })
    }

    /// Leaves out the tasks whose run-time `when` the plan already decides
    /// false: with plan-time values (`not coverage.ont_present or speed ==
    /// "1G"` for a 1G item), and with the outputs of tasks left out as null
    /// (`credit.score < 600` without `credit`), the same answer the executor
    /// gives for a skipped task. Leaving a task out may decide its readers'
    /// conditions in turn, so they are looked at again. Gives the tasks kept
    /// and their index.
    fn leave_out_decided<'p>(&self, protos: Vec<Proto<'p>>) -> (Vec<Proto<'p>>, Index<'p>) {
        let index = index_of(&protos);
        let mut readers: Vec<Vec<usize>> = vec![Vec::new(); protos.len()];
        let mut queue = Vec::new();
        for (i, p) in protos.iter().enumerate() {
            let Some(w) = p.task.when.as_ref().filter(|_| p.task.when_at_run) else {
                continue;
            };
            queue.push(i);
            for r in w.refs() {
                if let Ref::Output { task, .. } = r {
                    if let Some(j) = self.target(p.item, task, &index) {
                        readers[j].push(i);
                    }
                }
            }
        }
        queue.reverse();
        let mut planned = vec![true; protos.len()];
        while let Some(i) = queue.pop() {
            let p = &protos[i];
            let Some(w) = p.task.when.as_ref().filter(|_| planned[i]) else {
                continue;
            };
            let decision = w.decide(&mut |r| {
                self.plan_ref(p.item, r, |t| {
                    let j = self.target(p.item, t, &index)?;
                    planned[j].then(|| protos[j].id.clone())
                })
            });
            if decision == Decision::Holds(false) {
                planned[i] = false;
                queue.extend(readers[i].iter().copied());
            }
        }
        if planned.iter().all(|&keep| keep) {
            // Nothing left out: the index still holds.
            return (protos, index);
        }
        let kept: Vec<Proto<'p>> = protos
            .into_iter()
            .zip(planned)
            .filter_map(|(p, keep)| keep.then_some(p))
            .collect();
        let index = index_of(&kept);
        (kept, index)
    }

    /// The plan task a reference names, if it is in the plan.
    fn target(&self, item: Option<usize>, tref: &TaskRef, index: &Index<'_>) -> Option<usize> {
        let key = match (tref, item) {
            (TaskRef::Local { task }, _) => (item, task.as_str()),
            (TaskRef::Order { task }, _) => (None, task.as_str()),
            (TaskRef::Relied { product, task }, Some(i)) => {
                (Some(*self.item(i).relied.get(product)?), task.as_str())
            }
            (TaskRef::Relied { .. }, None) => return None,
        };
        index.get(&key).copied()
    }

    fn plan_task(
        &self,
        p: &Proto<'_>,
        after: Vec<TaskIdx>,
        index: &Index<'_>,
        protos: &[Proto<'_>],
    ) -> PlanTask {
        let mut subst = |r: &Ref| {
            self.plan_ref(p.item, r, |t| {
                self.target(p.item, t, index).map(|j| protos[j].id.clone())
            })
        };
        let t = p.task;
        let inputs = t
            .call
            .args
            .iter()
            .map(|(n, e)| (n.clone(), e.substitute(&mut subst)))
            .collect();
        let when =
            t.when
                .as_ref()
                .filter(|_| t.when_at_run)
                .and_then(|w| match w.decide(&mut subst) {
                    Decision::Open(w) => Some(Box::new(w)),
                    // Decided at plan time after all, and true: `leave_out_decided`
                    // left out the tasks it decides false.
                    Decision::Holds(_) => None,
                });
        let requires = t
            .requires
            .iter()
            .map(|r| Require {
                cond: r.cond.substitute(&mut subst),
                message: r.message.substitute(&mut subst),
                span: r.span,
            })
            .collect();
        let wait = match &t.wait {
            Some(Wait::Until(e)) => planned_until(e.substitute(&mut subst)),
            other => other.clone(),
        };
        let undo = t.undo.as_ref().map(|u| {
            Box::new(PlanCall {
                action: u.action.clone(),
                inputs: u
                    .args
                    .iter()
                    .map(|(n, e)| (n.clone(), e.substitute(&mut subst)))
                    .collect(),
                optional_inputs: self.optional_inputs(u),
                outputs: self.outputs(u),
            })
        });
        PlanTask {
            // Moved in from the proto once every task is built.
            id: String::new(),
            item: p.item.map(|i| self.item(i).id.clone()),
            product: p.item.map(|i| self.item(i).product.name.clone()),
            name: t.name.clone(),
            action: t.call.action.clone(),
            stage: t.stage,
            after,
            inputs,
            optional_inputs: self.optional_inputs(&t.call),
            when,
            requires,
            retry: t.retry,
            timeout_ms: t.timeout_ms,
            undo,
            point_of_no_return: t.point_of_no_return,
            outputs: self.outputs(&t.call),
            manual: t.manual.clone(),
            wait: wait.map(Box::new),
        }
    }

    fn optional_inputs(&self, call: &Call) -> Vec<String> {
        self.actions
            .get(call.action.as_str())
            .map(|(_, optional)| optional.clone())
            .unwrap_or_default()
    }

    fn outputs(&self, call: &Call) -> Outputs {
        self.actions
            .get(call.action.as_str())
            .map(|(outputs, _)| outputs.clone())
            .unwrap_or_else(|| Outputs::from(Vec::new()))
    }

    fn item_span(&self, p: &Proto<'_>) -> Span {
        match p.item {
            Some(i) => self.order.items[self.item(i).doc].id_span,
            None => self.order.id_span,
        }
    }

    fn stage_order(&self, p: &Proto<'_>, dep: &Proto<'_>, span: Span) -> Diagnostic {
        let stages = &self.catalog.stages;
        Diagnostic::error(
            Code::StageOrder,
            format!(
                "task `{}` (stage {}) depends on `{}` of the later stage {}",
                p.id, stages[p.task.stage], dep.id, stages[dep.task.stage]
            ),
        )
        .at(self.item_span(p), "in this item")
        .with_related(span, "the dependency")
        .with_help("a task cannot wait for a task of a later stage")
    }

    fn cycle(&self, protos: &[Proto<'_>], index: &Index<'_>, cycle: &[usize]) -> Diagnostic {
        let first = cycle[0];
        let last = *cycle.last().unwrap_or(&first);
        // Where `first` names `last`: the first of its rule's references to it.
        let p = &protos[first];
        let closing = p
            .task
            .deps
            .iter()
            .find(|(tref, _)| self.target(p.item, tref, index) == Some(last))
            .map(|(_, s)| *s);
        let mut d = Diagnostic::error(
            Code::OrderCycle,
            format!(
                "the tasks of this order depend on each other in a cycle: {}",
                cycle_path(cycle, |i| protos[i].id.clone())
            ),
        )
        .at(
            self.item_span(&protos[first]),
            "this item's tasks are part of the cycle",
        );
        if let Some(s) = closing {
            d = d.with_related(
                s,
                format!(
                    "`{}` waits for `{}` here, which closes the cycle",
                    protos[first].id, protos[last].id
                ),
            );
        }
        d.with_help("the items' `relies_on` links or their actions make rules wait for each other; change one of the items")
    }
}

/// The longest chain of tasks, counting stage barriers as dependencies.
fn critical_path(tasks: &[PlanTask]) -> Vec<TaskIdx> {
    let n = tasks.len();
    let mut dist = vec![0usize; n];
    let mut pred: Vec<Option<usize>> = vec![None; n];
    let mut best: Option<usize> = None; // over all tasks so far
    let mut barrier: Option<usize> = None; // best over earlier stages
    let mut stage = None;
    for i in 0..n {
        if stage != Some(tasks[i].stage) {
            stage = Some(tasks[i].stage);
            barrier = best;
        }
        let mut from = barrier;
        for &j in &tasks[i].after {
            if from.is_none_or(|f| dist[j] > dist[f]) {
                from = Some(j);
            }
        }
        dist[i] = 1 + from.map_or(0, |f| dist[f]);
        pred[i] = from;
        if best.is_none_or(|b| dist[i] > dist[b]) {
            best = Some(i);
        }
    }
    let mut path = Vec::new();
    let mut cur = best;
    while let Some(i) = cur {
        path.push(i);
        cur = pred[i];
    }
    path.reverse();
    path
}
