//! The status kind's prepare step: each claimed task's payload from its order's CURRENT state
//! (ship with carrier and tracking, cancel, refund, deliver). A task whose state maps to nothing
//! is dropped (fenced by the version it was read at: a re-armed task stays); one whose order has
//! no identifier yet stays leased until the loop ends.

use super::prepared::{OrderLink, Prepared, NO_REFERENCE};
use super::report::ShopReport;
use super::shop_run::ShopRun;
use crate::api::OperationData;
use crate::db::logger::ProcessLogger;
use crate::error::DbError;
use crate::model::{LogLevel, Operation};
use crate::queue::{self, Seen};
use crate::shop::{operation_for, StateLists};
use mysql_async::prelude::FromRow;
use mysql_async::{Conn, FromRowError, Row};

/// A task row with what its payload needs (`QueueSql::status_rows_head`).
pub(crate) struct TaskRow {
    id_task: u32,
    id_order: u32,
    attempts: u32,
    state: u32,
    sf_id: Option<String>,
    marketplace_reference: Option<String>,
    marketplace: Option<String>,
    carrier: Option<String>,
    carrier_url: Option<String>,
    tracking: Option<String>,
    version: u32,
}

/// The columns of `QueueSql::status_rows_head`, in order.
impl FromRow for TaskRow {
    fn from_row_opt(row: Row) -> Result<Self, FromRowError> {
        type Text = Option<String>;
        type Columns = (u32, u32, u32, u32, Text, Text, Text, Text, Text, Text, u32);
        let (
            id_task,
            id_order,
            attempts,
            state,
            sf_id,
            marketplace_reference,
            marketplace,
            carrier,
            carrier_url,
            tracking,
            version,
        ): Columns = mysql_async::from_row_opt(row)?;
        Ok(TaskRow {
            id_task,
            id_order,
            attempts,
            state,
            sf_id,
            marketplace_reference,
            marketplace,
            carrier,
            carrier_url,
            tracking,
            version,
        })
    }
}

/// What to do with a task, from its order's current state.
pub(crate) enum Mapped {
    Send(Operation, Prepared),
    /// The current state is in no list: the task is dropped.
    Unmapped {
        seen: Seen,
        id_order: u32,
        state: u32,
    },
    /// The link row has neither a Shopping Feed id nor a marketplace reference.
    NoReference {
        id_order: u32,
    },
}

pub(crate) fn map_row(lists: &StateLists, row: TaskRow) -> Mapped {
    let TaskRow {
        id_task,
        id_order,
        attempts,
        state,
        sf_id,
        marketplace_reference: mp_ref,
        marketplace,
        carrier,
        carrier_url: url,
        tracking,
        version,
    } = row;
    let Some(operation) = operation_for(lists, state) else {
        let seen = Seen { id_task, version };
        return Mapped::Unmapped {
            seen,
            id_order,
            state,
        };
    };
    let Some(link) = OrderLink::new(sf_id, mp_ref, marketplace) else {
        return Mapped::NoReference { id_order };
    };
    let data = match operation {
        Operation::Ship => {
            let tracking_number = tracking.unwrap_or_default();
            OperationData::Ship {
                carrier: carrier.unwrap_or_default(),
                tracking_link: tracking_link(url.as_deref(), &tracking_number),
                tracking_number,
            }
        }
        Operation::Cancel => OperationData::Cancel {
            reason: String::new(),
        },
        Operation::Deliver => OperationData::Deliver,
        _ => OperationData::Refund {
            shipping: true,
            products: Vec::new(),
        },
    };
    Mapped::Send(
        operation,
        link.prepare((id_task, id_order, attempts, version), data),
    )
}

/// Prepares given status tasks of the run's shop (another shop's ids are ignored, never sent
/// with this shop's token). `owner`: the lease the caller holds on them (`None`: the conveyor's
/// `prepareTaskOrdersSyncStatus`, which holds none).
pub(crate) async fn prepare(
    run: &ShopRun<'_>,
    conn: &mut Conn,
    owner: Option<&str>,
    ids: &[u32],
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<Vec<(Operation, Prepared)>, DbError> {
    prepare_with(
        run.db,
        (&run.lists, run.dry_run),
        run.id_shop,
        conn,
        owner,
        ids,
        report,
        log,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn prepare_with(
    db: &crate::db::Db,
    (lists, dry_run): (&StateLists, bool),
    id_shop: u32,
    conn: &mut Conn,
    owner: Option<&str>,
    ids: &[u32],
    report: &mut ShopReport,
    log: &mut ProcessLogger,
) -> Result<Vec<(Operation, Prepared)>, DbError> {
    let sql = db.sql().queue.status_rows_head.as_str();
    let rows: Vec<TaskRow> =
        queue::rows_by_ids(conn, sql, vec![id_shop.into()], ids, "reading tasks").await?;
    let mut ready = Vec::with_capacity(rows.len());
    for row in rows {
        match map_row(lists, row) {
            Mapped::Send(operation, prepared) => ready.push((operation, prepared)),
            Mapped::Unmapped {
                seen,
                id_order,
                state,
            } => {
                // Only the version read: an order changed to a mapped state meanwhile keeps it.
                if dry_run {
                    log.order(
                        LogLevel::Info,
                        id_order,
                        &format!("Dry run: no operation for Order State {state}; the task stays"),
                    );
                } else if queue::drop_pending(db, conn, seen, owner, None).await? {
                    log.order(
                        LogLevel::Info,
                        id_order,
                        &format!(
                            "No matching operation for Order State {state}. Deleting Task Order."
                        ),
                    );
                    report.tasks_removed += 1;
                }
            }
            Mapped::NoReference { id_order } => {
                log.order(LogLevel::Error, id_order, NO_REFERENCE);
                report
                    .errors
                    .push(format!("[Order: {id_order}] {NO_REFERENCE}"));
            }
        }
    }
    Ok(ready)
}

fn tracking_link(url: Option<&str>, tracking: &str) -> String {
    match url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => u
            .replace("http://http://", "http://")
            .replace('@', tracking),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::tracking_link;

    #[test]
    fn tracking_link_replaces_the_placeholder() {
        assert_eq!(
            tracking_link(Some("http://http://track.example/?n=@"), "6A1"),
            "http://track.example/?n=6A1"
        );
        assert_eq!(tracking_link(Some("  "), "6A1"), "");
        assert_eq!(tracking_link(None, "6A1"), "");
    }
}
