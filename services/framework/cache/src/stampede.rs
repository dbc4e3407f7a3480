//! Stampede protection for computed values (RELIABILITY.md §9).
//!
//! [`Cache::get_or_set_with`] makes concurrent misses on one key share one computation:
//! - **in a worker**, the first caller (the leader) computes while the others wait for its
//!   value (single-flight, keyed by backend and built key, the entry removed once done);
//! - **across workers**, the leader first takes `SET <key>:lock NX PX 5000` (the backend's
//!   `add`) and reads the key once more (the previous holder stores before it releases); a
//!   leader that finds the lock taken polls for the value for up to 200 ms, then computes
//!   anyway, so a crashed lock holder costs at most that much;
//! - stored timeouts get ±10 % jitter, so entries written together do not expire together.
//!
//! [`Cache::get_or_set_with_stale`] adds stale-while-revalidate: past `fresh_for` the stored
//! value is still returned at once (counted in `stale_serves`) while one background task per
//! key and worker, holding the same cross-worker lock, recomputes it.
//!
//! When the leader's computation fails, the waiters compute for themselves (the error type is
//! the caller's and cannot be shared); when the leader is cancelled, a waiter takes over.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::backend::Expiry;
use crate::cache::{Cache, Timeout};

/// How long the cross-worker lock lives if its holder never releases it.
pub const LOCK_TTL: Duration = Duration::from_secs(5);
/// How long a leader that found the lock taken waits for the holder's value.
pub const LOCK_WAIT: Duration = Duration::from_millis(200);
/// How often that wait looks for the value.
pub(crate) const LOCK_POLL: Duration = Duration::from_millis(20);
/// Stored timeouts vary by up to this fraction either way.
const JITTER: f64 = 0.1;

/// In-flight computations of this process: (backend, built key, kind) to the leader's channel.
static FLIGHTS: LazyLock<Mutex<HashMap<FlightKey, Arc<dyn Any + Send + Sync>>>> =
    LazyLock::new(Mutex::default);

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct FlightKey {
    /// The backend's address: two caches on one backend are one worker's cache.
    backend: usize,
    key: String,
    refresh: bool,
}

/// What a leader tells its waiters: `None` while computing.
pub(crate) type Outcome<T> = Option<Result<T, Failed>>;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Failed;

/// A value stored by [`Cache::get_or_set_with_stale`], with the moment it turns stale.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Stamped<T> {
    #[serde(rename = "v")]
    value: T,
    /// Milliseconds since the Unix epoch; wall-clock so that every worker agrees.
    #[serde(rename = "f")]
    fresh_until_ms: u64,
}

pub(crate) enum Role<T> {
    Leader(Leader<T>),
    Waiter(watch::Receiver<Outcome<T>>),
}

/// The caller computing a key; removes its flight when done or dropped.
pub(crate) struct Leader<T> {
    key: FlightKey,
    sender: Arc<watch::Sender<Outcome<T>>>,
}

/// The cross-worker lock on one key.
pub(crate) enum Lock {
    /// This caller holds it since then.
    Acquired(String, Instant),
    /// Another worker computes the value.
    HeldElsewhere,
    /// The backend failed: compute without it (fail open).
    Unavailable,
}

// === impl Cache ===

impl Cache {
    /// The JSON value under `key`, or the result of `compute` stored there, with concurrent
    /// misses sharing one computation (see the [module docs](self)).
    ///
    /// The stored timeout gets ±10 % jitter; a timeout of zero computes without storing.
    ///
    /// # Errors
    ///
    /// `compute`'s error, for the caller that ran it and for each waiter that then ran its own.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn load_names(year: u32) -> Result<Vec<String>, std::io::Error> { Ok(vec![]) }
    /// # async fn example(cache: herd_cache::Cache) -> Result<(), std::io::Error> {
    /// use herd_cache::Timeout;
    /// // However many requests miss at once, one per worker (one in all, with Redis) queries.
    /// let names: Vec<String> = cache
    ///     .get_or_set_with("names:2001", Timeout::Seconds(600), || load_names(2001))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_or_set_with<T, F, Fut, E>(
        &self,
        key: &str,
        timeout: Timeout,
        compute: F,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        if let Some(value) = self.get::<T>(key).await {
            return Ok(value);
        }
        let Some(expiry) = self.expiry(timeout) else {
            return compute().await;
        };
        loop {
            match self.join_flight::<T>(key, false) {
                Role::Leader(leader) => {
                    let outcome = self.lead(key, expiry, compute).await;
                    leader.finish(outcome.as_ref().map(Clone::clone).map_err(|_| Failed));
                    return outcome;
                }
                Role::Waiter(mut receiver) => {
                    let shared: Option<Option<T>> = receiver
                        .wait_for(Option::is_some)
                        .await
                        .ok()
                        .map(|outcome| {
                            outcome
                                .as_ref()
                                .and_then(|result| result.as_ref().ok())
                                .cloned()
                        });
                    match shared {
                        Some(Some(value)) => return Ok(value),
                        Some(None) => return compute().await,
                        // The leader was cancelled: someone else leads now, maybe this caller.
                        None => {}
                    }
                }
            }
        }
    }

    /// As [`Cache::get_or_set_with`], but a value older than `fresh_for` is still returned at
    /// once, for up to `stale_for` more, while one background task recomputes it.
    ///
    /// Values are stored with their freshness deadline, so `key` must only be read through
    /// this method. A failed background computation keeps the stale value (logged at debug).
    ///
    /// # Errors
    ///
    /// `compute`'s error when nothing was stored and computing failed.
    pub async fn get_or_set_with_stale<T, F, Fut, E>(
        &self,
        key: &str,
        fresh_for: Duration,
        stale_for: Duration,
        compute: F,
    ) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let lifetime = Timeout::Seconds(ceil_secs(fresh_for.saturating_add(stale_for)));
        if let Some(stamped) = self.get::<Stamped<T>>(key).await {
            if now_ms() < stamped.fresh_until_ms {
                return Ok(stamped.value);
            }
            self.metrics().stale_serves.incr();
            self.refresh_in_background(key, fresh_for, lifetime, compute);
            return Ok(stamped.value);
        }
        let stamped = self
            .get_or_set_with(key, lifetime, || async move {
                Ok(stamp(compute().await?, fresh_for))
            })
            .await?;
        Ok(stamped.value)
    }

    /// Starts the one refresher of `key` in this worker, unless one runs already.
    fn refresh_in_background<T, F, Fut, E>(
        &self,
        key: &str,
        fresh_for: Duration,
        lifetime: Timeout,
        compute: F,
    ) where
        T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: std::fmt::Display + Send + 'static,
    {
        let Role::Leader(leader) = self.join_flight::<()>(key, true) else {
            return;
        };
        let cache = self.clone();
        let key = key.to_owned();
        tokio::spawn(async move {
            let lock = cache.lock(&key).await;
            if matches!(lock, Lock::HeldElsewhere) {
                // Another worker refreshes; its write reaches this one through the cache.
                leader.finish(Ok(()));
                return;
            }
            if let Some(stamped) = cache.read_through::<Stamped<T>>(&key).await
                && now_ms() < stamped.fresh_until_ms
            {
                // The lock's previous holder refreshed it already.
                cache.unlock(lock).await;
                leader.finish(Ok(()));
                return;
            }
            match compute().await {
                Ok(value) => {
                    let stamped = stamp(value, fresh_for);
                    cache.set(&key, &stamped, jittered(&cache, lifetime)).await;
                }
                Err(err) => tracing::debug!(key, error = %err, "stale cache value not refreshed"),
            }
            cache.unlock(lock).await;
            leader.finish(Ok(()));
        });
    }

    /// The leader's work: re-check, take the cross-worker lock, compute, store.
    async fn lead<T, F, Fut, E>(&self, key: &str, expiry: Expiry, compute: F) -> Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        // A flight that just finished may have stored the value after this caller's miss.
        if let Some(value) = self.get::<T>(key).await {
            return Ok(value);
        }
        let lock = self.lock(key).await;
        if matches!(lock, Lock::Acquired(..))
            && let Some(value) = self.read_through::<T>(key).await
        {
            // The previous holder stored it just before releasing the lock to this caller.
            self.unlock(lock).await;
            return Ok(value);
        }
        if matches!(lock, Lock::HeldElsewhere) {
            let deadline = Instant::now() + LOCK_WAIT;
            while Instant::now() < deadline {
                tokio::time::sleep(LOCK_POLL).await;
                if let Some(value) = self.get::<T>(key).await {
                    return Ok(value);
                }
            }
        }
        let outcome = compute().await;
        if let Ok(value) = &outcome {
            let timeout = match expiry {
                Expiry::Never => Timeout::Never,
                Expiry::After(duration) => Timeout::Seconds(ceil_secs(duration)),
            };
            self.set(key, value, jittered(self, timeout)).await;
        }
        self.unlock(lock).await;
        outcome
    }

    /// The value under `key` as the shared store has it, past any L1: what a previous lock
    /// holder stored just before releasing may not have evicted this worker's copy yet.
    async fn read_through<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let Some(redis) = self.backend().redis() else {
            return self.get(key).await;
        };
        let bytes: Option<Vec<u8>> = redis
            .query(redis::cmd("GET").arg(self.make_key(key)))
            .await
            .ok()?;
        serde_json::from_slice(&bytes?).ok()
    }

    /// Joins the flight of `key` in this worker, leading it when there is none.
    pub(crate) fn join_flight<T: Clone + Send + Sync + 'static>(
        &self,
        key: &str,
        refresh: bool,
    ) -> Role<T> {
        let flight_key = FlightKey {
            backend: Arc::as_ptr(self.backend()).cast::<()>().addr(),
            key: self.make_key(key),
            refresh,
        };
        let mut flights = FLIGHTS.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = flights.get(&flight_key) {
            if let Some(sender) = existing.downcast_ref::<watch::Sender<Outcome<T>>>() {
                return Role::Waiter(sender.subscribe());
            }
            // The same key computed as another type: no sharing, but no interference either.
            let (sender, _) = watch::channel(None);
            return Role::Leader(Leader {
                key: flight_key,
                sender: Arc::new(sender),
            });
        }
        let (sender, _) = watch::channel(None);
        let sender = Arc::new(sender);
        flights.insert(
            flight_key.clone(),
            Arc::clone(&sender) as Arc<dyn Any + Send + Sync>,
        );
        Role::Leader(Leader {
            key: flight_key,
            sender,
        })
    }

    /// Takes `SET <key>:lock NX PX 5000` through the backend.
    pub(crate) async fn lock(&self, key: &str) -> Lock {
        let lock_key = self.lock_key(key);
        match self
            .backend()
            .add(&lock_key, Bytes::from_static(b"1"), Expiry::After(LOCK_TTL))
            .await
        {
            Ok(true) => Lock::Acquired(lock_key, Instant::now()),
            Ok(false) => Lock::HeldElsewhere,
            Err(err) => {
                tracing::debug!(key = lock_key, error = %err, "cache stampede lock unavailable; computing without it");
                Lock::Unavailable
            }
        }
    }

    /// The built key of `key`'s cross-worker lock.
    pub(crate) fn lock_key(&self, key: &str) -> String {
        format!("{}:lock", self.make_key(key))
    }

    /// Releases a lock this caller took, unless it expired meanwhile (and may be another's).
    pub(crate) async fn unlock(&self, lock: Lock) {
        if let Lock::Acquired(lock_key, taken) = lock
            && taken.elapsed() < LOCK_TTL
        {
            let _ = self.backend().delete(&lock_key).await;
        }
    }
}

// === impl Leader ===

impl<T> Leader<T> {
    /// Hands the outcome to the waiters and retires the flight.
    pub(crate) fn finish(self, outcome: Result<T, Failed>) {
        self.sender.send_replace(Some(outcome));
        // Drop removes the flight, so later callers read the cache instead of this value.
    }
}

impl<T> Drop for Leader<T> {
    fn drop(&mut self) {
        let mut flights = FLIGHTS.lock().unwrap_or_else(PoisonError::into_inner);
        let ours = Arc::as_ptr(&self.sender).cast::<()>();
        if flights
            .get(&self.key)
            .is_some_and(|entry| Arc::as_ptr(entry).cast::<()>() == ours)
        {
            flights.remove(&self.key);
        }
    }
}

/// `timeout` with ±10 % jitter, in whole seconds (at least one).
fn jittered(cache: &Cache, timeout: Timeout) -> Timeout {
    let Some(Expiry::After(duration)) = cache.expiry(timeout) else {
        return timeout;
    };
    let factor = 1.0 + rand::random_range(-JITTER..=JITTER);
    let jittered = duration.mul_f64(factor);
    let rounded = jittered
        .as_secs()
        .saturating_add(u64::from(jittered.subsec_millis() >= 500));
    Timeout::Seconds(rounded.max(1))
}

fn stamp<T>(value: T, fresh_for: Duration) -> Stamped<T> {
    let fresh_for_ms = u64::try_from(fresh_for.as_millis()).unwrap_or(u64::MAX);
    Stamped {
        value,
        fresh_until_ms: now_ms().saturating_add(fresh_for_ms),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| {
            u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
        })
}

/// Whole seconds, rounded up so that a sub-second remainder is not lost.
fn ceil_secs(duration: Duration) -> u64 {
    duration
        .as_secs()
        .saturating_add(u64::from(duration.subsec_nanos() > 0))
}

#[cfg(test)]
mod tests;
