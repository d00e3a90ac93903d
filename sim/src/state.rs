//! The simulator's mutable world: settings, accounts, orders, batches, tickets, the request log.
//!
//! Everything sits behind one `std::sync::Mutex` (never held across an await): requests are
//! short, and a single lock keeps the ticket clock and the order effects consistent.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::faults::FaultRule;
use crate::model::{OutcomeKind, RouteKind};
use crate::validate::OrderRef;
use crate::wire::{Operation, OrderStatus, TicketState};

/// Per-request latency (benchmarks): none, fixed, or uniform in a range. Milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Latency {
    #[default]
    None,
    Fixed {
        ms: u64,
    },
    Range {
        min_ms: u64,
        max_ms: u64,
    },
}

/// How tickets move `scheduled → running → terminal`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Lifecycle {
    /// One step per `polls_per_step` polls of the ticket (0: terminal at the first poll).
    Polls { polls_per_step: u32 },
    /// One step per `seconds_per_step` of the simulated clock, which moves only through
    /// `POST /_sim/clock/advance`.
    Clock { seconds_per_step: f64 },
    /// One step per `seconds_per_step` of wall time (plus any manual advance): F18.
    Wall { seconds_per_step: f64 },
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle::Polls { polls_per_step: 1 }
    }
}

/// The terminal outcome (or the stuck state) a ticket gets, with its failure reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct OutcomeSpec {
    #[serde(default)]
    pub outcome: OutcomeKind,
    /// `result.message` of a failed or canceled ticket.
    #[serde(default)]
    pub message: Option<String>,
    /// `result.data` of a failed or canceled ticket.
    #[serde(default)]
    pub data: Option<Value>,
    /// F12: the ticket disappears (404, absent from lists) instead of becoming terminal.
    #[serde(default)]
    pub vanish: bool,
}

/// A per-order outcome, matched on the order id or on reference + channelName.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutcomeRule {
    #[serde(default)]
    pub id: u64,
    #[serde(default)]
    pub order_id: Option<i64>,
    #[serde(default, rename = "reference")]
    pub reference: Option<String>,
    #[serde(default, rename = "channelName")]
    pub channel_name: Option<String>,
    #[serde(default)]
    pub operation: Option<Operation>,
    /// Applies to this many tickets, then the rule is removed (absent: forever).
    #[serde(default)]
    pub times: Option<u32>,
    #[serde(flatten)]
    pub spec: OutcomeSpec,
}

impl OutcomeRule {
    fn matches(&self, order: &Order, op: Operation) -> bool {
        if self.operation.is_some_and(|o| o != op) {
            return false;
        }
        if let Some(id) = self.order_id {
            return order.id == id;
        }
        match (&self.reference, &self.channel_name) {
            (Some(r), Some(c)) => &order.reference == r && &order.channel_name == c,
            (Some(r), None) => &order.reference == r,
            _ => false,
        }
    }
}

/// Runtime settings, all changeable through `POST /_sim/settings`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    /// Unknown orders are created on the fly instead of being reported `ignored`.
    pub auto_create_orders: bool,
    /// Status for a store the token cannot reach: 403 (default) or 404.
    pub unreachable_store_status: u16,
    pub max_orders_per_request: usize,
    /// Page size when a ticket list has no `limit`.
    pub default_limit: usize,
    /// Larger `limit` values are capped to this (sf-api.md 5).
    pub max_limit: usize,
    pub lifecycle: Lifecycle,
    /// F8: a new batch's ticket list is empty for its first N polls.
    pub invisible_polls: u32,
    pub default_outcome: OutcomeSpec,
    pub latency: Latency,
    /// Per-route latency overrides (`order_op`, `ticket_list`, ...).
    pub route_latency: BTreeMap<RouteKind, Latency>,
    /// The request log keeps at most this many entries (oldest dropped first).
    pub log_capacity: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            auto_create_orders: false,
            unreachable_store_status: 403,
            max_orders_per_request: 100,
            default_limit: 20,
            max_limit: 200,
            lifecycle: Lifecycle::default(),
            invisible_polls: 0,
            default_outcome: OutcomeSpec::default(),
            latency: Latency::None,
            route_latency: BTreeMap::new(),
            log_capacity: 100_000,
        }
    }
}

/// One order item (used for partial shipments).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderItem {
    pub id: i64,
    #[serde(default)]
    pub reference: String,
    #[serde(default = "one")]
    pub quantity: i64,
}

fn one() -> i64 {
    1
}

/// An order as the simulator knows it; also the seed format (`POST /_sim/orders`, `--orders`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: i64,
    #[serde(default)]
    pub reference: String,
    #[serde(default)]
    pub channel_name: String,
    /// The store owning the order; absent: any store.
    #[serde(default)]
    pub store_id: Option<i64>,
    #[serde(default)]
    pub status: OrderStatus,
    #[serde(default)]
    pub acknowledged_at: Option<String>,
    #[serde(default)]
    pub store_reference: Option<String>,
    #[serde(default)]
    pub items: Vec<OrderItem>,
    #[serde(default)]
    pub errors: Vec<Value>,
}

impl Order {
    /// A seedable order in status `waiting_shipment`.
    pub fn new(id: i64, reference: impl Into<String>, channel_name: impl Into<String>) -> Self {
        Order {
            id,
            reference: reference.into(),
            channel_name: channel_name.into(),
            store_id: None,
            status: OrderStatus::default(),
            acknowledged_at: None,
            store_reference: None,
            items: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// The order resource as `GET /v1/store/{storeId}/order/{id}` shows it.
    pub fn to_api_json(&self, store: i64) -> Value {
        json!({
            "id": self.id,
            "reference": self.reference,
            "storeReference": self.store_reference,
            "status": self.status,
            "acknowledgedAt": self.acknowledged_at,
            "items": self.items,
            "errors": self.errors,
            "_embedded": {"channel": {"name": self.channel_name}},
            "_links": {"self": {"href": format!("/v1/store/{store}/order/{}", self.id)}},
        })
    }
}

/// A login usable with `POST /v1/auth`, answering `token`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub login: String,
    pub password: String,
    pub token: String,
}

#[derive(Debug, Clone)]
pub struct Ticket {
    pub id: String,
    pub batch_id: String,
    pub store: i64,
    pub op: Operation,
    pub order_id: i64,
    pub payload: Value,
    pub state: TicketState,
    pub result: Value,
    pub scheduled_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub polls: u32,
    /// Simulated seconds at creation (clock and wall modes).
    pub created_sim: f64,
    pub outcome: OutcomeSpec,
    pub vanished: bool,
}

#[derive(Debug, Clone)]
pub struct Batch {
    pub store: i64,
    pub tickets: Vec<usize>,
    pub invisible_left: u32,
}

/// One received request, as `GET /_sim/requests` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LogEntry {
    pub seq: u64,
    pub at: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub route: RouteKind,
    pub operation: Option<Operation>,
    /// `Bearer abc…(40 chars)`: enough to tell tokens apart, never the whole secret.
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
    pub status: Option<u16>,
    pub fault: Option<String>,
    pub latency_ms: u64,
}

/// Hides all but the first 3 characters of the credential.
pub fn redact_authorization(h: &str) -> String {
    let (scheme, cred) = match h.split_once(' ') {
        Some((s, c)) => (format!("{s} "), c),
        None => (String::new(), h),
    };
    // Short secrets show nothing: three characters of a six-character token would be half of it.
    let count = cred.chars().count();
    let shown: String = cred.chars().take(if count >= 12 { 3 } else { 0 }).collect();
    format!("{scheme}{shown}…({count} chars)")
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Stats {
    pub requests_total: u64,
    pub per_route: BTreeMap<RouteKind, u64>,
    pub per_operation: BTreeMap<String, u64>,
    pub per_status: BTreeMap<u16, u64>,
    pub faults_fired: u64,
    pub batches: u64,
    pub tickets: u64,
    pub log_dropped: u64,
}

/// Small xorshift64* generator: ids and latency jitter need no cryptographic quality.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn seeded() -> Self {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        XorShift((t ^ (u64::from(std::process::id()) << 32)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// The simulated clock: wall time plus manual advances, or frozen (clock mode).
#[derive(Debug, Clone)]
pub struct Clock {
    start: Instant,
    start_wall: DateTime<Utc>,
    pub offset: f64,
}

impl Clock {
    fn new() -> Self {
        Clock {
            start: Instant::now(),
            start_wall: Utc::now(),
            offset: 0.0,
        }
    }

    /// Simulated seconds since the simulator started.
    pub fn elapsed(&self, lifecycle: &Lifecycle) -> f64 {
        match lifecycle {
            Lifecycle::Clock { .. } => self.offset,
            _ => self.start.elapsed().as_secs_f64() + self.offset,
        }
    }

    pub fn at(&self, elapsed: f64) -> DateTime<Utc> {
        self.start_wall + chrono::Duration::microseconds((elapsed * 1e6) as i64)
    }
}

pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, false)
}

/// What `submit` answers for one operation request.
#[derive(Debug)]
pub struct Submitted {
    pub batch_id: String,
    pub report: Vec<Value>,
}

/// Orders to report ignored because a fault rule said so (F7).
#[derive(Debug, Clone, Default)]
pub enum ForcedIgnore {
    #[default]
    Nothing,
    All(String),
    Orders(Vec<(Option<i64>, Option<String>, String)>),
}

pub struct SimState {
    pub settings: Settings,
    /// token → reachable store ids.
    pub accounts: BTreeMap<String, Vec<i64>>,
    pub users: Vec<User>,
    pub orders: HashMap<i64, Order>,
    pub by_reference: HashMap<(String, String), i64>,
    pub tickets: Vec<Ticket>,
    pub ticket_index: HashMap<String, usize>,
    pub batches: HashMap<String, Batch>,
    pub outcomes: Vec<OutcomeRule>,
    pub faults: Vec<FaultRule>,
    pub next_rule_id: u64,
    pub log: VecDeque<LogEntry>,
    pub next_seq: u64,
    pub stats: Stats,
    pub clock: Clock,
    pub rng: XorShift,
    next_auto_id: i64,
}

impl SimState {
    pub fn new(settings: Settings) -> Self {
        SimState {
            settings,
            accounts: BTreeMap::new(),
            users: Vec::new(),
            orders: HashMap::new(),
            by_reference: HashMap::new(),
            tickets: Vec::new(),
            ticket_index: HashMap::new(),
            batches: HashMap::new(),
            outcomes: Vec::new(),
            faults: Vec::new(),
            next_rule_id: 1,
            log: VecDeque::new(),
            next_seq: 1,
            stats: Stats::default(),
            clock: Clock::new(),
            rng: XorShift::seeded(),
            next_auto_id: 9_000_000_000,
        }
    }

    pub fn add_account(&mut self, token: &str, store: i64) {
        let stores = self.accounts.entry(token.to_string()).or_default();
        if !stores.contains(&store) {
            stores.push(store);
        }
    }

    pub fn seed_order(&mut self, order: Order) {
        if let Some(old) = self.orders.get(&order.id) {
            self.by_reference
                .remove(&(old.reference.clone(), old.channel_name.clone()));
        }
        self.by_reference.insert(
            (order.reference.clone(), order.channel_name.clone()),
            order.id,
        );
        self.orders.insert(order.id, order);
    }

    /// A fresh opaque 24-hex id (like a Mongo ObjectId: seconds, then random bits).
    pub fn new_id(&mut self) -> String {
        loop {
            let secs = self.clock.at(self.clock.offset).timestamp() as u32;
            let id = format!("{secs:08x}{:016x}", self.rng.next_u64());
            if !self.ticket_index.contains_key(&id) && !self.batches.contains_key(&id) {
                return id;
            }
        }
    }

    pub fn sim_elapsed(&self) -> f64 {
        self.clock.elapsed(&self.settings.lifecycle)
    }

    pub fn sim_now(&self) -> DateTime<Utc> {
        self.clock.at(self.sim_elapsed())
    }

    /// Finds the order an identifier designates in `store`, if any.
    fn resolve(&self, store: i64, r: &OrderRef) -> Option<i64> {
        let id = match r.id {
            Some(id) => id,
            None => {
                let key = (r.reference.clone()?, r.channel_name.clone()?);
                *self.by_reference.get(&key)?
            }
        };
        let order = self.orders.get(&id)?;
        order.store_id.is_none_or(|s| s == store).then_some(id)
    }

    fn auto_create(&mut self, store: i64, r: &OrderRef) -> i64 {
        let id = r.id.unwrap_or_else(|| {
            self.next_auto_id += 1;
            self.next_auto_id
        });
        let mut order = Order::new(
            id,
            r.reference.clone().unwrap_or_else(|| format!("REF-{id}")),
            r.channel_name
                .clone()
                .unwrap_or_else(|| "simchannel".into()),
        );
        order.store_id = Some(store);
        self.seed_order(order);
        id
    }

    fn outcome_for(&mut self, order_id: i64, op: Operation) -> OutcomeSpec {
        let Some(order) = self.orders.get(&order_id) else {
            return self.settings.default_outcome.clone();
        };
        let Some(pos) = self.outcomes.iter().position(|r| r.matches(order, op)) else {
            return self.settings.default_outcome.clone();
        };
        let rule = &mut self.outcomes[pos];
        let spec = rule.spec.clone();
        if let Some(t) = rule.times.as_mut() {
            *t = t.saturating_sub(1);
            if *t == 0 {
                self.outcomes.remove(pos);
            }
        }
        spec
    }

    /// Creates the batch and tickets of one validated operation request.
    pub fn submit(
        &mut self,
        store: i64,
        op: Operation,
        refs: Vec<OrderRef>,
        forced: &ForcedIgnore,
    ) -> Submitted {
        let batch_id = self.new_id();
        let now = self.sim_now();
        let created_sim = self.sim_elapsed();
        let mut report = Vec::new();
        let mut batch = Batch {
            store,
            tickets: Vec::with_capacity(refs.len()),
            invisible_left: self.settings.invisible_polls,
        };
        for r in refs {
            let ignored_by_fault = match forced {
                ForcedIgnore::Nothing => None,
                ForcedIgnore::All(msg) => Some(msg.clone()),
                ForcedIgnore::Orders(list) => list.iter().find_map(|(id, reference, msg)| {
                    let hit = (id.is_some() && *id == r.id)
                        || (reference.is_some() && *reference == r.reference);
                    hit.then(|| msg.clone())
                }),
            };
            let resolved = match ignored_by_fault {
                Some(msg) => Err(msg),
                None => match self.resolve(store, &r) {
                    Some(id) => Ok(id),
                    None if self.settings.auto_create_orders => Ok(self.auto_create(store, &r)),
                    None => Err("Order not found".to_string()),
                },
            };
            let order_id = match resolved {
                Ok(id) => id,
                Err(message) => {
                    report.push(json!({
                        "id": r.id,
                        "channelName": r.channel_name,
                        "reference": r.reference,
                        "state": "ignored",
                        "message": message,
                    }));
                    continue;
                }
            };
            let outcome = self.outcome_for(order_id, op);
            let mut payload = Map::new();
            if let Some(order) = self.orders.get(&order_id) {
                payload.insert("id".into(), json!(order.id));
                payload.insert("reference".into(), json!(order.reference));
                payload.insert("channelName".into(), json!(order.channel_name));
            }
            for (k, v) in r.fields {
                payload.insert(k, v);
            }
            let id = self.new_id();
            let idx = self.tickets.len();
            self.tickets.push(Ticket {
                id: id.clone(),
                batch_id: batch_id.clone(),
                store,
                op,
                order_id,
                payload: Value::Object(payload),
                state: TicketState::Scheduled,
                result: Value::Null,
                scheduled_at: now,
                started_at: None,
                finished_at: None,
                polls: 0,
                created_sim,
                outcome,
                vanished: false,
            });
            self.ticket_index.insert(id, idx);
            batch.tickets.push(idx);
            self.stats.tickets += 1;
        }
        self.batches.insert(batch_id.clone(), batch);
        self.stats.batches += 1;
        Submitted { batch_id, report }
    }

    /// Renders a ticket as the API shows it (sf-api.md 3.3).
    pub fn ticket_json(&self, t: &Ticket) -> Value {
        json!({
            "id": t.id,
            "batchId": t.batch_id,
            "type": t.op.ticket_type(),
            "state": t.state,
            "payload": t.payload,
            "result": t.result,
            "scheduledAt": rfc3339(t.scheduled_at),
            "startedAt": t.started_at.map(rfc3339),
            "finishedAt": t.finished_at.map(rfc3339),
            "_links": {"self": {"href": format!("/v1/store/{}/ticket/{}", t.store, t.id)}},
        })
    }

    pub fn push_log(&mut self, entry: LogEntry) {
        while self.log.len() >= self.settings.log_capacity.max(1) {
            self.log.pop_front();
            self.stats.log_dropped += 1;
        }
        self.log.push_back(entry);
    }

    pub fn log_entry_mut(&mut self, seq: u64) -> Option<&mut LogEntry> {
        let first = self.log.front()?.seq;
        let idx = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.log.get_mut(idx).filter(|e| e.seq == seq)
    }
}
