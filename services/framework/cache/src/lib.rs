//! Django's cache framework for Herd: a low-level API over pluggable backends (dummy, local
//! moka, Redis, and the default two-tier moka L1 in front of Redis with cross-worker
//! invalidation), and the HTTP caching built on it.
//!
//! Caches fail open: a backend error is logged, counted and treated as a miss, never a 500.

pub mod backend;
pub mod cache;
pub mod caches;
pub mod conditional;
pub mod dummy;
pub mod headers;
pub mod local;
pub mod metrics;
pub mod middleware;
pub mod redis;
pub mod stampede;
pub mod tags;
pub mod two_tier;

pub use backend::{Backend, BackendError, BoxFuture, Expiry};
pub use cache::{Cache, CacheBuilder, CacheError, Timeout};
pub use caches::Caches;
pub use conditional::{ConditionLayer, ConditionalGetLayer};
pub use headers::{
    CacheControl, CacheControlLayer, CachePageLayer, NeverCacheLayer, VaryOnHeadersLayer,
};
pub use metrics::{CacheMetrics, CacheMetricsSnapshot};
pub use middleware::{
    CacheTags, FetchFromCacheLayer, SessionAccessed, SessionTracker, UpdateCacheLayer,
};
pub use redis::RedisBackend;
pub use two_tier::TwoTierBackend;
