//! The Shopping Feed API simulator: a real HTTP server (axum) faithful to the API contract
//! (sf-api.md §7), with test controls under `/_sim/`. It shares no code with the product: its
//! wire names ([`wire`]) come from the contract, so a client that misspells one fails a test.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use shoppingfeed_sim::{spawn, Order, SimConfig};
//! let sim = spawn(SimConfig::new("t0k3n", 1276).with_orders([Order::new(111, "REF-111", "amazon")])).await?;
//! let base = sim.base_url(); // http://127.0.0.1:PORT
//! # let _ = base;
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The control API is documented in `docs/simulator.md`.

pub mod cli;
mod conn;
mod control;
pub mod faults;
#[cfg(feature = "harness")]
pub mod harness;
mod lifecycle;
pub mod model;
mod problem;
mod routes;
mod server;
pub mod state;
mod upload;
pub mod validate;
pub mod wire;

use std::net::SocketAddr;

pub use faults::{ErrorBody, FaultKind, FaultRule, Malformation};
pub use model::{OutcomeKind, RouteKind};
pub use server::{spawn, SimHandle};
pub use state::{Latency, Lifecycle, Order, OrderItem, OutcomeSpec, User};
pub use wire::{Operation, OrderStatus, TicketState};

/// Start-up configuration of a simulator.
#[derive(Debug, Clone, Default)]
pub struct SimConfig {
    /// `(token, store id)` pairs; a token repeated with several stores reaches all of them.
    pub accounts: Vec<(String, i64)>,
    /// Logins for `POST /v1/auth` (password flow).
    pub users: Vec<User>,
    /// Orders known from the start (and after `POST /_sim/reset`).
    pub orders: Vec<Order>,
    /// Latency added to every `/v1` request. Default: none.
    pub latency: Latency,
    /// Create unknown orders on the fly instead of reporting them `ignored`. Default: off.
    pub auto_create_orders: bool,
    /// Ticket life cycle. Default: one step per poll.
    pub lifecycle: Lifecycle,
    /// Address to bind. Default: `127.0.0.1:0` (any free port).
    pub listen: Option<SocketAddr>,
}

impl SimConfig {
    /// One token reaching one store.
    pub fn new(token: impl Into<String>, store: i64) -> Self {
        SimConfig::default().with_account(token, store)
    }

    pub fn with_account(mut self, token: impl Into<String>, store: i64) -> Self {
        self.accounts.push((token.into(), store));
        self
    }

    pub fn with_user(
        mut self,
        login: impl Into<String>,
        password: impl Into<String>,
        token: impl Into<String>,
    ) -> Self {
        self.users.push(User {
            login: login.into(),
            password: password.into(),
            token: token.into(),
        });
        self
    }

    pub fn with_orders(mut self, orders: impl IntoIterator<Item = Order>) -> Self {
        self.orders.extend(orders);
        self
    }

    pub fn with_latency(mut self, latency: Latency) -> Self {
        self.latency = latency;
        self
    }

    pub fn with_auto_create_orders(mut self, on: bool) -> Self {
        self.auto_create_orders = on;
        self
    }

    pub fn with_lifecycle(mut self, lifecycle: Lifecycle) -> Self {
        self.lifecycle = lifecycle;
        self
    }

    pub fn with_listen(mut self, addr: SocketAddr) -> Self {
        self.listen = Some(addr);
        self
    }
}
