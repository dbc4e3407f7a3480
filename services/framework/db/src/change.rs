//! Notifications of the rows the ORM changed, so caches can drop what they hold about them
//! (Django's `post_save` / `post_delete` signals, for the one use Herd needs them for).
//!
//! Listeners run after the statement succeeded and before the ORM call returns, so a view that
//! saves and then redirects sends its response only once every listener is done. Inside a
//! transaction the changes are held back and announced after `COMMIT` (never after a rollback).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::value::Value;

/// One change the ORM made.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// The model's app label, e.g. `directory`.
    pub app: &'static str,
    /// The model's name in lower case, e.g. `employee`.
    pub model: &'static str,
    /// The primary key of the row, or `None` when a query changed any number of rows.
    pub pk: Option<Value>,
}

/// A function told about each change.
pub(crate) type Listener =
    Arc<dyn Fn(Change) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

// === impl Change ===

impl Change {
    /// The primary key as text (`"42"`), as Django's admin log and cache tags write it.
    pub fn pk_text(&self) -> Option<String> {
        match self.pk.as_ref()? {
            Value::SmallInt(n) => Some(n.to_string()),
            Value::Integer(n) => Some(n.to_string()),
            Value::BigInt(n) => Some(n.to_string()),
            Value::Text(text) => Some(text.clone()),
            Value::Uuid(uuid) => Some(uuid.to_string()),
            _ => None,
        }
    }
}
