//! The registry of named caches (Django's `CACHES` setting and `django.core.cache.caches`).
//!
//! A worker builds it once at start from its settings: the `default` cache uses the backend
//! `HERD_CACHE__BACKEND` names and the timeout `HERD_CACHE__TIMEOUT` gives. Redis being down
//! does not stop this: Redis-backed caches connect in the background and answer misses until then.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use herd_core::settings::{CacheBackend, Settings};

use crate::backend::Backend;
use crate::cache::{Cache, CacheError};
use crate::dummy::DummyBackend;
use crate::local::LocalBackend;
use crate::metrics::CacheMetrics;
use crate::redis::RedisBackend;
use crate::two_tier::TwoTierBackend;

/// The bound of a `local` default cache, and of the two-tier L1.
pub const LOCAL_MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Named caches; `default` always exists.
#[derive(Clone, Debug)]
pub struct Caches {
    default: Cache,
    named: HashMap<String, Cache>,
}

// === impl Caches ===

impl Caches {
    /// The name of the default cache.
    pub const DEFAULT: &'static str = "default";

    /// A registry holding only `default`.
    pub fn new(default: Cache) -> Self {
        Self {
            default,
            named: HashMap::new(),
        }
    }

    /// The caches the settings describe: `default` on `settings.cache.backend` (Redis at
    /// `settings.redis_url`), with `settings.cache.timeout` seconds as its default timeout.
    /// Must be called inside a tokio runtime; returns without waiting for Redis, which the
    /// Redis-backed caches connect to in the background.
    ///
    /// # Errors
    ///
    /// [`CacheError::is_config`] when the Redis URL is not one, or no tokio runtime is running.
    pub fn from_settings(settings: &Settings) -> Result<Caches, CacheError> {
        let timeout = Duration::from_secs(settings.cache.timeout);
        let prefix = settings.cache.key_prefix.as_str();
        let default = match settings.cache.backend {
            CacheBackend::Dummy => Cache::builder(Arc::new(DummyBackend))
                .key_prefix(prefix)
                .default_timeout(timeout)
                .build(),
            CacheBackend::Local => Cache::builder(Arc::new(LocalBackend::new(LOCAL_MAX_BYTES)))
                .key_prefix(prefix)
                .default_timeout(timeout)
                .build(),
            CacheBackend::Redis | CacheBackend::TwoTier => {
                let metrics = Arc::new(CacheMetrics::default());
                let redis = RedisBackend::builder(&settings.redis_url)
                    .key_prefix(prefix)
                    .metrics(Arc::clone(&metrics))
                    .build()?;
                let backend: Arc<dyn Backend> = if settings.cache.backend == CacheBackend::TwoTier {
                    Arc::new(TwoTierBackend::new(redis, LOCAL_MAX_BYTES)?)
                } else {
                    Arc::new(redis)
                };
                Cache::builder(backend)
                    .key_prefix(prefix)
                    .metrics(metrics)
                    .default_timeout(timeout)
                    .build()
            }
        };
        Ok(Self::new(default))
    }

    /// The cache named `name`, if there is one.
    pub fn get(&self, name: &str) -> Option<&Cache> {
        if name == Self::DEFAULT {
            Some(&self.default)
        } else {
            self.named.get(name)
        }
    }

    /// The `default` cache.
    pub fn default(&self) -> &Cache {
        &self.default
    }

    /// Adds or replaces the cache named `name` (`default` included).
    pub fn insert(&mut self, name: impl Into<String>, cache: Cache) {
        let name = name.into();
        if name == Self::DEFAULT {
            self.default = cache;
        } else {
            self.named.insert(name, cache);
        }
    }

    /// The names of every cache, `default` first, then the others sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut others: Vec<&str> = self.named.keys().map(String::as_str).collect();
        others.sort_unstable();
        std::iter::once(Self::DEFAULT).chain(others).collect()
    }
}
