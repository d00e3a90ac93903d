//! The Shopping Feed API client: order operations and tickets.
//!
//! PHP-free. One [`ApiClient`] per process is enough: it is cheap to clone and every clone shares
//! the connection pool, the concurrency limit, the rate-limit pause, the cached store id and the
//! counters.

mod client;
mod error;
mod retry;
mod secret;
mod types;

pub use client::{operation_body, ApiClient, ApiConfig, ApiStats};
pub use error::{ApiError, Problem, MAX_ERROR_BODY};
pub use retry::{backoff_ceiling, backoff_delay, rate_limit_wait};
pub use secret::Secret;
pub use types::{
    max_orders_per_request, AccountRef, BatchAccepted, IgnoredOrder, Me, OneOrMany, OperationData,
    OperationRequest, OrderIdentifier, OrderOperation, RefundProduct, StoreRef, Ticket,
    TicketPayload, TicketResult, MAX_DOCUMENTS_PER_REQUEST, MAX_DOCUMENT_BYTES,
    MAX_ORDERS_PER_REQUEST, TICKET_PAGE_LIMIT,
};
