//! What the ORM runs statements on: a [`Database`](crate::Database) (one pooled connection per
//! statement) or a [`Transaction`](crate::Transaction) (its one connection).

use std::future::Future;

use tokio_postgres::Row;
use tokio_postgres::types::{ToSql, Type};

use crate::change::Change;
use crate::error::Result;
use crate::value::Value;

/// An SQL statement with its bound parameters (`$1`, `$2`, ... in the text).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Statement {
    sql: String,
    params: Vec<Value>,
}

/// Runs statements; implemented by [`Database`](crate::Database) and
/// [`Transaction`](crate::Transaction), so the ORM works the same on both.
pub trait Executor: Sync {
    /// Runs a statement and returns its rows.
    fn query(&self, statement: &Statement) -> impl Future<Output = Result<Vec<Row>>> + Send;

    /// Runs a statement and returns the number of rows it affected.
    fn execute(&self, statement: &Statement) -> impl Future<Output = Result<u64>> + Send;

    /// Announces a change the ORM made: at once on a database, after `COMMIT` in a transaction.
    fn changed(&self, change: Change) -> impl Future<Output = ()> + Send;
}

// === impl Statement ===

impl Statement {
    /// A statement without parameters yet.
    pub fn new(sql: impl Into<String>) -> Self {
        Self {
            sql: sql.into(),
            params: Vec::new(),
        }
    }

    /// Binds the next parameter (`$1` first).
    #[must_use]
    pub fn bind(mut self, value: impl Into<Value>) -> Self {
        self.params.push(value.into());
        self
    }

    /// The SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The bound parameters, in order.
    pub fn params(&self) -> &[Value] {
        &self.params
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, sql: &str) {
        self.sql.push_str(sql);
    }

    /// Appends a parameter placeholder for `value`.
    pub(crate) fn push_param(&mut self, value: Value) {
        self.params.push(value);
        self.sql.push('$');
        self.sql.push_str(&self.params.len().to_string());
    }

    /// The parameters' Postgres types, to prepare the statement with.
    pub(crate) fn param_types(&self) -> Vec<Type> {
        self.params.iter().map(Value::pg_type).collect()
    }

    /// The parameters as a prepared statement takes them.
    pub(crate) fn params_for_prepared(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|v| v as &(dyn ToSql + Sync))
            .collect()
    }
}
