//! The local backend: a moka cache inside this worker, bounded by bytes, with per-entry expiry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::future::Cache;

use crate::backend::{Backend, BackendError, BoxFuture, Expiry, parse_integer};

/// Per-entry bookkeeping a moka entry costs beyond its key and value, for the byte bound.
const ENTRY_OVERHEAD: u32 = 64;

#[derive(Clone, Debug)]
struct Entry {
    value: Bytes,
    expiry: Expiry,
}

struct PerEntryExpiry;

impl moka::Expiry<Arc<str>, Entry> for PerEntryExpiry {
    fn expire_after_create(
        &self,
        _key: &Arc<str>,
        entry: &Entry,
        _created_at: Instant,
    ) -> Option<Duration> {
        match entry.expiry {
            Expiry::Never => None,
            Expiry::After(duration) => Some(duration),
        }
    }

    fn expire_after_update(
        &self,
        _key: &Arc<str>,
        entry: &Entry,
        _updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        match entry.expiry {
            Expiry::Never => None,
            Expiry::After(duration) => Some(duration),
        }
    }
}

/// A moka cache in this worker's memory.
#[derive(Clone)]
pub struct LocalBackend {
    entries: Cache<Arc<str>, Entry>,
}

impl LocalBackend {
    /// A cache holding at most about `max_bytes` of keys and values; least-used entries go first.
    pub fn new(max_bytes: u64) -> Self {
        let entries = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|key: &Arc<str>, entry: &Entry| {
                let size = key.len().saturating_add(entry.value.len());
                u32::try_from(size)
                    .unwrap_or(u32::MAX)
                    .saturating_add(ENTRY_OVERHEAD)
            })
            .expire_after(PerEntryExpiry)
            .build();
        Self { entries }
    }

    /// How many entries are held (approximate until moka runs its pending tasks).
    pub fn entry_count(&self) -> u64 {
        self.entries.entry_count()
    }

    /// How many bytes the entries weigh (approximate, as [`LocalBackend::entry_count`]).
    pub fn weighted_size(&self) -> u64 {
        self.entries.weighted_size()
    }

    /// Runs moka's pending maintenance (evictions, counts) now; tests use it for exact counts.
    pub async fn run_pending_tasks(&self) {
        self.entries.run_pending_tasks().await;
    }

    /// Drops every entry at once (used when invalidations may have been missed).
    pub fn invalidate_all(&self) {
        self.entries.invalidate_all();
    }
}

impl std::fmt::Debug for LocalBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalBackend")
            .field("entries", &self.entries.entry_count())
            .finish()
    }
}

impl Backend for LocalBackend {
    fn name(&self) -> &'static str {
        "local"
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BackendError>> {
        Box::pin(async move { Ok(self.entries.get(key).await.map(|entry| entry.value)) })
    }

    fn get_many<'a>(
        &'a self,
        keys: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Option<Bytes>>, BackendError>> {
        Box::pin(async move {
            let mut values = Vec::with_capacity(keys.len());
            for key in keys {
                values.push(
                    self.entries
                        .get(key.as_str())
                        .await
                        .map(|entry| entry.value),
                );
            }
            Ok(values)
        })
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Bytes,
        expiry: Expiry,
    ) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            self.entries
                .insert(Arc::from(key), Entry { value, expiry })
                .await;
            Ok(())
        })
    }

    fn set_many(
        &self,
        entries: Vec<(String, Bytes)>,
        expiry: Expiry,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async move {
            for (key, value) in entries {
                self.entries
                    .insert(Arc::from(key), Entry { value, expiry })
                    .await;
            }
            Ok(())
        })
    }

    fn add<'a>(
        &'a self,
        key: &'a str,
        value: Bytes,
        expiry: Expiry,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            let entry = self
                .entries
                .entry(Arc::from(key))
                .or_insert(Entry { value, expiry })
                .await;
            Ok(entry.is_fresh())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move { Ok(self.entries.remove(key).await.is_some()) })
    }

    fn delete_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            for key in keys {
                self.entries.invalidate(key.as_str()).await;
            }
            Ok(())
        })
    }

    fn incr<'a>(&'a self, key: &'a str, delta: i64) -> BoxFuture<'a, Result<i64, BackendError>> {
        Box::pin(async move {
            let mut outcome = Err(BackendError::KeyNotFound(key.to_owned()));
            self.entries
                .entry(Arc::from(key))
                .and_compute_with(|existing| {
                    let op = match existing {
                        None => moka::ops::compute::Op::Nop,
                        Some(existing) => {
                            let entry = existing.into_value();
                            match parse_integer(key, &entry.value) {
                                Ok(current) => {
                                    let next = current.saturating_add(delta);
                                    outcome = Ok(next);
                                    moka::ops::compute::Op::Put(Entry {
                                        value: Bytes::from(next.to_string()),
                                        expiry: entry.expiry,
                                    })
                                }
                                Err(err) => {
                                    outcome = Err(err);
                                    moka::ops::compute::Op::Nop
                                }
                            }
                        }
                    };
                    std::future::ready(op)
                })
                .await;
            outcome
        })
    }

    fn touch<'a>(
        &'a self,
        key: &'a str,
        expiry: Expiry,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            match self.entries.get(key).await {
                Some(entry) => {
                    self.entries
                        .insert(
                            Arc::from(key),
                            Entry {
                                value: entry.value,
                                expiry,
                            },
                        )
                        .await;
                    Ok(true)
                }
                None => Ok(false),
            }
        })
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async move {
            self.entries.invalidate_all();
            Ok(())
        })
    }
}
