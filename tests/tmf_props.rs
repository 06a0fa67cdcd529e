//! Property: whatever a channel sends, a ProductOrder is mapped and planned
//! or rejected with well-formed diagnostics, never a panic (the server's
//! "never a 5xx"). Mutations of TM Forum's own v5 sample: members deleted,
//! values replaced by every JSON kind.

use std::path::Path;

use ordo::compile::compile;
use ordo::inventory::InstalledBase;
use ordo::plan::decompose_on;
use ordo::source::{SourceFile, Sources};
use ordo::tmf::{read_product_order, tmf_diagnostics};
use proptest::prelude::*;
use serde_json::{json, Value};

/// JSON pointers of every member of `v`, in document order.
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, child) in m {
                let p = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        Value::Array(list) => {
            for (i, child) in list.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        _ => {}
    }
}

fn replacement(kind: u8, seed: u32) -> Option<Value> {
    Some(match kind {
        0 => return None,
        1 => Value::Null,
        2 => json!(seed % 2 == 0),
        3 => json!(seed),
        4 => json!(-1.5e300),
        5 => json!(format!("s{seed}/x\n")),
        6 => json!([]),
        7 => json!({}),
        8 => json!([{"id": "110", "relationshipType": "bundles"}]),
        _ => json!("14277"),
    })
}

fn mutate(body: &mut Value, at: &str, with: Option<Value>) {
    let (parent, key) = at.rsplit_once('/').expect("a member");
    let Some(container) = body.pointer_mut(parent) else {
        return;
    };
    match (container, with) {
        (Value::Object(m), None) => {
            m.remove(&key.replace("~1", "/").replace("~0", "~"));
        }
        (Value::Array(list), None) => {
            if let Ok(i) = key.parse::<usize>() {
                if i < list.len() {
                    list.remove(i);
                }
            }
        }
        (_, Some(v)) => {
            if let Some(slot) = body.pointer_mut(at) {
                *slot = v;
            }
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_product_orders_are_planned_or_rejected_with_diagnostics(
        edits in prop::collection::vec((any::<u32>(), 0u8..10, any::<u32>()), 1..6)
    ) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources = Sources::load_catalog(&root.join("examples/tmf/catalog")).unwrap();
        let (catalog, _) = compile(&sources);
        let catalog = catalog.unwrap();
        let text = std::fs::read_to_string(root.join("tests/fixtures/tmf/v5-create-1.json")).unwrap();
        let mut body: Value = serde_json::from_str(&text).unwrap();
        for (pick, kind, seed) in edits {
            let mut all = Vec::new();
            pointers(&body, String::new(), &mut all);
            if all.is_empty() {
                break;
            }
            let at = all[pick as usize % all.len()].clone();
            mutate(&mut body, &at, replacement(kind, seed));
        }
        let file = sources.add(SourceFile::new("request.json", body.to_string()));
        let source = sources.get(file);
        let result = read_product_order(&catalog, file, source, "PO-1")
            .and_then(|r| decompose_on(&catalog, &r.order, &InstalledBase::default()).map(|_| ()));
        if let Err(diags) = result {
            prop_assert!(diags.has_errors());
            for d in tmf_diagnostics(&diags, file, source) {
                prop_assert!(d["code"].as_str().is_some_and(|c| c.starts_with("ordo::")), "{d}");
                prop_assert!(d["message"].as_str().is_some_and(|m| !m.is_empty()), "{d}");
                let path = d["path"].as_str().unwrap();
                prop_assert!(!path.contains(".."), "{d}");
            }
        }
    }
}
