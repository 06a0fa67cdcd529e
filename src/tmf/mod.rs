//! TM Forum Open APIs over ordo's orders and installed base: a TMF622
//! ProductOrder read into an ordo order document (so planning is the one
//! pipeline), diagnostics positioned by JSON paths into the request body,
//! and the TMF622 ProductOrder and TMF637 Product renderings.
//!
//! The mapping accepts v4 and v5 shapes and the sloppiness of real
//! payloads: unknown members are ignored, `@type` is never required, a
//! Customer party may be marked by `@referredType` alone, `externalId` is a
//! string (v4) or a list (v5).

mod path;
mod query;
mod render;
mod request;

pub use path::{json_path, tmf_diagnostics};
pub use query::{page, select_fields, Page};
pub use render::{
    cancel_state, error_body, item_state, order_state, product_from_instance, product_order,
    TmfError, TmfItem, TmfOrder,
};
pub use request::{
    is_product_order, read_any_order, read_product_order, ProductOrderRequest, RequestItem,
};
