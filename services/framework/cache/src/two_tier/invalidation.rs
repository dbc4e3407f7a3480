//! What travels on the invalidation channel, and the epochs that keep late L1 fills out.
//!
//! A read that misses L1 fetches from Redis and then fills L1. If an invalidation for that key
//! arrives between the fetch and the fill, the fill would put back a value that is already
//! stale, for up to the L1 cap. So every fill takes a [`Ticket`] before going to Redis, inserts,
//! and then re-checks the ticket: an invalidation bumps the key's epoch before evicting, so
//! either the eviction runs after the insert or the re-check sees the bump and evicts itself.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

/// How many epoch shards keys hash into; more shards mean fewer fills dropped needlessly.
const SHARDS: usize = 64;

/// One message on `herd:invalidate:<prefix>`, JSON-encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Invalidation {
    /// The id of the backend instance that wrote; it ignores its own messages.
    #[serde(rename = "o")]
    pub(crate) origin: String,
    /// What to evict.
    #[serde(rename = "e")]
    pub(crate) evict: Evict,
}

/// What an [`Invalidation`] evicts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Evict {
    /// These keys.
    Keys(Vec<String>),
    /// Everything (`clear()`).
    All,
}

impl Invalidation {
    /// The message as sent on the channel.
    pub(crate) fn encode(&self) -> Vec<u8> {
        // Serialising strings and a unit variant cannot fail; an empty payload would just be
        // ignored by receivers.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Parses a received payload; `None` for anything that is not ours.
    pub(crate) fn decode(payload: &[u8]) -> Option<Self> {
        serde_json::from_slice(payload).ok()
    }
}

/// Per-key-shard counters bumped by every invalidation, plus one for whole flushes.
#[derive(Debug)]
pub(crate) struct Epochs {
    shards: [AtomicU64; SHARDS],
    all: AtomicU64,
}

/// The epochs a fill saw before it went to Redis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket {
    shard: usize,
    shard_epoch: u64,
    all_epoch: u64,
}

impl Epochs {
    pub(crate) fn new() -> Self {
        Self {
            shards: std::array::from_fn(|_| AtomicU64::new(0)),
            all: AtomicU64::new(0),
        }
    }

    /// Takes a ticket for `key`; call before reading or writing Redis.
    pub(crate) fn ticket(&self, key: &str) -> Ticket {
        let shard = shard_of(key);
        Ticket {
            shard,
            shard_epoch: self.shards[shard].load(Ordering::Acquire),
            all_epoch: self.all.load(Ordering::Acquire),
        }
    }

    /// Whether nothing invalidated the ticket's key since it was taken.
    pub(crate) fn is_current(&self, ticket: Ticket) -> bool {
        self.shards[ticket.shard].load(Ordering::Acquire) == ticket.shard_epoch
            && self.all.load(Ordering::Acquire) == ticket.all_epoch
    }

    /// Bumps the ticket's key shard if nothing else did since the ticket was taken, and returns
    /// a ticket for the bumped state: a writer's fill then outdates every read that started
    /// before its write finished, without missing an invalidation that raced the write.
    pub(crate) fn advance(&self, ticket: Ticket) -> Option<Ticket> {
        self.shards[ticket.shard]
            .compare_exchange(
                ticket.shard_epoch,
                ticket.shard_epoch.wrapping_add(1),
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .ok()?;
        let advanced = Ticket {
            shard_epoch: ticket.shard_epoch.wrapping_add(1),
            ..ticket
        };
        self.is_current(advanced).then_some(advanced)
    }

    /// Marks `key` invalidated; call before evicting it.
    pub(crate) fn bump(&self, key: &str) {
        self.shards[shard_of(key)].fetch_add(1, Ordering::AcqRel);
    }

    /// Marks everything invalidated; call before flushing L1.
    pub(crate) fn bump_all(&self) {
        self.all.fetch_add(1, Ordering::AcqRel);
    }
}

fn shard_of(key: &str) -> usize {
    // A fixed-key hasher: the shard only needs to be stable inside this process.
    let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(key);
    usize::try_from(hash % SHARDS as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidations_round_trip_through_json() {
        let keys = Invalidation {
            origin: "a".into(),
            evict: Evict::Keys(vec!["k 1\n".into(), "k2".into()]),
        };
        assert_eq!(Invalidation::decode(&keys.encode()), Some(keys));
        let all = Invalidation {
            origin: "b".into(),
            evict: Evict::All,
        };
        assert_eq!(Invalidation::decode(&all.encode()), Some(all));
        assert_eq!(Invalidation::decode(b"not json"), None);
    }

    #[test]
    fn a_bump_makes_earlier_tickets_stale() {
        let epochs = Epochs::new();
        let ticket = epochs.ticket("k");
        assert!(epochs.is_current(ticket));
        epochs.bump("k");
        assert!(!epochs.is_current(ticket));
        let ticket = epochs.ticket("k");
        epochs.bump_all();
        assert!(!epochs.is_current(ticket));
    }

    #[test]
    fn advance_fails_once_another_bump_came_first() {
        let epochs = Epochs::new();
        let ticket = epochs.ticket("k");
        let advanced = epochs.advance(ticket).expect("nothing bumped");
        assert!(!epochs.is_current(ticket), "older readers are outdated");
        assert!(epochs.is_current(advanced));
        epochs.bump("k");
        assert_eq!(epochs.advance(advanced), None);
    }
}
