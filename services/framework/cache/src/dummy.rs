//! The dummy backend: implements the interface and stores nothing (Django's `DummyCache`).

use bytes::Bytes;

use crate::backend::{Backend, BackendError, BoxFuture, Expiry};

/// Stores nothing: every read misses, `add` reports success as Django's does.
#[derive(Clone, Copy, Debug, Default)]
pub struct DummyBackend;

impl Backend for DummyBackend {
    fn name(&self) -> &'static str {
        "dummy"
    }

    fn get<'a>(&'a self, _key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BackendError>> {
        Box::pin(async { Ok(None) })
    }

    fn get_many<'a>(
        &'a self,
        keys: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Option<Bytes>>, BackendError>> {
        Box::pin(async move { Ok(vec![None; keys.len()]) })
    }

    fn set<'a>(
        &'a self,
        _key: &'a str,
        _value: Bytes,
        _expiry: Expiry,
    ) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async { Ok(()) })
    }

    fn set_many(
        &self,
        _entries: Vec<(String, Bytes)>,
        _expiry: Expiry,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async { Ok(()) })
    }

    fn add<'a>(
        &'a self,
        _key: &'a str,
        _value: Bytes,
        _expiry: Expiry,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async { Ok(true) })
    }

    fn delete<'a>(&'a self, _key: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async { Ok(false) })
    }

    fn delete_many<'a>(&'a self, _keys: &'a [String]) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async { Ok(()) })
    }

    fn incr<'a>(&'a self, key: &'a str, _delta: i64) -> BoxFuture<'a, Result<i64, BackendError>> {
        Box::pin(async move { Err(BackendError::KeyNotFound(key.to_owned())) })
    }

    fn touch<'a>(
        &'a self,
        _key: &'a str,
        _expiry: Expiry,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async { Ok(false) })
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async { Ok(()) })
    }
}
