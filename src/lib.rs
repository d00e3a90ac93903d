//! shoppingfeed_sync: the order status synchronization of the Shopping Feed PrestaShop module.
//!
//! The core (configuration, queue store, API client, sync engine) is plain Rust and is tested with
//! `cargo test`; the PHP glue lives in [`php`] behind the `extension` feature.

pub mod api;
pub mod config;
pub mod control;
pub mod db;
pub mod engine;
pub mod error;
pub mod hook;
pub mod invoice;
pub mod model;
pub mod notices;
pub mod operations;
pub mod queue;
pub mod refund;
pub mod runtime;
pub mod shop;
pub mod sweep;
pub mod tracking;

#[cfg(feature = "extension")]
pub mod php;

/// The crate version and the git revision it was built from (set by build.rs).
pub fn version() -> &'static str {
    concat!(env!("CARGO_PKG_VERSION"), " (", env!("SFSYNC_GIT_REV"), ")")
}
