//! A claimed task ready to send, as every kind's prepare step makes it and the page loop sends it.

use super::shop_run::ShopRun;
use crate::api::{OperationData, OrderIdentifier, OrderOperation};
use crate::db::logger::ProcessLogger;
use crate::model::LogLevel;
use crate::notices::Failure;
use crate::queue::Seen;

/// A claimed task ready to send.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub id_task: u32,
    pub id_order: u32,
    pub attempts: u32,
    pub op: OrderOperation,
    pub sf_id: Option<i64>,
    pub reference: Option<String>,
    pub marketplace: Option<String>,
    /// The task's re-arm counter when it was read: the batch id is saved only if it is unchanged.
    pub version: u32,
}

impl Prepared {
    pub(crate) fn seen(&self) -> Seen {
        Seen {
            id_task: self.id_task,
            version: self.version,
        }
    }
}

/// How an order is named on the API, from its `shoppingfeed_order` row: the Shopping Feed id when
/// known, else the marketplace reference and channel.
pub(crate) struct OrderLink {
    identifier: OrderIdentifier,
    sf_id: Option<i64>,
    reference: Option<String>,
    marketplace: Option<String>,
}

impl OrderLink {
    /// `None` when the row has neither an id nor a reference with its marketplace.
    pub fn new(
        sf_id: Option<String>,
        reference: Option<String>,
        marketplace: Option<String>,
    ) -> Option<Self> {
        let sf_id = sf_id
            .and_then(|s| s.trim().parse::<i64>().ok())
            .filter(|id| *id > 0);
        let reference = reference.filter(|r| !r.trim().is_empty());
        let marketplace = marketplace.filter(|m| !m.trim().is_empty());
        let identifier = match (sf_id, &reference, &marketplace) {
            (Some(id), _, _) => OrderIdentifier::Id(id),
            (None, Some(r), Some(m)) => OrderIdentifier::Reference {
                reference: r.clone(),
                channel_name: m.to_lowercase(),
            },
            _ => return None,
        };
        Some(OrderLink {
            identifier,
            sf_id,
            reference,
            marketplace,
        })
    }

    /// A task ready to send: (id_task, id_order, attempts, version) and its operation's fields.
    pub fn prepare(self, task: (u32, u32, u32, u32), data: OperationData) -> Prepared {
        let (id_task, id_order, attempts, version) = task;
        Prepared {
            id_task,
            id_order,
            attempts,
            op: OrderOperation {
                identifier: self.identifier,
                data,
            },
            sf_id: self.sf_id,
            reference: self.reference,
            marketplace: self.marketplace,
            version,
        }
    }
}

pub(crate) const NO_REFERENCE: &str = "No SF Order reference set.";

/// What a kind's prepare step needs: the run, the lease owner, the claimed ids.
pub(crate) struct PageCtx<'r, 'a> {
    pub run: &'r ShopRun<'a>,
    pub owner: &'r str,
}

/// A dry run's prepare step keeps a task it would remove (its notice not written): logged.
pub(crate) fn log_dry_drop(log: &mut ProcessLogger, failure: Option<&Failure>) {
    if let Some(f) = failure {
        log.order(
            LogLevel::Info,
            f.id_order,
            &format!("Dry run: would be removed ({}); the task stays", f.reason),
        );
    }
}
