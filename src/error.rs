//! Error types of the core. Messages name what failed and where, never a password or a token.

use thiserror::Error;

/// A refused configuration option.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ConfigError {
    #[error("unknown option \"{0}\"")]
    Unknown(String),
    #[error("option \"{option}\" must be of type {expected}, {given} given")]
    WrongType {
        option: String,
        expected: &'static str,
        given: &'static str,
    },
    #[error("option \"{option}\" {reason}")]
    Invalid { option: String, reason: String },
}

impl ConfigError {
    pub fn invalid(option: &str, reason: &str) -> Self {
        ConfigError::Invalid {
            option: option.to_string(),
            reason: reason.to_string(),
        }
    }

    pub fn wrong_type(option: &str, expected: &'static str, given: &'static str) -> Self {
        ConfigError::WrongType {
            option: option.to_string(),
            expected,
            given,
        }
    }
}

/// A database failure, with what we were doing. `mysql_async` errors do not carry the password.
#[derive(Debug, Error)]
pub enum DbError {
    #[error("cannot connect to the database {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: mysql_async::Error,
    },
    #[error("database error while {context}: {source}")]
    Query {
        context: String,
        #[source]
        source: mysql_async::Error,
    },
    #[error("unexpected value in the database while {context}: {detail}")]
    Data { context: String, detail: String },
}

impl DbError {
    /// A deadlock (1213): InnoDB chose this statement as the victim and rolled it back.
    pub fn is_deadlock(&self) -> bool {
        matches!(self, DbError::Query { source: mysql_async::Error::Server(e), .. } if e.code == 1213)
    }

    /// A Galera node refusing a transaction it did not run or rolled back whole, which can be run
    /// again at once: not ready for queries while it joins or rejoins the cluster (1047), or its
    /// commit failed (1180). A certification failure, a conflict with a write committed on
    /// another node, is a deadlock (1213), also at COMMIT.
    pub fn is_cluster_refusal(&self) -> bool {
        self.server_code().is_some_and(|c| c == 1047 || c == 1180)
    }

    /// A deadlock (1213) or lock wait timeout (1205), or a Galera refusal: the statement (the
    /// transaction) was rolled back and it can simply be run again.
    pub fn is_lock_conflict(&self) -> bool {
        self.server_code() == Some(1213)
            || self.server_code() == Some(1205)
            || self.is_cluster_refusal()
    }

    fn server_code(&self) -> Option<u16> {
        match self {
            DbError::Query {
                source: mysql_async::Error::Server(e),
                ..
            } => Some(e.code),
            _ => None,
        }
    }
}

/// Attaches "while ..." context to mysql_async results.
pub trait DbResultExt<T> {
    fn ctx(self, context: impl Into<String>) -> Result<T, DbError>;
}

impl<T> DbResultExt<T> for Result<T, mysql_async::Error> {
    fn ctx(self, context: impl Into<String>) -> Result<T, DbError> {
        self.map_err(|source| DbError::Query {
            context: context.into(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u16) -> DbError {
        DbError::Query {
            context: "claiming".into(),
            source: mysql_async::Error::Server(mysql_async::ServerError {
                code,
                message: "x".into(),
                state: "40001".into(),
            }),
        }
    }

    #[test]
    fn deadlocks_and_lock_timeouts_are_retryable_other_errors_are_not() {
        assert!(server(1213).is_lock_conflict());
        assert!(server(1205).is_lock_conflict());
        assert!(!server(1062).is_lock_conflict());
        let data = DbError::Data {
            context: "x".into(),
            detail: "y".into(),
        };
        assert!(!data.is_lock_conflict());
    }

    #[test]
    fn galera_refusals_and_certification_failures_are_retried_by_the_hook_and_the_cron() {
        use crate::db::retry::LockRetry;
        // Not ready while it rejoins, a failed commit: rolled back whole, run again.
        for code in [1047, 1180] {
            assert!(server(code).is_cluster_refusal());
            assert!(server(code).is_lock_conflict());
            assert!(LockRetry::deadlocks_only().wants(&server(code)));
            assert!(LockRetry::default().wants(&server(code)));
        }
        // Certification failure (at the statement or at COMMIT): a deadlock.
        assert!(LockRetry::deadlocks_only().wants(&server(1213)));
        assert!(!server(1062).is_cluster_refusal());
    }

    #[test]
    fn the_hook_retries_deadlocks_only_the_cron_lock_timeouts_too_and_both_stop() {
        use crate::db::retry::{LockRetry, LOCK_RETRIES};
        let mut hook = LockRetry::deadlocks_only();
        assert!(!hook.wants(&server(1205)));
        let mut cron = LockRetry::default();
        assert!(cron.wants(&server(1205)));
        assert!(!cron.wants(&server(1062)));
        for _ in 0..LOCK_RETRIES {
            assert!(hook.wants(&server(1213)));
        }
        assert!(!hook.wants(&server(1213)), "attempts run out");
    }
}
