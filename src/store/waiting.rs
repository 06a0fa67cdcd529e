//! The orders a resident engine polls: those that may have work to do.

use super::orders::parse_state;
use super::sqlite::Db;
use super::{StoreError, WaitingOrder};

/// [`super::Store::waiting_orders`]: the query of `ordo status`
/// (`orders::list`) for the orders that may have work to do, without the
/// task counts.
pub(crate) fn waiting(db: &Db) -> Result<Vec<WaitingOrder>, StoreError> {
    let conn = db.reader();
    let mut stmt = conn
        .prepare_cached(
            "SELECT o.id, o.state, \
                    max(o.updated_at, coalesce((SELECT e.at FROM events e WHERE e.order_id = o.id \
                        ORDER BY e.seq DESC LIMIT 1), '')), \
                    o.cancel_requested_at IS NOT NULL \
             FROM orders o \
             WHERE o.state IN ('acknowledged', 'in_progress') \
               AND o.version = (SELECT max(version) FROM orders p WHERE p.id = o.id) \
             ORDER BY o.created_at DESC, o.rowid DESC",
        )
        .map_err(|e| db.err(e))?;
    let rows = stmt
        .query_map([], |r| {
            Ok(WaitingOrder {
                id: r.get(0)?,
                state: parse_state(r, 1)?,
                updated_at: r.get(2)?,
                cancel_requested: r.get(3)?,
            })
        })
        .map_err(|e| db.err(e))?;
    rows.collect::<Result<_, _>>().map_err(|e| db.err(e))
}
