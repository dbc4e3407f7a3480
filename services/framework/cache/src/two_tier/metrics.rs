//! Counters of the two-tier backend: where reads were answered and what the channel did.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one two-tier backend, read through [`TwoTierBackend::metrics`](super::TwoTierBackend::metrics).
#[derive(Debug, Default)]
pub(crate) struct TwoTierMetrics {
    l1_hits: AtomicU64,
    l2_hits: AtomicU64,
    misses: AtomicU64,
    invalidations_received: AtomicU64,
    resyncs: AtomicU64,
    invalidations_published: AtomicU64,
    publish_errors: AtomicU64,
}

/// A [`TwoTierBackend`](super::TwoTierBackend)'s counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TwoTierSnapshot {
    /// Reads answered from this worker's memory.
    pub l1_hits: u64,
    /// Reads that missed L1 and were answered by Redis (then kept in L1).
    pub l2_hits: u64,
    /// Reads that found nothing in either tier.
    pub misses: u64,
    /// Invalidation messages from other instances that evicted something here.
    pub invalidations_received: u64,
    /// Whole-L1 flushes because the subscription was re-established (`source="resync"`).
    pub resyncs: u64,
    /// Invalidation messages this instance published.
    pub invalidations_published: u64,
    /// Invalidations this instance failed to publish (others keep their copy up to the L1 cap).
    pub publish_errors: u64,
    /// Entries held in L1 (approximate until moka runs its pending tasks).
    pub l1_entries: u64,
    /// Bytes held in L1 (approximate, as `l1_entries`).
    pub l1_bytes: u64,
}

impl TwoTierMetrics {
    pub(crate) fn l1_hit(&self) {
        self.l1_hits.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn l2_hit(&self) {
        self.l2_hits.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn invalidation_received(&self) {
        self.invalidations_received.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn resync(&self) {
        self.resyncs.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn published(&self) {
        self.invalidations_published.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn publish_error(&self) {
        self.publish_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters now, with the L1 sizes given by the caller.
    pub(crate) fn snapshot(&self, l1_entries: u64, l1_bytes: u64) -> TwoTierSnapshot {
        TwoTierSnapshot {
            l1_hits: self.l1_hits.load(Ordering::Relaxed),
            l2_hits: self.l2_hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            invalidations_received: self.invalidations_received.load(Ordering::Relaxed),
            resyncs: self.resyncs.load(Ordering::Relaxed),
            invalidations_published: self.invalidations_published.load(Ordering::Relaxed),
            publish_errors: self.publish_errors.load(Ordering::Relaxed),
            l1_entries,
            l1_bytes,
        }
    }
}
