//! Shared harness of the integration tests that need the real MariaDB (queue store, hook, CRON
//! engine): every test gets a database of its own, loaded with the PrestaShop fixtures and the
//! module tables, plus helpers that mirror `tests/php/Support/Shop.php`.
//!
//! ```ignore
//! mod common;
//! use common::TestDb;
//!
//! #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
//! async fn example() {
//!     let t = TestDb::create().await;          // fresh database, table prefix ps_
//!     t.reset_shop_available().await;          // sync enabled, legacy module active, lists set
//!     let id = t.order(4, true).await;         // a shipped Shopping Feed order
//!     shoppingfeed_sync::hook::on_order_status_update(&t.db, id, Some(4)).await.unwrap();
//!     assert_eq!(t.tasks(id).await.len(), 1);
//!     t.drop_db().await;                       // or let Drop remove it
//! }
//! ```
//!
//! The server comes from `SFSYNC_TEST_DATABASE_URL` (`mysql://user:pass@host:port`, no database
//! part; `./dev test` exports it), by default `mysql://sfsync:sfsync@127.0.0.1:23306`, the server of
//! `./dev db start`. The user must be allowed to `CREATE DATABASE`. Set `SFSYNC_TEST_KEEP_DB=1` to
//! keep the databases after the tests for inspection.
//!
//! SQL given to [`TestDb::exec`] and friends may write `PREFIX_` for the table prefix, as the
//! fixture files do: `t.exec("DELETE FROM PREFIX_orders")` works with any prefix.

// Each test binary uses a different subset of the helpers.
#![allow(dead_code)]

use mysql_async::prelude::{FromRow, Queryable};
use mysql_async::{Conn, OptsBuilder, Params, Pool, PoolConstraints, PoolOpts, Row, Value};
use shoppingfeed_sync::config::{DatabaseUrl, TablePrefix};
use shoppingfeed_sync::db::Db;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Default server of `./dev db start`.
pub const DEFAULT_SERVER_URL: &str = "mysql://sfsync:sfsync@127.0.0.1:23306";
/// The environment variable naming the test server.
pub const SERVER_URL_ENV: &str = "SFSYNC_TEST_DATABASE_URL";

/// PrestaShop's default order state ids (`ps_order_state` of the seed).
pub mod state {
    pub const PAYMENT_ACCEPTED: u32 = 2;
    pub const PREPARATION: u32 = 3;
    pub const SHIPPED: u32 = 4;
    pub const DELIVERED: u32 = 5;
    pub const CANCELED: u32 = 6;
    pub const REFUNDED: u32 = 7;
    pub const PAYMENT_ERROR: u32 = 8;
}

/// The fixture files, in load order (PrestaShop tables, their data, the module tables).
pub const FIXTURES: [&str; 3] = [
    "tests/fixtures/prestashop_schema.sql",
    "tests/fixtures/prestashop_seed.sql",
    INSTALL_SQL,
];
/// The module tables' file, replaced by the file that `INSTALL_SQL_ENV` names when set.
const INSTALL_SQL: &str = "php/sql/install.sql";
const INSTALL_SQL_ENV: &str = "SFSYNC_TEST_INSTALL_SQL";

/// The module tables a test may write to; [`TestDb::reset_shop_available`] empties them.
const RESET_TABLES: [&str; 10] = [
    "orders",
    "order_carrier",
    "carrier",
    "message",
    "module",
    "module_shop",
    "shoppingfeed_task_order",
    "shoppingfeed_order",
    "shoppingfeed_processlogger",
    "shoppingfeed_processmonitor",
];

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One row of `shoppingfeed_task_order`, as the tests look at it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub id: u32,
    pub action: String,
    pub id_order: u32,
    /// `update_at - NOW()` in seconds (negative when due in the past); `None` when NULL.
    pub due_in: Option<i64>,
    pub attempts: u32,
    pub batch_id: Option<String>,
    pub ticket_number: Option<String>,
    pub lease_owner: Option<String>,
    /// `lease_until - NOW()` in seconds; `None` when NULL.
    pub lease_in: Option<i64>,
    pub last_error: Option<String>,
    /// `sent_at IS NOT NULL`.
    pub sent: bool,
}

/// A log row as `(msg, level, object_name, object_id)`, what [`TestDb::logs`] returns.
pub type LogTuple = (String, String, String, Option<u32>);

/// `(name, msg, level, object_name, object_id)` as selected.
type LogSelect = (String, String, String, String, Option<u32>);

/// One row of `shoppingfeed_processlogger`, with its process name.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    pub name: String,
    pub msg: String,
    pub level: String,
    pub object_name: String,
    pub object_id: Option<u32>,
}

/// An order to insert with [`TestDb::order_with`]; [`OrderSpec::new`] gives the defaults of
/// `Shop::order()`: a Shopping Feed (`sfpayment`, Amazon) order of shop 1 with reference `MP-<id>`.
#[derive(Debug, Clone)]
pub struct OrderSpec {
    pub state: u32,
    /// Insert its `shoppingfeed_order` link row.
    pub sf_linked: bool,
    pub module: String,
    /// `orders.payment`, also the link row's `name_marketplace`.
    pub payment: String,
    pub id_shop: u32,
    pub id_shop_group: u32,
    /// The link row's `id_order_marketplace`; `None` → `MP-<id_order>`.
    pub reference: Option<String>,
    /// Leave the link row's `id_order_marketplace` NULL (overrides `reference`).
    pub no_reference: bool,
}

impl OrderSpec {
    pub fn new(state: u32) -> Self {
        OrderSpec {
            state,
            sf_linked: true,
            module: "sfpayment".into(),
            payment: "Amazon".into(),
            id_shop: 1,
            id_shop_group: 1,
            reference: None,
            no_reference: false,
        }
    }
}

/// A throwaway database on the test server.
pub struct TestDb {
    /// The database name, `sfsync_rs_<pid>_<counter>_<rand>`.
    pub name: String,
    /// Its URL, as the extension would be configured with.
    pub url: DatabaseUrl,
    /// The table prefix the fixtures were loaded with.
    pub prefix: TablePrefix,
    /// The crate's pool on it, for the code under test.
    pub db: Db,
    /// The harness's own pool, for setup and assertions.
    pool: Pool,
    /// The server without a database, to drop it.
    server: DatabaseUrl,
    dropped: bool,
}

/// Parses the server URL of the environment and points it at `database`.
fn url_for(database: &str) -> DatabaseUrl {
    let server = std::env::var(SERVER_URL_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_SERVER_URL.to_string());
    let (main, query) = match server.trim().split_once('?') {
        Some((m, q)) => (m.to_string(), format!("?{q}")),
        None => (server.trim().to_string(), String::new()),
    };
    let rest = main.strip_prefix("mysql://").unwrap_or_else(|| {
        panic!("{SERVER_URL_ENV} must look like mysql://user:pass@host:port, got {main:?}")
    });
    // Any database part of the variable is replaced.
    let authority = rest.split('/').next().unwrap_or_default();
    let url = format!("mysql://{authority}/{database}{query}");
    DatabaseUrl::parse(&url).unwrap_or_else(|e| panic!("{SERVER_URL_ENV}: {e}"))
}

fn opts(url: &DatabaseUrl, database: Option<&str>, max: usize) -> OptsBuilder {
    let constraints = PoolConstraints::new(0, max).unwrap_or_default();
    let mut o = OptsBuilder::default()
        .user(Some(url.user.clone()))
        .pass(url.password.clone())
        .db_name(database.map(str::to_string))
        .ip_or_hostname(url.host.clone())
        .tcp_port(url.port)
        .prefer_socket(false)
        .pool_opts(PoolOpts::default().with_constraints(constraints));
    if let Some(sock) = &url.socket {
        o = o.socket(Some(sock.clone()));
    }
    o
}

fn unique_name() -> String {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!(
        "sfsync_rs_{}_{}_{:06x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        h.finish() & 0xff_ffff
    )
}

/// The server part of a URL, for messages (no password, no database).
fn server_label(url: &DatabaseUrl) -> String {
    match &url.socket {
        Some(sock) => format!("{}@localhost (socket {sock})", url.user),
        None => format!("mysql://{}@{}:{}", url.user, url.host, url.port),
    }
}

async fn server_conn(server: &DatabaseUrl) -> Conn {
    let connect = Conn::new(opts(server, None, 1));
    match tokio::time::timeout(Duration::from_secs(10), connect).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => panic!(
            "cannot connect to the test MariaDB at {}: {e}\n\
             Start it with `./dev db start` (or point {SERVER_URL_ENV} at a server whose user may CREATE DATABASE).",
            server_label(server)
        ),
        Err(_) => panic!(
            "timed out connecting to the test MariaDB at {}.\n\
             Start it with `./dev db start` (or point {SERVER_URL_ENV} at a reachable server).",
            server_label(server)
        ),
    }
}

/// Loads the fixture files into the connection's database with `PREFIX_` replaced by `prefix`.
/// Each file holds several statements: they go in one text-protocol query (mysql_async enables
/// CLIENT_MULTI_STATEMENTS), and an error in any of them fails the load.
pub async fn load_fixtures(conn: &mut Conn, prefix: &str) {
    for file in FIXTURES {
        let mut path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        // `./dev test`'s MySQL 5.6 run gives its adapted copy (no generated columns there).
        if file == INSTALL_SQL {
            if let Some(alt) = std::env::var_os(INSTALL_SQL_ENV).filter(|v| !v.is_empty()) {
                path = alt.into();
            }
        }
        let sql = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        conn.query_drop(sql.replace("PREFIX_", prefix))
            .await
            .unwrap_or_else(|e| panic!("loading {file} (prefix {prefix:?}): {e}"));
    }
}

impl TestDb {
    /// A new database with the fixtures under the prefix `ps_`.
    pub async fn create() -> TestDb {
        Self::create_with_prefix("ps_").await
    }

    /// A new database whose shop 1 can synchronize (see [`TestDb::reset_shop_available`]).
    pub async fn available() -> TestDb {
        let t = Self::create().await;
        t.reset_shop_available().await;
        t
    }

    /// A new database with the fixtures under `prefix` (e.g. `shop2_`); `db` uses that prefix.
    pub async fn create_with_prefix(prefix: &str) -> TestDb {
        let prefix = TablePrefix::new(prefix).unwrap_or_else(|e| panic!("{e}"));
        let name = unique_name();
        let url = url_for(&name);
        let server = url.clone();
        let mut admin = server_conn(&server).await;
        admin
            .query_drop(format!(
                "CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
            ))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "creating database {name} on {}: {e} (the test user needs CREATE on *.*; `./dev db start` grants it)",
                    server_label(&server)
                )
            });
        admin.query_drop(format!("USE `{name}`")).await.unwrap();
        load_fixtures(&mut admin, prefix.as_str()).await;
        let _ = admin.disconnect().await;
        TestDb {
            db: Db::new(&url, &prefix),
            pool: Pool::new(opts(&url, Some(&name), 4)),
            name,
            url,
            prefix,
            server,
            dropped: false,
        }
    }

    /// A second, independent pool of the crate on this database (what another PHP process has).
    pub fn new_db(&self) -> Db {
        Db::new(&self.url, &self.prefix)
    }

    /// `prefix + name`.
    pub fn t(&self, name: &str) -> String {
        self.prefix.table(name)
    }

    fn sql(&self, sql: &str) -> String {
        sql.replace("PREFIX_", self.prefix.as_str())
    }

    /// A connection of the harness's pool.
    pub async fn conn(&self) -> Conn {
        self.pool.get_conn().await.expect("harness connection")
    }

    /// Runs SQL text (several statements allowed; `PREFIX_` → the prefix).
    pub async fn exec(&self, sql: &str) {
        let sql = self.sql(sql);
        self.conn()
            .await
            .query_drop(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// Runs one prepared statement; returns the last insert id (0 when none).
    pub async fn exec_params(&self, sql: &str, params: impl Into<Params> + Send) -> u64 {
        let sql = self.sql(sql);
        let mut conn = self.conn().await;
        conn.exec_drop(&sql, params)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        conn.last_insert_id().unwrap_or(0)
    }

    /// All rows of a query, with parameters.
    pub async fn query<T: FromRow + Send + 'static>(
        &self,
        sql: &str,
        params: impl Into<Params> + Send,
    ) -> Vec<T> {
        let sql = self.sql(sql);
        self.conn()
            .await
            .exec(&sql, params)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The first row of a query; panics when there is none.
    pub async fn query_one<T: FromRow + Send + 'static>(
        &self,
        sql: &str,
        params: impl Into<Params> + Send,
    ) -> T {
        let sql = self.sql(sql);
        self.conn()
            .await
            .exec_first(&sql, params)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
            .unwrap_or_else(|| panic!("{sql}: no row"))
    }

    /// Empties what tests write, then makes synchronization available for shop 1, as
    /// `Shop::reset()`: the legacy module installed and active for shop 1, sync enabled,
    /// shipped `["4","5"]`, cancelled `[6]`, refunded `["7"]`, time shift 5, legacy options off.
    pub async fn reset_shop_available(&self) {
        for table in RESET_TABLES {
            self.exec(&format!("DELETE FROM {}", self.t(table))).await;
        }
        self.exec(
            "DELETE FROM PREFIX_configuration WHERE name LIKE 'SHOPPINGFEED\\_%' OR name LIKE 'SHOPPING\\_FLUX\\_%'",
        )
        .await;
        self.install_legacy_module(true, 1).await;
        self.config("SHOPPINGFEED_ORDER_SYNC_ENABLED", "1", None, None)
            .await;
        self.config("SHOPPINGFEED_SHIPPED_ORDERS", r#"["4","5"]"#, None, None)
            .await;
        self.config("SHOPPINGFEED_CANCELLED_ORDERS", "[6]", None, None)
            .await;
        self.config("SHOPPINGFEED_REFUNDED_ORDERS", r#"["7"]"#, None, None)
            .await;
        self.config("SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT", "5", None, None)
            .await;
        self.config("SHOPPING_FLUX_STATUS_SHIPPED", "", None, None)
            .await;
        self.config("SHOPPING_FLUX_STATUS_CANCELED", "", None, None)
            .await;
    }

    /// Turns multistore on as PrestaShop sees it (`PS_MULTISHOP_FEATURE_ACTIVE` and a second
    /// shop, 2 of group 1): only then are shop and group configuration rows read.
    pub async fn multistore(&self) {
        self.exec(
            "INSERT IGNORE INTO PREFIX_shop (id_shop, id_shop_group, name, color, id_category, theme_name, active, deleted) \
             VALUES (2, 1, 'Second', '', 2, 'classic', 1, 0)",
        )
        .await;
        self.config("PS_MULTISHOP_FEATURE_ACTIVE", "1", None, None)
            .await;
    }

    /// Sets a configuration value at global (both `None`), group or shop level, replacing the
    /// row of that level.
    pub async fn config(
        &self,
        name: &str,
        value: &str,
        id_shop: Option<u32>,
        id_group: Option<u32>,
    ) {
        self.exec_params(
            "DELETE FROM PREFIX_configuration WHERE name = ? AND id_shop <=> ? AND id_shop_group <=> ?",
            (name, id_shop, id_group),
        )
        .await;
        self.exec_params(
            "INSERT INTO PREFIX_configuration (id_shop_group, id_shop, name, value, date_add, date_upd) \
             VALUES (?, ?, ?, ?, NOW(), NOW())",
            (id_group, id_shop, name, value),
        )
        .await;
    }

    /// Deletes a configuration key at every level.
    pub async fn unset_config(&self, name: &str) {
        self.exec_params("DELETE FROM PREFIX_configuration WHERE name = ?", (name,))
            .await;
    }

    /// (Re)installs the legacy module `shoppingfluxexport`, associated with `id_shop`.
    pub async fn install_legacy_module(&self, active: bool, id_shop: u32) {
        self.uninstall_legacy_module().await;
        let id = self
            .exec_params(
                "INSERT INTO PREFIX_module (name, active, version) VALUES ('shoppingfluxexport', ?, '4.6.2')",
                (active as u8,),
            )
            .await;
        self.exec_params(
            "INSERT INTO PREFIX_module_shop (id_module, id_shop) VALUES (?, ?)",
            (id, id_shop),
        )
        .await;
    }

    pub async fn uninstall_legacy_module(&self) {
        self.exec(
            "DELETE m, ms FROM PREFIX_module m LEFT JOIN PREFIX_module_shop ms ON ms.id_module = m.id_module \
             WHERE m.name = 'shoppingfluxexport'",
        )
        .await;
    }

    /// An order of shop 1 in `state`; `sf_linked` adds its Shopping Feed link (reference `MP-<id>`).
    pub async fn order(&self, state: u32, sf_linked: bool) -> u32 {
        self.order_with(OrderSpec {
            sf_linked,
            ..OrderSpec::new(state)
        })
        .await
    }

    /// An order with every NOT NULL column of `orders` filled.
    pub async fn order_with(&self, spec: OrderSpec) -> u32 {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let reference = format!("R{:08}", n % 100_000_000);
        let id = self
            .exec_params(
                "INSERT INTO PREFIX_orders (reference, id_shop_group, id_shop, id_carrier, id_lang, id_customer, \
                   id_cart, id_currency, id_address_delivery, id_address_invoice, current_state, payment, module, \
                   invoice_date, delivery_date, valid, date_add, date_upd) \
                 VALUES (?, ?, ?, 1, 1, 1, 1, 1, 1, 1, ?, ?, ?, NOW(), NOW(), 1, NOW(), NOW())",
                (
                    reference,
                    spec.id_shop_group,
                    spec.id_shop,
                    spec.state,
                    spec.payment.as_str(),
                    spec.module.as_str(),
                ),
            )
            .await;
        let id = u32::try_from(id).expect("order id");
        assert!(id > 0, "no order id returned");
        if spec.sf_linked {
            let reference = if spec.no_reference {
                None
            } else {
                Some(spec.reference.clone().unwrap_or_else(|| format!("MP-{id}")))
            };
            self.exec_params(
                "INSERT INTO PREFIX_shoppingfeed_order (id_order_marketplace, name_marketplace, id_order, date_add, date_upd) \
                 VALUES (?, ?, ?, NOW(), NOW())",
                (reference, spec.payment.as_str(), id),
            )
            .await;
        }
        id
    }

    /// A Shopping Feed order in `state`, its status queued by the hook.
    pub async fn queued_order(&self, state: u32) -> u32 {
        let id = self.order(state, true).await;
        let outcome = shoppingfeed_sync::hook::on_order_status_update(&self.db, id, Some(state))
            .await
            .expect("hook");
        assert!(outcome.queued(), "{outcome:?}");
        id
    }

    pub async fn set_state(&self, id_order: u32, state: u32) {
        self.exec_params(
            "UPDATE PREFIX_orders SET current_state = ? WHERE id_order = ?",
            (state, id_order),
        )
        .await;
    }

    /// An order message (the legacy module writes the marketplace reference in one).
    pub async fn message(&self, id_order: u32, text: &str) {
        self.exec_params(
            "INSERT INTO PREFIX_message (id_customer, id_order, message, private, date_add) VALUES (0, ?, ?, 1, NOW())",
            (id_order, text),
        )
        .await;
    }

    /// The link row of an order: (name_marketplace, id_order_marketplace, id_internal_shoppingfeed).
    pub async fn sf_order(
        &self,
        id_order: u32,
    ) -> Option<(String, Option<String>, Option<String>)> {
        self.query(
            "SELECT name_marketplace, id_order_marketplace, id_internal_shoppingfeed \
             FROM PREFIX_shoppingfeed_order WHERE id_order = ?",
            (id_order,),
        )
        .await
        .into_iter()
        .next()
    }

    async fn task_rows(&self, filter: &str, params: Params) -> Vec<TaskRow> {
        let rows: Vec<Row> = self
            .query(
                &format!(
                    "SELECT id_shoppingfeed_task_order, action, id_order, \
                       TIMESTAMPDIFF(SECOND, NOW(), update_at), attempts, batch_id, ticket_number, \
                       lease_owner, TIMESTAMPDIFF(SECOND, NOW(), lease_until), last_error, sent_at IS NOT NULL \
                     FROM PREFIX_shoppingfeed_task_order {filter} ORDER BY id_shoppingfeed_task_order"
                ),
                params,
            )
            .await;
        rows.into_iter()
            .map(|mut r| TaskRow {
                id: r.take(0).unwrap(),
                action: r.take(1).unwrap(),
                id_order: r.take(2).unwrap(),
                due_in: r.take(3).unwrap(),
                attempts: r.take(4).unwrap(),
                batch_id: r.take(5).unwrap(),
                ticket_number: r.take(6).unwrap(),
                lease_owner: r.take(7).unwrap(),
                lease_in: r.take(8).unwrap(),
                last_error: r.take(9).unwrap(),
                sent: r.take::<i64, _>(10).unwrap() != 0,
            })
            .collect()
    }

    /// The task rows of an order, oldest first.
    pub async fn tasks(&self, id_order: u32) -> Vec<TaskRow> {
        self.task_rows("WHERE id_order = ?", (id_order,).into())
            .await
    }

    /// Every task row, oldest first.
    pub async fn all_tasks(&self) -> Vec<TaskRow> {
        self.task_rows("", Params::Empty).await
    }

    /// Process log rows (all, or of one level), oldest first: (msg, level, object_name, object_id).
    pub async fn logs(&self, level: Option<&str>) -> Vec<LogTuple> {
        self.log_rows(level)
            .await
            .into_iter()
            .map(|l| (l.msg, l.level, l.object_name, l.object_id))
            .collect()
    }

    /// Process log rows with their process name (`default` for the hooks).
    pub async fn log_rows(&self, level: Option<&str>) -> Vec<LogRow> {
        let (filter, params): (&str, Params) = match level {
            Some(l) => ("WHERE level = ?", (l,).into()),
            None => ("", Params::Empty),
        };
        let rows: Vec<LogSelect> = self
            .query(
                &format!(
                    "SELECT name, msg, level, object_name, object_id FROM PREFIX_shoppingfeed_processlogger \
                     {filter} ORDER BY id_shoppingfeed_processlogger"
                ),
                params,
            )
            .await;
        rows.into_iter()
            .map(|(name, msg, level, object_name, object_id)| LogRow {
                name,
                msg,
                level,
                object_name,
                object_id,
            })
            .collect()
    }

    /// A single value (`SELECT COUNT(*) ...`).
    pub async fn scalar<T: mysql_async::prelude::FromValue + Send + 'static>(
        &self,
        sql: &str,
        params: impl Into<Params> + Send,
    ) -> T {
        let row: Row = self.query_one(sql, params).await;
        let v: Value = row.get(0).expect("a column");
        mysql_async::from_value(v)
    }

    /// Drops the database and closes the pools.
    pub async fn drop_db(mut self) {
        self.dropped = true;
        self.db.clone().disconnect().await;
        let _ = self.pool.clone().disconnect().await;
        if keep_db() {
            eprintln!("keeping test database {}", self.name);
            return;
        }
        let mut admin = server_conn(&self.server).await;
        admin
            .query_drop(format!("DROP DATABASE IF EXISTS `{}`", self.name))
            .await
            .unwrap_or_else(|e| panic!("dropping {}: {e}", self.name));
        let _ = admin.disconnect().await;
    }
}

fn keep_db() -> bool {
    std::env::var("SFSYNC_TEST_KEEP_DB").is_ok_and(|v| !v.is_empty() && v != "0")
}

impl Drop for TestDb {
    /// Without `drop_db()` (a failed test), the database is removed from a thread of its own:
    /// `Drop` cannot await, and blocking on the test's runtime would deadlock.
    fn drop(&mut self) {
        if self.dropped || keep_db() {
            return;
        }
        let server = self.server.clone();
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut c) = Conn::new(opts(&server, None, 1)).await {
                    let _ = c
                        .query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
                        .await;
                    let _ = c.disconnect().await;
                }
            });
        })
        .join();
    }
}

/// The store every CRON test shop uses.
pub const CRON_STORE: i64 = 1276;

/// A shop ready for the CRON (gate open, `token` and [`CRON_STORE`], shipped delay `delay`
/// minutes) and a simulator serving that account, creating the orders it is sent.
pub async fn cron_shop(token: &str, delay: &str) -> (TestDb, shoppingfeed_sim::SimHandle) {
    let t = TestDb::create().await;
    t.reset_shop_available().await;
    t.config("SHOPPINGFEED_AUTH_TOKEN", token, None, None).await;
    t.config("SHOPPINGFEED_STORE_ID", &CRON_STORE.to_string(), None, None)
        .await;
    t.config("SHOPPINGFEED_ORDER_STATUS_TIME_SHIFT", delay, None, None)
        .await;
    let sim = shoppingfeed_sim::spawn(
        shoppingfeed_sim::SimConfig::new(token, CRON_STORE).with_auto_create_orders(true),
    )
    .await
    .expect("simulator");
    (t, sim)
}

/// CRON options reaching the simulator.
pub fn cron_opts(sim: &shoppingfeed_sim::SimHandle) -> shoppingfeed_sync::engine::CronOptions {
    shoppingfeed_sync::engine::CronOptions {
        api_base_url: sim.base_url(),
        http_timeout: Duration::from_secs(5),
        ..shoppingfeed_sync::engine::CronOptions::default()
    }
}
