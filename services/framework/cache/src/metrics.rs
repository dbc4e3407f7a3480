//! The counters of one cache: hits, misses, errors, writes and Redis round trips.
//!
//! Each [`Cache`](crate::Cache) owns a [`CacheMetrics`] (shared with its Redis backend, which
//! records round-trip latency and breaker skips there). Exporters read a [`CacheMetricsSnapshot`].
//! Adding a counter is one line in the `cache_metrics!` list below: the field, its snapshot
//! field and its name in [`CacheMetricsSnapshot::iter`] all come from that line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A count that only goes up.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

// === impl Counter ===

impl Counter {
    /// Adds one.
    pub fn incr(&self) {
        self.add(1);
    }

    /// Adds `n`.
    pub fn add(&self, n: u64) {
        // Counters are independent tallies read for monitoring; no ordering with other memory.
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

macro_rules! cache_metrics {
    ($($name:ident: $doc:literal,)*) => {
        /// The counters of one cache, each an atomic [`Counter`].
        #[derive(Debug, Default)]
        pub struct CacheMetrics {
            $(#[doc = $doc] pub $name: Counter,)*
        }

        /// The values of a cache's counters at one moment.
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct CacheMetricsSnapshot {
            $(#[doc = $doc] pub $name: u64,)*
        }

        impl CacheMetrics {
            /// Reads every counter (each atomically; the set is not one atomic picture).
            pub fn snapshot(&self) -> CacheMetricsSnapshot {
                CacheMetricsSnapshot { $($name: self.$name.get(),)* }
            }
        }

        impl CacheMetricsSnapshot {
            /// Every counter as `(name, value)`, in declaration order, for exporters.
            pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + use<> {
                [$((stringify!($name), self.$name),)*].into_iter()
            }
        }
    };
}

cache_metrics! {
    hits: "Reads (`get`, each key of `get_many`) that found a value.",
    misses: "Reads that found nothing.",
    errors: "Calls the backend failed (unreachable, timed out, breaker open); each was answered as a miss.",
    sets: "Values stored (`set`, `add` that stored, each entry of `set_many`).",
    deletes: "Keys asked to be deleted (`delete`, each key of `delete_many`, a timeout of 0).",
    redis_calls: "Round trips attempted to Redis (the count behind `redis_latency_micros`).",
    redis_latency_micros: "Microseconds spent in those round trips, summed.",
    redis_skipped: "Calls answered at once, without Redis, because its circuit breaker was open.",
    stale_serves: "Stale values `get_or_set_with_stale` returned while one refresher recomputed them.",
}

// === impl CacheMetrics ===

impl CacheMetrics {
    /// Records one Redis round trip that took `elapsed`.
    pub fn record_redis_latency(&self, elapsed: Duration) {
        self.redis_calls.incr();
        self.redis_latency_micros
            .add(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
    }
}

// === impl CacheMetricsSnapshot ===

impl CacheMetricsSnapshot {
    /// The mean Redis round trip, if there was one.
    pub fn redis_latency_mean(&self) -> Option<Duration> {
        self.redis_latency_micros
            .checked_div(self.redis_calls)
            .map(Duration::from_micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_reads_every_counter() {
        let metrics = CacheMetrics::default();
        metrics.hits.incr();
        metrics.misses.add(2);
        metrics.record_redis_latency(Duration::from_micros(300));
        metrics.record_redis_latency(Duration::from_micros(100));
        let snapshot = metrics.snapshot();
        assert_eq!(snapshot.hits, 1);
        assert_eq!(snapshot.misses, 2);
        assert_eq!(snapshot.redis_calls, 2);
        assert_eq!(
            snapshot.redis_latency_mean(),
            Some(Duration::from_micros(200))
        );
        let names: Vec<_> = snapshot.iter().map(|(name, _)| name).collect();
        assert_eq!(&names[..3], ["hits", "misses", "errors"]);
    }

    #[test]
    fn mean_latency_is_none_without_calls() {
        assert_eq!(
            CacheMetrics::default().snapshot().redis_latency_mean(),
            None
        );
    }
}
