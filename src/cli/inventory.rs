//! `ordo inventory`: the installed base (SPEC §8.1), every instance that
//! matches the filters, or one instance. Reads the store without writing.

use std::fmt::Write;

use super::outcome::store_error;
use super::status::table;
use super::{write_stdout, Exit, InventoryArgs, StatusFormat};
use crate::inventory::{Instance, InstanceFilter, InstanceStatus};

pub(crate) fn inventory(args: &InventoryArgs) -> Exit {
    let status = match args
        .status
        .as_deref()
        .map(|s| (s, InstanceStatus::parse(s)))
    {
        None => None,
        Some((_, Some(s))) => Some(s),
        Some((s, None)) => {
            eprintln!(
                "error: `{}` is not an instance status: it is `active` or `terminated`",
                s.escape_debug()
            );
            return Exit::Error;
        }
    };
    let store = match args.state.reader() {
        Ok(s) => s,
        Err(e) => return store_error(e),
    };
    if let Some(id) = &args.instance_id {
        let found = match &store {
            Some(store) => store.instance(id),
            None => Ok(None),
        };
        return match found {
            Ok(Some(instance)) => {
                write_stdout(&match args.format {
                    StatusFormat::Json => json(&instance.to_json()),
                    StatusFormat::Text => instance_text(&instance),
                });
                Exit::Success
            }
            Ok(None) => {
                eprintln!(
                    "error: there is no instance {} in the installed base; `ordo inventory` lists them",
                    id.escape_debug()
                );
                Exit::Failure
            }
            Err(e) => store_error(e),
        };
    }
    let filter = InstanceFilter {
        customer: args.customer.clone(),
        product: args.product.clone(),
        status,
    };
    let list = match &store {
        Some(store) => match store.instances(&filter) {
            Ok(list) => list,
            Err(e) => return store_error(e),
        },
        // Nothing was ever stored here: an empty installed base.
        None => Vec::new(),
    };
    write_stdout(&match args.format {
        StatusFormat::Json => json(&serde_json::Value::Array(
            list.iter().map(Instance::to_json).collect(),
        )),
        StatusFormat::Text => list_text(&list),
    });
    Exit::Success
}

fn json(value: &serde_json::Value) -> String {
    let mut s = serde_json::to_string_pretty(value).unwrap_or_default();
    s.push('\n');
    s
}

fn list_text(list: &[Instance]) -> String {
    if list.is_empty() {
        return "no instances\n".into();
    }
    let mut rows = vec![["INSTANCE", "PRODUCT", "CUSTOMER", "STATUS", "UPDATED BY"]
        .map(String::from)
        .to_vec()];
    for i in list {
        rows.push(vec![
            i.id.clone(),
            i.product.clone(),
            i.customer.clone(),
            i.status.as_str().into(),
            i.updated_by.clone(),
        ]);
    }
    table(&rows, false)
}

fn instance_text(i: &Instance) -> String {
    let mut out = format!("instance {}: {} {}\n", i.id, i.product, i.status.as_str());
    let _ = writeln!(out, "customer: {}", i.customer);
    if let Some(p) = &i.parent {
        let _ = writeln!(out, "part of: {p}");
    }
    let _ = writeln!(out, "created by {} at {}", i.created_by, i.created_at);
    let _ = writeln!(out, "updated by {} at {}", i.updated_by, i.updated_at);
    out.push_str("\nattributes\n");
    for (name, value) in &i.attributes {
        let _ = writeln!(out, "  {name} = {}", value.to_json());
    }
    out.push_str("\noutputs\n");
    for (task, outputs) in &i.outputs {
        for (name, value) in outputs {
            let _ = writeln!(out, "  {task}.{name} = {}", value.to_json());
        }
    }
    out
}
