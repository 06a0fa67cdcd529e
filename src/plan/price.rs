//! Decomposition: what an item costs (its price lines, a bundle's price
//! spread over its children) and the SLA terms it gets.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use super::items::{plan_time_condition, Item};
use super::Price;
use crate::inventory::Instance;
use crate::model::{Product, ProductKind};
use crate::syntax::ast::{OrderAction, PriceKind};
use crate::value::{Money, Value};

pub(super) fn item_price(
    product: &Product,
    action: OrderAction,
    attrs: &BTreeMap<String, Value>,
    zero: &Money,
) -> Price {
    let mut price = Price {
        once: zero.clone(),
        monthly: zero.clone(),
    };
    for line in &product.prices {
        let applies =
            line.actions.contains(&action) && plan_time_condition(line.when.as_ref(), attrs);
        if applies {
            let target = match line.kind {
                PriceKind::Once => &mut price.once,
                PriceKind::Monthly => &mut price.monthly,
            };
            target.amount += line.amount.amount;
        }
    }
    price
}

/// What the instance a `modify` item changes pays a month today: its
/// product's price lines on the instance's attributes, priced as the add
/// that installed it. `None` for other items, and for a bundle whose price
/// is its children's (its children show none).
pub(super) fn installed_monthly(
    product: &Product,
    action: OrderAction,
    installed: Option<&Instance>,
    zero: &Money,
) -> Option<Money> {
    let instance = installed.filter(|_| action == OrderAction::Modify)?;
    if product.kind == ProductKind::Bundle && product.prices.is_empty() {
        return None;
    }
    Some(item_price(product, OrderAction::Add, &instance.attributes, zero).monthly)
}

/// Each SLA term with the value of its last line that applies.
pub(super) fn item_sla(product: &Product, attrs: &BTreeMap<String, Value>) -> Vec<(String, Value)> {
    let mut terms: Vec<(String, Value)> = Vec::new();
    for sla in &product.slas {
        if !plan_time_condition(sla.when.as_ref(), attrs) {
            continue;
        }
        match terms.iter_mut().find(|(name, _)| *name == sla.name) {
            Some((_, value)) => *value = sla.value.clone(),
            None => terms.push((sla.name.clone(), sla.value.clone())),
        }
    }
    terms
}

/// Spreads a bundle's own price over its children in proportion to their
/// standalone prices (as IFRS 15 allocates a bundle's transaction price), in
/// cents, the rounding remainder going to the last child so the parts add up
/// exactly. Children without standalone prices share it equally. This is what
/// a child's `price.once` and `price.monthly` read, e.g. to bill per item.
pub(super) fn allocate(
    items: &mut [Item<'_>],
    children: &[usize],
    part: impl Fn(&mut Price) -> &mut Money,
    total: Decimal,
) {
    let Some((&last, rest)) = children.split_last() else {
        return;
    };
    let standalone: Vec<Decimal> = children
        .iter()
        .map(|&c| part(&mut items[c].price).amount)
        .collect();
    let sum: Decimal = standalone.iter().sum();
    let n = Decimal::from(children.len());
    let mut given = Decimal::ZERO;
    for (k, &c) in rest.iter().enumerate() {
        let share = if sum.is_zero() {
            total / n
        } else {
            total * standalone[k] / sum
        };
        let share = share.round_dp(2);
        given += share;
        part(&mut items[c].price).amount = share;
    }
    part(&mut items[last].price).amount = total - given;
}
