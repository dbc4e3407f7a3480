//! The contract every cache backend implements.
//!
//! Backends store opaque bytes under already-built keys (prefix and version applied by the
//! caller); timeouts arrive resolved into an [`Expiry`]. Everything Django specifies about keys,
//! versions, default timeouts and `0` meaning "do not store" lives above this trait, once.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;

/// A boxed, `Send` future, as the object-safe backend methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How long an entry lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// Until deleted or evicted (Django's `timeout=None`).
    Never,
    /// For this long (never zero: zero means "do not store" and is handled above backends).
    After(Duration),
}

/// A backend could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// `incr`/`decr` on a key that does not exist (Django raises `ValueError`).
    #[error("key {0:?} not found")]
    KeyNotFound(String),
    /// `incr`/`decr` on a value that is not an integer.
    #[error("value of key {0:?} is not an integer")]
    NotAnInteger(String),
    /// The backend is unreachable, timed out, or answered with an error.
    #[error("cache backend unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A cache store. Implementations are cheap to share (`Arc<dyn Backend>`).
pub trait Backend: Send + Sync + 'static {
    /// The backend's name for logs and metrics (`local`, `redis`, `two-tier`, `dummy`).
    fn name(&self) -> &'static str;

    /// The value under `key`, if any.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BackendError>>;

    /// The values under `keys`, in order (one round trip where the store allows).
    fn get_many<'a>(
        &'a self,
        keys: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Option<Bytes>>, BackendError>>;

    /// Stores `value` under `key`, replacing any value.
    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Bytes,
        expiry: Expiry,
    ) -> BoxFuture<'a, Result<(), BackendError>>;

    /// Stores every entry (one round trip where the store allows).
    fn set_many(
        &self,
        entries: Vec<(String, Bytes)>,
        expiry: Expiry,
    ) -> BoxFuture<'_, Result<(), BackendError>>;

    /// Stores `value` only if `key` holds nothing; returns whether it stored.
    fn add<'a>(
        &'a self,
        key: &'a str,
        value: Bytes,
        expiry: Expiry,
    ) -> BoxFuture<'a, Result<bool, BackendError>>;

    /// Removes `key`; returns whether it held a value.
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, BackendError>>;

    /// Removes every key in `keys`.
    fn delete_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<(), BackendError>>;

    /// Adds `delta` to the integer under `key` and returns the result; the entry keeps its expiry.
    fn incr<'a>(&'a self, key: &'a str, delta: i64) -> BoxFuture<'a, Result<i64, BackendError>>;

    /// Gives `key` a new expiry; returns whether the key existed.
    fn touch<'a>(
        &'a self,
        key: &'a str,
        expiry: Expiry,
    ) -> BoxFuture<'a, Result<bool, BackendError>>;

    /// Whether `key` holds a value.
    fn has_key<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move { Ok(self.get(key).await?.is_some()) })
    }

    /// Removes every entry this backend owns (for Redis: the keys under its prefix only).
    fn clear(&self) -> BoxFuture<'_, Result<(), BackendError>>;

    /// The Redis this backend stores in, for features shared across workers beyond plain
    /// entries (tag indexes); `None` for backends inside one worker.
    fn redis(&self) -> Option<&crate::redis::RedisBackend> {
        None
    }
}

/// Parses a stored integer as Django stores them (decimal text, which is also its JSON).
pub(crate) fn parse_integer(key: &str, value: &[u8]) -> Result<i64, BackendError> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .ok_or_else(|| BackendError::NotAnInteger(key.to_owned()))
}
