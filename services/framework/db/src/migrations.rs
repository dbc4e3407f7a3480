//! Schema migrations: JSON files per app, applied once each under a Postgres advisory lock, and
//! made by diffing the models against the state the existing files build.
//!
//! Each app keeps `migrations/NNNN_<name>.json`, embedded at compile time into an
//! [`AppMigrations`] together with the app's current models:
//!
//! ```json
//! {
//!   "dependencies": [["directory", "0001_initial"]],
//!   "atomic": true,
//!   "operations": [
//!     { "operation": "AddField", "table": "directory_employee",
//!       "field": { "column": "nickname", "sql_type": { "type": "text" }, "nullable": true } }
//!   ]
//! }
//! ```
//!
//! [`migrate`] applies what `herd_migrations` does not list yet, in dependency order (by number
//! within an app, by declared dependencies across apps), each migration in one transaction with
//! its bookkeeping row. Many replicas may run it at once: they queue on one advisory lock and
//! read the applied set only once they hold it, so each migration runs exactly once and the
//! others find nothing to do. The SHA-256 of every applied file is recorded; a file that changed
//! after it was applied is refused, never re-run.
//!
//! [`make_migrations`] replays an app's migrations into a [`ProjectState`] (table -> schema),
//! [`diff`]s it against the models and writes the difference as the next file.

mod autodetector;
mod error;
mod executor;
mod loader;
mod operation;

use std::fmt;

use crate::schema::ModelSchema;

pub use autodetector::{diff, make_migrations};
pub use error::{Error, Result};
pub use executor::{migrate, show_migrations};
pub use loader::{MigrationFile, checksum};
pub use operation::{Operation, ProjectState};

/// The key of the session advisory lock that [`migrate`] holds while it runs ("herdmigr").
pub const ADVISORY_LOCK_KEY: i64 = 0x6865_7264_6d69_6772;

/// One app's migration files and current models.
#[derive(Clone, Debug, Default)]
pub struct AppMigrations {
    /// The app label, e.g. `directory`.
    pub app: String,
    /// The files as `(name, text)`, the name without `.json`, e.g. `0001_initial`.
    pub migrations: Vec<(String, String)>,
    /// The app's models as they are now (`Model::schema()`), for [`make_migrations`].
    pub models: Vec<ModelSchema>,
}

/// What a [`migrate`] run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MigrateReport {
    /// The migrations this run applied, in order; empty when there was nothing to do.
    pub applied: Vec<MigrationName>,
}

/// A migration's identity: its app and file name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MigrationName {
    /// The app label.
    pub app: String,
    /// The file name without `.json`, e.g. `0001_initial`.
    pub name: String,
}

/// One app's migrations as [`show_migrations`] finds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppStatus {
    /// The app label.
    pub app: String,
    /// Applied migrations, in order.
    pub applied: Vec<String>,
    /// Migrations [`migrate`] would apply, in order.
    pub pending: Vec<String>,
    /// Applied migrations whose file changed since; [`migrate`] refuses to run while any exist.
    pub changed: Vec<String>,
}

// === impl MigrateReport ===

impl MigrateReport {
    /// Whether this run applied nothing.
    pub fn is_empty(&self) -> bool {
        self.applied.is_empty()
    }
}

// === impl MigrationName ===

impl fmt::Display for MigrationName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.app, self.name)
    }
}

#[cfg(test)]
mod tests;
