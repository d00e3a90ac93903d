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

    /// A deadlock (1213) or lock wait timeout (1205): InnoDB rolled the statement back and it can
    /// simply be run again.
    pub fn is_lock_conflict(&self) -> bool {
        match self {
            DbError::Query {
                source: mysql_async::Error::Server(e),
                ..
            } => e.code == 1213 || e.code == 1205,
            _ => false,
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
