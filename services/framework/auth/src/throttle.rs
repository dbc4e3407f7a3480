//! Login throttling, which Django lacks: failures counted per account and per client IP.
//!
//! Counters live in Redis (`INCR` + `EXPIRE` on the first failure of a window), so every worker
//! sees the same counts; when Redis is unreachable each worker counts on its own (moka, same
//! limits), so an outage never switches throttling off. The check runs before any hashing.

use std::sync::Arc;
use std::time::Duration;

use herd_cache::RedisBackend;
use moka::sync::Cache;

/// One limit: at most `max_failures` in `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// Failures allowed in a window.
    pub max_failures: u64,
    /// The window.
    pub window: Duration,
}

/// The failures a login may have had before it is refused (RELIABILITY.md §7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Per username: 5 in 15 minutes.
    pub per_account: Limit,
    /// Per client IP: 20 in 5 minutes.
    pub per_ip: Limit,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            per_account: Limit {
                max_failures: 5,
                window: Duration::from_mins(15),
            },
            per_ip: Limit {
                max_failures: 20,
                window: Duration::from_mins(5),
            },
        }
    }
}

/// Counts login failures; cheap to clone.
#[derive(Clone)]
pub struct LoginThrottle {
    inner: Arc<Inner>,
}

struct Inner {
    redis: RedisBackend,
    prefix: String,
    limits: Limits,
    /// Per-worker counts, used while Redis does not answer.
    local: Cache<String, u64>,
}

// === impl LoginThrottle ===

impl LoginThrottle {
    /// Counts in `redis` under `<prefix>throttle:`, with `limits`.
    pub fn new(redis: RedisBackend, prefix: &str, limits: Limits) -> Self {
        let longest = limits.per_account.window.max(limits.per_ip.window);
        let local = Cache::builder()
            .max_capacity(100_000)
            .time_to_live(longest)
            .build();
        Self {
            inner: Arc::new(Inner {
                redis,
                prefix: prefix.to_owned(),
                limits,
                local,
            }),
        }
    }

    /// `Some(retry_after)` when `username` or `ip` is over its limit, checked before hashing.
    pub async fn blocked(&self, username: &str, ip: &str) -> Option<Duration> {
        let checks = [
            (self.account_key(username), self.inner.limits.per_account),
            (self.ip_key(ip), self.inner.limits.per_ip),
        ];
        for (key, limit) in checks {
            if self.count(&key).await >= limit.max_failures {
                return Some(self.retry_after(&key, limit.window).await);
            }
        }
        None
    }

    /// Records a failed login for `username` from `ip`.
    pub async fn failed(&self, username: &str, ip: &str) {
        let limits = self.inner.limits;
        for (key, window) in [
            (self.account_key(username), limits.per_account.window),
            (self.ip_key(ip), limits.per_ip.window),
        ] {
            let mut pipeline = redis::pipe();
            pipeline
                .atomic()
                .incr(&key, 1)
                .expire(&key, i64::try_from(window.as_secs()).unwrap_or(i64::MAX))
                .arg("NX")
                .ignore();
            let counted: Result<(u64,), _> = self.inner.redis.query_pipeline(&pipeline).await;
            if counted.is_err() {
                let next = self.inner.local.get(&key).unwrap_or(0).saturating_add(1);
                self.inner.local.insert(key, next);
            }
        }
    }

    /// Forgets the account's failures after a successful login (the IP's stay).
    pub async fn succeeded(&self, username: &str) {
        let key = self.account_key(username);
        let _: Result<u64, _> = self.inner.redis.query(redis::cmd("DEL").arg(&key)).await;
        self.inner.local.invalidate(&key);
    }

    async fn count(&self, key: &str) -> u64 {
        let counted: Result<Option<u64>, _> =
            self.inner.redis.query(redis::cmd("GET").arg(key)).await;
        match counted {
            Ok(count) => count
                .unwrap_or(0)
                .max(self.inner.local.get(key).unwrap_or(0)),
            Err(_) => self.inner.local.get(key).unwrap_or(0),
        }
    }

    async fn retry_after(&self, key: &str, window: Duration) -> Duration {
        let ttl: Result<i64, _> = self.inner.redis.query(redis::cmd("TTL").arg(key)).await;
        match ttl {
            Ok(seconds) if seconds > 0 => Duration::from_secs(seconds.unsigned_abs()),
            _ => window,
        }
    }

    fn account_key(&self, username: &str) -> String {
        format!(
            "{}throttle:user:{}",
            self.inner.prefix,
            username.to_lowercase()
        )
    }

    fn ip_key(&self, ip: &str) -> String {
        format!("{}throttle:ip:{ip}", self.inner.prefix)
    }
}

impl std::fmt::Debug for LoginThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginThrottle")
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}
