//! One tokio runtime and one database pool per process, created lazily and re-created after
//! `fork()` (php-fpm forks its workers after MINIT; a runtime inherited through fork hangs).

use crate::config::Settings;
use crate::db::Db;
use std::future::Future;
use std::sync::Mutex;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("cannot start the async runtime: {0}")]
    Start(String),
    #[error("re-entrant call: the extension was called back from inside one of its own calls")]
    Reentrant,
}

struct ProcessRuntime {
    pid: u32,
    rt: &'static tokio::runtime::Runtime,
    /// The pool of the last settings used, with the key it was built for.
    db: Option<(String, Db)>,
}

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
pub fn db(settings: &Settings) -> Result<Db, RuntimeError> {
    let key = format!(
        "{}|{}|{:?}",
        settings.database_url.redacted(),
        settings.table_prefix.as_str(),
        settings.database_url.password // compared, never printed
    );
    let (db, old) = with_state(|s| match &s.db {
        Some((k, db)) if *k == key => (db.clone(), None),
        _ => {
            let db = Db::new(&settings.database_url, &settings.table_prefix);
            let old = s.db.replace((key.clone(), db.clone()));
            (db, old.map(|(_, d)| d))
        }
    })?;
    if let Some(old) = old {
        // Dropped, not disconnected: a clone may still be in use (buffered log rows waiting for
        // their database); its connections close when the last clone goes. Dropped inside the
        // runtime, which the pool's cleanup needs.
        let _ = block_on(async move { drop(old) });
    }
    Ok(db)
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
