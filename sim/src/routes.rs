//! The `/v1` API routes (sf-api.md 1-3, 7.1).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::Response;
use axum::Extension;
use serde_json::{json, Value};

use crate::problem::{forbidden, hal, json_response, not_found, problem, problem_with};
use crate::server::{RequestCtx, Shared};
use crate::state::SimState;
use crate::upload::{parse_multipart, MAX_FILES, MAX_FILE_BYTES};
use crate::validate::{validate_operation, validation_messages};
use crate::wire::{Operation, TicketState};

/// The bearer token of a request, if well formed.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = h.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Checks the token, and that it reaches `store` when given; `Some` is the refusal to send.
fn refuse(st: &SimState, headers: &HeaderMap, store: Option<i64>) -> Option<Response> {
    let Some(stores) = bearer(headers).and_then(|t| st.accounts.get(t)) else {
        return Some(forbidden());
    };
    match store {
        Some(s) if !stores.contains(&s) => Some(if st.settings.unreachable_store_status == 404 {
            not_found()
        } else {
            forbidden()
        }),
        _ => None,
    }
}

pub async fn ping() -> Response {
    json_response(200, &json!({"timestamp": chrono::Utc::now().timestamp()}))
}

pub async fn auth(State(sh): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return problem(400, "Invalid JSON body");
    };
    if v.get("grant_type").and_then(Value::as_str) != Some("password") {
        return problem(400, "Invalid grant type");
    }
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or("")
    };
    let (login, password) = (field("username"), field("password"));
    let st = sh.lock();
    match st
        .users
        .iter()
        .find(|u| u.login == login && u.password == password)
    {
        Some(u) => json_response(
            200,
            &json!({"access_token": u.token, "token_type": "Bearer"}),
        ),
        None => problem(401, "Invalid username or password"),
    }
}

pub async fn me(State(sh): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let st = sh.lock();
    if let Some(r) = refuse(&st, &headers, None) {
        return r;
    }
    let token = bearer(&headers).unwrap_or_default();
    let stores = st.accounts.get(token).cloned().unwrap_or_default();
    let login = st
        .users
        .iter()
        .find(|u| u.token == token)
        .map(|u| u.login.clone())
        .unwrap_or_else(|| format!("sim-{}", stores.first().copied().unwrap_or(0)));
    let store_json: Vec<Value> = stores
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "name": format!("sim-store-{id}"),
                "status": "active",
                "country": "FR",
                "organization": null,
                "deletedAt": null,
                "_links": {
                    "self": {"href": format!("/v1/store/{id}")},
                    "order": {"href": format!("/v1/store/{id}/order{{/operation}}"), "templated": true},
                    "ticket": {"href": format!("/v1/store/{id}/ticket")},
                    "inventory": {"href": format!("/v1/catalog/{id}/inventory")},
                    "pricing": {"href": format!("/v1/catalog/{id}/pricing")},
                    "channel": {"href": format!("/v1/store/{id}/channel")},
                }
            })
        })
        .collect();
    hal(&json!({
        "login": login,
        "email": format!("{login}@example.invalid"),
        "token": token,
        "language": "en_US",
        "roles": ["user"],
        "_links": {"self": {"href": "/v1/me"}},
        "_embedded": {"account": [{"id": 1}], "store": store_json},
    }))
}

pub async fn order_get(
    State(sh): State<Arc<Shared>>,
    Path((store, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Ok(store) = store.parse::<i64>() else {
        return not_found();
    };
    let mut st = sh.lock();
    if let Some(r) = refuse(&st, &headers, Some(store)) {
        return r;
    }
    st.advance_all_by_clock();
    let Ok(id) = id.parse::<i64>() else {
        return not_found();
    };
    match st.orders.get(&id) {
        Some(o) if o.store_id.is_none_or(|s| s == store) => hal(&o.to_api_json(store)),
        _ => not_found(),
    }
}

pub async fn order_op(
    State(sh): State<Arc<Shared>>,
    Extension(ctx): Extension<RequestCtx>,
    Path((store, op)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(store) = store.parse::<i64>() else {
        return not_found();
    };
    {
        let st = sh.lock();
        if let Some(r) = refuse(&st, &headers, Some(store)) {
            return r;
        }
    }
    let Some(op) = Operation::parse(&op) else {
        return not_found();
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let parsed: Value = if op == Operation::UploadDocuments {
        let Some(parts) = parse_multipart(&content_type, &body) else {
            return problem(400, "upload-documents needs a multipart/form-data body");
        };
        let files: Vec<_> = parts.iter().filter(|p| p.name == "files[]").collect();
        if files.len() > MAX_FILES {
            return problem(400, "At most 20 files per request");
        }
        if files.iter().any(|f| f.data.len() > MAX_FILE_BYTES) {
            return problem(413, "File too large: at most 2 MB per file");
        }
        let Some(body_part) = parts.iter().find(|p| p.name == "body") else {
            return problem(400, "Missing 'body' part");
        };
        let parsed: Value = match serde_json::from_slice(&body_part.data) {
            Ok(v) => v,
            Err(_) => return problem(400, "Invalid JSON in 'body' part"),
        };
        // PDF only, one file per listed document, in the same order (sf-api.md §2.6).
        if files.iter().any(|f| !f.data.starts_with(b"%PDF")) {
            return problem(400, "Only PDF documents are accepted");
        }
        let documents: usize = parsed["order"]
            .as_array()
            .map(|orders| {
                orders
                    .iter()
                    .map(|o| o["documents"].as_array().map_or(0, Vec::len))
                    .sum()
            })
            .unwrap_or(0);
        if documents != files.len() {
            return problem(
                400,
                &format!(
                    "{} files for {documents} documents: send one 'files[]' part per document",
                    files.len()
                ),
            );
        }
        parsed
    } else {
        if !content_type.starts_with("application/json") {
            return problem(400, "Content-Type must be application/json");
        }
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => return problem(400, &format!("Invalid JSON body: {e}")),
        }
    };
    let mut st = sh.lock();
    let refs = match validate_operation(op, &parsed, st.settings.max_orders_per_request) {
        Ok(r) => r,
        Err(v) => {
            return problem_with(
                400,
                "Validation failed",
                Some(("validationMessages", validation_messages(&v))),
            )
        }
    };
    let done = st.submit(store, op, refs, &ctx.forced_ignore);
    let mut resp = json!({
        "id": done.batch_id,
        "_links": {"ticket": {"href": format!("/v1/store/{store}/ticket?batchId={}", done.batch_id)}},
    });
    if !done.report.is_empty() {
        resp["report"] = Value::Array(done.report);
    }
    json_response(202, &resp)
}

pub async fn ticket_get(
    State(sh): State<Arc<Shared>>,
    Path((store, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Ok(store) = store.parse::<i64>() else {
        return not_found();
    };
    let mut st = sh.lock();
    if let Some(r) = refuse(&st, &headers, Some(store)) {
        return r;
    }
    let Some(&idx) = st.ticket_index.get(&id) else {
        return not_found();
    };
    if st.tickets[idx].store != store {
        return not_found();
    }
    st.advance(idx, true);
    let t = &st.tickets[idx];
    if t.vanished {
        return not_found();
    }
    hal(&st.ticket_json(t))
}

/// Builds a list href keeping every filter, for `self`/`first`/`next`/...
fn list_href(store: i64, filters: &[(&str, String)], page: usize, limit: usize) -> Value {
    let mut q: Vec<String> = filters.iter().map(|(k, v)| format!("{k}={v}")).collect();
    q.push(format!("page={page}"));
    q.push(format!("limit={limit}"));
    json!({"href": format!("/v1/store/{store}/ticket?{}", q.join("&"))})
}

pub async fn ticket_list(
    State(sh): State<Arc<Shared>>,
    Path(store): Path<String>,
    query: Result<Query<BTreeMap<String, String>>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let Ok(store) = store.parse::<i64>() else {
        return not_found();
    };
    let Ok(Query(q)) = query else {
        return problem(400, "Invalid query string");
    };
    let mut st = sh.lock();
    if let Some(r) = refuse(&st, &headers, Some(store)) {
        return r;
    }
    let page = match q.get("page").map(|p| p.parse::<usize>()) {
        None => 1,
        Some(Ok(p)) if p >= 1 => p,
        Some(_) => return problem(400, "'page' must be a positive integer"),
    };
    let limit = match q.get("limit").map(|p| p.parse::<usize>()) {
        None => st.settings.default_limit,
        Some(Ok(l)) if l >= 1 => l.min(st.settings.max_limit),
        Some(_) => return problem(400, "'limit' must be a positive integer"),
    };
    let states: Option<Vec<TicketState>> = match q.get("state") {
        None => None,
        Some(s) => {
            let mut all = Vec::new();
            for part in s.split(',') {
                match TicketState::parse_filter(part.trim()) {
                    Some(v) => all.extend(v),
                    None => return problem(400, &format!("Unknown state '{part}'")),
                }
            }
            Some(all)
        }
    };
    let types: Option<Vec<&str>> = q.get("type").map(|t| t.split(',').map(str::trim).collect());
    let payload_id = match q.get("payloadId").map(|p| p.parse::<i64>()) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(_)) => return problem(400, "'payloadId' must be an integer"),
    };
    let mut filters: Vec<(&str, String)> = Vec::new();
    for key in ["batchId", "state", "type", "payloadId"] {
        if let Some(v) = q.get(key) {
            filters.push((key, v.clone()));
        }
    }

    let candidates: Vec<usize> = match q.get("batchId") {
        Some(b) => match st.batches.get_mut(b) {
            Some(batch) if batch.store == store => {
                if batch.invisible_left > 0 {
                    // F8: the batch exists but its tickets are not listable yet.
                    batch.invisible_left -= 1;
                    Vec::new()
                } else {
                    batch.tickets.clone()
                }
            }
            _ => Vec::new(),
        },
        None => {
            let hidden: Vec<&str> = st
                .batches
                .iter()
                .filter(|(_, b)| b.invisible_left > 0)
                .map(|(id, _)| id.as_str())
                .collect();
            st.tickets
                .iter()
                .enumerate()
                .filter(|(_, t)| t.store == store && !hidden.contains(&t.batch_id.as_str()))
                .map(|(i, _)| i)
                .collect()
        }
    };
    let candidates: Vec<usize> = candidates
        .into_iter()
        .filter(|&i| {
            let t = &st.tickets[i];
            types
                .as_ref()
                .is_none_or(|ts| ts.contains(&t.op.ticket_type()))
                && payload_id.is_none_or(|p| t.order_id == p)
        })
        .collect();
    // A walk through the pages is one poll: only page 1 counts (documented).
    for &i in &candidates {
        st.advance(i, page == 1);
    }
    let selected: Vec<usize> = candidates
        .into_iter()
        .filter(|&i| {
            let t = &st.tickets[i];
            !t.vanished && states.as_ref().is_none_or(|s| s.contains(&t.state))
        })
        .collect();
    let total = selected.len();
    let pages = total.div_ceil(limit).max(1);
    let processing = selected.iter().any(|&i| !st.tickets[i].state.is_terminal());
    let start = (page - 1).saturating_mul(limit).min(total);
    let end = (start + limit).min(total);
    let items: Vec<Value> = selected[start..end]
        .iter()
        .map(|&i| st.ticket_json(&st.tickets[i]))
        .collect();
    let mut links = serde_json::Map::new();
    links.insert("self".into(), list_href(store, &filters, page, limit));
    links.insert("first".into(), list_href(store, &filters, 1, limit));
    links.insert("last".into(), list_href(store, &filters, pages, limit));
    if page < pages {
        links.insert("next".into(), list_href(store, &filters, page + 1, limit));
    }
    if page > 1 {
        links.insert(
            "prev".into(),
            list_href(store, &filters, (page - 1).min(pages), limit),
        );
    }
    hal(&json!({
        "total": total,
        "limit": limit,
        "pages": pages,
        "page": page,
        "count": items.len(),
        "meta": {"processing": processing},
        "_links": links,
        "_embedded": {"ticket": items},
    }))
}

pub async fn fallback() -> Response {
    not_found()
}
