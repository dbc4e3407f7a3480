//! What a worker remembers between page-cache hits, so that a hit costs one cache read and no
//! re-parsing: the header list last read for each URL, and the last page decoded under each
//! page key.
//!
//! Neither memo is ever taken on trust. The header list only guesses the page key, which is
//! read in the same call as the stored header list and used only when the stored list is
//! byte for byte the one remembered; a decoded page is reused only for stored bytes equal to
//! the ones it was decoded from. So answers are exactly those of reading the header list, then
//! the page (Django's two lookups), just without the second round trip and the decoding.
//!
//! Both memos are bounded: past their size they start afresh, which costs one extra round trip
//! (or one decoding) per URL, never a wrong answer.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::header::{EXPIRES, LAST_MODIFIED};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::page::StoredPage;
use crate::conditional::header_text;
use crate::headers::{UrlHash, get_max_age, parse_http_date};

/// How many URLs' header lists a worker remembers.
const MAX_HEADER_LISTS: usize = 4096;

/// How many bytes of stored pages a worker keeps decoded (pages read from an in-process cache
/// share these bytes with it).
const MAX_DECODED_BYTES: usize = 16 << 20;

/// The memos of one page cache; cheap to clone, clones share them.
#[derive(Clone, Default)]
pub(crate) struct Memo {
    header_lists: Arc<Mutex<Bounded<UrlHash, Arc<HeaderList>>>>,
    pages: Arc<Mutex<Bounded<String, Decoded>>>,
}

/// A page's stored bytes and what they decode to.
type Decoded = (Bytes, Arc<DecodedPage>);

/// A header list as stored (its JSON) and as parsed.
pub(crate) struct HeaderList {
    pub(crate) stored: Bytes,
    pub(crate) names: Vec<String>,
}

/// A stored page with what every hit needs of its headers worked out once.
pub(crate) struct DecodedPage {
    pub(crate) status: StatusCode,
    pub(crate) fresh_until_ms: i64,
    pub(crate) etag: Option<String>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// `max-age` and `Expires` (a Unix timestamp), when the page has both: its `Age` follows.
    pub(crate) age_basis: Option<(i64, i64)>,
    pub(crate) last_modified: Option<i64>,
}

/// A map that starts afresh once its entries weigh more than its limit.
struct Bounded<K, V> {
    entries: HashMap<K, V>,
    weight: usize,
}

// === impl Memo ===

impl Memo {
    /// The header list last read for `url`.
    pub(crate) fn header_list(&self, url: &UrlHash) -> Option<Arc<HeaderList>> {
        lock(&self.header_lists).entries.get(url).cloned()
    }

    /// Parses a stored header list and remembers it for `url`; `None` when it is not a JSON
    /// list of strings (the cache then treats it as absent, as `Cache::get` does).
    pub(crate) fn learn_header_list(
        &self,
        url: &UrlHash,
        stored: Bytes,
    ) -> Option<Arc<HeaderList>> {
        let names: Vec<String> = match serde_json::from_slice(&stored) {
            Ok(names) => names,
            Err(err) => {
                tracing::debug!(error = %err, "stored header list does not decode; treated as a miss");
                return None;
            }
        };
        let list = Arc::new(HeaderList { stored, names });
        lock(&self.header_lists).insert(url.clone(), Arc::clone(&list), 1, MAX_HEADER_LISTS);
        Some(list)
    }

    /// The page stored as `stored` under `key`, decoded (once per stored version); `None`
    /// when the bytes do not decode.
    pub(crate) fn page(&self, key: &str, stored: Bytes) -> Option<Arc<DecodedPage>> {
        if let Some((known, page)) = lock(&self.pages).entries.get_mut(key) {
            if is_same_buffer(known, &stored) {
                return Some(Arc::clone(page));
            }
            if *known == stored {
                // The same page in another buffer (read again from Redis, or refilled into
                // L1): keep the new buffer, so the next read of it is recognised at once.
                *known = stored;
                return Some(Arc::clone(page));
            }
        }
        let page = Arc::new(DecodedPage::new(StoredPage::decode(stored.clone())?));
        let weight = stored.len().saturating_add(key.len());
        lock(&self.pages).insert(
            key.to_owned(),
            (stored, Arc::clone(&page)),
            weight,
            MAX_DECODED_BYTES,
        );
        Some(page)
    }
}

// === impl HeaderList ===

impl HeaderList {
    /// Whether `stored` is this list's stored form.
    pub(crate) fn is_stored_as(&self, stored: &Bytes) -> bool {
        same_bytes(&self.stored, stored)
    }
}

// === impl DecodedPage ===

impl DecodedPage {
    fn new(page: StoredPage) -> Self {
        let StoredPage {
            status,
            fresh_until_ms,
            etag,
            headers,
            body,
        } = page;
        let age_basis = get_max_age(&headers).zip(
            header_text(&headers, &EXPIRES)
                .as_deref()
                .and_then(parse_http_date),
        );
        let last_modified = header_text(&headers, &LAST_MODIFIED)
            .as_deref()
            .and_then(parse_http_date);
        Self {
            status,
            fresh_until_ms,
            etag: etag.and_then(|etag| etag.to_str().ok().map(str::to_owned)),
            headers,
            body,
            age_basis,
            last_modified,
        }
    }

    /// The page's headers with `Age` as of `now` (a Unix timestamp), when it has a basis.
    pub(crate) fn headers_at(&self, now: i64) -> HeaderMap {
        let mut headers = self.headers.clone();
        if let Some((max_age, expires)) = self.age_basis {
            // A clock turned back must not give a negative age.
            let age = max_age.saturating_sub(expires.saturating_sub(now)).max(0);
            headers.insert(http::header::AGE, HeaderValue::from(age));
        }
        headers
    }
}

// === impl Bounded ===

impl<K: Hash + Eq, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
            weight: 0,
        }
    }
}

impl<K: Hash + Eq, V> Bounded<K, V> {
    fn insert(&mut self, key: K, value: V, weight: usize, limit: usize) {
        if self.weight.saturating_add(weight) > limit {
            self.entries.clear();
            self.weight = 0;
        }
        self.weight = self.weight.saturating_add(weight);
        self.entries.insert(key, value);
    }
}

// === private functions ===

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Equal bytes, answered at once for two handles on one buffer (an in-process cache hands out
/// the same one on every read).
fn same_bytes(a: &Bytes, b: &Bytes) -> bool {
    is_same_buffer(a, b) || a == b
}

/// Two handles on the same bytes of one buffer. Both are alive, so the buffer cannot have been
/// freed and reused in between, and `Bytes` never change: same buffer, same content.
fn is_same_buffer(a: &Bytes, b: &Bytes) -> bool {
    a.as_ptr() == b.as_ptr() && a.len() == b.len()
}
