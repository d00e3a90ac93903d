//! The hook in one database round trip: a stored procedure (its text in `sql::HookCallSql`) that
//! checks the decision the extension took from its cached copy of the shop's configuration, and
//! if it still holds, queues the task and writes the two log rows.
//!
//! Why it is never stale: the cache is only a guess. The procedure reads the order, its link, the
//! legacy module and the shop's configuration rows in the same call that writes, and writes only
//! if the order is in the expected shop and the configuration rows are the ones the decision was
//! taken from (same count, same two CRC-32 sums of their bytes). Any change made
//! by anyone — this module's page, the legacy module, a script — makes it answer "not as
//! expected", and the caller takes the full path, which reads everything again and refreshes the
//! cache. On loopback MariaDB a procedure call also beats a multi-statement text batch: the
//! statements inside are prepared once per connection (see benches/README.md).

use crate::db::retry::LockRetry;
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::queue::Upsert;
use crate::shop::config::{ConfigRow, ShopConfig};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// What identifies a shop's configuration as PrestaShop reads it: the number of its rows, two
/// order-independent hashes of their bytes (the SUM of the CRC-32 of each row, and of each row
/// followed by 0x1e), as the procedure computes them over `sql::CONFIG_ROW_BYTES`, and the number
/// of shops (multistore counts only with more than one). Sums, not XORs: two identical rows (the
/// `configuration` table has no unique key, and real shops have duplicates) must not cancel out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    pub rows: u32,
    pub crc: u64,
    pub crc_salted: u64,
    pub shops: u32,
}

impl Fingerprint {
    pub fn of(rows: &[ConfigRow], shops: u32) -> Self {
        let mut f = Fingerprint {
            rows: 0,
            crc: 0,
            crc_salted: 0,
            shops,
        };
        for row in rows {
            let mut bytes = row_bytes(row);
            f.rows += 1;
            f.crc = f.crc.wrapping_add(u64::from(crc32(&bytes)));
            bytes.push(0x1e);
            f.crc_salted = f.crc_salted.wrapping_add(u64::from(crc32(&bytes)));
        }
        f
    }
}

/// `CONCAT_WS(0x1f, name, IFNULL(id_shop, '-'), IFNULL(id_shop_group, '-'), LENGTH(value), value)`:
/// CONCAT_WS skips NULLs, so a NULL value leaves out its length too.
fn row_bytes((name, value, id_shop, id_group): &ConfigRow) -> Vec<u8> {
    let id = |v: &Option<u32>| v.map_or_else(|| "-".to_string(), |n| n.to_string());
    let mut parts = vec![name.clone(), id(id_shop), id(id_group)];
    if let Some(v) = value {
        parts.push(v.len().to_string());
        parts.push(v.clone());
    }
    parts.join("\u{1f}").into_bytes()
}

/// CRC-32 (IEEE 802.3, MySQL's `CRC32()`).
fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |c, &b| {
        TABLE[((c ^ u32::from(b)) & 0xff) as usize] ^ (c >> 8)
    })
}

/// A shop's configuration as the full path last read it, with its fingerprint.
#[derive(Debug, Clone)]
pub struct CachedShop {
    pub fingerprint: Fingerprint,
    pub config: Arc<ShopConfig>,
}

/// Per database and process: the shops' configurations and the shop of the last order seen (the
/// next order is guessed to be of the same shop; a wrong guess costs a second call, or the full
/// path when the order's shop is not known yet).
#[derive(Debug, Default)]
pub struct HookCache {
    shops: HashMap<u32, CachedShop>,
    last_shop: Option<u32>,
    /// The database user may not create or run the procedure: the full path only, for the rest of
    /// the process (asking again would cost a round trip per call).
    refused: bool,
}

/// Shops kept at most: a multistore of more shops re-reads the others.
const MAX_SHOPS: usize = 64;

impl HookCache {
    /// The shop to guess and its configuration, unless the procedure cannot be used.
    pub fn guess(&self) -> Option<(u32, CachedShop)> {
        let shop = self.last_shop?;
        Some((shop, self.shop(shop)?))
    }

    /// A shop's configuration, unless the procedure cannot be used.
    pub fn shop(&self, id_shop: u32) -> Option<CachedShop> {
        if self.refused {
            return None;
        }
        self.shops.get(&id_shop).cloned()
    }

    /// The shop of the order the procedure just queued: the next guess.
    pub fn seen(&mut self, id_shop: u32) {
        self.last_shop = Some(id_shop);
    }

    /// What the full path read for an order of `id_shop`.
    pub fn remember(&mut self, id_shop: u32, fingerprint: Fingerprint, config: ShopConfig) {
        if self.shops.len() >= MAX_SHOPS && !self.shops.contains_key(&id_shop) {
            self.shops.clear();
        }
        self.shops.insert(
            id_shop,
            CachedShop {
                fingerprint,
                config: Arc::new(config),
            },
        );
        self.last_shop = Some(id_shop);
    }
}

/// Locks a database's cache; a panic elsewhere cannot leave it half-written (every update is a
/// single insert or assignment), so a poisoned lock is used as is.
pub fn cache(lock: &Mutex<HookCache>) -> MutexGuard<'_, HookCache> {
    lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The decision to check and apply.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub id_order: u32,
    pub id_shop: u32,
    pub fingerprint: Fingerprint,
    pub delay_minutes: u32,
    pub process: &'a str,
    pub started_msg: String,
    pub queued_msg: String,
}

/// What the procedure found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallOutcome {
    /// As expected: the task is queued or re-armed and the log rows are written.
    Written(Upsert),
    UnknownOrder,
    NotShoppingFeedOrder,
    /// A Shopping Feed order of another shop than expected: nothing was written.
    OtherShop(u32),
    /// Not as expected (a changed configuration, no identifier, the legacy module off), or the
    /// procedure cannot be used: nothing was written, take the full path.
    FullPath,
}

/// MySQL/MariaDB error codes the call handles.
const NO_SUCH_PROCEDURE: u16 = 1305;
const PROCEDURE_EXISTS: u16 = 1304;
/// Creating or running it refused to this user, or its definer gone (a restored dump).
const REFUSED: [u16; 6] = [1044, 1142, 1227, 1370, 1449, 1418];

fn server_code(e: &DbError) -> Option<u16> {
    match e {
        DbError::Query {
            source: mysql_async::Error::Server(s),
            ..
        } => Some(s.code),
        _ => None,
    }
}

/// Calls the procedure, creating it on first use; deadlocks are retried like the plain upsert's.
pub async fn call(
    db: &Db,
    conn: &mut Conn,
    expected: &Expected<'_>,
) -> Result<CallOutcome, DbError> {
    let mut retry = LockRetry::deadlocks_only();
    let mut created = false;
    loop {
        match call_once(db, conn, expected).await {
            Ok(outcome) => return Ok(outcome),
            Err(e) if retry.wants(&e) => retry.pause().await,
            Err(e) if server_code(&e) == Some(NO_SUCH_PROCEDURE) && !created => {
                created = true;
                if !create(db, conn).await? {
                    return Ok(CallOutcome::FullPath);
                }
            }
            Err(e) if server_code(&e).is_some_and(|c| REFUSED.contains(&c)) => {
                cache(db.hook_cache_lock()).refused = true;
                return Ok(CallOutcome::FullPath);
            }
            Err(e) => return Err(e),
        }
    }
}

async fn call_once(db: &Db, conn: &mut Conn, e: &Expected<'_>) -> Result<CallOutcome, DbError> {
    let params = (
        e.id_order,
        e.id_shop,
        e.fingerprint.rows,
        e.fingerprint.crc,
        e.fingerprint.crc_salted,
        e.fingerprint.shops,
        e.delay_minutes,
        e.process,
        e.started_msg.as_str(),
        e.queued_msg.as_str(),
    );
    let what = format!("queueing order {}", e.id_order);
    let mut result = conn
        .exec_iter(db.sql().hook_call.call.as_str(), params)
        .await
        .ctx(what.clone())?;
    let rows: Vec<Row> = result.collect().await.ctx(what.clone())?;
    // The CALL's own status comes after the procedure's result set.
    result.drop_result().await.ctx(what.clone())?;
    let Some(row) = rows.into_iter().next() else {
        return Err(DbError::Data {
            context: what,
            detail: "the hook procedure returned no row".into(),
        });
    };
    let (shop, link, ok, written): (Option<u32>, Option<u32>, Option<i8>, Option<i8>) =
        mysql_async::from_row_opt(row).map_err(|e| DbError::Data {
            context: what,
            detail: e.to_string(),
        })?;
    Ok(match (shop, link, ok, written) {
        (None, _, _, _) => CallOutcome::UnknownOrder,
        (Some(_), None, _, _) => CallOutcome::NotShoppingFeedOrder,
        (Some(s), Some(_), _, _) if s != e.id_shop => CallOutcome::OtherShop(s),
        (_, _, Some(1), Some(1)) => CallOutcome::Written(Upsert::Inserted),
        (_, _, Some(1), Some(2)) => CallOutcome::Written(Upsert::Rearmed),
        _ => CallOutcome::FullPath,
    })
}

/// Creates the procedure; false when this user may not (the full path is used from then on).
async fn create(db: &Db, conn: &mut Conn) -> Result<bool, DbError> {
    match conn
        .query_drop(db.sql().hook_call.create.as_str())
        .await
        .ctx("creating the hook procedure")
    {
        Ok(()) => Ok(true),
        // Another process created it in the meantime.
        Err(e) if server_code(&e) == Some(PROCEDURE_EXISTS) => Ok(true),
        Err(e) if server_code(&e).is_some_and(|c| REFUSED.contains(&c)) => {
            cache(db.hook_cache_lock()).refused = true;
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_mysqls() {
        // SELECT CRC32('MySQL') = 3259397556; CRC32('') = 0
        assert_eq!(crc32(b"MySQL"), 3_259_397_556);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn fingerprint_ignores_row_order_and_sees_any_change() {
        let a: ConfigRow = ("K".into(), Some("[\"4\"]".into()), Some(1), None);
        let b: ConfigRow = ("L".into(), None, None, Some(2));
        let f = Fingerprint::of(&[a.clone(), b.clone()], 1);
        assert_eq!(f, Fingerprint::of(&[b.clone(), a.clone()], 1));
        assert_eq!(f.rows, 2);
        let changed: ConfigRow = ("K".into(), Some("[\"5\"]".into()), Some(1), None);
        assert_ne!(f, Fingerprint::of(&[changed.clone(), b.clone()], 1));
        let moved: ConfigRow = ("K".into(), Some("[\"4\"]".into()), None, Some(1));
        assert_ne!(f, Fingerprint::of(&[moved, b.clone()], 1));
        let empty: ConfigRow = ("L".into(), Some(String::new()), None, Some(2));
        assert_ne!(
            f,
            Fingerprint::of(&[a.clone(), empty], 1),
            "NULL and '' differ"
        );
        assert_ne!(
            f,
            Fingerprint::of(&[a.clone(), b.clone()], 2),
            "a shop added"
        );
        // Two identical rows changed together: a XOR of their hashes would not see it.
        assert_ne!(
            Fingerprint::of(&[a.clone(), a], 1),
            Fingerprint::of(&[changed.clone(), changed], 1)
        );
    }

    #[test]
    fn row_bytes_are_concat_ws_of_the_procedure() {
        let row: ConfigRow = ("K".into(), Some("ab".into()), None, Some(3));
        assert_eq!(row_bytes(&row), b"K\x1f-\x1f3\x1f2\x1fab".to_vec());
        let null: ConfigRow = ("K".into(), None, Some(1), None);
        assert_eq!(row_bytes(&null), b"K\x1f1\x1f-".to_vec());
    }
}
