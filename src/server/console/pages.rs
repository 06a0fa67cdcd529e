//! The console's pages: what each reads from the store, and its HTML.
//! Every text from an order is escaped (`xml`); ids in URLs are
//! percent-encoded.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::form::{self, Refused};
use super::{Frame, OrdersQuery};
use crate::exec::OrderState;
use crate::inventory::{Instance, InstanceFilter};
use crate::lifecycle::work::{live_statuses, order_work_items};
use crate::plan::render::{svg, xml};
use crate::plan::Plan;
use crate::server::error::ApiError;
use crate::store::{
    JournalEntry, OrderStatus, OrderSummary, Store, StoreError, WorkFilter, WorkItem,
};

fn api(e: StoreError) -> ApiError {
    ApiError::lifecycle(e.into(), None)
}

pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

pub(crate) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A state as text with a mark, so that colour is never the only signal.
fn badge(state: &str) -> String {
    let mark = match state {
        "completed" | "done" => "✓",
        "failed" => "✗",
        "cancelled" | "compensated" | "terminated" => "⊘",
        "active" => "●",
        "held" => "⏸",
        "in_progress" | "running" | "claimed" => "▶",
        "waiting" | "open" => "⧗",
        "skipped" => "↷",
        _ => "○",
    };
    format!(
        "<span class=\"state state-{s}\"><span aria-hidden=\"true\">{mark}</span> {s}</span>",
        s = xml(state)
    )
}

fn page(frame: &Frame, title: &str, body: &str) -> String {
    let nav = [
        ("/", "Orders"),
        ("/queues", "Work queues"),
        ("/inventory", "Inventory"),
    ];
    let mut links = String::new();
    for (href, name) in nav {
        let here = frame.path == href || (href != "/" && frame.path.starts_with(href));
        let current = if here { " aria-current=\"page\"" } else { "" };
        let _ = write!(links, "<li><a href=\"{href}\"{current}>{name}</a></li>");
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{t} · ordo</title>\n<link rel=\"stylesheet\" href=\"/console.css\">\n\
         <script src=\"/console.js\" defer></script>\n</head>\n<body>\n\
         <a class=\"skip\" href=\"#main\">Skip to the content</a>\n\
         <header><span class=\"brand\">ordo</span><nav aria-label=\"Console\"><ul>{links}</ul></nav>\
         <form class=\"acting\" method=\"post\" action=\"/acting-as\">\
         <label for=\"acting-user\">Acting as</label>\
         <input id=\"acting-user\" name=\"user\" value=\"{u}\" autocomplete=\"username\" placeholder=\"your name\">\
         <input type=\"hidden\" name=\"back\" value=\"{back}\"><button type=\"submit\">Set</button></form></header>\n\
         <main id=\"main\">\n<h1>{t}</h1>\n{body}</main>\n</body>\n</html>\n",
        t = xml(title),
        u = xml(&frame.user),
        back = xml(&frame.path),
    )
}

pub(crate) fn error(frame: &Frame, status: u16, message: &str) -> String {
    page(
        frame,
        "Not done",
        &format!(
            "<p class=\"notice error\" role=\"alert\"><strong>{status}:</strong> {}</p>\
             <p><a href=\"{}\">Back</a></p>",
            xml(message),
            xml(&frame.path)
        ),
    )
}

pub(crate) fn login(back: &str, problem: Option<&str>) -> String {
    let frame = Frame {
        user: String::new(),
        path: "/login".into(),
    };
    let problem = problem
        .map(|p| format!("<p class=\"field-error\" id=\"token-error\">{}</p>", xml(p)))
        .unwrap_or_default();
    let invalid = if problem.is_empty() {
        ""
    } else {
        " aria-invalid=\"true\" aria-describedby=\"token-error\""
    };
    page(
        &frame,
        "Sign in",
        &format!(
            "<p>This server needs its token (the content of its <code>--token-file</code>).</p>\
             <form method=\"post\" action=\"/login\" class=\"card\"><div class=\"field\">\
             <label for=\"token\">Token</label><input type=\"password\" id=\"token\" name=\"token\" required{invalid}>{problem}</div>\
             <input type=\"hidden\" name=\"back\" value=\"{}\"><button type=\"submit\">Sign in</button></form>",
            xml(if super::safe_back(back) { back } else { "/" })
        ),
    )
}

// ------------------------------------------------------------------ orders

pub(crate) fn orders_data(
    store: &dyn Store,
    q: &OrdersQuery,
) -> Result<Vec<OrderSummary>, ApiError> {
    let state = q.state.as_deref().filter(|s| !s.is_empty());
    let needle =
        q.q.as_deref()
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty());
    let mut found = Vec::new();
    for o in store.list_orders().map_err(api)? {
        if state.is_some_and(|s| s != o.state.as_str()) {
            continue;
        }
        if let Some(n) = &needle {
            if !o.id.to_lowercase().contains(n.as_str()) {
                let doc = store.load(&o.id).map_err(api)?.document;
                if !searchable(&doc)
                    .iter()
                    .any(|t| t.to_lowercase().contains(n.as_str()))
                {
                    continue;
                }
            }
        }
        found.push(o);
    }
    Ok(found)
}

/// What a search matches besides the id: the external id(s), the
/// customer's id, name and email.
fn searchable(doc: &serde_json::Value) -> Vec<String> {
    let mut texts = Vec::new();
    let mut push = |v: Option<&serde_json::Value>| match v {
        Some(serde_json::Value::String(s)) => texts.push(s.clone()),
        Some(serde_json::Value::Array(a)) => texts.extend(a.iter().filter_map(|x| {
            x.as_str()
                .map(str::to_string)
                .or_else(|| x.get("id").and_then(|i| i.as_str()).map(str::to_string))
        })),
        _ => {}
    };
    push(doc.get("external_id"));
    push(doc.get("externalId"));
    for k in ["id", "name", "email"] {
        push(doc.get("customer").and_then(|c| c.get(k)));
    }
    texts
}

pub(crate) fn orders(
    frame: &Frame,
    q: &OrdersQuery,
    list: &[OrderSummary],
    partial: bool,
) -> String {
    let mut live = String::new();
    let _ = write!(
        live,
        "<p class=\"count\" role=\"status\">{} order{}</p>",
        list.len(),
        if list.len() == 1 { "" } else { "s" }
    );
    if list.is_empty() {
        live.push_str("<p class=\"notice\">No order matches.</p>");
    } else {
        live.push_str(
            "<div class=\"scroll\"><table><caption class=\"sr\">Orders</caption><thead><tr><th scope=\"col\">Order</th><th scope=\"col\">State</th>\
             <th scope=\"col\">Tasks done</th><th scope=\"col\">Created</th><th scope=\"col\">Updated</th><th scope=\"col\">Due</th></tr></thead><tbody>",
        );
        for o in list {
            let due = match (&o.due_at, o.overdue) {
                (Some(d), true) => format!(
                    "{} <span class=\"overdue\"><span aria-hidden=\"true\">⚠</span> overdue</span>",
                    xml(d)
                ),
                (Some(d), false) => xml(d),
                (None, _) => "–".into(),
            };
            let _ = write!(
                live,
                "<tr><td><a href=\"/orders/{href}\">{id}</a></td><td>{state}{cancel}</td><td>{f}/{n}</td><td>{c}</td><td>{u}</td><td>{due}</td></tr>",
                href = percent_encode(&o.id),
                id = xml(&o.id),
                state = badge(o.state.as_str()),
                cancel = if o.cancel_requested { " <span class=\"note\">cancel requested</span>" } else { "" },
                f = o.tasks_finished,
                n = o.tasks,
                c = xml(&o.created_at),
                u = xml(&o.updated_at),
            );
        }
        live.push_str("</tbody></table></div>");
    }
    if partial {
        return live;
    }
    let chosen = q.state.as_deref().unwrap_or("");
    let mut options = format!(
        "<option value=\"\"{}>any state</option>",
        if chosen.is_empty() { " selected" } else { "" }
    );
    for s in OrderState::ALL {
        let sel = if chosen == s.as_str() {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            options,
            "<option value=\"{v}\"{sel}>{v}</option>",
            v = s.as_str()
        );
    }
    let body = format!(
        "<form class=\"filters\" method=\"get\" action=\"/\" role=\"search\">\
         <div class=\"field\"><label for=\"state\">State</label><select id=\"state\" name=\"state\">{options}</select></div>\
         <div class=\"field\"><label for=\"q\">Search</label><input id=\"q\" name=\"q\" type=\"search\" value=\"{qv}\" placeholder=\"order id, external id or customer\"></div>\
         <button type=\"submit\">Show</button></form>\
         <section id=\"live\" data-live aria-live=\"polite\">{live}</section>",
        qv = xml(q.q.as_deref().unwrap_or("")),
    );
    page(frame, "Orders", &body)
}

// ------------------------------------------------------------------- order

pub(crate) struct OrderData {
    pub status: OrderStatus,
    pub plan: Plan,
    pub events: Vec<JournalEntry>,
    pub items: Vec<WorkItem>,
}

pub(crate) fn order_data(store: &dyn Store, id: &str) -> Result<OrderData, ApiError> {
    let stored = store.load(id).map_err(api)?;
    Ok(OrderData {
        status: store.order_status(id).map_err(api)?,
        events: store.events(id).map_err(api)?,
        items: order_work_items(store, id).map_err(api)?,
        plan: stored.plan,
    })
}

pub(crate) fn order(frame: &Frame, d: &OrderData, partial: bool) -> String {
    let s = &d.status;
    let mut live = String::new();
    let due = match (&s.due_at, s.overdue) {
        (Some(at), true) => format!(
            "{} <span class=\"overdue\"><span aria-hidden=\"true\">⚠</span> overdue</span>",
            xml(at)
        ),
        (Some(at), false) => xml(at),
        (None, _) => "–".into(),
    };
    let _ = write!(
        live,
        "<dl class=\"facts\"><dt>State</dt><dd id=\"order-state\">{}</dd>{}<dt>Created</dt><dd>{}</dd>\
         <dt>Updated</dt><dd>{}</dd><dt>Due</dt><dd>{due}</dd></dl>",
        badge(s.state.as_str()),
        s.reason
            .as_deref()
            .map(|r| format!("<dt>Why</dt><dd>{}</dd>", xml(r)))
            .unwrap_or_default(),
        xml(&s.created_at),
        xml(&s.updated_at),
    );
    live.push_str("<h2>Items</h2><div class=\"scroll\"><table><thead><tr><th scope=\"col\">Item</th><th scope=\"col\">Product</th><th scope=\"col\">Action</th><th scope=\"col\">Tasks</th></tr></thead><tbody>");
    for i in &s.items {
        let counts: Vec<String> = i
            .counts
            .iter()
            .map(|(k, n)| format!("{n} {}", xml(k)))
            .collect();
        let _ = write!(
            live,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            xml(&i.id),
            xml(&i.product),
            xml(&i.action),
            counts.join(", ")
        );
    }
    live.push_str("</tbody></table></div>");
    let statuses = live_statuses(s, &d.items);
    let _ = write!(
        live,
        "<h2>Plan</h2><figure class=\"plan\">{}<figcaption>Tasks by stage, coloured and labelled by state; the critical path is marked.</figcaption></figure>",
        svg(&d.plan, Some(&statuses))
    );
    live.push_str("<h2>Tasks</h2><div class=\"scroll\"><table id=\"tasks\"><thead><tr><th scope=\"col\">Task</th><th scope=\"col\">Stage</th><th scope=\"col\">State</th><th scope=\"col\">Attempts</th><th scope=\"col\">Duration</th><th scope=\"col\">Last error</th></tr></thead><tbody>");
    for (t, st) in s.tasks.iter().zip(&statuses) {
        let duration = t
            .duration_ms
            .map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
            .unwrap_or_else(|| "–".into());
        let _ = write!(
            live,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{duration}</td><td>{}</td></tr>",
            xml(&t.id),
            xml(&t.stage),
            badge(st.as_str()),
            t.attempts,
            xml(t.error.as_deref().unwrap_or(""))
        );
    }
    live.push_str("</tbody></table></div>");
    live.push_str("<h2>Events</h2><ol class=\"timeline\">");
    for e in d.events.iter().rev() {
        let _ = write!(
            live,
            "<li><time>{}</time> {}</li>",
            xml(&e.at),
            event_text(&d.plan, e)
        );
    }
    live.push_str("</ol>");
    if partial {
        return live;
    }
    let href = percent_encode(&s.order);
    let mut actions = String::new();
    if !s.state.is_final() && !s.cancel_requested {
        let _ = write!(
            actions,
            "<form method=\"post\" action=\"/orders/{href}/cancel\" class=\"card danger\" data-confirm=\"Cancel order {id}? Its done tasks are undone.\">\
             <h2>Cancel</h2><div class=\"field\"><input type=\"checkbox\" id=\"confirm\" name=\"confirm\" value=\"yes\" required> \
             <label for=\"confirm\">Yes, cancel order {id} and undo what it did</label></div><button type=\"submit\">Cancel the order</button></form>",
            id = xml(&s.order)
        );
    }
    if s.state == OrderState::Held {
        let _ = write!(
            actions,
            "<form method=\"post\" action=\"/orders/{href}/resume\" class=\"card\"><h2>Resume</h2>\
             <p>Fixed the cause? The engine continues the order.</p><button type=\"submit\">Resume the order</button></form>"
        );
    }
    let body = format!(
        "<p><a href=\"/\">← All orders</a></p><section id=\"live\" data-live aria-live=\"polite\">{live}</section>{actions}"
    );
    page(frame, &format!("Order {}", s.order), &body)
}

/// One journal entry in words: its kind, and its fields with task ids
/// instead of task numbers.
fn event_text(plan: &Plan, e: &JournalEntry) -> String {
    let v = serde_json::to_value(&e.event).unwrap_or_default();
    let Some(map) = v.as_object() else {
        return String::new();
    };
    let kind = map.get("event").and_then(|k| k.as_str()).unwrap_or("event");
    let mut parts = Vec::new();
    for (k, val) in map.iter().filter(|(k, _)| *k != "event") {
        let text = match (k.as_str(), val) {
            ("task", serde_json::Value::Number(n)) => n
                .as_u64()
                .and_then(|i| plan.tasks.get(i as usize))
                .map(|t| t.id.clone())
                .unwrap_or_else(|| n.to_string()),
            (_, serde_json::Value::String(s)) => s.clone(),
            (_, serde_json::Value::Null) => continue,
            (_, other) => other.to_string(),
        };
        parts.push(format!(
            "<span class=\"k\">{}</span> {}",
            xml(k),
            xml(&text)
        ));
    }
    format!(
        "<strong>{}</strong> {}",
        xml(&kind.replace('_', " ")),
        parts.join(" · ")
    )
}

// ------------------------------------------------------------------- queues

pub(crate) struct QueueData {
    pub teams: Vec<(String, usize)>,
    pub team: Option<String>,
    pub items: Vec<WorkItem>,
    pub plans: BTreeMap<String, Plan>,
}

pub(crate) fn queue_data(store: &dyn Store, team: Option<&str>) -> Result<QueueData, ApiError> {
    let open = store.work_items(&WorkFilter::default()).map_err(api)?;
    let all = store
        .work_items(&WorkFilter {
            all: true,
            ..WorkFilter::default()
        })
        .map_err(api)?;
    let mut teams: BTreeMap<String, usize> = all.iter().map(|w| (w.team.clone(), 0)).collect();
    for w in &open {
        *teams.entry(w.team.clone()).or_default() += 1;
    }
    let team = team
        .map(str::to_string)
        .or_else(|| teams.keys().next().cloned());
    let items: Vec<WorkItem> = open
        .into_iter()
        .filter(|w| Some(&w.team) == team.as_ref())
        .collect();
    let mut plans = BTreeMap::new();
    for order in items
        .iter()
        .map(|w| w.order.clone())
        .collect::<BTreeSet<_>>()
    {
        plans.insert(order.clone(), store.load(&order).map_err(api)?.plan);
    }
    Ok(QueueData {
        teams: teams.into_iter().collect(),
        team,
        items,
        plans,
    })
}

pub(crate) fn queue(frame: &Frame, d: &QueueData, refused: Option<&Refused>) -> String {
    let mut body = String::new();
    if d.teams.is_empty() {
        body.push_str("<p class=\"notice\">No work items yet: they appear when an order reaches a manual task.</p>");
        return page(frame, "Work queues", &body);
    }
    body.push_str("<nav aria-label=\"Teams\"><ul class=\"tabs\">");
    for (t, n) in &d.teams {
        let current = if Some(t) == d.team.as_ref() {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            body,
            "<li><a href=\"/queues?team={}\"{current}>{} <span class=\"n\">({n} open)</span></a></li>",
            percent_encode(t),
            xml(t)
        );
    }
    body.push_str("</ul></nav>");
    if frame.user.trim().is_empty() {
        body.push_str("<p class=\"notice\" role=\"status\">Fill in <strong>Acting as</strong> at the top to claim and complete work.</p>");
    }
    let team = d.team.as_deref().unwrap_or("");
    let _ = write!(body, "<h2>Queue of {}</h2>", xml(team));
    if d.items.is_empty() {
        body.push_str("<p class=\"notice\">Nothing waits for this team.</p>");
    }
    for (n, w) in d.items.iter().enumerate() {
        let mine = w.assignee.as_deref() == Some(frame.user.as_str()) && !frame.user.is_empty();
        let _ = write!(
            body,
            "<article class=\"card item\" aria-labelledby=\"i{n}\"><h3 id=\"i{n}\"><a href=\"/orders/{href}\">{order}</a> · <code>{task}</code></h3>\
             <dl class=\"facts\"><dt>Action</dt><dd><code>{action}</code></dd><dt>State</dt><dd>{state}{who}</dd><dt>Ready</dt><dd>{ready}</dd><dt>Due</dt><dd>{due}</dd>",
            href = percent_encode(&w.order),
            order = xml(&w.order),
            task = xml(&w.task),
            action = xml(&w.action),
            state = badge(w.state.as_str()),
            who = w.assignee.as_deref().map(|a| format!(" by {}", xml(a))).unwrap_or_default(),
            ready = xml(&w.ready_at),
            due = match (&w.due_at, w.overdue) {
                (Some(at), true) => format!("{} <span class=\"overdue\"><span aria-hidden=\"true\">⚠</span> overdue</span>", xml(at)),
                (Some(at), false) => xml(at),
                (None, _) => "–".into(),
            },
        );
        for (k, v) in &w.inputs {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let _ = write!(body, "<dt>{}</dt><dd>{}</dd>", xml(k), xml(&text));
        }
        body.push_str("</dl>");
        let hidden = format!(
            "<input type=\"hidden\" name=\"order\" value=\"{}\"><input type=\"hidden\" name=\"task\" value=\"{}\"><input type=\"hidden\" name=\"team\" value=\"{}\">",
            xml(&w.order),
            xml(&w.task),
            xml(team)
        );
        let button = |op: &str, label: &str| {
            format!(
                "<form method=\"post\" action=\"/queues/change\" class=\"inline\">{hidden}<input type=\"hidden\" name=\"op\" value=\"{op}\"><button type=\"submit\">{label}</button></form>"
            )
        };
        if frame.user.trim().is_empty() {
        } else if mine {
            body.push_str(&button("release", "Release"));
            let _ = write!(
                body,
                "<form method=\"post\" action=\"/queues/change\" class=\"complete\" novalidate aria-label=\"Complete {}\"><fieldset><legend>Complete</legend>{hidden}<input type=\"hidden\" name=\"op\" value=\"complete\">",
                xml(&w.task)
            );
            let here = refused.filter(|r| r.order == w.order && r.task == w.task);
            if let Some(plan) = d.plans.get(&w.order) {
                form::fields(&mut body, plan, &w.task, n, here);
            }
            body.push_str("<button type=\"submit\">Complete</button></fieldset></form>");
        } else if w.assignee.is_none() {
            body.push_str(&button("claim", "Claim"));
        } else {
            body.push_str("<p class=\"hint\">Someone else holds this item.</p>");
        }
        body.push_str("</article>");
    }
    page(frame, "Work queues", &body)
}

// ---------------------------------------------------------------- inventory

pub(crate) fn inventory_data(
    store: &dyn Store,
    customer: Option<String>,
) -> Result<Vec<Instance>, ApiError> {
    let filter = InstanceFilter {
        customer,
        ..InstanceFilter::default()
    };
    store.instances(&filter).map_err(api)
}

pub(crate) fn inventory(frame: &Frame, customer: Option<&str>, list: &[Instance]) -> String {
    let mut body = format!(
        "<form class=\"filters\" method=\"get\" action=\"/inventory\" role=\"search\"><div class=\"field\">\
         <label for=\"customer\">Customer</label><input id=\"customer\" name=\"customer\" value=\"{}\" placeholder=\"customer id\"></div>\
         <button type=\"submit\">Show</button></form>",
        xml(customer.unwrap_or(""))
    );
    if list.is_empty() {
        body.push_str("<p class=\"notice\">No instance.</p>");
        return page(frame, "Inventory", &body);
    }
    body.push_str("<div class=\"scroll\"><table><thead><tr><th scope=\"col\">Instance</th><th scope=\"col\">Customer</th><th scope=\"col\">Product</th><th scope=\"col\">Status</th><th scope=\"col\">Attributes</th><th scope=\"col\">Updated</th></tr></thead><tbody>");
    for i in list {
        let attrs: Vec<String> = i
            .attributes
            .iter()
            .map(|(k, v)| format!("{}={}", xml(k), xml(&v.to_string())))
            .collect();
        let status = serde_json::to_value(i.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let _ = write!(
            body,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            xml(&i.id),
            xml(&i.customer),
            xml(&i.product),
            badge(&status),
            attrs.join(", "),
            xml(&i.updated_at)
        );
    }
    body.push_str("</tbody></table></div>");
    page(frame, "Inventory", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_round_trips() {
        for s in ["ORD-1/1", "a b&c=d", "é\"<x>"] {
            assert_eq!(percent_decode(&percent_encode(s)), s);
        }
        assert_eq!(percent_encode("1/x"), "1%2Fx");
    }

    #[test]
    fn searches_see_external_ids_and_customers() {
        let doc =
            serde_json::json!({"external_id": "CRM-7", "customer": {"id": "C-1", "name": "Ada"}});
        assert_eq!(searchable(&doc), ["CRM-7", "C-1", "Ada"]);
    }

    #[test]
    fn badges_say_the_state_in_words() {
        assert!(badge("failed").contains("failed"));
        assert!(badge("<x>").contains("&lt;x&gt;"));
    }
}
