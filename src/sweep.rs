//! The reconciliation sweep: status changes the hook never saw (a bulk status change by a
//! module that skips hooks, a webservice or ERP update, a `Hook` class overridden by another
//! module). Each CRON run of every shop reads the next `order_history` rows (at most
//! [`SWEEP_ROWS`], older than two minutes so that the hook of the same request has run), and
//! queues a Shopping Feed order whose change is its current state, mapped to an operation, within
//! the last `SHOPPINGFEED_ORDER_SYNC_SWEEP_DAYS` days (default 7, 0: off), when it has no status
//! task and its operation was not recorded since the change (`crate::operations`). The first run
//! starts at the newest row: what happened before the sweep existed is not sent again.

use crate::db::logger::{ProcessLogger, SYNC_ORDER_PROCESS};
use crate::db::sql::keys;
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::model::{LogLevel, TaskKind};
use crate::operations::{self, record_name};
use crate::queue;
use crate::shop::lists::{delay_for, ship_delay};
use crate::shop::{gate, operation_for, shop_config, ShopConfig, StateLists};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// History rows read per run at most.
pub const SWEEP_ROWS: u32 = 2000;
/// Days looked back when the configuration says nothing.
pub const DEFAULT_SWEEP_DAYS: u32 = 7;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Cursor {
    after: u64,
}

type PageRow = (u64, u32, u32, String, u32, u32, u32, bool, bool);

/// Runs the sweep once; returns how many orders it queued.
pub async fn sweep(db: &Db, conn: &mut Conn) -> Result<u32, DbError> {
    let sql = &db.sql().sweep;
    let value: Option<Option<String>> = conn
        .exec_first(db.sql().global_value.as_str(), (keys::SWEEP_DAYS,))
        .await
        .ctx("reading the sweep's days")?;
    let days = value
        .flatten()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(DEFAULT_SWEEP_DAYS);
    let data: Option<String> = conn
        .exec_first(sql.cursor.as_str(), ())
        .await
        .ctx("reading the sweep's cursor")?;
    let cursor = data.and_then(|d| serde_json::from_str::<Cursor>(&d).ok());
    let Some(mut cursor) = cursor else {
        let end: u64 = conn
            .exec_first(sql.history_end.as_str(), ())
            .await
            .ctx("reading the order history")?
            .unwrap_or(0);
        return save(db, conn, &Cursor { after: end }).await.map(|()| 0);
    };
    if days == 0 {
        return Ok(0);
    }
    let rows: Vec<PageRow> = conn
        .exec(sql.page.as_str(), (days, cursor.after, SWEEP_ROWS))
        .await
        .ctx("reading the order history")?;
    let Some(last) = rows.last().map(|r| r.0) else {
        return Ok(0);
    };
    let mut shops: HashMap<u32, (ShopConfig, StateLists, bool)> = HashMap::new();
    let mut log = ProcessLogger::new(SYNC_ORDER_PROCESS);
    let mut queued = 0;
    for (_, id_order, state, date, id_shop, id_group, current, is_sf, recent) in rows {
        // Only the change to the order's current state matters, and only for its own orders.
        if !is_sf || !recent || state != current {
            continue;
        }
        if let std::collections::hash_map::Entry::Vacant(e) = shops.entry(id_shop) {
            let config = shop_config(db, conn, id_shop, id_group).await?;
            let lists = StateLists::read(&config, |_| ());
            // The gate's own log rows are the shop run's business.
            let mut quiet = ProcessLogger::new(SYNC_ORDER_PROCESS);
            let open = gate(db, conn, &config, id_shop, &mut quiet).await?.is_ok();
            e.insert((config, lists, open));
        }
        let Some((config, lists, true)) = shops.get(&id_shop) else {
            continue;
        };
        let Some(op) = operation_for(lists, state) else {
            continue;
        };
        if queue::has_status_task(db, conn, id_order).await?
            || operations::recorded_since(
                db,
                conn,
                id_order,
                record_name(TaskKind::Status, op),
                &date,
            )
            .await?
        {
            continue;
        }
        let delay = match delay_for(lists, config, state) {
            Some(delay) => delay,
            None => {
                let tracking = crate::hook::orders::tracking_number(db, conn, id_order).await?;
                ship_delay(config, tracking.is_some())
            }
        };
        queue::enqueue_status(db, conn, id_order, delay).await?;
        log.order(
            LogLevel::Info,
            id_order,
            &format!("Status change not seen by the hook (state {state} on {date}): queued ({op})"),
        );
        queued += 1;
    }
    cursor.after = last;
    save(db, conn, &cursor).await?;
    log.flush(db, conn).await?;
    Ok(queued)
}

async fn save(db: &Db, conn: &mut Conn, cursor: &Cursor) -> Result<(), DbError> {
    let data = serde_json::to_string(cursor).unwrap_or_else(|_| "{}".to_string());
    conn.exec_drop(db.sql().sweep.save_cursor.as_str(), (&data, &data))
        .await
        .ctx("saving the sweep's cursor")
}
