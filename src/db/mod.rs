//! The database layer: one `mysql_async` pool per runtime, prepared statements only, SQL in [`sql`].

pub mod logger;
pub mod retry;
pub mod sql;

use crate::config::{DatabaseUrl, TablePrefix, Tls, TlsMode};
use crate::error::DbError;
use crate::error::DbResultExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, Pool, PoolConstraints, PoolOpts, SslOpts};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

pub use sql::Sql;

/// A connection pool to the shop database and the SQL of its table prefix.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// What the first connection found: `Some` on a Galera node, with the pool whose sessions
    /// read causally ([`sql::GALERA_SESSION`]) that every connection then comes from.
    cluster: Arc<OnceLock<Option<Pool>>>,
    /// The options of `pool`, to build the Galera one from.
    opts: OptsBuilder,
    setup: Vec<String>,
    sql: Arc<Sql>,
    url: DatabaseUrl,
    /// The hook's guess of each shop's configuration (`hook_call`), shared by the clones.
    hook_cache: Arc<Mutex<crate::hook::call::HookCache>>,
}

impl Db {
    /// Creates the pool; no connection is opened until the first query.
    pub fn new(url: &DatabaseUrl, prefix: &TablePrefix) -> Self {
        Self::new_in_zone(url, prefix, None)
    }

    /// [`Db::new`] whose connections use `utc_offset` (`+01:00`) as their session `time_zone`, so
    /// that every `NOW()` the extension writes or compares is the shop's time (`None`: the
    /// server's). The offset was checked by [`crate::config::ShopTimeZone::offset_at`].
    pub fn new_in_zone(url: &DatabaseUrl, prefix: &TablePrefix, utc_offset: Option<&str>) -> Self {
        let constraints = PoolConstraints::new(0, 16).unwrap_or_default();
        // No COM_RESET_CONNECTION when a connection goes back to the pool: it would drop the
        // prepared statements and cost a round trip per hook call. We keep no session state.
        let pool_opts = PoolOpts::default()
            .with_constraints(constraints)
            .with_inactive_connection_ttl(Duration::from_secs(30))
            .with_reset_connection(false);
        let mut opts = OptsBuilder::default()
            .user(Some(url.user.clone()))
            .pass(url.password.clone())
            .db_name(Some(url.database.clone()))
            .ip_or_hostname(url.host.clone())
            .tcp_port(url.port)
            .prefer_socket(false)
            .stmt_cache_size(64)
            .pool_opts(pool_opts);
        if let Some(sock) = &url.socket {
            opts = opts.socket(Some(sock.clone()));
        }
        let mut setup = Vec::new();
        if let Some(offset) = utc_offset {
            // On each new connection (and after a reset): no round trip per query.
            setup.push(format!("SET time_zone = '{offset}'"));
        }
        if let Some(tls) = &url.tls {
            opts = opts.ssl_opts(Some(ssl_opts(tls)));
        }
        Db {
            pool: Pool::new(opts.clone().setup(setup.clone())),
            cluster: Arc::default(),
            opts,
            setup,
            sql: Arc::new(Sql::new(prefix)),
            url: url.clone(),
            hook_cache: Arc::default(),
        }
    }

    pub fn sql(&self) -> &Sql {
        &self.sql
    }

    /// True when both reach the same database with the same table prefix.
    /// The pool's gauges (connections open, idle, in use).
    pub fn pool_metrics(&self) -> Arc<mysql_async::Metrics> {
        self.pool_in_use().metrics()
    }

    fn pool_in_use(&self) -> &Pool {
        match self.cluster.get() {
            Some(Some(galera)) => galera,
            _ => &self.pool,
        }
    }

    /// Whether the server is a Galera node (`None` before the first connection).
    pub fn is_galera(&self) -> Option<bool> {
        self.cluster.get().map(Option::is_some)
    }

    pub fn hook_cache_lock(&self) -> &Mutex<crate::hook::call::HookCache> {
        &self.hook_cache
    }

    pub fn same_target(&self, other: &Db) -> bool {
        self.url == other.url && self.sql.prefix == other.sql.prefix
    }

    /// A pooled connection; the error names the server without the password. The first one also
    /// asks whether the server is a Galera node (one statement per pool): there, a read on one
    /// node may not see yet what another node committed, so every connection comes from then on
    /// from a pool whose sessions wait for it.
    pub async fn conn(&self) -> Result<Conn, DbError> {
        if let Some(known) = self.cluster.get() {
            return self.get_from(known.as_ref().unwrap_or(&self.pool)).await;
        }
        let mut conn = self.get_from(&self.pool).await?;
        let wsrep: Option<(String, String)> = conn
            .query_first(sql::WSREP_ON)
            .await
            .ctx("asking whether the server is a Galera node")?;
        let galera = wsrep.is_some_and(|(_, on)| on.eq_ignore_ascii_case("ON"));
        let found = self.cluster.get_or_init(|| {
            galera.then(|| {
                let mut setup = self.setup.clone();
                setup.push(sql::GALERA_SESSION.to_string());
                Pool::new(self.opts.clone().setup(setup))
            })
        });
        match found {
            // This connection's session is not set up for Galera: it goes back to the plain
            // pool, unused from now on, and closes after the idle time.
            Some(galera) => {
                drop(conn);
                self.get_from(galera).await
            }
            None => Ok(conn),
        }
    }

    async fn get_from(&self, pool: &Pool) -> Result<Conn, DbError> {
        pool.get_conn().await.map_err(|source| DbError::Connect {
            url: self.url.redacted(),
            source,
        })
    }

    /// Closes every connection (end of a CRON run, or a pool being replaced).
    pub async fn disconnect(self) {
        // A failure here only means connections were already gone.
        if let Some(Some(galera)) = self.cluster.get() {
            let _ = galera.clone().disconnect().await;
        }
        let _ = self.pool.disconnect().await;
    }
}

/// mysql_async's TLS options for a URL's `ssl_mode` / `ssl_ca` (rustls: no OpenSSL to link).
fn ssl_opts(tls: &Tls) -> SslOpts {
    let mut opts = SslOpts::default()
        .with_danger_accept_invalid_certs(tls.mode == TlsMode::Required)
        .with_danger_skip_domain_validation(tls.mode != TlsMode::VerifyIdentity);
    if let Some(ca) = &tls.ca_file {
        // The given CA only, as the MySQL client and PDO's MYSQL_ATTR_SSL_CA trust it.
        opts = opts
            .with_root_certs(vec![std::path::PathBuf::from(ca).into()])
            .with_disable_built_in_roots(true);
    }
    opts
}

/// A global configuration value read as a whole number (`default` when missing or not a number):
/// the installation-wide settings (retentions, thresholds, the sweep's days).
pub async fn global_u32(db: &Db, conn: &mut Conn, key: &str, default: u32) -> Result<u32, DbError> {
    let value: Option<Option<String>> = conn
        .exec_first(db.sql().global_value.as_str(), (key,))
        .await
        .ctx(format!("reading {key}"))?;
    Ok(value
        .flatten()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(default))
}
