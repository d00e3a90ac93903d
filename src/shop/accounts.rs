//! The Shopping Feed accounts of a shop: the active rows of `shoppingfeed_token`, or, when the
//! shop has none, the configuration's `SHOPPINGFEED_AUTH_TOKEN` and `SHOPPINGFEED_STORE_ID`.

use super::ShopConfig;
use crate::db::sql::keys;
use crate::db::Db;
use crate::error::{DbError, DbResultExt};
use crate::queue::TaskScope;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// A Shopping Feed account of a shop (id 0: the configuration's token).
pub struct Account {
    pub id: u32,
    pub token: String,
    pub store_id: Option<i64>,
}

impl Account {
    /// " (account N)" for a `shoppingfeed_token` row; nothing for the configuration's token.
    pub fn label(&self) -> String {
        if self.id == 0 {
            String::new()
        } else {
            format!(" (account {})", self.id)
        }
    }
}

/// The accounts the CRON serves for a shop, oldest first (empty: no token anywhere).
pub async fn shop_accounts(
    db: &Db,
    conn: &mut Conn,
    id_shop: u32,
    config: &ShopConfig,
) -> Result<Vec<Account>, DbError> {
    let rows: Vec<(u32, String, u32)> = conn
        .exec(db.sql().cron.accounts.as_str(), (id_shop,))
        .await
        .ctx("listing the Shopping Feed accounts")?;
    let mut accounts: Vec<Account> = rows
        .into_iter()
        .filter(|(_, token, _)| !token.trim().is_empty())
        .map(|(id, token, store)| Account {
            id,
            token: token.trim().to_string(),
            store_id: Some(i64::from(store)).filter(|s| *s > 0),
        })
        .collect();
    if accounts.is_empty() {
        let token = config.get(keys::AUTH_TOKEN).unwrap_or_default().trim();
        if !token.is_empty() {
            accounts.push(Account {
                id: 0,
                token: token.to_string(),
                store_id: config
                    .get(keys::STORE_ID)
                    .and_then(|s| s.trim().parse::<i64>().ok())
                    .filter(|s| *s > 0),
            });
        }
    }
    Ok(accounts)
}

/// The scope of the shop's first account, as the reference's conveyor steps use it (its tasks
/// without an account included); the configuration's token when the shop has no account row.
pub async fn first_scope(
    db: &Db,
    conn: &mut Conn,
    id_shop: u32,
    config: &ShopConfig,
) -> Result<TaskScope, DbError> {
    let accounts = shop_accounts(db, conn, id_shop, config).await?;
    Ok(TaskScope::first(
        id_shop,
        accounts.first().map(|a| a.id).unwrap_or(0),
    ))
}
