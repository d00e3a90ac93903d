//! The `/_sim/` control API: reset, settings, accounts, orders, outcomes, clock, faults,
//! request log, stats. No auth; JSON in, JSON out. Documented in docs/simulator.md.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::faults::FaultRule;
use crate::model::RouteKind;
use crate::problem::{json_response, problem};
use crate::server::{initial_state, Shared};
use crate::state::{Order, OutcomeRule, OutcomeSpec, Settings, User};

type St = State<Arc<Shared>>;

fn ok(v: Value) -> Response {
    json_response(200, &v)
}

fn bad(msg: impl std::fmt::Display) -> Response {
    problem(400, &msg.to_string())
}

/// Parses a JSON body into `T` (an empty body reads as `{}`); the error is the 400 message.
fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, String> {
    let slice: &[u8] = if body.is_empty() { b"{}" } else { body };
    serde_json::from_slice(slice).map_err(|e| format!("Invalid control body: {e}"))
}

pub fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_sim", get(index))
        .route("/_sim/", get(index))
        .route("/_sim/reset", post(reset))
        .route("/_sim/settings", get(get_settings).post(set_settings))
        .route("/_sim/accounts", get(get_accounts).post(add_account))
        .route(
            "/_sim/orders",
            get(list_orders).post(seed_orders).delete(clear_orders),
        )
        .route("/_sim/orders/{id}", get(get_order))
        .route(
            "/_sim/outcomes",
            get(list_outcomes).post(add_outcome).delete(clear_outcomes),
        )
        .route("/_sim/outcomes/default", post(set_default_outcome))
        .route("/_sim/outcomes/{id}", delete(delete_outcome))
        .route("/_sim/clock", get(get_clock))
        .route("/_sim/clock/advance", post(advance_clock))
        .route(
            "/_sim/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_sim/faults/{id}", delete(delete_fault))
        .route("/_sim/connections/refuse", post(refuse_connections))
        .route("/_sim/requests", get(list_requests).delete(clear_requests))
        .route("/_sim/stats", get(stats))
        .route("/_sim/tickets", get(list_tickets))
        .route("/_sim/tickets/{id}", delete(vanish_ticket))
}

async fn index() -> Response {
    ok(json!({
        "routes": [
            "POST /_sim/reset",
            "GET|POST /_sim/settings",
            "GET|POST /_sim/accounts",
            "GET|POST|DELETE /_sim/orders", "GET /_sim/orders/{id}",
            "GET|POST|DELETE /_sim/outcomes", "POST /_sim/outcomes/default", "DELETE /_sim/outcomes/{id}",
            "GET /_sim/clock", "POST /_sim/clock/advance",
            "GET|POST|DELETE /_sim/faults", "DELETE /_sim/faults/{id}",
            "POST /_sim/connections/refuse",
            "GET|DELETE /_sim/requests",
            "GET /_sim/stats",
            "GET /_sim/tickets", "DELETE /_sim/tickets/{id}"
        ],
        "doc": "docs/simulator.md"
    }))
}

async fn reset(State(sh): St) -> Response {
    let fresh = initial_state(&sh.config);
    *sh.lock() = fresh;
    sh.refuse.store(0, Ordering::SeqCst);
    ok(json!({"reset": true}))
}

async fn get_settings(State(sh): St) -> Response {
    ok(json!(sh.lock().settings))
}

/// Partial update: the body's top-level keys replace the current ones.
async fn set_settings(State(sh): St, body: Bytes) -> Response {
    let patch: Value = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    let Some(patch) = patch.as_object() else {
        return bad("settings patch must be an object");
    };
    let mut st = sh.lock();
    let mut current = json!(st.settings);
    for (k, v) in patch {
        if current.get(k).is_none() {
            return bad(format!("unknown setting '{k}'"));
        }
        current[k] = v.clone();
    }
    match serde_json::from_value::<Settings>(current) {
        Ok(s) => {
            if s.unreachable_store_status != 403 && s.unreachable_store_status != 404 {
                return bad("unreachable_store_status must be 403 or 404");
            }
            st.settings = s;
            ok(json!(st.settings))
        }
        Err(e) => bad(format!("invalid settings: {e}")),
    }
}

#[derive(Deserialize)]
struct AccountBody {
    token: String,
    #[serde(default)]
    store: Option<i64>,
    #[serde(default)]
    stores: Vec<i64>,
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

async fn get_accounts(State(sh): St) -> Response {
    let st = sh.lock();
    ok(
        json!({"accounts": st.accounts, "users": st.users.iter().map(|u| json!({"login": u.login, "token": u.token})).collect::<Vec<_>>()}),
    )
}

async fn add_account(State(sh): St, body: Bytes) -> Response {
    let a: AccountBody = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    let mut st = sh.lock();
    for s in a.store.into_iter().chain(a.stores) {
        st.add_account(&a.token, s);
    }
    st.accounts.entry(a.token.clone()).or_default();
    if let (Some(login), Some(password)) = (a.login, a.password) {
        st.users.retain(|u| u.login != login);
        st.users.push(User {
            login,
            password,
            token: a.token,
        });
    }
    ok(json!({"accounts": st.accounts}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Range {
    from: i64,
    to: i64,
    #[serde(default)]
    channel_name: Option<String>,
    #[serde(default)]
    reference_prefix: Option<String>,
    #[serde(default)]
    store_id: Option<i64>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SeedBody {
    List(Vec<Order>),
    Orders { orders: Vec<Order> },
    Range { range: Range },
}

async fn seed_orders(State(sh): St, body: Bytes) -> Response {
    let seed: SeedBody = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    let orders: Vec<Order> = match seed {
        SeedBody::List(l) | SeedBody::Orders { orders: l } => l,
        SeedBody::Range { range } => {
            if range.to < range.from || range.to - range.from >= 1_000_000 {
                return bad("range must have from <= to and at most 1,000,000 orders");
            }
            let prefix = range.reference_prefix.unwrap_or_else(|| "REF-".into());
            let channel = range.channel_name.unwrap_or_else(|| "simchannel".into());
            (range.from..=range.to)
                .map(|id| {
                    let mut o = Order::new(id, format!("{prefix}{id}"), channel.clone());
                    o.store_id = range.store_id;
                    o
                })
                .collect()
        }
    };
    let n = orders.len();
    let mut st = sh.lock();
    for o in orders {
        st.seed_order(o);
    }
    ok(json!({"seeded": n, "orders": st.orders.len()}))
}

async fn list_orders(State(sh): St) -> Response {
    let mut st = sh.lock();
    st.advance_all_by_clock();
    let mut orders: Vec<&Order> = st.orders.values().collect();
    orders.sort_by_key(|o| o.id);
    ok(json!({"orders": orders}))
}

async fn get_order(State(sh): St, Path(id): Path<i64>) -> Response {
    let mut st = sh.lock();
    st.advance_all_by_clock();
    match st.orders.get(&id) {
        Some(o) => ok(json!(o)),
        None => problem(404, "Unknown order"),
    }
}

async fn clear_orders(State(sh): St) -> Response {
    let mut st = sh.lock();
    st.orders.clear();
    st.by_reference.clear();
    ok(json!({"orders": 0}))
}

async fn list_outcomes(State(sh): St) -> Response {
    let st = sh.lock();
    ok(json!({"default": st.settings.default_outcome, "rules": st.outcomes}))
}

async fn add_outcome(State(sh): St, body: Bytes) -> Response {
    let mut rule: OutcomeRule = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    if rule.order_id.is_none() && rule.reference.is_none() {
        return bad("an outcome rule needs order_id or reference (use /_sim/outcomes/default)");
    }
    let mut st = sh.lock();
    rule.id = st.next_rule_id;
    st.next_rule_id += 1;
    let id = rule.id;
    // Newest rule first: a later rule for the same order overrides an earlier one.
    st.outcomes.insert(0, rule);
    ok(json!({"id": id}))
}

async fn set_default_outcome(State(sh): St, body: Bytes) -> Response {
    let spec: OutcomeSpec = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    let mut st = sh.lock();
    st.settings.default_outcome = spec;
    ok(json!({"default": st.settings.default_outcome}))
}

async fn delete_outcome(State(sh): St, Path(id): Path<u64>) -> Response {
    let mut st = sh.lock();
    let before = st.outcomes.len();
    st.outcomes.retain(|r| r.id != id);
    ok(json!({"deleted": before - st.outcomes.len()}))
}

async fn clear_outcomes(State(sh): St) -> Response {
    let mut st = sh.lock();
    st.outcomes.clear();
    st.settings.default_outcome = OutcomeSpec::default();
    ok(json!({"rules": 0}))
}

async fn get_clock(State(sh): St) -> Response {
    let st = sh.lock();
    ok(json!({
        "elapsed_seconds": st.sim_elapsed(),
        "offset_seconds": st.clock.offset,
        "now": crate::state::rfc3339(st.sim_now()),
        "lifecycle": st.settings.lifecycle,
    }))
}

#[derive(Deserialize)]
struct Advance {
    seconds: f64,
}

async fn advance_clock(State(sh): St, body: Bytes) -> Response {
    let a: Advance = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    if !(a.seconds.is_finite() && a.seconds >= 0.0) {
        return bad("seconds must be a non-negative number");
    }
    let mut st = sh.lock();
    st.clock.offset += a.seconds;
    st.advance_all_by_clock();
    ok(json!({"elapsed_seconds": st.sim_elapsed(), "now": crate::state::rfc3339(st.sim_now())}))
}

async fn list_faults(State(sh): St) -> Response {
    ok(json!({"faults": sh.lock().faults}))
}

async fn add_fault(State(sh): St, body: Bytes) -> Response {
    let mut rule: FaultRule = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    if matches!(rule.route, RouteKind::Control | RouteKind::Unknown) {
        return bad("route must be one of auth, me, ping, order_op, order_get, ticket_list, ticket_get, any");
    }
    if rule.nth == Some(0) {
        return bad("nth is 1-based");
    }
    let mut st = sh.lock();
    rule.id = st.next_rule_id;
    st.next_rule_id += 1;
    rule.calls = 0;
    rule.fired = 0;
    let id = rule.id;
    st.faults.push(rule);
    ok(json!({"id": id}))
}

async fn delete_fault(State(sh): St, Path(id): Path<u64>) -> Response {
    let mut st = sh.lock();
    let before = st.faults.len();
    st.faults.retain(|r| r.id != id);
    ok(json!({"deleted": before - st.faults.len()}))
}

async fn clear_faults(State(sh): St) -> Response {
    sh.lock().faults.clear();
    ok(json!({"faults": 0}))
}

#[derive(Deserialize)]
struct Refuse {
    count: u32,
}

async fn refuse_connections(State(sh): St, body: Bytes) -> Response {
    let r: Refuse = match parse(&body) {
        Ok(v) => v,
        Err(e) => return bad(e),
    };
    sh.refuse.store(r.count, Ordering::SeqCst);
    ok(json!({"refuse": r.count}))
}

async fn list_requests(State(sh): St, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let since: u64 = q.get("since").and_then(|s| s.parse().ok()).unwrap_or(0);
    let limit: usize = q
        .get("limit")
        .and_then(|s| s.parse().ok())
        .unwrap_or(usize::MAX);
    let route = q.get("route").cloned();
    let st = sh.lock();
    let entries: Vec<Value> = st
        .log
        .iter()
        .filter(|e| e.seq > since)
        .filter(|e| route.as_deref().is_none_or(|r| e.route.as_str() == r))
        .take(limit)
        .map(|e| {
            let mut v = json!(e);
            if let Ok(parsed) = serde_json::from_str::<Value>(&e.body) {
                v["json"] = parsed;
            }
            v
        })
        .collect();
    ok(json!({"count": entries.len(), "dropped": st.stats.log_dropped, "requests": entries}))
}

async fn clear_requests(State(sh): St) -> Response {
    sh.lock().log.clear();
    ok(json!({"requests": 0}))
}

async fn stats(State(sh): St) -> Response {
    let st = sh.lock();
    let open = st
        .tickets
        .iter()
        .filter(|t| !t.vanished && !t.state.is_terminal())
        .count();
    let mut v = json!(st.stats);
    v["tickets_open"] = json!(open);
    v["orders"] = json!(st.orders.len());
    ok(v)
}

/// All tickets as stored, without counting a poll or moving the clock.
async fn list_tickets(State(sh): St, Query(q): Query<BTreeMap<String, String>>) -> Response {
    let st = sh.lock();
    let batch = q.get("batchId");
    let tickets: Vec<Value> = st
        .tickets
        .iter()
        .filter(|t| batch.is_none_or(|b| &t.batch_id == b))
        .map(|t| {
            let mut v = st.ticket_json(t);
            v["polls"] = json!(t.polls);
            v["vanished"] = json!(t.vanished);
            v
        })
        .collect();
    ok(json!({"count": tickets.len(), "tickets": tickets}))
}

/// F12 by hand: the ticket is gone (404 from now on).
async fn vanish_ticket(State(sh): St, Path(id): Path<String>) -> Response {
    let mut st = sh.lock();
    match st.ticket_index.get(&id).copied() {
        Some(idx) => {
            st.tickets[idx].vanished = true;
            ok(json!({"vanished": id}))
        }
        None => problem(404, "Unknown ticket"),
    }
}
