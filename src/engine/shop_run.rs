//! What a CRON run works with: its options, and one shop's account ready for API calls.

use crate::api::ApiClient;
use crate::db::Db;
use crate::queue::TaskScope;
use crate::shop::StateLists;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Options of `runCron()`; every one has a default.
#[derive(Debug, Clone)]
pub struct CronOptions {
    pub api_base_url: String,
    pub http_timeout: Duration,
    /// Stop claiming new work after this long (a CRON URL must answer before web timeouts),
    /// shared among the shops of the run.
    pub run_budget: Duration,
    /// How long a claimed task is reserved; longer than the worst HTTP time of one request.
    pub lease_seconds: u32,
    /// Sends of one status before giving up (failed tickets, ignored orders, stuck tickets).
    pub max_attempts: u32,
    /// A ticket still pending (or not visible) this long after the send is reported stuck and resent.
    pub ticket_deadline_minutes: u32,
    /// A requeued task waits this long before it is resent (not in the same run).
    pub requeue_delay_minutes: u32,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Only this shop (None: every active shop).
    pub shop: Option<u32>,
    /// Where the module renders the invoices to upload (`{dir}/{id_order}.pdf`).
    pub invoice_dir: std::path::PathBuf,
    /// Who asked for this run, when a person did (the back office's Run now): logged at its start.
    pub requested_by: Option<String>,
}

impl Default for CronOptions {
    fn default() -> Self {
        CronOptions {
            api_base_url: crate::config::DEFAULT_API_BASE_URL.to_string(),
            http_timeout: Duration::from_secs(10),
            run_budget: Duration::from_secs(60),
            lease_seconds: 600,
            max_attempts: 5,
            ticket_deadline_minutes: 24 * 60,
            requeue_delay_minutes: 5,
            concurrency: 8,
            shop: None,
            invoice_dir: crate::config::default_invoice_dir(),
            requested_by: None,
        }
    }
}

/// What a shop needs during a run, for one of its Shopping Feed accounts.
pub(crate) struct ShopRun<'a> {
    pub db: &'a Db,
    pub api: ApiClient,
    pub store_id: i64,
    pub id_shop: u32,
    /// The account's tasks: every query that picks tasks to send or check is limited to them.
    pub scope: TaskScope,
    pub lists: StateLists,
    /// `SHOPPINGFEED_PRODUCT_FEED_REFERENCE_FORMAT`: how refunded products are named.
    pub reference_format: String,
    pub chunk: usize,
    pub opts: &'a CronOptions,
    /// When this shop stops claiming new work: its share of the run's budget.
    pub deadline: Instant,
    /// One claim allowed past the deadline (the run's first shop: the one that waited longest).
    pub one_page: AtomicBool,
    /// Dry run (`SHOPPINGFEED_ORDER_SYNC_DRY_RUN`): everything up to the API call, which is logged
    /// instead; no ticket checked, no task consumed.
    pub dry_run: bool,
}

impl ShopRun<'_> {
    pub fn budget_left(&self) -> bool {
        Instant::now() < self.deadline || self.one_page.swap(false, Ordering::Relaxed)
    }
}
