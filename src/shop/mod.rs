//! The shop rules, used by the triggers (hook, tracking number, credit slip, invoice) and the CRON
//! alike: the gate (our sync enabled and `shoppingfluxexport` not syncing orders itself), the
//! state lists and the operation a state maps to, the configuration as PrestaShop reads it, and
//! the Shopping Feed accounts of a shop.

pub mod accounts;
pub mod config;
pub mod lists;

use crate::db::logger::ProcessLogger;
use crate::db::sql::{keys, CRON_KEYS};
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

pub use config::ShopConfig;
pub use lists::{operation_for, time_shift, StateLists};

/// Why synchronization is off for a shop; each is logged as an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unavailable {
    Disabled,
    LegacyNotInstalled,
    LegacyInactive,
    LegacySyncsOrders,
}

impl Unavailable {
    pub fn message(&self, id_shop: u32) -> String {
        match self {
            Unavailable::Disabled => format!(
                "synchronization is disabled for shop {id_shop} ({}).",
                keys::ORDER_SYNC_ENABLED
            ),
            Unavailable::LegacyNotInstalled => format!(
                "synchronization error on shop {id_shop}: the Shopping Feed Official module (shoppingfluxexport) is not installed."
            ),
            Unavailable::LegacyInactive => format!(
                "synchronization error on shop {id_shop}: the Shopping Feed Official module (shoppingfluxexport) is not active for this shop."
            ),
            Unavailable::LegacySyncsOrders => format!(
                "synchronization error on shop {id_shop}: the Shopping Feed Official module (shoppingfluxexport) is enabled for the post-import synchronization. The “Order shipment” & “Order cancellation” options must be disabled in the official module for enabling this type of synchronization in the new module."
            ),
        }
    }
}

/// The gate for one shop: our sync enabled, the legacy module installed and active for the shop
/// (it imports the orders), and its own order sync options off (both modules would send).
pub fn availability(
    config: &ShopConfig,
    legacy_installed: bool,
    legacy_active: bool,
) -> Result<(), Unavailable> {
    if !config.flag(keys::ORDER_SYNC_ENABLED) {
        return Err(Unavailable::Disabled);
    }
    if !legacy_installed {
        return Err(Unavailable::LegacyNotInstalled);
    }
    if !legacy_active {
        return Err(Unavailable::LegacyInactive);
    }
    if config.is_set(keys::LEGACY_STATUS_SHIPPED) || config.is_set(keys::LEGACY_STATUS_CANCELED) {
        return Err(Unavailable::LegacySyncsOrders);
    }
    Ok(())
}

/// The gate of a shop read from the database: `Err` with the message, logged, when the shop must
/// be left alone.
pub async fn gate(
    db: &Db,
    conn: &mut Conn,
    config: &ShopConfig,
    id_shop: u32,
    log: &mut ProcessLogger,
) -> Result<Result<(), String>, DbError> {
    let (installed, active): (i64, Option<i64>) = conn
        .exec_first(db.sql().cron.legacy_module.as_str(), (id_shop,))
        .await
        .ctx("reading the legacy module state")?
        .unwrap_or((0, None));
    Ok(
        availability(config, installed > 0, active == Some(1)).map_err(|why| {
            let msg = format!(
                "[Shop {id_shop}] Synchronization error : {}",
                why.message(id_shop)
            );
            log.error(msg.clone(), None);
            msg
        }),
    )
}

/// The configuration keys the CRON and the other triggers read for a shop.
pub async fn shop_config(
    db: &Db,
    conn: &mut Conn,
    id_shop: u32,
    id_group: u32,
) -> Result<ShopConfig, DbError> {
    let sql = &db.sql().cron;
    ShopConfig::load(
        conn,
        (&sql.cron_config, &sql.shop_count),
        &CRON_KEYS,
        id_shop,
        id_group,
    )
    .await
}

/// A shop's configuration, state lists and gate, as readers that go over many orders need them
/// (the sweep, the back office's grid and actions).
pub struct ShopRules {
    pub config: ShopConfig,
    pub lists: StateLists,
    /// The gate: open, or why not (not logged: the reader reports it its own way).
    pub open: Result<(), String>,
}

/// [`ShopRules`] read once per shop.
#[derive(Default)]
pub struct ShopRulesCache(std::collections::HashMap<u32, ShopRules>);

impl ShopRulesCache {
    /// A shop already read.
    pub fn cached(&self, id_shop: u32) -> Option<&ShopRules> {
        self.0.get(&id_shop)
    }

    pub async fn get(
        &mut self,
        db: &Db,
        conn: &mut Conn,
        id_shop: u32,
        id_group: u32,
    ) -> Result<&ShopRules, DbError> {
        use std::collections::hash_map::Entry;
        match self.0.entry(id_shop) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => {
                let config = shop_config(db, conn, id_shop, id_group).await?;
                let lists = StateLists::read(&config, |_| ());
                let mut quiet = ProcessLogger::new(crate::db::logger::DEFAULT_PROCESS);
                let open = gate(db, conn, &config, id_shop, &mut quiet).await?;
                Ok(e.insert(ShopRules {
                    config,
                    lists,
                    open,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rows: &[(&str, &str)]) -> ShopConfig {
        ShopConfig::global(rows)
    }

    #[test]
    fn gate_checks_each_condition_in_order() {
        let on = cfg(&[(keys::ORDER_SYNC_ENABLED, "1")]);
        assert_eq!(availability(&on, true, true), Ok(()));
        assert_eq!(
            availability(&cfg(&[]), true, true),
            Err(Unavailable::Disabled)
        );
        assert_eq!(
            availability(&on, false, false),
            Err(Unavailable::LegacyNotInstalled)
        );
        assert_eq!(
            availability(&on, true, false),
            Err(Unavailable::LegacyInactive)
        );
        let legacy = cfg(&[
            (keys::ORDER_SYNC_ENABLED, "1"),
            (keys::LEGACY_STATUS_CANCELED, "checked"),
        ]);
        assert_eq!(
            availability(&legacy, true, true),
            Err(Unavailable::LegacySyncsOrders)
        );
    }
}
