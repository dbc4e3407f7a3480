//! The Redis backend: one shared `ConnectionManager`, bounded calls and a circuit breaker.
//!
//! Every call is bounded (RELIABILITY.md §1 and §3): the connection manager answers within the
//! response timeout (200 ms) and connects within 500 ms with two retries, and each call as a
//! whole, waiting for a connection included, gives up after the response timeout. The
//! connection is made lazily (a background PING starts it), so a worker starts while Redis is
//! down, and the manager reconnects by itself when Redis returns.
//!
//! After five failures in a row the breaker opens: for five seconds every call fails at once
//! without touching Redis, and the manager is replaced by a fresh one, so the first call after
//! that opens a new connection instead of waiting on a dead or hung one. One success closes it.
//!
//! Multi-key operations take one round trip: `MGET`, `MSET` or a pipeline of `SET … PX`, and
//! one `DEL`. `add` is `SET NX`; `incr` is one script (`EXISTS` then `INCRBY`, which keeps the
//! TTL); `touch` is `PEXPIRE` or `PERSIST`; `clear` walks the cache's own prefix with `SCAN`
//! and `UNLINK`s what it finds. It never flushes the database, which other caches, sessions and
//! other tenants share.

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, ErrorKind, FromRedisValue, RedisError, RedisResult, ServerErrorKind};

use crate::backend::{Backend, BackendError, BoxFuture, Expiry};
use crate::cache::{CacheError, WarnLimiter};
use crate::metrics::CacheMetrics;

/// Redis response timeout (RELIABILITY.md §1; redis-rs defaults to 500 ms).
pub const RESPONSE_TIMEOUT: Duration = Duration::from_millis(200);
/// Redis connection timeout (RELIABILITY.md §1; redis-rs defaults to 1 s).
pub const CONNECTION_TIMEOUT: Duration = Duration::from_millis(500);
/// Failures in a row that open the breaker (RELIABILITY.md §3).
pub const BREAKER_THRESHOLD: u32 = 5;
/// How long an open breaker skips Redis (RELIABILITY.md §3).
pub const BREAKER_COOLDOWN: Duration = Duration::from_secs(5);

/// Connection attempts after the first one, per connect (redis-rs defaults to 6).
const CONNECTION_RETRIES: usize = 2;
/// Keys asked for per `SCAN` step of `clear`.
const SCAN_COUNT: usize = 1000;
/// One WARN per this interval (RELIABILITY.md §3).
const WARN_INTERVAL: Duration = Duration::from_secs(10);

/// `incr` without creating the key: Django raises on a missing key, and `INCRBY` keeps the TTL.
const INCR_SCRIPT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return false
end
return redis.call('INCRBY', KEYS[1], ARGV[1])
";

/// A cache backend on Redis, shared by every worker. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct RedisBackend {
    inner: Arc<Inner>,
}

/// Builds a [`RedisBackend`]; see [`RedisBackend::builder`].
#[derive(Debug)]
pub struct RedisBackendBuilder {
    url: String,
    key_prefix: String,
    response_timeout: Duration,
    connection_timeout: Duration,
    breaker_threshold: u32,
    breaker_cooldown: Duration,
    metrics: Option<Arc<CacheMetrics>>,
}

struct Inner {
    client: Client,
    config: ConnectionManagerConfig,
    manager: RwLock<ConnectionManager>,
    key_prefix: String,
    operation_timeout: Duration,
    breaker: Breaker,
    metrics: Arc<CacheMetrics>,
    warnings: WarnLimiter,
    incr: redis::Script,
}

/// Counts failures in a row and skips Redis for a while after too many.
struct Breaker {
    epoch: Instant,
    threshold: u32,
    cooldown_ms: u64,
    failures: AtomicU32,
    /// Milliseconds after `epoch` until which calls are skipped; 0 = closed.
    open_until_ms: AtomicU64,
}

/// Why a call did not reach Redis or got no answer.
#[derive(Debug, thiserror::Error)]
enum Unreachable {
    #[error("Redis skipped: circuit breaker open after {0} failures in a row")]
    BreakerOpen(u32),
    #[error("Redis did not answer within {0:?}")]
    TimedOut(Duration),
    #[error("Redis failed")]
    Failed(#[source] RedisError),
}

// === impl RedisBackendBuilder ===

impl RedisBackendBuilder {
    /// The cache's key prefix: [`Backend::clear`] deletes only keys starting `<prefix>:`.
    /// Give the same prefix as the [`Cache`](crate::Cache) over this backend.
    #[must_use]
    pub fn key_prefix(mut self, prefix: &str) -> Self {
        prefix.clone_into(&mut self.key_prefix);
        self
    }

    /// How long Redis may take to answer, and a whole call to finish; 200 ms by default.
    #[must_use]
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How long one connection attempt may take; 500 ms by default.
    #[must_use]
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// Opens the breaker after `threshold` failures in a row, for `cooldown`; 5 and 5 s by default.
    #[must_use]
    pub fn breaker(mut self, threshold: u32, cooldown: Duration) -> Self {
        self.breaker_threshold = threshold.max(1);
        self.breaker_cooldown = cooldown;
        self
    }

    /// Records latency and breaker skips into `metrics` (pass the cache's); fresh ones by default.
    #[must_use]
    pub fn metrics(mut self, metrics: Arc<CacheMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The backend, without waiting for Redis: a background task starts the connection.
    ///
    /// # Errors
    ///
    /// [`CacheError::is_config`] when the URL is not a Redis URL or no tokio runtime is running.
    pub fn build(self) -> Result<RedisBackend, CacheError> {
        let backend = self.assemble()?;
        let warm = backend.clone();
        tokio::spawn(async move { warm.warm_up().await });
        Ok(backend)
    }

    fn assemble(self) -> Result<RedisBackend, CacheError> {
        let client = Client::open(self.url.as_str()).map_err(|err| {
            CacheError::config(
                format!("HERD_REDIS_URL is not a Redis URL: {}", self.url),
                Some(err.into()),
            )
        })?;
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(CacheError::config(
                "the Redis cache backend needs a running tokio runtime",
                None,
            ));
        }
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(self.response_timeout))
            .set_connection_timeout(Some(self.connection_timeout))
            .set_number_of_retries(CONNECTION_RETRIES)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(self.connection_timeout);
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())
            .map_err(|err| {
                CacheError::config("Redis connection settings refused", Some(err.into()))
            })?;
        let backend = RedisBackend {
            inner: Arc::new(Inner {
                client,
                config,
                manager: RwLock::new(manager),
                key_prefix: self.key_prefix,
                operation_timeout: self.response_timeout,
                breaker: Breaker::new(self.breaker_threshold, self.breaker_cooldown),
                metrics: self.metrics.unwrap_or_default(),
                warnings: WarnLimiter::new(WARN_INTERVAL),
                incr: redis::Script::new(INCR_SCRIPT),
            }),
        };
        Ok(backend)
    }
}

// === impl RedisBackend ===

impl RedisBackend {
    /// Starts a backend for the Redis at `url`; see [`RedisBackendBuilder`] for the defaults.
    pub fn builder(url: &str) -> RedisBackendBuilder {
        RedisBackendBuilder {
            url: url.to_owned(),
            key_prefix: String::new(),
            response_timeout: RESPONSE_TIMEOUT,
            connection_timeout: CONNECTION_TIMEOUT,
            breaker_threshold: BREAKER_THRESHOLD,
            breaker_cooldown: BREAKER_COOLDOWN,
            metrics: None,
        }
    }

    /// A backend for the Redis at `url` whose `clear` deletes only `<key_prefix>:*`, with the
    /// default timeouts and breaker, connected if Redis answers within one call timeout.
    ///
    /// A Redis that is down or hung does not fail this: the backend then answers misses and
    /// connects by itself once Redis is back.
    ///
    /// # Errors
    ///
    /// As [`RedisBackendBuilder::build`].
    pub async fn connect(url: &str, key_prefix: &str) -> Result<Self, CacheError> {
        let backend = Self::builder(url).key_prefix(key_prefix).assemble()?;
        backend.warm_up().await;
        Ok(backend)
    }

    /// Opens the connection now rather than on the first request.
    async fn warm_up(&self) {
        if let Err(err) = self.query::<String>(&redis::cmd("PING")).await {
            tracing::debug!(error = %err, source = std::error::Error::source(&err).map(tracing::field::display), "Redis not reachable yet; the cache answers misses until it is");
        }
    }

    /// The key prefix `clear` is limited to.
    pub fn key_prefix(&self) -> &str {
        &self.inner.key_prefix
    }

    /// The counters this backend records Redis latency and breaker skips into.
    pub fn metrics(&self) -> &Arc<CacheMetrics> {
        &self.inner.metrics
    }

    /// The Redis client, for connections of another kind (pub/sub).
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Whether Redis answered the last call (false while the breaker is open and until a call
    /// succeeds after it); the `herd_redis_up` gauge.
    pub fn is_up(&self) -> bool {
        self.inner.breaker.is_closed()
    }

    /// Runs one command through the breaker, the call timeout and the metrics.
    ///
    /// # Errors
    ///
    /// [`BackendError::Unavailable`] when the breaker is open, Redis did not answer in time, or
    /// it answered with an error.
    pub async fn query<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, BackendError> {
        self.run(|mut conn| async move { cmd.query_async(&mut conn).await })
            .await?
            .map_err(unavailable)
    }

    /// Runs a pipeline in one round trip, as [`RedisBackend::query`].
    ///
    /// # Errors
    ///
    /// As [`RedisBackend::query`].
    pub async fn query_pipeline<T: FromRedisValue>(
        &self,
        pipeline: &redis::Pipeline,
    ) -> Result<T, BackendError> {
        self.run(|mut conn| async move { pipeline.query_async(&mut conn).await })
            .await?
            .map_err(unavailable)
    }

    /// Runs `call` unless the breaker is open, bounded by the call timeout. The outer error
    /// means Redis was unreachable (and counts toward the breaker); the inner one is an error
    /// Redis answered with, which proves it reachable.
    async fn run<T, F, Fut>(&self, call: F) -> Result<RedisResult<T>, BackendError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let inner = &self.inner;
        if let Some(failures) = inner.breaker.skip() {
            inner.metrics.redis_skipped.incr();
            return Err(BackendError::Unavailable(Box::new(
                Unreachable::BreakerOpen(failures),
            )));
        }
        let conn = inner
            .manager
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let started = Instant::now();
        let outcome = tokio::time::timeout(inner.operation_timeout, call(conn)).await;
        inner.metrics.record_redis_latency(started.elapsed());
        let failure = match outcome {
            Ok(Ok(value)) => {
                inner.breaker.succeeded();
                return Ok(Ok(value));
            }
            Ok(Err(err)) if !is_unreachable(&err) => {
                inner.breaker.succeeded();
                return Ok(Err(err));
            }
            Ok(Err(err)) => Unreachable::Failed(err),
            Err(_elapsed) => Unreachable::TimedOut(inner.operation_timeout),
        };
        if inner.breaker.failed() {
            self.reset_connection();
            if let Some(suppressed) = inner.warnings.check() {
                tracing::warn!(
                    error = %failure,
                    cooldown = ?Duration::from_millis(inner.breaker.cooldown_ms),
                    suppressed,
                    "Redis circuit breaker opened; skipping Redis"
                );
            }
        }
        Err(BackendError::Unavailable(Box::new(failure)))
    }

    /// Replaces the connection manager so that the next call connects afresh rather than
    /// waiting on a connection that may be dead or hung.
    fn reset_connection(&self) {
        let inner = &self.inner;
        match ConnectionManager::new_lazy_with_config(inner.client.clone(), inner.config.clone()) {
            Ok(fresh) => {
                let mut manager = inner
                    .manager
                    .write()
                    .unwrap_or_else(PoisonError::into_inner);
                *manager = fresh;
            }
            Err(err) => {
                tracing::debug!(error = %err, "could not replace the Redis connection manager");
            }
        }
    }

    /// The `SCAN MATCH` pattern of this cache's keys, with glob characters escaped.
    fn clear_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.inner.key_prefix.len() + 2);
        for c in self.inner.key_prefix.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^' | '-') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push_str(":*");
        pattern
    }
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("key_prefix", &self.inner.key_prefix)
            .field("up", &self.is_up())
            .finish_non_exhaustive()
    }
}

impl Backend for RedisBackend {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Bytes>, BackendError>> {
        Box::pin(async move { self.query(redis::cmd("GET").arg(key)).await })
    }

    fn get_many<'a>(
        &'a self,
        keys: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<Option<Bytes>>, BackendError>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(Vec::new());
            }
            self.query(redis::cmd("MGET").arg(keys)).await
        })
    }

    fn set<'a>(
        &'a self,
        key: &'a str,
        value: Bytes,
        expiry: Expiry,
    ) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(key).arg(value.as_ref());
            with_expiry(&mut cmd, expiry);
            self.query(&cmd).await
        })
    }

    fn set_many(
        &self,
        entries: Vec<(String, Bytes)>,
        expiry: Expiry,
    ) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async move {
            if entries.is_empty() {
                return Ok(());
            }
            match expiry {
                Expiry::Never => {
                    let mut cmd = redis::cmd("MSET");
                    for (key, value) in &entries {
                        cmd.arg(key).arg(value.as_ref());
                    }
                    self.query(&cmd).await
                }
                Expiry::After(_) => {
                    let mut pipeline = redis::pipe();
                    for (key, value) in &entries {
                        let mut cmd = redis::cmd("SET");
                        cmd.arg(key).arg(value.as_ref());
                        with_expiry(&mut cmd, expiry);
                        pipeline.add_command(cmd).ignore();
                    }
                    self.query_pipeline(&pipeline).await
                }
            }
        })
    }

    fn add<'a>(
        &'a self,
        key: &'a str,
        value: Bytes,
        expiry: Expiry,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(key).arg(value.as_ref()).arg("NX");
            with_expiry(&mut cmd, expiry);
            let stored: Option<String> = self.query(&cmd).await?;
            Ok(stored.is_some())
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            let removed: u64 = self.query(redis::cmd("DEL").arg(key)).await?;
            Ok(removed > 0)
        })
    }

    fn delete_many<'a>(&'a self, keys: &'a [String]) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            if keys.is_empty() {
                return Ok(());
            }
            let _removed: u64 = self.query(redis::cmd("DEL").arg(keys)).await?;
            Ok(())
        })
    }

    fn incr<'a>(&'a self, key: &'a str, delta: i64) -> BoxFuture<'a, Result<i64, BackendError>> {
        Box::pin(async move {
            let script = &self.inner.incr;
            let answer: RedisResult<Option<i64>> =
                self.run(|mut conn| async move {
                    script.key(key).arg(delta).invoke_async(&mut conn).await
                })
                .await?;
            match answer {
                Ok(Some(value)) => Ok(value),
                Ok(None) => Err(BackendError::KeyNotFound(key.to_owned())),
                // "value is not an integer or out of range", or the increment would overflow.
                Err(err)
                    if matches!(
                        err.kind(),
                        ErrorKind::Server(ServerErrorKind::ResponseError)
                    ) =>
                {
                    Err(BackendError::NotAnInteger(key.to_owned()))
                }
                Err(err) => Err(unavailable(err)),
            }
        })
    }

    fn touch<'a>(
        &'a self,
        key: &'a str,
        expiry: Expiry,
    ) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            match expiry {
                Expiry::After(duration) => {
                    let existed: bool = self
                        .query(redis::cmd("PEXPIRE").arg(key).arg(millis(duration)))
                        .await?;
                    Ok(existed)
                }
                Expiry::Never => {
                    // PERSIST answers 0 for a key without a TTL too, so ask EXISTS in the same step.
                    let mut pipeline = redis::pipe();
                    pipeline
                        .atomic()
                        .cmd("EXISTS")
                        .arg(key)
                        .cmd("PERSIST")
                        .arg(key)
                        .ignore();
                    let (existed,): (bool,) = self.query_pipeline(&pipeline).await?;
                    Ok(existed)
                }
            }
        })
    }

    fn has_key<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move { self.query(redis::cmd("EXISTS").arg(key)).await })
    }

    fn redis(&self) -> Option<&RedisBackend> {
        Some(self)
    }

    fn clear(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async move {
            let pattern = self.clear_pattern();
            let mut cursor: u64 = 0;
            loop {
                let (next, keys): (u64, Vec<Vec<u8>>) = self
                    .query(
                        redis::cmd("SCAN")
                            .arg(cursor)
                            .arg("MATCH")
                            .arg(&pattern)
                            .arg("COUNT")
                            .arg(SCAN_COUNT),
                    )
                    .await?;
                if !keys.is_empty() {
                    let _removed: u64 = self.query(redis::cmd("UNLINK").arg(keys)).await?;
                }
                if next == 0 {
                    return Ok(());
                }
                cursor = next;
            }
        })
    }
}

// === impl Breaker ===

impl Breaker {
    fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            epoch: Instant::now(),
            threshold,
            cooldown_ms: u64::try_from(cooldown.as_millis()).unwrap_or(u64::MAX),
            failures: AtomicU32::new(0),
            open_until_ms: AtomicU64::new(0),
        }
    }

    /// Milliseconds since `epoch`, plus one, so that 0 can mean "closed".
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .saturating_add(1)
    }

    /// `Some(failures in a row)` when the call must be skipped. Once the cooldown is over,
    /// calls go through again; the next failure reopens the breaker, a success closes it.
    fn skip(&self) -> Option<u32> {
        let until = self.open_until_ms.load(Ordering::Acquire);
        (until != 0 && self.now_ms() < until).then(|| self.failures.load(Ordering::Acquire))
    }

    fn succeeded(&self) {
        self.failures.store(0, Ordering::Release);
        self.open_until_ms.store(0, Ordering::Release);
    }

    /// Counts a failure; true when this one opened the breaker.
    fn failed(&self) -> bool {
        let failures = self
            .failures
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        if failures < self.threshold {
            return false;
        }
        let now = self.now_ms();
        let until = self.open_until_ms.load(Ordering::Acquire);
        if until > now {
            // Already open: calls that were in flight when it opened are failing too.
            return false;
        }
        let reopen = now.saturating_add(self.cooldown_ms);
        self.open_until_ms
            .compare_exchange(until, reopen, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn is_closed(&self) -> bool {
        self.open_until_ms.load(Ordering::Acquire) == 0
    }
}

/// Errors that say nothing reached Redis or no answer came back (as opposed to Redis answering
/// with an error, which shows it is up).
fn is_unreachable(err: &RedisError) -> bool {
    err.is_io_error()
        || err.is_timeout()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_unrecoverable_error()
        || matches!(
            err.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::ReadOnly
            )
        )
}

fn unavailable(err: RedisError) -> BackendError {
    BackendError::Unavailable(Box::new(err))
}

fn with_expiry(cmd: &mut redis::Cmd, expiry: Expiry) {
    if let Expiry::After(duration) = expiry {
        cmd.arg("PX").arg(millis(duration));
    }
}

/// Whole milliseconds, at least one (`PX 0` is an error and zero means "do not store" above).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breaker_opens_after_the_threshold_and_closes_on_success() {
        let breaker = Breaker::new(3, Duration::from_mins(1));
        assert!(!breaker.failed());
        assert!(!breaker.failed());
        assert!(breaker.skip().is_none() && breaker.is_closed());
        assert!(breaker.failed(), "the third failure opens it");
        assert_eq!(breaker.skip(), Some(3));
        assert!(!breaker.is_closed());
        assert!(!breaker.failed(), "already open");
        breaker.succeeded();
        assert!(breaker.skip().is_none() && breaker.is_closed());
    }

    #[test]
    fn breaker_lets_calls_through_after_the_cooldown_and_reopens_on_failure() {
        let breaker = Breaker::new(1, Duration::ZERO);
        assert!(breaker.failed());
        assert!(breaker.skip().is_none(), "a zero cooldown is already over");
        assert!(!breaker.is_closed(), "still down until a call succeeds");
        assert!(breaker.failed(), "a failure after the cooldown reopens it");
    }

    #[test]
    fn millis_round_up_to_one() {
        assert_eq!(millis(Duration::from_micros(10)), 1);
        assert_eq!(millis(Duration::from_secs(2)), 2000);
    }
}
