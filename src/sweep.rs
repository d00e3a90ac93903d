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
use crate::db::{global_u32, Db};
use crate::error::{DbError, DbResultExt};
use crate::model::{LogLevel, TaskKind};
use crate::operations::{self, record_name};
use crate::queue;
use crate::shop::lists::{delay_for, ship_delay};
use crate::shop::{operation_for, ShopRulesCache};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

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
    let days = global_u32(db, conn, keys::SWEEP_DAYS, DEFAULT_SWEEP_DAYS).await?;
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
    // The changes that may need it: a Shopping Feed order's change to its current state, mapped,
    // in a shop whose gate is open.
    let mut shops = ShopRulesCache::default();
    let mut candidates = Vec::new();
    for (_, id_order, state, date, id_shop, id_group, current, is_sf, recent) in rows {
        if !is_sf || !recent || state != current {
            continue;
        }
        let rules = shops.get(db, conn, id_shop, id_group).await?;
        if rules.open.is_err() {
            continue;
        }
        if let Some(op) = operation_for(&rules.lists, state) {
            candidates.push((id_order, state, date, id_shop, op));
        }
    }
    // An order changed twice to its current state in the page: its last change counts.
    let mut last_of: HashMap<u32, usize> = HashMap::new();
    for (i, c) in candidates.iter().enumerate() {
        last_of.insert(c.0, i);
    }
    let candidates: Vec<_> = candidates
        .into_iter()
        .enumerate()
        .filter(|(i, c)| last_of.get(&c.0) == Some(i))
        .map(|(_, c)| c)
        .collect();
    // Then, one read each for the page: those that have a status task, and what was recorded.
    let orders: Vec<u32> = candidates.iter().map(|c| c.0).collect();
    let tasked: HashSet<u32> = queue::with_status_task(db, conn, &orders)
        .await?
        .into_iter()
        .collect();
    let recorded: HashMap<(u32, String), String> = operations::recorded_of(db, conn, &orders)
        .await?
        .into_iter()
        .map(|(o, name, at)| ((o, name), at))
        .collect();
    let mut log = ProcessLogger::new(SYNC_ORDER_PROCESS);
    let mut queued = 0;
    for (id_order, state, date, id_shop, op) in candidates {
        let name = record_name(TaskKind::Status, op);
        // Dates compare as text in their `Y-m-d H:i:s` form.
        let seen = tasked.contains(&id_order)
            || recorded
                .get(&(id_order, name.to_string()))
                .is_some_and(|at| at.as_str() >= date.as_str());
        if seen {
            continue;
        }
        let Some(rules) = shops.cached(id_shop) else {
            continue;
        };
        let delay = match delay_for(&rules.lists, &rules.config, state) {
            Some(delay) => delay,
            None => {
                let tracking = crate::hook::orders::tracking_number(db, conn, id_order).await?;
                ship_delay(&rules.config, tracking.is_some())
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
