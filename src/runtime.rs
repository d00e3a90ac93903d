//! One tokio runtime and one database pool per process, created lazily and re-created after
//! `fork()` (php-fpm forks its workers after MINIT; a runtime inherited through fork hangs).

use crate::config::{Settings, ShopTimeZone};
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use mysql_async::prelude::Queryable;
use std::future::Future;
use std::sync::Mutex;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("cannot start the async runtime: {0}")]
    Start(String),
    #[error("re-entrant call: the extension was called back from inside one of its own calls")]
    Reentrant,
    #[error(transparent)]
    Db(#[from] DbError),
}

struct ProcessRuntime {
    pid: u32,
    rt: &'static tokio::runtime::Runtime,
    /// The pool of the last settings used, with the key it was built for.
    db: Option<ProcessPool>,
}

struct ProcessPool {
    key: String,
    /// The shop's `PS_TIMEZONE` (`None`: none or unknown, the server's zone is used), read when.
    zone: Option<ShopTimeZone>,
    /// When `zone` was read, on the clock [`db_at`] is given (tests move it).
    zone_read: chrono::DateTime<chrono::Utc>,
    /// The session `time_zone` of the pool's connections.
    offset: Option<String>,
    db: Db,
}

/// How long a process trusts the `PS_TIMEZONE` it read: a merchant's change reaches every
/// running process within this time (its re-read is one more round trip, once per period).
const ZONE_TTL_SECONDS: i64 = 3600;

static STATE: Mutex<Option<ProcessRuntime>> = Mutex::new(None);

fn with_state<R>(f: impl FnOnce(&mut ProcessRuntime) -> R) -> Result<R, RuntimeError> {
    let mut guard = STATE.lock().unwrap_or_else(|p| p.into_inner());
    let pid = std::process::id();
    if guard.as_ref().map(|s| s.pid) != Some(pid) {
        if let Some(old) = guard.take() {
            // Never drop a runtime or pool inherited through fork(): their threads/sockets are the
            // parent's. Leaking them is the safe choice.
            std::mem::forget(old.db);
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RuntimeError::Start(e.to_string()))?;
        *guard = Some(ProcessRuntime {
            pid,
            rt: Box::leak(Box::new(rt)),
            db: None,
        });
    }
    match guard.as_mut() {
        Some(state) => Ok(f(state)),
        None => Err(RuntimeError::Start("runtime state missing".into())),
    }
}

/// Runs a future to completion on the process runtime.
pub fn block_on<F: Future>(fut: F) -> Result<F::Output, RuntimeError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(RuntimeError::Reentrant);
    }
    let rt = with_state(|s| s.rt)?;
    // The lock is released: a PHP callback during the future cannot deadlock on it.
    Ok(rt.block_on(fut))
}

/// The process's pool for these settings (the same pool while the URL and prefix are unchanged).
///
/// Its connections run in the shop's time zone, PrestaShop's global `PS_TIMEZONE`, read from the
/// database on the first call of the process (and hourly): every process (PHP-FPM, the CRON URL,
/// the CLI) derives the zone from that same row, so dates written by one and compared by another
/// (delays, leases, deadlines) agree. The offset is computed at each call and the pool is made
/// again when it changes (DST).
pub fn db(settings: &Settings) -> Result<Db, RuntimeError> {
    db_at(settings, chrono::Utc::now())
}

/// [`db`] as it would be at `now` (the offset of the shop's zone at that instant).
pub fn db_at(settings: &Settings, now: chrono::DateTime<chrono::Utc>) -> Result<Db, RuntimeError> {
    let key = format!(
        "{}|{}|{:?}",
        settings.database_url.redacted(),
        settings.table_prefix.as_str(),
        settings.database_url.password // compared, never printed
    );
    let current = with_state(|s| {
        s.db.as_ref().filter(|p| p.key == key).map(|p| {
            let fresh = (now - p.zone_read).num_seconds() < ZONE_TTL_SECONDS;
            (p.db.clone(), p.offset.clone(), p.zone, fresh)
        })
    })?;
    let (zone, zone_read) = match &current {
        Some((db, offset, zone, true)) => {
            if zone.and_then(|z| z.offset_at(now)) == *offset {
                return Ok(db.clone());
            }
            // DST: the same zone, another offset.
            (*zone, None)
        }
        // Read again with the pool in use (its session zone does not matter to this read).
        Some((db, _, _, false)) => (block_on(read_zone(db))??, Some(now)),
        None => {
            // A pool in the server's zone, only to read the shop's.
            let probe = Db::new(&settings.database_url, &settings.table_prefix);
            let zone = block_on(read_zone(&probe));
            let _ = block_on(probe.disconnect());
            (zone??, Some(now))
        }
    };
    let offset = zone.and_then(|z| z.offset_at(now));
    if let Some((db, current_offset, _, _)) = &current {
        if *current_offset == offset {
            // Read again and unchanged: the same pool (its connections and prepared statements).
            with_state(|s| {
                if let Some(p) = s.db.as_mut() {
                    p.zone = zone;
                    p.zone_read = zone_read.unwrap_or(p.zone_read);
                }
            })?;
            return Ok(db.clone());
        }
    }
    let db = Db::new_in_zone(
        &settings.database_url,
        &settings.table_prefix,
        offset.as_deref(),
    );
    let replaced = with_state(|s| {
        let zone_read = zone_read
            .or_else(|| s.db.as_ref().map(|p| p.zone_read))
            .unwrap_or(now);
        s.db.replace(ProcessPool {
            key,
            zone,
            zone_read,
            offset,
            db: db.clone(),
        })
        .map(|p| p.db)
    })?;
    if let Some(old) = replaced {
        // Dropped, not disconnected: a clone may still be in use (buffered log rows waiting for
        // their database); its connections close when the last clone goes. Dropped inside the
        // runtime, which the pool's cleanup needs.
        let _ = block_on(async move { drop(old) });
    }
    Ok(db)
}

/// The global `PS_TIMEZONE` (shop-level rows are ignored: one zone for the whole database, as
/// every process must agree); `None` when it is missing or not a zone name.
async fn read_zone(db: &Db) -> Result<Option<ShopTimeZone>, DbError> {
    let mut conn = db.conn().await?;
    let name: Option<Option<String>> = conn
        .query_first(db.sql().time_zone.as_str())
        .await
        .ctx("reading the shop's time zone (PS_TIMEZONE)")?;
    Ok(name.flatten().and_then(|n| ShopTimeZone::parse(&n)))
}

static HTTP: Mutex<Option<(u32, reqwest::Client)>> = Mutex::new(None);

/// The process's HTTP client (connection pool reused across CRON runs).
pub fn http() -> Result<reqwest::Client, RuntimeError> {
    let mut guard = HTTP.lock().unwrap_or_else(|p| p.into_inner());
    let pid = std::process::id();
    if let Some((p, client)) = guard.as_ref() {
        if *p == pid {
            return Ok(client.clone());
        }
    }
    let client = reqwest::Client::builder()
        .user_agent(concat!("shoppingfeed_sync/", env!("CARGO_PKG_VERSION")))
        .pool_idle_timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| RuntimeError::Start(format!("HTTP client: {e}")))?;
    *guard = Some((pid, client.clone()));
    Ok(client)
}
