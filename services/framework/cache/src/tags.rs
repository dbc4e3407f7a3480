//! Tagged entries: store a value with tags (`employee`, `employee:42`) and later invalidate
//! every entry carrying a tag, on every worker, with one call.
//!
//! Each tag has an index: a Redis set at `<prefix>:tag:<tag>` holding the built keys stored
//! with it (outside the `<prefix>:<version>:` key space, so it never collides with an entry, and
//! `clear()` removes it with the rest). [`Cache::set_bytes_tagged`] stores the value, then adds
//! its key to each index in one script that keeps the index alive at least as long as its
//! longest-lived entry. [`Cache::purge_tag`] takes the index and drops it in one `MULTI`, then
//! deletes those keys through the backend, so the two-tier backend publishes the invalidations
//! and every worker's L1 lets go.
//!
//! A write racing with a purge either lands in the index before the purge takes it (and is
//! deleted) or in a fresh index (and survives, as a write after the purge should).
//!
//! Why not versioned tags checked on read: pages and fragments are read with plain
//! [`Cache::get_bytes`], which must miss after a purge without knowing about tags.
//!
//! Backends without Redis (local, dummy) keep the index in this process: tags then work within
//! the worker, as the entries themselves do.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, LazyLock, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;

use crate::backend::{BackendError, Expiry};
use crate::cache::{Cache, Timeout, WarnLimiter};

/// Adds `ARGV[1]` to every index in `KEYS`; `ARGV[2]` is the entry's lifetime in ms, 0 for
/// none. An index never expires before an entry it holds: a persistent index stays so, and a
/// finite one is only ever extended.
const TAG_SCRIPT: &str = r"
for _, index in ipairs(KEYS) do
  local existed = redis.call('EXISTS', index)
  redis.call('SADD', index, ARGV[1])
  if ARGV[2] == '0' then
    redis.call('PERSIST', index)
  else
    local ttl = redis.call('PTTL', index)
    if existed == 0 or (ttl >= 0 and ttl < tonumber(ARGV[2])) then
      redis.call('PEXPIRE', index, ARGV[2])
    end
  end
end
return 1
";

/// An in-process index is pruned of keys the backend no longer holds once it reaches this
/// size, and again each time it doubles since the last pruning.
const PRUNE_FROM: usize = 256;

/// One WARN per this interval when Redis fails a tag operation (RELIABILITY.md §3).
const WARN_INTERVAL: Duration = Duration::from_secs(10);

static WARNINGS: LazyLock<WarnLimiter> = LazyLock::new(|| WarnLimiter::new(WARN_INTERVAL));

/// Indexes of backends without Redis: (backend address, index key) to the tagged keys.
static LOCAL_INDEXES: LazyLock<Mutex<HashMap<(usize, String), LocalIndex>>> =
    LazyLock::new(Mutex::default);

#[derive(Debug, Default)]
struct LocalIndex {
    keys: HashSet<String>,
    prune_at: usize,
}

// === impl Cache ===

impl Cache {
    /// Stores the raw `value` under `key`, as [`Cache::set_bytes`], and records it under each
    /// of `tags` for [`Cache::purge_tag`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(cache: herd_cache::Cache) {
    /// use bytes::Bytes;
    /// use herd_cache::Timeout;
    ///
    /// let tags = ["employee".to_owned(), "employee:42".to_owned()];
    /// cache.set_bytes_tagged("page:/employee/id/42/", Bytes::from("<html>…"), Timeout::Default, &tags).await;
    /// cache.purge_tag("employee:42").await; // the page is gone on every worker
    /// # }
    /// ```
    pub async fn set_bytes_tagged(
        &self,
        key: &str,
        value: Bytes,
        timeout: Timeout,
        tags: &[String],
    ) {
        self.set_bytes(key, value, timeout).await;
        let Some(expiry) = self.expiry(timeout) else {
            // A timeout of zero deleted the key: there is nothing to tag.
            return;
        };
        if tags.is_empty() {
            return;
        }
        let full = self.make_key(key);
        let indexes: Vec<String> = tags.iter().map(|tag| self.tag_index_key(tag)).collect();
        match self.backend().redis() {
            Some(redis) => {
                let lifetime_ms = match expiry {
                    Expiry::Never => 0,
                    Expiry::After(duration) => u64::try_from(duration.as_millis())
                        .unwrap_or(u64::MAX)
                        .max(1),
                };
                let mut script = redis::cmd("EVAL");
                script
                    .arg(TAG_SCRIPT)
                    .arg(indexes.len())
                    .arg(&indexes)
                    .arg(&full)
                    .arg(lifetime_ms);
                if let Err(err) = redis.query::<i64>(&script).await {
                    self.tag_failed("tag", &full, &err);
                }
            }
            None => self.tag_locally(indexes, full).await,
        }
    }

    /// Deletes every entry stored with `tag` (through [`Cache::set_bytes_tagged`]), in every
    /// worker, and forgets the tag.
    pub async fn purge_tag(&self, tag: &str) {
        let index = self.tag_index_key(tag);
        let keys = if let Some(redis) = self.backend().redis() {
            let mut take = redis::pipe();
            take.atomic()
                .cmd("SMEMBERS")
                .arg(&index)
                .cmd("DEL")
                .arg(&index)
                .ignore();
            match redis.query_pipeline::<(Vec<String>,)>(&take).await {
                Ok((keys,)) => keys,
                Err(err) => {
                    self.tag_failed("purge_tag", &index, &err);
                    return;
                }
            }
        } else {
            self.take_local_index(index.clone())
        };
        if keys.is_empty() {
            return;
        }
        match self.backend().delete_many(&keys).await {
            Ok(()) => self.metrics().deletes.add(keys.len() as u64),
            Err(err) => self.tag_failed("purge_tag", &index, &err),
        }
    }

    /// Where `tag`'s index lives: beside, not inside, the versioned key space.
    fn tag_index_key(&self, tag: &str) -> String {
        format!("{}:tag:{tag}", self.key_prefix())
    }

    fn backend_address(&self) -> usize {
        Arc::as_ptr(self.backend()).cast::<()>().addr()
    }

    fn take_local_index(&self, index: String) -> Vec<String> {
        let mut indexes = LOCAL_INDEXES.lock().unwrap_or_else(PoisonError::into_inner);
        indexes
            .remove(&(self.backend_address(), index))
            .map(|taken| taken.keys.into_iter().collect())
            .unwrap_or_default()
    }

    async fn tag_locally(&self, indexes: Vec<String>, full: String) {
        let backend = self.backend_address();
        let mut to_prune = Vec::new();
        {
            let mut all = LOCAL_INDEXES.lock().unwrap_or_else(PoisonError::into_inner);
            for index in indexes {
                let entry = all.entry((backend, index.clone())).or_default();
                entry.keys.insert(full.clone());
                if entry.keys.len() >= entry.prune_at.max(PRUNE_FROM) {
                    entry.prune_at = entry.keys.len().saturating_mul(2);
                    to_prune.push((index, entry.keys.iter().cloned().collect::<Vec<_>>()));
                }
            }
        }
        for (index, keys) in to_prune {
            // Keys expire or are deleted without telling the index; drop those before it grows.
            let mut gone = Vec::new();
            for key in keys {
                if !self.backend().has_key(&key).await.unwrap_or(true) {
                    gone.push(key);
                }
            }
            let mut all = LOCAL_INDEXES.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(entry) = all.get_mut(&(backend, index)) {
                for key in &gone {
                    entry.keys.remove(key);
                }
            }
        }
    }

    fn tag_failed(&self, operation: &'static str, key: &str, err: &BackendError) {
        self.metrics().errors.incr();
        if let Some(suppressed) = WARNINGS.check() {
            tracing::warn!(operation, key, error = %err, suppressed, "cache tag index failed; tagged entries expire on their own");
        } else {
            tracing::debug!(operation, key, error = %err, "cache tag index failed");
        }
    }
}
