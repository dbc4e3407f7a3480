//! Why running or making migrations failed.

use std::path::PathBuf;
use std::time::Duration;

/// A `Result` whose error is a migration [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why running, listing or making migrations failed.
///
/// `Display` says what failed in one line; the database's own message is the
/// [`source`](std::error::Error::source) (print the chain, e.g. with anyhow's `{:#}`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database did not accept a connection (or its URL does not parse).
    #[error("could not connect to the database at {url}")]
    Connect {
        /// The database URL, password removed.
        url: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A statement failed.
    #[error("{context} failed")]
    Database {
        /// What was being done, e.g. `applying migration directory.0002_nickname`.
        context: String,
        /// The driver's error, with Postgres' message.
        #[source]
        source: tokio_postgres::Error,
    },
    /// Another `herd migrate` held the migration lock for longer than we wait.
    #[error("another migrate held the migration lock for more than {} s", waited.as_secs())]
    LockWait {
        /// How long this run waited.
        waited: Duration,
    },
    /// An applied migration's file differs from the one that was applied; it is never re-run.
    #[error(
        "migration {app}.{name} was applied with checksum {recorded} but its file now has \
         checksum {current}; applied migrations must not change, add a new migration instead"
    )]
    ChecksumMismatch {
        /// The app label.
        app: String,
        /// The migration's name, e.g. `0001_initial`.
        name: String,
        /// The SHA-256 recorded in `herd_migrations`.
        recorded: String,
        /// The SHA-256 of the file as it is now.
        current: String,
    },
    /// A migration depends on one that no app provides.
    #[error("migration {migration} depends on {dependency}, which does not exist")]
    MissingDependency {
        /// The dependent migration, `app.name`.
        migration: String,
        /// The missing one, `app.name`.
        dependency: String,
    },
    /// The dependencies form a cycle.
    #[error("migrations depend on each other in a cycle: {}", migrations.join(", "))]
    Cycle {
        /// The migrations on or behind the cycle, `app.name`.
        migrations: Vec<String>,
    },
    /// An applied migration depends on one that is not applied.
    #[error("migration {migration} is applied but its dependency {dependency} is not")]
    InconsistentHistory {
        /// The applied migration, `app.name`.
        migration: String,
        /// The dependency that is not applied, `app.name`.
        dependency: String,
    },
    /// A migration's name is not `NNNN_<name>`, or two share a number or an app is listed twice.
    #[error("bad migration name {migration}: {reason}")]
    InvalidName {
        /// The migration, `app.name`.
        migration: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A migration file is not valid JSON of the expected shape.
    #[error("migration {migration} is not a valid migration file")]
    InvalidFile {
        /// The migration, `app.name`.
        migration: String,
        /// The JSON error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// An operation does not fit the state the earlier migrations built.
    #[error("migration {migration}: {reason}")]
    InvalidOperation {
        /// The migration, `app.name`.
        migration: String,
        /// What does not fit.
        reason: String,
    },
    /// A model gained a `NOT NULL` column; without defaults existing rows could not be filled.
    #[error(
        "cannot add NOT NULL column {column} to existing table {table}: existing rows would have \
         no value; make the field nullable (Option<_>) first, fill it, then make it required"
    )]
    NotNullWithoutDefault {
        /// The table.
        table: String,
        /// The new column.
        column: String,
    },
    /// A change that `make_migrations` cannot express yet (type, primary key, unique, foreign key).
    #[error("changing {what} of {table}.{column} is not supported yet; write a RunSql migration")]
    Unsupported {
        /// The table.
        table: String,
        /// The column.
        column: String,
        /// What changed, e.g. `the type (bigint -> text)`.
        what: String,
    },
    /// Two models of an app use the same table.
    #[error("two models use the table {table}")]
    DuplicateTable {
        /// The table.
        table: String,
    },
    /// The migrations folder holds files the app was not built with.
    #[error(
        "{} holds migrations the app was not built with ({}); rebuild so that they are embedded, \
         then make migrations again",
        dir.display(),
        files.join(", ")
    )]
    UnknownMigrationFiles {
        /// The folder.
        dir: PathBuf,
        /// The file names the app does not know.
        files: Vec<String>,
    },
    /// Reading or writing a migration file failed.
    #[error("could not write or read {}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A migration could not be written as JSON.
    #[error("could not write the migration as JSON")]
    Serialize(#[source] serde_json::Error),
}
