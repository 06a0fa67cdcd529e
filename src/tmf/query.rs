//! TM Forum list queries: `fields` (attribute selection) and
//! `offset`/`limit` paging with the `X-Total-Count` and `X-Result-Count`
//! numbers, over resources already filtered and in a stable order.

use serde_json::{Map, Value as J};

/// The members every selection keeps (TMF630: a resource stays addressable).
const ALWAYS: [&str; 3] = ["id", "href", "@type"];

/// A resource with only the comma-separated top-level `fields` (and `id`,
/// `href`, `@type`); `None` or `""` keeps everything.
pub fn select_fields(resource: &J, fields: Option<&str>) -> J {
    let Some(fields) = fields.map(str::trim).filter(|f| !f.is_empty()) else {
        return resource.clone();
    };
    let Some(members) = resource.as_object() else {
        return resource.clone();
    };
    let wanted: Vec<&str> = fields.split(',').map(str::trim).collect();
    let kept: Map<String, J> = members
        .iter()
        .filter(|(k, _)| ALWAYS.contains(&k.as_str()) || wanted.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    J::Object(kept)
}

/// One page of a list: the items from `offset` (default 0), at most
/// `limit` of them (default all), with the total count and the page's.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `X-Total-Count`: how many matched.
    pub total: usize,
    /// `X-Result-Count`: how many this page holds.
    pub result: usize,
}

pub fn page<T>(all: Vec<T>, offset: Option<usize>, limit: Option<usize>) -> Page<T> {
    let total = all.len();
    let items: Vec<T> = all
        .into_iter()
        .skip(offset.unwrap_or(0))
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    Page {
        result: items.len(),
        items,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_keep_the_named_members_and_the_address() {
        let order = json!({"id": "1", "href": "/x/1", "@type": "ProductOrder", "state": "completed", "externalId": "E"});
        assert_eq!(
            select_fields(&order, Some("state, nothing")),
            json!({"id": "1", "href": "/x/1", "@type": "ProductOrder", "state": "completed"})
        );
        assert_eq!(select_fields(&order, Some("")), order);
        assert_eq!(select_fields(&order, None), order);
    }

    #[test]
    fn pages_count_the_whole_list_and_the_page() {
        let p = page((0..10).collect(), Some(8), Some(5));
        assert_eq!((p.items, p.total, p.result), (vec![8, 9], 10, 2));
        let p = page((0..3).collect::<Vec<i32>>(), None, Some(0));
        assert_eq!((p.total, p.result), (3, 0));
        let p = page((0..3).collect::<Vec<i32>>(), Some(7), None);
        assert!(p.items.is_empty());
    }
}
