//! The low-level cache API, Django's `django.core.cache` `BaseCache`, over any [`Backend`].
//!
//! A [`Cache`] turns a caller's key into `<prefix>:<version>:<key>` (Django's `make_key`), warns
//! about keys memcached would refuse (Django's `validate_key`, a warning only), resolves
//! Django's timeouts ([`Timeout`]: the cache default, no expiry, or seconds, where `0` stores
//! nothing and deletes what was there) and encodes values as JSON.
//!
//! Caches fail open: when the backend fails, the call is logged (one WARN per 10 s per cache)
//! and counted in [`CacheMetrics::errors`], and answers a miss, `false` or nothing. Only
//! [`Cache::incr`] and [`Cache::decr`] report errors, because Django's raise on a missing key.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::backend::{Backend, BackendError, Expiry};
use crate::metrics::CacheMetrics;

/// Django's `MEMCACHE_MAX_KEY_LENGTH`: longer keys get a warning.
pub const MEMCACHE_MAX_KEY_LENGTH: usize = 250;

/// Django's default `TIMEOUT`.
const DEFAULT_TIMEOUT: Duration = Duration::from_mins(5);

/// One WARN per this interval for backend failures (RELIABILITY.md §3).
const WARN_INTERVAL: Duration = Duration::from_secs(10);

/// How long a value lives, as Django's `timeout` argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Timeout {
    /// The cache's default timeout (Django's `DEFAULT_TIMEOUT`).
    #[default]
    Default,
    /// No expiry (Django's `timeout=None`).
    Never,
    /// This many seconds; `0` stores nothing and deletes any value already there.
    Seconds(u64),
}

/// An error from the cache; inspect it with the `is_*` methods.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct CacheError(Box<Repr>);

#[derive(Debug, thiserror::Error)]
enum Repr {
    #[error("key {0:?} not found")]
    KeyNotFound(String),
    #[error("value of key {0:?} is not an integer")]
    NotAnInteger(String),
    #[error("cache backend unavailable")]
    Unavailable(#[source] BackendError),
    #[error("invalid cache configuration: {0}")]
    Config(
        String,
        #[source] Option<Box<dyn std::error::Error + Send + Sync>>,
    ),
}

/// Builds a [`Cache`]; see [`Cache::builder`].
pub struct CacheBuilder {
    backend: Arc<dyn Backend>,
    key_prefix: String,
    version: u32,
    default_timeout: Duration,
    metrics: Option<Arc<CacheMetrics>>,
}

/// A cache: Django's low-level API over a backend. Cheap to clone; clones share everything.
///
/// # Examples
///
/// ```
/// # tokio_test_block_on(async {
/// use std::sync::Arc;
/// use herd_cache::{Cache, Timeout, local::LocalBackend};
///
/// let cache = Cache::builder(Arc::new(LocalBackend::new(1 << 20))).key_prefix("site").build();
/// cache.set("greeting", "hello", Timeout::Default).await;
/// assert_eq!(cache.get::<String>("greeting").await.as_deref(), Some("hello"));
/// assert_eq!(cache.make_key("greeting"), "site:1:greeting");
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone)]
pub struct Cache {
    shared: Arc<Shared>,
    version: u32,
    /// `<prefix>:<version>:`, made once rather than on every call.
    key_head: Arc<str>,
}

struct Shared {
    backend: Arc<dyn Backend>,
    key_prefix: String,
    default_timeout: Duration,
    metrics: Arc<CacheMetrics>,
    warnings: WarnLimiter,
}

/// Lets one warning through per interval and counts the ones it held back.
pub(crate) struct WarnLimiter {
    epoch: Instant,
    interval_ms: u64,
    /// Milliseconds after `epoch`, plus one, of the last warning let through; 0 = none yet.
    last_ms: AtomicU64,
    suppressed: AtomicU64,
}

// === impl Timeout ===

impl Timeout {
    /// The expiry this timeout gives, with `default` standing for [`Timeout::Default`];
    /// `None` means "do not store" (a timeout of zero).
    pub fn resolve(self, default: Duration) -> Option<Expiry> {
        let duration = match self {
            Self::Never => return Some(Expiry::Never),
            Self::Default => default,
            Self::Seconds(seconds) => Duration::from_secs(seconds),
        };
        (!duration.is_zero()).then_some(Expiry::After(duration))
    }
}

// === impl CacheError ===

impl CacheError {
    /// Returns true when `incr`/`decr` found no value under the key (Django's `ValueError`).
    pub fn is_key_not_found(&self) -> bool {
        matches!(*self.0, Repr::KeyNotFound(_))
    }

    /// Returns true when `incr`/`decr` found a value that is not an integer.
    pub fn is_not_an_integer(&self) -> bool {
        matches!(*self.0, Repr::NotAnInteger(_))
    }

    /// Returns true when the backend could not be reached or failed.
    pub fn is_unavailable(&self) -> bool {
        matches!(*self.0, Repr::Unavailable(_))
    }

    /// Returns true when a cache could not be built from its configuration.
    pub fn is_config(&self) -> bool {
        matches!(*self.0, Repr::Config(..))
    }

    /// A configuration error (a bad URL, no runtime) found while building a cache.
    pub(crate) fn config(
        reason: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self(Box::new(Repr::Config(reason.into(), source)))
    }
}

impl From<BackendError> for CacheError {
    fn from(err: BackendError) -> Self {
        Self(Box::new(match err {
            BackendError::KeyNotFound(key) => Repr::KeyNotFound(key),
            BackendError::NotAnInteger(key) => Repr::NotAnInteger(key),
            err @ BackendError::Unavailable(_) => Repr::Unavailable(err),
        }))
    }
}

// === impl CacheBuilder ===

impl CacheBuilder {
    /// The prefix of every key (Django's `KEY_PREFIX`); empty by default.
    #[must_use]
    pub fn key_prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.key_prefix);
        self
    }

    /// The version of every key (Django's `VERSION`); 1 by default.
    #[must_use]
    pub fn version(mut self, version: u32) -> Self {
        self.version = version;
        self
    }

    /// What [`Timeout::Default`] means (Django's `TIMEOUT`); 300 s by default, zero stores nothing.
    #[must_use]
    pub fn default_timeout(mut self, timeout: Duration) -> Self {
        self.default_timeout = timeout;
        self
    }

    /// Counts into `metrics` (to share them with the backend, such as
    /// [`RedisBackend::metrics`](crate::redis::RedisBackend::metrics)); fresh ones by default.
    #[must_use]
    pub fn metrics(mut self, metrics: Arc<CacheMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The cache.
    pub fn build(self) -> Cache {
        Cache {
            key_head: key_head(&self.key_prefix, self.version),
            shared: Arc::new(Shared {
                backend: self.backend,
                key_prefix: self.key_prefix,
                default_timeout: self.default_timeout,
                metrics: self.metrics.unwrap_or_default(),
                warnings: WarnLimiter::new(WARN_INTERVAL),
            }),
            version: self.version,
        }
    }
}

impl std::fmt::Debug for CacheBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheBuilder")
            .field("backend", &self.backend.name())
            .field("key_prefix", &self.key_prefix)
            .field("version", &self.version)
            .field("default_timeout", &self.default_timeout)
            .finish_non_exhaustive()
    }
}

// === impl Cache ===

impl Cache {
    /// Starts a cache over `backend`: no key prefix, version 1, a 300 s default timeout.
    pub fn builder(backend: Arc<dyn Backend>) -> CacheBuilder {
        CacheBuilder {
            backend,
            key_prefix: String::new(),
            version: 1,
            default_timeout: DEFAULT_TIMEOUT,
            metrics: None,
        }
    }

    /// The stored key for `key`: `<prefix>:<version>:<key>` (`:1:foo` with no prefix).
    pub fn make_key(&self, key: &str) -> String {
        let mut full = String::with_capacity(self.key_head.len() + key.len());
        full.push_str(&self.key_head);
        full.push_str(key);
        full
    }

    /// The same cache with keys of another version (Django's `version=` argument).
    #[must_use]
    pub fn with_version(&self, version: u32) -> Cache {
        Cache {
            shared: Arc::clone(&self.shared),
            version,
            key_head: key_head(&self.shared.key_prefix, version),
        }
    }

    /// The version of this cache's keys.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The prefix of this cache's keys.
    pub fn key_prefix(&self) -> &str {
        &self.shared.key_prefix
    }

    /// What [`Timeout::Default`] means for this cache.
    pub fn default_timeout(&self) -> Duration {
        self.shared.default_timeout
    }

    /// Whether the cache keeps nothing (the dummy backend), so that callers can skip the
    /// work of preparing what it would store.
    pub fn keeps_nothing(&self) -> bool {
        self.backend().name() == "dummy"
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.shared.backend
    }

    /// This cache's counters.
    pub fn metrics(&self) -> &CacheMetrics {
        &self.shared.metrics
    }

    /// The expiry `timeout` gives in this cache; `None` means "do not store".
    pub fn expiry(&self, timeout: Timeout) -> Option<Expiry> {
        timeout.resolve(self.shared.default_timeout)
    }

    /// The JSON value under `key`; `None` when absent, undecodable, or the backend failed.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        let bytes = self.get_bytes(key).await?;
        decode(key, &bytes)
    }

    /// The raw value under `key` (pages, fragments); `None` when absent or the backend failed.
    pub async fn get_bytes(&self, key: &str) -> Option<Bytes> {
        let full = self.make_and_validate_key(key);
        match self.shared.backend.get(&full).await {
            Ok(Some(value)) => {
                self.shared.metrics.hits.incr();
                Some(value)
            }
            Ok(None) => {
                self.shared.metrics.misses.incr();
                None
            }
            Err(err) => {
                self.failed("get", &full, &err);
                None
            }
        }
    }

    /// The raw values under `first` and `second` in one backend call (one round trip to
    /// Redis), for the page cache's speculative read. Only `first` is counted as a hit or a
    /// miss: the caller counts `second` with [`Cache::count_read`] once it knows it used it.
    /// `None` when the backend failed (logged and counted as for [`Cache::get_bytes`]).
    pub(crate) async fn get_bytes_pair(
        &self,
        first: &str,
        second: &str,
    ) -> Option<(Option<Bytes>, Option<Bytes>)> {
        let keys = [
            self.make_and_validate_key(first),
            self.make_and_validate_key(second),
        ];
        match self.shared.backend.get_many(&keys).await {
            Ok(values) => {
                let mut values = values.into_iter();
                let first = values.next().flatten();
                let second = values.next().flatten();
                self.count_read(first.is_some());
                Some((first, second))
            }
            Err(err) => {
                self.failed("get_many", &keys[0], &err);
                None
            }
        }
    }

    /// Counts a read the caller made through [`Cache::get_bytes_pair`] as a hit or a miss.
    pub(crate) fn count_read(&self, found: bool) {
        if found {
            self.shared.metrics.hits.incr();
        } else {
            self.shared.metrics.misses.incr();
        }
    }

    /// Stores `value` as JSON under `key`.
    pub async fn set<T: Serialize + ?Sized>(&self, key: &str, value: &T, timeout: Timeout) {
        if let Some(bytes) = self.encode(key, value) {
            self.set_bytes(key, bytes, timeout).await;
        }
    }

    /// Stores the raw `value` under `key`; a timeout of zero deletes the key instead.
    pub async fn set_bytes(&self, key: &str, value: Bytes, timeout: Timeout) {
        let full = self.make_and_validate_key(key);
        let Some(expiry) = self.expiry(timeout) else {
            self.delete_full(&full).await;
            return;
        };
        match self.shared.backend.set(&full, value, expiry).await {
            Ok(()) => self.shared.metrics.sets.incr(),
            Err(err) => self.failed("set", &full, &err),
        }
    }

    /// Stores `value` only if `key` holds nothing; returns whether it stored.
    ///
    /// With a timeout of zero nothing is stored and the answer is whether the key was free,
    /// as Django's Redis backend answers.
    pub async fn add<T: Serialize + ?Sized>(&self, key: &str, value: &T, timeout: Timeout) -> bool {
        let Some(bytes) = self.encode(key, value) else {
            return false;
        };
        let full = self.make_and_validate_key(key);
        let Some(expiry) = self.expiry(timeout) else {
            return match self.shared.backend.has_key(&full).await {
                Ok(present) => !present,
                Err(err) => {
                    self.failed("add", &full, &err);
                    false
                }
            };
        };
        match self.shared.backend.add(&full, bytes, expiry).await {
            Ok(stored) => {
                if stored {
                    self.shared.metrics.sets.incr();
                }
                stored
            }
            Err(err) => {
                self.failed("add", &full, &err);
                false
            }
        }
    }

    /// The JSON values under `keys` that are present, by the caller's key.
    pub async fn get_many<T: DeserializeOwned>(&self, keys: &[&str]) -> HashMap<String, T> {
        let mut found = HashMap::new();
        if keys.is_empty() {
            return found;
        }
        let full: Vec<String> = keys
            .iter()
            .map(|key| self.make_and_validate_key(key))
            .collect();
        match self.shared.backend.get_many(&full).await {
            Ok(values) => {
                for (key, value) in keys.iter().zip(values) {
                    match value {
                        Some(bytes) => {
                            self.shared.metrics.hits.incr();
                            if let Some(value) = decode(key, &bytes) {
                                found.insert((*key).to_owned(), value);
                            }
                        }
                        None => self.shared.metrics.misses.incr(),
                    }
                }
            }
            Err(err) => self.failed("get_many", &full[0], &err),
        }
        found
    }

    /// Stores every entry as JSON; a timeout of zero deletes the keys instead.
    pub async fn set_many<T: Serialize>(&self, entries: &[(&str, T)], timeout: Timeout) {
        if entries.is_empty() {
            return;
        }
        let Some(expiry) = self.expiry(timeout) else {
            let keys: Vec<&str> = entries.iter().map(|(key, _)| *key).collect();
            self.delete_many(&keys).await;
            return;
        };
        let encoded: Vec<(String, Bytes)> = entries
            .iter()
            .filter_map(|(key, value)| {
                let bytes = self.encode(key, value)?;
                Some((self.make_and_validate_key(key), bytes))
            })
            .collect();
        let Some(first) = encoded.first().map(|(key, _)| key.clone()) else {
            return;
        };
        let count = encoded.len() as u64;
        match self.shared.backend.set_many(encoded, expiry).await {
            Ok(()) => self.shared.metrics.sets.add(count),
            Err(err) => self.failed("set_many", &first, &err),
        }
    }

    /// Removes `key`; returns whether it held a value.
    pub async fn delete(&self, key: &str) -> bool {
        let full = self.make_and_validate_key(key);
        self.delete_full(&full).await
    }

    /// Removes every key in `keys`.
    pub async fn delete_many(&self, keys: &[&str]) {
        if keys.is_empty() {
            return;
        }
        let full: Vec<String> = keys
            .iter()
            .map(|key| self.make_and_validate_key(key))
            .collect();
        match self.shared.backend.delete_many(&full).await {
            Ok(()) => self.shared.metrics.deletes.add(full.len() as u64),
            Err(err) => self.failed("delete_many", &full[0], &err),
        }
    }

    /// Adds `delta` to the integer under `key`, keeping its expiry; returns the new value.
    ///
    /// # Errors
    ///
    /// [`CacheError::is_key_not_found`] when the key holds nothing (Django raises `ValueError`),
    /// [`CacheError::is_not_an_integer`] for another value, [`CacheError::is_unavailable`]
    /// when the backend failed (also counted and logged).
    pub async fn incr(&self, key: &str, delta: i64) -> Result<i64, CacheError> {
        let full = self.make_and_validate_key(key);
        self.shared.backend.incr(&full, delta).await.map_err(|err| {
            if matches!(err, BackendError::Unavailable(_)) {
                self.failed("incr", &full, &err);
            }
            CacheError::from(err)
        })
    }

    /// Subtracts `delta` from the integer under `key`; see [`Cache::incr`].
    ///
    /// # Errors
    ///
    /// As [`Cache::incr`].
    pub async fn decr(&self, key: &str, delta: i64) -> Result<i64, CacheError> {
        self.incr(key, delta.saturating_neg()).await
    }

    /// Gives `key` a new timeout; returns whether the key existed.
    ///
    /// A timeout of zero deletes the key, as Django's.
    pub async fn touch(&self, key: &str, timeout: Timeout) -> bool {
        let full = self.make_and_validate_key(key);
        let Some(expiry) = self.expiry(timeout) else {
            return self.delete_full(&full).await;
        };
        match self.shared.backend.touch(&full, expiry).await {
            Ok(existed) => existed,
            Err(err) => {
                self.failed("touch", &full, &err);
                false
            }
        }
    }

    /// Whether `key` holds a value.
    pub async fn has_key(&self, key: &str) -> bool {
        let full = self.make_and_validate_key(key);
        match self.shared.backend.has_key(&full).await {
            Ok(present) => present,
            Err(err) => {
                self.failed("has_key", &full, &err);
                false
            }
        }
    }

    /// Removes every entry of this cache (for Redis: only the keys under its prefix).
    pub async fn clear(&self) {
        if let Err(err) = self.shared.backend.clear().await {
            self.failed("clear", &self.make_key("*"), &err);
        }
    }

    /// The value under `key`, or `default()` after adding it (Django's `get_or_set` with a
    /// callable default). A concurrent writer's value wins over `default()`, as Django's re-read
    /// after `add` ensures. For single-flight computation see `get_or_set_with`.
    pub async fn get_or_set<T, F>(&self, key: &str, timeout: Timeout, default: F) -> T
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> T,
    {
        if let Some(value) = self.get(key).await {
            return value;
        }
        let value = default();
        self.add(key, &value, timeout).await;
        self.get(key).await.unwrap_or(value)
    }

    /// Moves `key`'s value from this version to `version + delta` and returns the new version
    /// (Django's `incr_version`; the moved value gets the default timeout, as in Django).
    ///
    /// # Errors
    ///
    /// [`CacheError::is_key_not_found`] when the key holds nothing in this version.
    pub async fn incr_version(&self, key: &str, delta: i32) -> Result<u32, CacheError> {
        let target = self.version.saturating_add_signed(delta);
        let Some(value) = self.get_bytes(key).await else {
            return Err(BackendError::KeyNotFound(self.make_key(key)).into());
        };
        self.with_version(target)
            .set_bytes(key, value, Timeout::Default)
            .await;
        self.delete(key).await;
        Ok(target)
    }

    /// Moves `key`'s value to `version - delta`; see [`Cache::incr_version`].
    ///
    /// # Errors
    ///
    /// As [`Cache::incr_version`].
    pub async fn decr_version(&self, key: &str, delta: i32) -> Result<u32, CacheError> {
        self.incr_version(key, delta.saturating_neg()).await
    }

    fn make_and_validate_key(&self, key: &str) -> String {
        let full = self.make_key(key);
        // Most keys are short and printable: a byte scan says so without building warnings
        // (a character below space or DEL is one byte in UTF-8, and chars never outnumber bytes).
        // Folded without stopping early, which the compiler turns into a vector loop.
        if full.len() <= MEMCACHE_MAX_KEY_LENGTH
            && full.bytes().fold(0_u8, |bad, byte| {
                bad | u8::from(byte <= b' ') | u8::from(byte == 0x7f)
            }) == 0
        {
            return full;
        }
        for warning in memcache_key_warnings(&full) {
            tracing::warn!(target: "herd_cache::key", "{warning}");
        }
        full
    }

    async fn delete_full(&self, full: &str) -> bool {
        match self.shared.backend.delete(full).await {
            Ok(existed) => {
                self.shared.metrics.deletes.incr();
                existed
            }
            Err(err) => {
                self.failed("delete", full, &err);
                false
            }
        }
    }

    fn encode<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> Option<Bytes> {
        match serde_json::to_vec(value) {
            Ok(bytes) => Some(Bytes::from(bytes)),
            Err(err) => {
                // A value JSON cannot hold is the caller's bug, not an outage: say so every time.
                tracing::warn!(key, error = %err, "cache value not stored: it cannot be encoded as JSON");
                self.shared.metrics.errors.incr();
                None
            }
        }
    }

    /// Counts a backend failure and logs it, at most one WARN per interval per cache.
    fn failed(&self, operation: &'static str, key: &str, err: &BackendError) {
        self.shared.metrics.errors.incr();
        if let Some(suppressed) = self.shared.warnings.check() {
            tracing::warn!(
                backend = self.shared.backend.name(),
                operation,
                key,
                error = %err,
                source = std::error::Error::source(err).map(tracing::field::display),
                suppressed,
                "cache backend failed; answered as a miss"
            );
        } else {
            tracing::debug!(backend = self.shared.backend.name(), operation, key, error = %err, "cache backend failed");
        }
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("backend", &self.shared.backend.name())
            .field("key_prefix", &self.shared.key_prefix)
            .field("version", &self.version)
            .field("default_timeout", &self.shared.default_timeout)
            .finish_non_exhaustive()
    }
}

// === impl WarnLimiter ===

impl WarnLimiter {
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            epoch: Instant::now(),
            interval_ms: u64::try_from(interval.as_millis()).unwrap_or(u64::MAX),
            last_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(number held back since the last one)` when a warning may be logged now.
    pub(crate) fn check(&self) -> Option<u64> {
        let now = u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        let last = self.last_ms.load(Ordering::Acquire);
        if (last == 0 || now.saturating_sub(last) >= self.interval_ms)
            && self
                .last_ms
                .compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::AcqRel));
        }
        self.suppressed.fetch_add(1, Ordering::AcqRel);
        None
    }
}

/// Django's `memcache_key_warnings`: why memcached would refuse `key` (longer than 250
/// characters, or containing a control character or a space). Herd only warns about them.
pub fn memcache_key_warnings(key: &str) -> Vec<String> {
    let mut warnings = Vec::new();
    if key.chars().count() > MEMCACHE_MAX_KEY_LENGTH {
        warnings.push(format!(
            "Cache key will cause errors if used with memcached: {key:?} (longer than {MEMCACHE_MAX_KEY_LENGTH})"
        ));
    }
    if key.chars().any(|c| c <= ' ' || c == '\x7f') {
        warnings.push(format!(
            "Cache key contains characters that will cause errors if used with memcached: {key:?}"
        ));
    }
    warnings
}

/// The start of every key of a cache: `<prefix>:<version>:` (Django's `make_key`).
fn key_head(prefix: &str, version: u32) -> Arc<str> {
    Arc::from(format!("{prefix}:{version}:"))
}

fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Option<T> {
    match serde_json::from_slice(bytes) {
        Ok(value) => Some(value),
        Err(err) => {
            tracing::debug!(key, error = %err, "cached value does not decode as the requested type; treated as a miss");
            None
        }
    }
}

#[cfg(test)]
mod tests;
