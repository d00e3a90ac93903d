//! The database layer: one `mysql_async` pool per runtime, prepared statements only, SQL in [`sql`].

pub mod logger;
pub mod retry;
pub mod sql;

use crate::config::{DatabaseUrl, TablePrefix, Tls, TlsMode};
use crate::error::DbError;
use mysql_async::{Conn, OptsBuilder, Pool, PoolConstraints, PoolOpts, SslOpts};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use sql::Sql;

/// A connection pool to the shop database and the SQL of its table prefix.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
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
        if let Some(offset) = utc_offset {
            // On each new connection (and after a reset): no round trip per query.
            opts = opts.setup(vec![format!("SET time_zone = '{offset}'")]);
        }
        if let Some(tls) = &url.tls {
            opts = opts.ssl_opts(Some(ssl_opts(tls)));
        }
        Db {
            pool: Pool::new(opts),
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
        self.pool.metrics()
    }

    pub fn hook_cache_lock(&self) -> &Mutex<crate::hook::call::HookCache> {
        &self.hook_cache
    }

    pub fn same_target(&self, other: &Db) -> bool {
        self.url == other.url && self.sql.prefix == other.sql.prefix
    }

    /// A pooled connection; the error names the server without the password.
    pub async fn conn(&self) -> Result<Conn, DbError> {
        self.pool
            .get_conn()
            .await
            .map_err(|source| DbError::Connect {
                url: self.url.redacted(),
                source,
            })
    }

    /// Closes every connection (end of a CRON run, or a pool being replaced).
    pub async fn disconnect(self) {
        // A failure here only means connections were already gone.
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
