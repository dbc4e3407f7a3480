//! The ORM's error type, and how it maps to HTTP through `herd_core::Error`.
//!
//! Connection trouble (pool wait timeout, Postgres down or restarting, statement timeout) is
//! [`Error::is_unavailable`] and becomes a 503; a missing object becomes a 404; anything else
//! is a 500 whose details only reach the logs.

use deadpool_postgres::PoolError;
use tokio_postgres::error::SqlState;

use herd_core::BoxError;

/// A `Result` whose error defaults to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error from the ORM or the database; inspect it with the `is_*` methods.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `get()` found no row (Django's `DoesNotExist`).
    #[error("{model} matching query does not exist")]
    DoesNotExist {
        /// The model's name.
        model: &'static str,
    },
    /// `get()` found more than one row (Django's `MultipleObjectsReturned`).
    #[error("get() returned more than one {model}")]
    MultipleObjectsReturned {
        /// The model's name.
        model: &'static str,
    },
    /// The database could not be reached in time: pool wait or connect timeout, a refused or
    /// lost connection, a statement timeout, or a server shutting down.
    #[error("database unavailable: {reason}")]
    Unavailable {
        /// What went wrong, for logs.
        reason: String,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The database refused a statement (a constraint, a type error, ...).
    #[error("database error")]
    Database(#[source] BoxError),
    /// A row did not decode into the model's field types.
    #[error("could not read a row: {0}")]
    Decode(String),
    /// A query that cannot be built: unknown field or lookup, a value of the wrong type, a
    /// negative slice, or filtering after slicing.
    #[error("invalid query: {0}")]
    BadLookup(String),
    /// A transaction was used after it ended, or committed after one of its statements failed
    /// (Postgres has rolled it back).
    #[error("transaction aborted: {0}")]
    TransactionAborted(String),
    /// The database URL or pool settings are invalid.
    #[error("invalid database configuration: {0}")]
    Config(String),
}

// === impl Error ===

impl Error {
    pub(crate) fn bad_lookup(reason: impl Into<String>) -> Self {
        Self::BadLookup(reason.into())
    }

    pub(crate) fn decode(reason: impl Into<String>) -> Self {
        Self::Decode(reason.into())
    }

    pub(crate) fn from_decode(err: &tokio_postgres::Error) -> Self {
        Self::Decode(err.to_string())
    }

    pub(crate) fn unavailable(reason: impl Into<String>, source: Option<BoxError>) -> Self {
        Self::Unavailable {
            reason: reason.into(),
            source,
        }
    }

    /// Classifies an error from a statement: connection-level failures are "unavailable".
    pub(crate) fn from_postgres(err: tokio_postgres::Error) -> Self {
        if is_connection_error(&err) {
            Self::unavailable("the database connection failed", Some(err.into()))
        } else {
            Self::Database(err.into())
        }
    }

    pub(crate) fn from_pool(err: PoolError) -> Self {
        match err {
            PoolError::Timeout(kind) => Self::unavailable(
                format!("timed out waiting for a database connection ({kind:?})"),
                None,
            ),
            PoolError::Backend(err) => {
                Self::unavailable("could not connect to the database", Some(err.into()))
            }
            PoolError::Closed => Self::unavailable("the connection pool is closed", None),
            PoolError::PostCreateHook(err) => {
                Self::unavailable("a new database connection was refused", Some(err.into()))
            }
            PoolError::NoRuntimeSpecified => Self::Config("the pool has no runtime".to_owned()),
        }
    }

    /// Returns true when `get()` found no row.
    pub fn is_does_not_exist(&self) -> bool {
        matches!(self, Self::DoesNotExist { .. })
    }

    /// Returns true when `get()` found more than one row.
    pub fn is_multiple_objects_returned(&self) -> bool {
        matches!(self, Self::MultipleObjectsReturned { .. })
    }

    /// Returns true when the database was unavailable (answered with 503).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }

    /// Returns true when the query could not be built (unknown field, bad value, bad slice).
    pub fn is_bad_lookup(&self) -> bool {
        matches!(self, Self::BadLookup(_))
    }

    /// Returns true when the database refused a statement.
    pub fn is_database(&self) -> bool {
        matches!(self, Self::Database(_))
    }

    /// Returns true when a unique constraint was violated (e.g. a duplicate username).
    pub fn is_unique_violation(&self) -> bool {
        self.sql_state() == Some(&SqlState::UNIQUE_VIOLATION)
    }

    /// Returns true when a transaction was used after it ended or had failed.
    pub fn is_transaction_aborted(&self) -> bool {
        matches!(self, Self::TransactionAborted(_))
    }

    fn sql_state(&self) -> Option<&SqlState> {
        match self {
            Self::Database(source) => source.downcast_ref::<tokio_postgres::Error>()?.code(),
            _ => None,
        }
    }
}

impl From<Error> for herd_core::Error {
    fn from(err: Error) -> Self {
        match err {
            Error::DoesNotExist { .. } => Self::not_found().with_source(err),
            Error::Unavailable { ref reason, .. } => {
                Self::unavailable(reason.clone()).with_source(err)
            }
            other => Self::internal(other),
        }
    }
}

/// Whether an error means the connection or server, not the statement, failed.
fn is_connection_error(err: &tokio_postgres::Error) -> bool {
    if err.is_closed() {
        return true;
    }
    match err.code() {
        Some(code) => {
            code.code().starts_with("08")
                || [
                    SqlState::QUERY_CANCELED,
                    SqlState::ADMIN_SHUTDOWN,
                    SqlState::CRASH_SHUTDOWN,
                    SqlState::CANNOT_CONNECT_NOW,
                    SqlState::TOO_MANY_CONNECTIONS,
                ]
                .contains(code)
        }
        // No SQLSTATE: the failure happened below the protocol (I/O, a lost connection).
        None => std::error::Error::source(err)
            .is_some_and(<dyn std::error::Error>::is::<std::io::Error>),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_the_right_http_status() {
        let missing: herd_core::Error = Error::DoesNotExist { model: "Employee" }.into();
        assert!(missing.is_not_found());
        let down: herd_core::Error = Error::unavailable("pool timeout", None).into();
        assert!(down.is_unavailable());
        let bad: herd_core::Error = Error::bad_lookup("negative slice").into();
        assert!(bad.is_internal());
        let multiple: herd_core::Error =
            Error::MultipleObjectsReturned { model: "Employee" }.into();
        assert!(multiple.is_internal());
    }

    #[test]
    fn messages_follow_django() {
        assert_eq!(
            Error::DoesNotExist { model: "Employee" }.to_string(),
            "Employee matching query does not exist"
        );
        assert_eq!(
            Error::MultipleObjectsReturned { model: "Employee" }.to_string(),
            "get() returned more than one Employee"
        );
    }
}
