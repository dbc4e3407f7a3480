//! Stampede protection and stale-while-revalidate for cached pages, on the single-flight and
//! cross-worker lock of [`crate::stampede`] (RELIABILITY.md §9).
//!
//! A cacheable miss joins the flight of its page key (of its absolute URL and method while no
//! header list is learned): the first request (the leader) takes `<key>:lock` and renders,
//! the others in its worker wait for it and then read the cache again. A leader that finds the
//! lock held polls the cache for up to its `lock_wait` (200 ms by default), then renders
//! itself. A leader whose response is not stored releases its waiters at once and replaces the
//! lock with a short "pass" marker, so the pollers of other workers stop waiting too; they all
//! render then.
//!
//! A page past its freshness but still stored (its stale-while-revalidate window) is served at
//! once while one background refresher per key and worker, holding the same lock, renders it
//! again; a refresh whose response is not storable any more evicts the stale copy.

use std::future::Future;
use std::time::Instant;

use bytes::Bytes;
use herd_core::{Body, Request, Response};
use http::header::{
    IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
};
use http::{Extensions, Method};

use super::{Lookup, PageCache, SessionTracker, UpdateFlag};
use crate::backend::Expiry;
use crate::cache::Cache;
use crate::headers::now_millis;
use crate::stampede::{Failed, LOCK_POLL, LOCK_TTL, Leader, Lock, Role};

/// The lock's value once its holder's response turned out not storable.
const PASS: &[u8] = b"pass";

/// How many finished flights a request waits for before it renders on its own: a second one
/// covers a page that varies on a header whose value this request does not share.
const MAX_WAITS: usize = 2;

/// What to do with a request once the cache and the flights have been asked.
pub(crate) enum Resolution {
    /// Not a GET or HEAD: neither answered nor stored.
    Skip,
    /// The stored response (or a 304/412 for a conditional request).
    Hit(Box<Response>),
    /// A stale page to serve now, and the entry to refresh behind it.
    Stale(Box<Response>, StaleEntry),
    /// Render, then try to store; with the flight this request leads, to finish after storing.
    Render(Option<PageFlight>),
}

/// A stored page past its freshness.
pub(crate) struct StaleEntry {
    /// Its page key.
    pub(crate) key: String,
    /// The method it was stored for (a HEAD may be answered from the GET page).
    pub(crate) method: Method,
}

/// A request rendering a page for the others: its flight in this worker and the lock across.
pub(crate) struct PageFlight {
    cache: Cache,
    leader: Leader<()>,
    lock: Lock,
}

/// What the lock of a key says while this worker's leader waits on another worker's.
enum LockState {
    Held,
    /// Its holder's response was not storable.
    Passed,
    Free,
}

// === impl PageCache ===

impl PageCache {
    /// Looks the request up; on a miss, makes it lead or wait for the page's flight.
    ///
    /// Stale answers are counted in `stale_serves`: every caller serves them.
    pub(crate) async fn resolve(&self, request: &Request) -> Resolution {
        // A cache that stores nothing would make every waiter wait for nothing.
        let protect = self.cache.backend().name() != "dummy";
        let mut waits = 0;
        loop {
            let flight_key = match self.lookup(request).await {
                Lookup::Miss(flight_key) => flight_key,
                found => return self.found(found),
            };
            if !protect || waits == MAX_WAITS {
                return Resolution::Render(None);
            }
            waits += 1;
            match self.cache.join_flight::<()>(&flight_key, false) {
                Role::Leader(leader) => return self.lead(request, &flight_key, leader).await,
                Role::Waiter(mut receiver) => {
                    let stored = receiver
                        .wait_for(Option::is_some)
                        .await
                        .ok()
                        .map(|outcome| matches!(*outcome, Some(Ok(()))));
                    if stored == Some(false) {
                        return Resolution::Render(None);
                    }
                    // Stored, or the leader was cancelled (someone leads now): look again.
                }
            }
        }
    }

    /// Starts the one refresher of the page under `key` in this worker, unless one runs
    /// already; `refresh` renders and stores it, answering whether it stored.
    pub(crate) fn refresh_in_background<F>(&self, key: &str, refresh: F)
    where
        F: Future<Output = bool> + Send + 'static,
    {
        let Role::Leader(leader) = self.cache.join_flight::<()>(key, true) else {
            return;
        };
        let page = self.clone();
        let key = key.to_owned();
        tokio::spawn(async move {
            let lock = page.cache.lock(&key).await;
            // With the lock held elsewhere another worker refreshes (or just found the page
            // not storable); its write reaches this worker through the cache.
            if !matches!(lock, Lock::HeldElsewhere) && !page.is_fresh(&key).await && !refresh.await
            {
                // Not storable any more (a 404 now, a cookie): the stale copy must go too.
                page.cache.delete(&key).await;
            }
            page.cache.unlock(lock).await;
            leader.finish(Ok(()));
        });
    }

    /// The leader's work: take the cross-worker lock, or wait for its holder's page.
    async fn lead(&self, request: &Request, flight_key: &str, leader: Leader<()>) -> Resolution {
        let mut lock = self.cache.lock(flight_key).await;
        let deadline = Instant::now() + self.lock_wait;
        loop {
            match lock {
                Lock::Acquired(..) => {
                    // The previous holder stored its page just before releasing the lock.
                    return match self.lookup(request).await {
                        Lookup::Miss(_) => Resolution::Render(Some(PageFlight {
                            cache: self.cache.clone(),
                            leader,
                            lock,
                        })),
                        found => {
                            self.cache.unlock(lock).await;
                            leader.finish(Ok(()));
                            self.found(found)
                        }
                    };
                }
                Lock::Unavailable => {
                    return Resolution::Render(Some(PageFlight {
                        cache: self.cache.clone(),
                        leader,
                        lock,
                    }));
                }
                Lock::HeldElsewhere => {}
            }
            match self.lock_state(flight_key).await {
                LockState::Passed => {
                    leader.finish(Err(Failed));
                    return Resolution::Render(None);
                }
                LockState::Free => {
                    lock = self.cache.lock(flight_key).await;
                    continue;
                }
                LockState::Held => {}
            }
            if Instant::now() >= deadline {
                // The holder is slow or gone: render rather than keep the client waiting.
                return Resolution::Render(Some(PageFlight {
                    cache: self.cache.clone(),
                    leader,
                    lock,
                }));
            }
            tokio::time::sleep(LOCK_POLL).await;
            match self.lookup(request).await {
                Lookup::Miss(_) => {}
                found => {
                    leader.finish(Ok(()));
                    return self.found(found);
                }
            }
        }
    }

    fn found(&self, lookup: Lookup) -> Resolution {
        match lookup {
            Lookup::Skip => Resolution::Skip,
            Lookup::Hit(response) => Resolution::Hit(response),
            Lookup::Stale(response, entry) => {
                self.cache.metrics().stale_serves.incr();
                Resolution::Stale(response, entry)
            }
            Lookup::Miss(_) => Resolution::Render(None),
        }
    }

    /// Reads the lock past any L1, where a copy may outlive the holder's release.
    async fn lock_state(&self, key: &str) -> LockState {
        let lock_key = self.cache.lock_key(key);
        let value = match self.cache.backend().redis() {
            Some(redis) => redis
                .query::<Option<Vec<u8>>>(redis::cmd("GET").arg(&lock_key))
                .await
                .map(|value| value.map(Bytes::from)),
            None => self.cache.backend().get(&lock_key).await,
        };
        match value {
            Ok(None) => LockState::Free,
            Ok(Some(value)) if value == PASS => LockState::Passed,
            // A failing backend gets the bounded wait, not a stampede.
            Ok(Some(_)) | Err(_) => LockState::Held,
        }
    }

    async fn is_fresh(&self, key: &str) -> bool {
        self.read(key)
            .await
            .is_some_and(|page| now_millis() < page.fresh_until_ms)
    }
}

// === impl PageFlight ===

impl PageFlight {
    /// Ends the flight: waiters read the stored page, or render at once when nothing was
    /// stored; then the other workers' pollers learn the same from the lock.
    pub(crate) async fn finish(self, stored: bool) {
        let Self {
            cache,
            leader,
            lock,
        } = self;
        if stored {
            cache.unlock(lock).await;
            leader.finish(Ok(()));
            return;
        }
        leader.finish(Err(Failed));
        if let Lock::Acquired(lock_key, taken) = lock
            && taken.elapsed() < LOCK_TTL
        {
            // Overwriting keeps the lock's expiry short, and tells pollers not to wait.
            let _ = cache
                .backend()
                .set(&lock_key, Bytes::from_static(PASS), Expiry::After(LOCK_TTL))
                .await;
        }
    }
}

// === crate functions ===

/// The request a background refresh sends down the stack: the original one's head and
/// extensions, as `method`, without conditions (so the view renders a full 200), with a tracker
/// of its own and no cache flag of the original request's.
pub(crate) fn refresh_request(
    head: &http::Request<()>,
    mut extensions: Extensions,
    method: Method,
) -> Request {
    let mut request = Request::new(Body::empty());
    *request.method_mut() = method;
    *request.uri_mut() = head.uri().clone();
    *request.version_mut() = head.version();
    let headers = request.headers_mut();
    *headers = head.headers().clone();
    for name in [
        IF_MATCH,
        IF_NONE_MATCH,
        IF_MODIFIED_SINCE,
        IF_UNMODIFIED_SINCE,
        IF_RANGE,
        RANGE,
    ] {
        headers.remove(name);
    }
    extensions.remove::<UpdateFlag>();
    extensions.insert(SessionTracker::new());
    *request.extensions_mut() = extensions;
    request
}
