//! What a worker remembers between page-cache hits, so that a hit costs one cache read and no
//! re-parsing: the header list last read for each URL, and the last page decoded under each
//! page key.
//!
//! Neither memo is ever taken on trust. The header list only guesses the page key, which is
//! read in the same call as the stored header list and used only when the stored list is
//! byte for byte the one remembered; a decoded page head is reused only for a stored page
//! that starts with the very bytes it was decoded from. So answers are exactly those of
//! reading the header list, then the page (Django's two lookups), just without the second
//! round trip and the decoding.
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

/// How many bytes of stored page heads (their headers) a worker keeps decoded.
const MAX_HEAD_BYTES: usize = 4 << 20;

/// The memos of one page cache; cheap to clone, clones share them.
#[derive(Clone, Default)]
pub(crate) struct Memo {
    header_lists: Arc<Mutex<Bounded<UrlHash, Arc<HeaderList>>>>,
    pages: Arc<Mutex<Bounded<String, Arc<DecodedPage>>>>,
}

/// A header list as stored (its JSON) and as parsed.
pub(crate) struct HeaderList {
    pub(crate) stored: Bytes,
    pub(crate) names: Vec<String>,
}

/// The head of a stored page (all but its body), with what every hit needs of its headers
/// worked out once.
pub(crate) struct DecodedPage {
    /// The head as stored.
    head: Bytes,
    pub(crate) status: StatusCode,
    pub(crate) fresh_until_ms: i64,
    pub(crate) etag: Option<String>,
    pub(crate) headers: HeaderMap,
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

    /// The page stored as `stored` under `key`: its head decoded (once per stored version of
    /// the head) and its body; `None` when the bytes do not decode.
    ///
    /// A stored page is its head (status, freshness, `ETag`, headers) followed by its body, and
    /// decoding reads the head alone: equal head bytes decode to the same head, so only they
    /// are compared, and the body is sliced out of whatever buffer the page came in.
    pub(crate) fn page(&self, key: &str, stored: &Bytes) -> Option<(Arc<DecodedPage>, Bytes)> {
        if let Some(page) = lock(&self.pages).entries.get(key)
            && stored.starts_with(&page.head)
        {
            let body = stored.slice(page.head.len()..);
            return Some((Arc::clone(page), body));
        }
        let body = StoredPage::decode(stored.clone())?.body;
        // Decoded again from a copy of the head alone: the headers then share that copy, not
        // the buffer of the whole page, which the memo must not keep alive.
        let head = Bytes::copy_from_slice(&stored[..stored.len() - body.len()]);
        let page = Arc::new(DecodedPage::new(StoredPage::decode(head.clone())?, head));
        let weight = page.head.len().saturating_add(key.len());
        lock(&self.pages).insert(key.to_owned(), Arc::clone(&page), weight, MAX_HEAD_BYTES);
        Some((page, body))
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
    /// The decoded head of a stored page, stored as `head`.
    fn new(page: StoredPage, head: Bytes) -> Self {
        let StoredPage {
            status,
            fresh_until_ms,
            etag,
            headers,
            body: _,
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
            head,
            status,
            fresh_until_ms,
            etag: etag.and_then(|etag| etag.to_str().ok().map(str::to_owned)),
            headers,
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
/// the same one on every read). Both are alive, so the buffer cannot have been freed and
/// reused in between, and `Bytes` never change: same buffer, same content.
fn same_bytes(a: &Bytes, b: &Bytes) -> bool {
    (a.as_ptr() == b.as_ptr() && a.len() == b.len()) || a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(etag: &'static str, max_age: &'static str, body: &'static [u8]) -> Bytes {
        let mut headers = HeaderMap::new();
        headers.insert("cache-control", HeaderValue::from_static(max_age));
        headers.insert(
            "expires",
            HeaderValue::from_static("Sun, 06 Nov 1994 08:49:37 GMT"),
        );
        let etag = HeaderValue::from_static(etag);
        StoredPage::encode(
            StatusCode::OK,
            0,
            Some(&etag),
            &headers,
            &Bytes::from_static(body),
        )
        .unwrap()
    }

    #[test]
    fn a_page_with_the_same_head_keeps_its_decoded_head_and_takes_the_new_body() {
        let memo = Memo::default();
        let (first, body) = memo
            .page("key", &stored("\"a\"", "max-age=60", b"one"))
            .unwrap();
        assert_eq!(body, "one");
        // The same head in another buffer, with another body.
        let (second, body) = memo
            .page("key", &stored("\"a\"", "max-age=60", b"two!"))
            .unwrap();
        assert_eq!(body, "two!");
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(second.age_basis, Some((60, 784_111_777)));
    }

    #[test]
    fn a_page_with_another_head_is_decoded_anew() {
        let memo = Memo::default();
        let (first, _) = memo
            .page("key", &stored("\"a\"", "max-age=60", b"one"))
            .unwrap();
        let (second, body) = memo
            .page("key", &stored("\"b\"", "max-age=90", b"one"))
            .unwrap();
        assert!(!Arc::ptr_eq(&first, &second));
        assert_eq!(second.etag.as_deref(), Some("\"b\""));
        assert_eq!(second.age_basis, Some((90, 784_111_777)));
        assert_eq!(body, "one");
        // Another key never shares a head, even with the same bytes.
        let (other, _) = memo
            .page("other", &stored("\"b\"", "max-age=90", b"one"))
            .unwrap();
        assert!(!Arc::ptr_eq(&second, &other));
    }

    #[test]
    fn the_memo_keeps_no_page_buffer_alive() {
        let memo = Memo::default();
        let page = Bytes::from(stored("\"a\"", "max-age=60", b"a body").to_vec());
        let (decoded, body) = memo.page("key", &page).unwrap();
        assert!(!page.is_unique(), "the body shares the page's buffer");
        drop(body);
        assert!(page.is_unique(), "the memo still shares the page's buffer");
        assert_eq!(decoded.headers["cache-control"], "max-age=60");
    }

    #[test]
    fn bytes_that_do_not_decode_are_no_page() {
        let memo = Memo::default();
        let page = stored("\"a\"", "max-age=60", b"one");
        assert!(memo.page("key", &page.slice(..5)).is_none());
        // A truncated copy of a known head is not taken for it.
        memo.page("key", &page).unwrap();
        assert!(memo.page("key", &page.slice(..page.len() - 4)).is_none());
    }

    #[test]
    fn a_header_list_is_recognised_by_its_stored_bytes() {
        let memo = Memo::default();
        let url = UrlHash::of(&http::Request::new(()));
        let list = memo
            .learn_header_list(&url, Bytes::from_static(br#"["accept-language"]"#))
            .unwrap();
        assert_eq!(list.names, ["accept-language"]);
        assert!(list.is_stored_as(&Bytes::copy_from_slice(br#"["accept-language"]"#)));
        assert!(!list.is_stored_as(&Bytes::from_static(br#"["cookie"]"#)));
        assert!(memo.header_list(&url).is_some());
        assert!(
            memo.learn_header_list(&url, Bytes::from_static(b"{}"))
                .is_none()
        );
    }
}
