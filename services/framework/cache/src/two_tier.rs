//! The default backend: a moka L1 in this worker in front of Redis (L2), kept coherent across
//! workers by Redis pub/sub.
//!
//! Reads try L1, then Redis, and keep what Redis returned in L1. Writes and deletes go to
//! Redis first, then publish the keys on `herd:invalidate:<prefix>`; every other instance (in
//! any worker, or in this process) evicts them from its L1 when the message arrives. Messages
//! carry the writer's origin id, so the writer keeps the fresh copy it just stored.
//!
//! L1 entries live at most [`L1_MAX_TTL`] (5 s), the backstop for anything pub/sub missed.
//! Whenever the subscription is established, the whole L1 is flushed, because messages
//! published while there was none are lost (RELIABILITY.md §3; re-establishments are counted
//! as `resyncs`). Fills from Redis and a writer's own copy are guarded by per-key epochs
//! (`invalidation`), so an invalidation racing a read or a write never leaves a stale entry.
//!
//! Redis being down never makes a call wait beyond the Redis timeouts: L1 keeps
//! serving and storing (its 5 s cap bounds the divergence), L2 errors are returned for the
//! [`Cache`](crate::Cache) to count and treat as misses, and both the data path and the
//! subscription recover by themselves. An entry filled from Redis may outlive its Redis expiry
//! in L1 by up to the cap, since Redis does not return the remaining TTL with the value.

mod invalidation;
mod metrics;
mod subscriber;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use redis::ProtocolVersion;
use tokio::sync::watch;
use tokio::task::AbortHandle;

use self::invalidation::{Evict, Invalidation, Ticket};
use self::subscriber::Shared;
use crate::backend::{Backend, BackendError, BoxFuture, Expiry};
use crate::cache::CacheError;
use crate::local::LocalBackend;
use crate::redis::RedisBackend;

pub use self::metrics::TwoTierSnapshot;

/// The longest an entry stays in L1, whatever its timeout.
pub const L1_MAX_TTL: Duration = Duration::from_secs(5);

/// A moka L1 in front of a Redis L2, with pub/sub invalidation between instances.
///
/// Cheap to clone; clones share both tiers. The subscription stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct TwoTierBackend {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    l2: RedisBackend,
    subscriber: AbortHandle,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.subscriber.abort();
    }
}

// === impl TwoTierBackend ===

impl TwoTierBackend {
    /// An L1 of about `l1_max_bytes` in front of Redis at `redis_url`, invalidating on the
    /// channel `herd:invalidate:<key_prefix>`; `key_prefix` is the cache's key prefix.
    ///
    /// Neither fails nor waits longer than one Redis call timeout when Redis is down: L2 and
    /// the subscription connect in the background, and L1 works meanwhile. Must be called
    /// inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`CacheError::is_config`] when `redis_url` is not a Redis URL.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), herd_cache::CacheError> {
    /// use std::sync::Arc;
    /// use herd_cache::{Cache, two_tier::TwoTierBackend};
    ///
    /// let backend = TwoTierBackend::connect("redis://127.0.0.1:6379/0", "site", 64 << 20).await?;
    /// let cache = Cache::builder(Arc::new(backend)).key_prefix("site").build();
    /// # Ok(()) }
    /// ```
    pub async fn connect(
        redis_url: &str,
        key_prefix: &str,
        l1_max_bytes: u64,
    ) -> Result<Self, CacheError> {
        let l2 = RedisBackend::connect(redis_url, key_prefix).await?;
        Self::new(l2, l1_max_bytes)
    }

    /// An L1 of about `l1_max_bytes` in front of `l2`, invalidating on the channel
    /// `herd:invalidate:<l2's key prefix>` of the same Redis. Returns at once.
    ///
    /// # Errors
    ///
    /// [`CacheError::is_config`] when no tokio runtime is running.
    pub fn new(l2: RedisBackend, l1_max_bytes: u64) -> Result<Self, CacheError> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(CacheError::config(
                "the two-tier cache backend needs a running tokio runtime",
                None,
            ));
        }
        // Pub/sub messages arrive as RESP3 pushes on a connection that also answers commands
        // (`CLIENT ID`, health `PING`), which RESP2 does not allow once subscribed.
        let info = l2.client().get_connection_info().clone();
        let resp3 = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let subscriber_client =
            redis::Client::open(info.set_redis_settings(resp3)).map_err(|err| {
                CacheError::config("Redis connection settings refused", Some(err.into()))
            })?;

        let origin = format!(
            "{:016x}{:016x}",
            rand::random::<u64>(),
            rand::random::<u64>()
        );
        let channel = format!("herd:invalidate:{}", l2.key_prefix());
        let shared = Arc::new(Shared::new(
            LocalBackend::new(l1_max_bytes),
            origin,
            channel,
        ));
        let subscriber =
            tokio::spawn(subscriber::run(Arc::clone(&shared), subscriber_client)).abort_handle();
        Ok(Self {
            inner: Arc::new(Inner {
                shared,
                l2,
                subscriber,
            }),
        })
    }

    /// The Redis tier.
    pub fn l2(&self) -> &RedisBackend {
        &self.inner.l2
    }

    /// The counters, with L1's current size.
    pub fn metrics(&self) -> TwoTierSnapshot {
        let l1 = &self.inner.shared.l1;
        self.inner
            .shared
            .metrics
            .snapshot(l1.entry_count(), l1.weighted_size())
    }

    /// The L1 tier, for exact sizes in tests ([`LocalBackend::run_pending_tasks`]).
    pub fn l1(&self) -> &LocalBackend {
        &self.inner.shared.l1
    }

    /// The `CLIENT ID` of the subscriber connection while subscribed (for diagnostics, and for
    /// tests that kill exactly this connection).
    pub fn subscriber_client_id(&self) -> Option<i64> {
        self.inner.shared.client_id()
    }

    /// Counts the times the subscription has been established (0 until the first); wait on it
    /// to know that invalidations are being received.
    pub fn subscriptions(&self) -> watch::Receiver<u64> {
        self.inner.shared.subscriptions()
    }

    /// Stores `value` in L1 unless `key` was invalidated since `ticket` was taken.
    async fn fill(&self, key: &str, value: Bytes, expiry: Expiry, ticket: Ticket) {
        let shared = &self.inner.shared;
        if !shared.epochs.is_current(ticket) {
            return;
        }
        let _ = shared.l1.set(key, value, l1_expiry(expiry)).await;
        // An invalidation may have landed between the check and the insert; it bumped the
        // epoch before evicting, so either its eviction follows the insert or this sees it.
        if !shared.epochs.is_current(ticket) {
            let _ = shared.l1.delete(key).await;
        }
    }

    /// Keeps the value this instance just wrote (with `ticket` taken before writing) in L1.
    ///
    /// Reads of this instance that started before the write finished may be about to fill the
    /// old value, so the key's epoch is advanced first, outdating them. If an invalidation
    /// arrived meanwhile, another write may have followed this one: then L1 just lets go.
    async fn keep_written(&self, key: &str, value: Bytes, expiry: Expiry, ticket: Ticket) {
        let shared = &self.inner.shared;
        match shared.epochs.advance(ticket) {
            Some(advanced) => self.fill(key, value, expiry, advanced).await,
            None => shared.evict(key).await,
        }
    }

    /// Tells every other instance to evict; failures leave them stale up to [`L1_MAX_TTL`].
    async fn publish(&self, evict: Evict) {
        let shared = &self.inner.shared;
        let payload = Invalidation {
            origin: shared.origin.clone(),
            evict,
        }
        .encode();
        let published: Result<i64, BackendError> = self
            .inner
            .l2
            .query(redis::cmd("PUBLISH").arg(&shared.channel).arg(payload))
            .await;
        match published {
            Ok(_) => shared.metrics.published(),
            Err(err) => {
                shared.metrics.publish_error();
                tracing::debug!(channel = %shared.channel, error = %err, "cache invalidation not published");
            }
        }
    }
}

impl std::fmt::Debug for TwoTierBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoTierBackend")
            .field("channel", &self.inner.shared.channel)
            .field("l1", &self.inner.shared.l1)
            .finish_non_exhaustive()
    }
}

impl Backend for TwoTierBackend {
    fn name(&self) -> &'static str {
        "two-tier"
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BackendError>> {
        Box::pin(async move {
            let shared = &self.inner.shared;
            if let Some(value) = shared.l1.get(key).await? {
                shared.metrics.l1_hit();
                return Ok(Some(value));
            }
            let ticket = shared.epochs.ticket(key);
            let value = self.inner.l2.get(key).await?;
            match &value {
                Some(value) => {
                    shared.metrics.l2_hit();
                    self.fill(key, value.clone(), Expiry::Never, ticket).await;
                }
                None => shared.metrics.miss(),
            }
            Ok(value)
        })
    }

    fn get_many<'a>(
        &'a self,
        keys: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Option<Bytes>>, BackendError>> {
        Box::pin(async move {
            let shared = &self.inner.shared;
            let mut values = shared.l1.get_many(keys).await?;
            let missing: Vec<usize> = (0..keys.len()).filter(|&i| values[i].is_none()).collect();
            let hits = keys.len() - missing.len();
            for _ in 0..hits {
                shared.metrics.l1_hit();
            }
            if missing.is_empty() {
                return Ok(values);
            }
            let missing_keys: Vec<String> = missing.iter().map(|&i| keys[i].clone()).collect();
            let tickets: Vec<Ticket> = missing_keys
                .iter()
                .map(|key| shared.epochs.ticket(key))
                .collect();
            let fetched = self.inner.l2.get_many(&missing_keys).await?;
            for ((index, ticket), value) in missing.into_iter().zip(tickets).zip(fetched) {
                match &value {
                    Some(value) => {
                        shared.metrics.l2_hit();
                        self.fill(&keys[index], value.clone(), Expiry::Never, ticket)
                            .await;
                    }
                    None => shared.metrics.miss(),
                }
                values[index] = value;
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
            let ticket = self.inner.shared.epochs.ticket(key);
            let stored = self.inner.l2.set(key, value.clone(), expiry).await;
            // Kept even when Redis failed: L1 goes on serving this worker through an outage.
            self.keep_written(key, value, expiry, ticket).await;
            if stored.is_ok() {
                self.publish(Evict::Keys(vec![key.to_owned()])).await;
            }
            stored
        })
    }

    fn set_many(
        &self,
        entries: Vec<(String, Bytes)>,
        expiry: Expiry,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async move {
            let epochs = &self.inner.shared.epochs;
            let tickets: Vec<Ticket> = entries.iter().map(|(key, _)| epochs.ticket(key)).collect();
            let stored = self.inner.l2.set_many(entries.clone(), expiry).await;
            let mut keys = Vec::with_capacity(entries.len());
            for ((key, value), ticket) in entries.into_iter().zip(tickets) {
                self.keep_written(&key, value, expiry, ticket).await;
                keys.push(key);
            }
            if stored.is_ok() {
                self.publish(Evict::Keys(keys)).await;
            }
            stored
        })
    }

    fn add<'a>(
        &'a self,
        key: &'a str,
        value: Bytes,
        expiry: Expiry,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            let ticket = self.inner.shared.epochs.ticket(key);
            let added = self.inner.l2.add(key, value.clone(), expiry).await?;
            if added {
                self.keep_written(key, value, expiry, ticket).await;
                // Others may hold a copy that expired in Redis but not yet in their L1.
                self.publish(Evict::Keys(vec![key.to_owned()])).await;
            }
            Ok(added)
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            let deleted = self.inner.l2.delete(key).await;
            // After Redis, so that no read of this instance that started earlier refills it.
            self.inner.shared.evict(key).await;
            let deleted = deleted?;
            self.publish(Evict::Keys(vec![key.to_owned()])).await;
            Ok(deleted)
        })
    }

    fn delete_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let deleted = self.inner.l2.delete_many(keys).await;
            for key in keys {
                self.inner.shared.evict(key).await;
            }
            deleted?;
            self.publish(Evict::Keys(keys.to_vec())).await;
            Ok(())
        })
    }

    fn incr<'a>(&'a self, key: &'a str, delta: i64) -> BoxFuture<'a, Result<i64, BackendError>> {
        Box::pin(async move {
            let value = self.inner.l2.incr(key, delta).await?;
            // The new value's expiry is Redis's to know; the next read fetches it.
            self.inner.shared.evict(key).await;
            self.publish(Evict::Keys(vec![key.to_owned()])).await;
            Ok(value)
        })
    }

    fn touch<'a>(
        &'a self,
        key: &'a str,
        expiry: Expiry,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            let touched = self.inner.l2.touch(key, expiry).await?;
            if touched {
                // A shorter expiry must reach copies that would otherwise live on in L1.
                self.inner.shared.evict(key).await;
                self.publish(Evict::Keys(vec![key.to_owned()])).await;
            }
            Ok(touched)
        })
    }

    fn has_key<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            if self.inner.shared.l1.get(key).await?.is_some() {
                return Ok(true);
            }
            self.inner.l2.has_key(key).await
        })
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async move {
            let cleared = self.inner.l2.clear().await;
            self.inner.shared.evict_all();
            cleared?;
            self.publish(Evict::All).await;
            Ok(())
        })
    }

    fn redis(&self) -> Option<&RedisBackend> {
        Some(&self.inner.l2)
    }
}

/// L1's expiry for an entry that lives `expiry` in Redis.
fn l1_expiry(expiry: Expiry) -> Expiry {
    match expiry {
        Expiry::Never => Expiry::After(L1_MAX_TTL),
        Expiry::After(duration) => Expiry::After(duration.min(L1_MAX_TTL)),
    }
}
