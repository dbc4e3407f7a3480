//! Django's per-site cache: `UpdateCacheMiddleware` as [`UpdateCacheLayer`] (outermost, it
//! stores) and `FetchFromCacheMiddleware` as [`FetchFromCacheLayer`] (innermost, it answers
//! hits), with Herd's stricter storing rule.
//!
//! Fetch (GET/HEAD only) reads the header list learned for the request's absolute URL, builds
//! the GET page key from it (a HEAD falls back to a HEAD entry) and answers a hit with the stored
//! page plus `Age`; a conditional hit is answered 304 from the stored `ETag` without the body. A
//! miss flags the request for Update, which stores the response only if it is a 200, buffered,
//! sets no cookie, did not read the session ([`SessionAccessed`], [`SessionTracker`]), has no
//! `private`, `no-cache` or `no-store`, no `Vary: *`, and a timeout above zero (the page
//! timeout, else `max-age`, else [`DEFAULT_MIDDLEWARE_SECONDS`]). It adds `Expires`, lowers
//! `max-age` to the timeout and adds `Vary: Authorization` for a request that carried one, on
//! 200s and 304s alike.
//!
//! Concurrent misses on one page render it once: in a worker they share one flight, across
//! workers the first takes a short Redis lock and the others poll the cache for up to 200 ms
//! (a response that turns out not storable releases them at once). A page past its timeout
//! stays stored for the stale-while-revalidate window (default
//! [`DEFAULT_STALE_WHILE_REVALIDATE`]): it is served at once, with its true `Age`, while one
//! background request per worker (sent down the whole stack again) renders it anew.
//!
//! A view can tag its page with [`CacheTags`]: the page is stored with
//! `Cache::set_bytes_tagged` (so `Cache::purge_tag` evicts it on every worker) and carries
//! `Surrogate-Key` and `Cache-Tag` for CDNs, with `s-maxage` and `stale-while-revalidate`.
//!
//! ```no_run
//! use std::sync::Arc;
//!
//! use herd_cache::middleware::{FetchFromCacheLayer, UpdateCacheLayer};
//! use herd_cache::Cache;
//! use herd_cache::local::LocalBackend;
//!
//! let cache = Cache::builder(Arc::new(LocalBackend::new(64 << 20))).build();
//! let update = UpdateCacheLayer::new(cache.clone()); // outside sessions, CSRF and auth
//! let fetch = FetchFromCacheLayer::new(cache); // inside them, next to the URL dispatcher
//! # let _ = (update, fetch);
//! ```

mod flight;
mod memo;
mod page;

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use herd_core::{Body, IntoResponse, Request, Response};
use http::header::{AUTHORIZATION, ETAG, SET_COOKIE};
use http::uri::Scheme;
use http::{HeaderName, Method, StatusCode};
use tower::{Layer, Service, ServiceExt};

use crate::backend::BoxFuture;
use crate::cache::{Cache, Timeout};
use crate::conditional::{Precondition, evaluate, not_modified, precondition_failed};
use crate::headers::{
    CacheControl, UrlHash, cache_control_directives, get_max_age, has_vary_header, header_list_key,
    learn_cache_key, md5_hex, now_millis, now_timestamp, page_key, patch_cache_control,
    patch_response_headers, patch_vary_headers, set_header, url_flight_key,
};
use crate::stampede::LOCK_WAIT;
use bytes::Bytes;
pub(crate) use flight::{PageFlight, Resolution, StaleEntry, refresh_request};
use memo::{HeaderList, Memo};
use page::StoredPage;

/// Django's `CACHE_MIDDLEWARE_SECONDS` default: how long the per-site cache keeps a page whose
/// response names no `max-age`.
pub const DEFAULT_MIDDLEWARE_SECONDS: u64 = 600;

/// The default stale-while-revalidate window, in seconds: how long past its timeout a page
/// stays stored, to be served while it is rendered again (and the hint given to CDNs on tagged
/// pages).
pub const DEFAULT_STALE_WHILE_REVALIDATE: u64 = 60;

/// Response extension: the view read the session, so no cache layer stores the response (even
/// one that does not vary on `Cookie`). The sessions middleware sets it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionAccessed;

/// Request extension shared by the cache layers and whatever reads the session: the cache
/// layers insert one (or reuse the one present) before the request goes in, and reading the
/// session calls [`SessionTracker::mark_accessed`] on the request's tracker. That reaches
/// `cache_page` too, which sits inside the sessions middleware and never sees its response
/// marker in time.
#[derive(Clone, Debug, Default)]
pub struct SessionTracker(Arc<AtomicBool>);

/// Response extension: the tags a view gives its page, for `Cache::purge_tag` and CDNs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheTags(pub Vec<String>);

/// Django's `UpdateCacheMiddleware`: stores the responses [`FetchFromCacheLayer`] missed.
#[derive(Clone)]
pub struct UpdateCacheLayer {
    page: PageCache,
}

/// The service [`UpdateCacheLayer`] builds.
#[derive(Clone)]
pub struct UpdateCache<S> {
    inner: S,
    /// Shared, so that each request takes one reference rather than cloning every setting.
    page: Arc<PageCache>,
}

/// Django's `FetchFromCacheMiddleware`: answers GET and HEAD from the cache.
#[derive(Clone)]
pub struct FetchFromCacheLayer {
    page: PageCache,
}

/// The service [`FetchFromCacheLayer`] builds.
#[derive(Clone)]
pub struct FetchFromCache<S> {
    inner: S,
    /// Shared, so that each request takes one reference rather than cloning every setting.
    page: Arc<PageCache>,
}

/// The settings both halves of the cache middleware (and `cache_page`) share, and their logic.
#[derive(Clone)]
pub(crate) struct PageCache {
    cache: Cache,
    key_prefix: Arc<str>,
    /// Used when the response has no `max-age` (`CACHE_MIDDLEWARE_SECONDS`).
    cache_timeout: u64,
    /// `cache_page`'s timeout, which takes precedence over `max-age`.
    page_timeout: Option<u64>,
    stale_while_revalidate: u64,
    /// How long a leader that finds another worker's lock waits for its page.
    lock_wait: Duration,
    /// The header lists and pages this worker read last.
    memo: Memo,
}

/// What the cache says about a request.
pub(crate) enum Lookup {
    /// Not a GET or HEAD: neither answered nor stored.
    Skip,
    /// Nothing stored: build the response, then try to store it. Carries the key of the
    /// page's flight: its page key, or its URL and method while no header list is learned.
    Miss(String),
    /// The stored response (or a 304/412 for a conditional request).
    Hit(Box<Response>),
    /// A stored page past its freshness, with `Age` past its `max-age`.
    Stale(Box<Response>, StaleEntry),
}

/// Request extension between [`UpdateCache`] and [`FetchFromCache`]: what Update does with the
/// response (Django's `request._cache_update_cache`, plus the flight and the refresh).
#[derive(Clone, Default)]
pub(crate) struct UpdateFlag(Arc<Mutex<Pending>>);

#[derive(Default)]
enum Pending {
    /// Return the response as it is: a hit, a skip, or Fetch was never reached.
    #[default]
    Nothing,
    /// This request is Update's background refresh: Fetch renders without looking.
    Refresh,
    /// A miss: store the response, then finish the flight this request leads, if any.
    Store(Option<PageFlight>),
    /// A stale page was served: refresh it in the background.
    Stale(StaleEntry),
}

// === impl UpdateFlag ===

impl UpdateFlag {
    /// The flag of Update's own background refresh.
    fn refreshing() -> Self {
        Self(Arc::new(Mutex::new(Pending::Refresh)))
    }

    fn set(&self, pending: Pending) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = pending;
    }

    fn take(&self) -> Pending {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn is_refresh(&self) -> bool {
        matches!(
            *self.0.lock().unwrap_or_else(PoisonError::into_inner),
            Pending::Refresh
        )
    }
}

// === impl SessionTracker ===

impl SessionTracker {
    /// A tracker nothing has marked.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that the session was read.
    pub fn mark_accessed(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether the session was read.
    pub fn is_accessed(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

// === impl UpdateCacheLayer ===

impl UpdateCacheLayer {
    /// Stores pages in `cache`, for [`DEFAULT_MIDDLEWARE_SECONDS`] unless the response's
    /// `max-age` says otherwise.
    pub fn new(cache: Cache) -> Self {
        Self {
            page: PageCache::new(cache, DEFAULT_MIDDLEWARE_SECONDS, None),
        }
    }

    /// Django's `CACHE_MIDDLEWARE_KEY_PREFIX`; must match the [`FetchFromCacheLayer`]'s.
    #[must_use]
    pub fn key_prefix(mut self, key_prefix: &str) -> Self {
        self.page = self.page.with_key_prefix(key_prefix);
        self
    }

    /// Django's `CACHE_MIDDLEWARE_SECONDS` (whole seconds): the timeout for responses without
    /// `max-age`.
    #[must_use]
    pub fn seconds(mut self, timeout: Duration) -> Self {
        self.page.cache_timeout = timeout.as_secs();
        self
    }

    /// The stale-while-revalidate window (whole seconds; zero turns it off), also the hint
    /// given to CDNs on tagged pages; default [`DEFAULT_STALE_WHILE_REVALIDATE`].
    #[must_use]
    pub fn stale_while_revalidate(mut self, hint: Duration) -> Self {
        self.page = self.page.with_stale_while_revalidate(hint.as_secs());
        self
    }
}

impl<S> Layer<S> for UpdateCacheLayer {
    type Service = UpdateCache<S>;

    fn layer(&self, inner: S) -> Self::Service {
        UpdateCache {
            inner,
            page: Arc::new(self.page.clone()),
        }
    }
}

// === impl UpdateCache ===

impl<S> UpdateCache<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<Request> for UpdateCache<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        if !is_cacheable_method(request.method()) || self.page.keeps_nothing() {
            return Box::pin(self.inner.call(request));
        }
        // Kept for a background refresh, which goes down the whole stack again.
        let extensions = request.extensions().clone();
        let refresher = self.inner.clone();
        let flag = UpdateFlag::default();
        request.extensions_mut().insert(flag.clone());
        let tracker = session_tracker(&mut request);
        let head = request_head(&request);
        let future = self.inner.call(request);
        let page = self.page.clone();
        Box::pin(async move {
            let response = future.await?;
            match flag.take() {
                Pending::Store(flight) => {
                    Ok(page.update(&head, Some(&tracker), response, flight).await.0)
                }
                Pending::Stale(StaleEntry { key, method }) => {
                    let refresh = {
                        let page = page.clone();
                        async move {
                            let mut request = refresh_request(&head, extensions, method);
                            let flag = UpdateFlag::refreshing();
                            request.extensions_mut().insert(flag.clone());
                            let tracker = session_tracker(&mut request);
                            let head = request_head(&request);
                            let Ok(response) = refresher.oneshot(request).await;
                            match flag.take() {
                                Pending::Store(_) => {
                                    page.update(&head, Some(&tracker), response, None).await.1
                                }
                                // Something in between answered on its own: nothing to store.
                                _ => false,
                            }
                        }
                    };
                    page.refresh_in_background(&key, refresh);
                    Ok(response)
                }
                Pending::Nothing | Pending::Refresh => Ok(response),
            }
        })
    }
}

// === impl FetchFromCacheLayer ===

impl FetchFromCacheLayer {
    /// Answers from `cache`.
    pub fn new(cache: Cache) -> Self {
        Self {
            page: PageCache::new(cache, DEFAULT_MIDDLEWARE_SECONDS, None),
        }
    }

    /// Django's `CACHE_MIDDLEWARE_KEY_PREFIX`; must match the [`UpdateCacheLayer`]'s.
    #[must_use]
    pub fn key_prefix(mut self, key_prefix: &str) -> Self {
        self.page = self.page.with_key_prefix(key_prefix);
        self
    }

    /// How long a miss waits for the page another worker renders under the lock before it
    /// renders itself; default [`LOCK_WAIT`] (200 ms).
    #[must_use]
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.page = self.page.with_lock_wait(wait);
        self
    }
}

impl<S> Layer<S> for FetchFromCacheLayer {
    type Service = FetchFromCache<S>;

    fn layer(&self, inner: S) -> Self::Service {
        FetchFromCache {
            inner,
            page: Arc::new(self.page.clone()),
        }
    }
}

// === impl FetchFromCache ===

impl<S> FetchFromCache<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<Request> for FetchFromCache<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if self.page.keeps_nothing() {
            return Box::pin(self.inner.call(request));
        }
        // The ready service answers this request; the clone waits for the next `poll_ready`.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let page = self.page.clone();
        Box::pin(async move {
            let Some(flag) = request.extensions().get::<UpdateFlag>().cloned() else {
                // No UpdateCache outside: nothing would store or refresh, so no flight and no
                // stale answer either.
                return match page.lookup(&request).await {
                    Lookup::Hit(response) => Ok(*response),
                    Lookup::Skip | Lookup::Miss(_) | Lookup::Stale(..) => inner.call(request).await,
                };
            };
            if flag.is_refresh() {
                flag.set(Pending::Store(None));
                return inner.call(request).await;
            }
            match page.resolve(&request).await {
                Resolution::Skip => inner.call(request).await,
                Resolution::Hit(response) => Ok(*response),
                Resolution::Stale(response, entry) => {
                    flag.set(Pending::Stale(entry));
                    Ok(*response)
                }
                Resolution::Render(flight) => {
                    flag.set(Pending::Store(flight));
                    inner.call(request).await
                }
            }
        })
    }
}

// === impl PageCache ===

impl PageCache {
    /// Whether the cache keeps nothing (the dummy backend): the page layers then pass requests
    /// straight through, skipping keys, hashing and flights that could never pay off.
    pub(crate) fn keeps_nothing(&self) -> bool {
        self.cache.keeps_nothing()
    }

    pub(crate) fn new(cache: Cache, cache_timeout: u64, page_timeout: Option<u64>) -> Self {
        Self {
            cache,
            key_prefix: Arc::from(""),
            cache_timeout,
            page_timeout,
            stale_while_revalidate: DEFAULT_STALE_WHILE_REVALIDATE,
            lock_wait: LOCK_WAIT,
            memo: Memo::default(),
        }
    }

    pub(crate) fn with_key_prefix(mut self, key_prefix: &str) -> Self {
        self.key_prefix = Arc::from(key_prefix);
        self
    }

    pub(crate) fn with_lock_wait(mut self, wait: Duration) -> Self {
        self.lock_wait = wait;
        self
    }

    pub(crate) fn with_stale_while_revalidate(mut self, seconds: u64) -> Self {
        self.stale_while_revalidate = seconds;
        self
    }

    /// Django's `FetchFromCacheMiddleware.process_request`, plus the conditional answer.
    ///
    /// Django reads the header list learned for the URL, then the page under the key it gives.
    /// Once a header list has been read for the URL, both are read in one call (one round
    /// trip to Redis) under the key the remembered list gives, and that page is used only when
    /// the stored list is the remembered one; otherwise the page is read again under the key
    /// of the list just read ([`memo`]).
    pub(crate) async fn lookup(&self, request: &Request) -> Lookup {
        let method = request.method();
        if !is_cacheable_method(method) {
            return Lookup::Skip;
        }
        let url = UrlHash::of(request);
        let Some((header_list, read)) = self.header_list(request, &url).await else {
            return Lookup::Miss(url_flight_key(request, &self.key_prefix, &url));
        };
        let (mut key, stored) = if let Some(read) = read {
            read
        } else {
            let key = page_key(
                request,
                &Method::GET,
                &header_list.names,
                &self.key_prefix,
                &url,
            );
            let stored = self.cache.get_bytes(&key).await;
            (key, stored)
        };
        let mut key_method = Method::GET;
        let mut page = stored.and_then(|stored| self.memo.page(&key, &stored));
        if page.is_none() && *method == Method::HEAD {
            key = page_key(
                request,
                &Method::HEAD,
                &header_list.names,
                &self.key_prefix,
                &url,
            );
            key_method = Method::HEAD;
            page = self
                .cache
                .get_bytes(&key)
                .await
                .and_then(|stored| self.memo.page(&key, &stored));
        }
        let Some((page, body)) = page else {
            // Update stores under the request's own method; a GET's key is in hand already.
            return Lookup::Miss(key);
        };

        let stale = (now_millis() >= page.fresh_until_ms).then_some(StaleEntry {
            key,
            method: key_method,
        });
        let answer = |response: Response| match stale {
            Some(entry) => Lookup::Stale(Box::new(response), entry),
            None => Lookup::Hit(Box::new(response)),
        };
        let headers = page.headers_at(now_timestamp());
        if page.etag.is_some() || page.last_modified.is_some() {
            match evaluate(
                method,
                request.headers(),
                page.etag.as_deref(),
                page.last_modified,
            ) {
                Precondition::Proceed => {}
                Precondition::NotModified => return answer(not_modified(Some(&headers))),
                Precondition::Failed => return answer(precondition_failed()),
            }
        }
        let mut response = Response::new(Body::from(body));
        *response.status_mut() = page.status;
        *response.headers_mut() = headers;
        answer(response)
    }

    /// The header list learned for the URL, with the GET page read along with it when the
    /// list is the one remembered (its key and what it holds); `None` when no usable list is
    /// stored.
    async fn header_list(
        &self,
        request: &Request,
        url: &UrlHash,
    ) -> Option<(Arc<HeaderList>, Option<(String, Option<Bytes>)>)> {
        let header_key = header_list_key(&self.key_prefix, url);
        let Some(known) = self.memo.header_list(url) else {
            let stored = self.cache.get_bytes(&header_key).await?;
            return Some((self.memo.learn_header_list(url, stored)?, None));
        };
        let guess = page_key(request, &Method::GET, &known.names, &self.key_prefix, url);
        let (stored, page) = self.cache.get_bytes_pair(&header_key, &guess).await?;
        let stored = stored?;
        if known.is_stored_as(&stored) {
            self.cache.count_read(page.is_some());
            return Some((known, Some((guess, page))));
        }
        // Another list now: the guessed page is not the one Django would read.
        Some((self.memo.learn_header_list(url, stored)?, None))
    }

    /// Django's `UpdateCacheMiddleware.process_response`, with Herd's stricter storing rule;
    /// also answers whether the page was stored, after finishing `flight` accordingly.
    pub(crate) async fn update(
        &self,
        head: &http::Request<()>,
        tracker: Option<&SessionTracker>,
        response: Response,
        flight: Option<PageFlight>,
    ) -> (Response, bool) {
        let (response, stored) = self.store(head, tracker, response).await;
        if let Some(flight) = flight {
            flight.finish(stored).await;
        }
        (response, stored)
    }

    async fn store(
        &self,
        head: &http::Request<()>,
        tracker: Option<&SessionTracker>,
        response: Response,
    ) -> (Response, bool) {
        let status = response.status();
        if is_streaming(&response)
            || (status != StatusCode::OK && status != StatusCode::NOT_MODIFIED)
        {
            return (response, false);
        }
        // Herd stores nothing that sets a cookie or read the session (DJANGO.md §14).
        if response.headers().contains_key(SET_COOKIE)
            || response.extensions().get::<SessionAccessed>().is_some()
            || tracker.is_some_and(SessionTracker::is_accessed)
        {
            return (response, false);
        }
        let directives = cache_control_directives(response.headers());
        if directives
            .iter()
            .any(|(name, _)| matches!(name.as_str(), "private" | "no-cache" | "no-store"))
            || has_vary_header(response.headers(), "*")
        {
            return (response, false);
        }
        let timeout = match self.page_timeout {
            Some(timeout) => timeout,
            None => match get_max_age(response.headers()) {
                None => self.cache_timeout,
                Some(max_age) => match u64::try_from(max_age) {
                    Ok(max_age) if max_age > 0 => max_age,
                    _ => return (response, false),
                },
            },
        };

        let (mut parts, body) = response.into_parts();
        patch_response_headers(&mut parts.headers, timeout);
        let public = directives.iter().any(|(name, _)| name == "public");
        if head.headers().contains_key(AUTHORIZATION) && !public {
            patch_vary_headers(&mut parts.headers, &["Authorization"]);
        }
        if timeout == 0 || status != StatusCode::OK {
            return (Response::from_parts(parts, body), false);
        }

        let body = match body.collect_bytes().await {
            Ok(body) => body,
            Err(err) => return (err.into_response(), false),
        };
        let tags = parts
            .extensions
            .get::<CacheTags>()
            .map(|tags| tags.0.clone())
            .filter(|tags| !tags.is_empty());
        if let Some(tags) = &tags {
            set_header(&mut parts.headers, surrogate_key(), &tags.join(" "));
            set_header(&mut parts.headers, cache_tag(), &tags.join(","));
            patch_cache_control(
                &mut parts.headers,
                &CacheControl::new()
                    .s_maxage(timeout)
                    .stale_while_revalidate(self.stale_while_revalidate),
            );
        }
        // The same ETag `ConditionalGetLayer` would give, kept so a conditional hit costs no body.
        if !parts.headers.contains_key(ETAG) && !body.is_empty() {
            set_header(&mut parts.headers, ETAG, &format!("\"{}\"", md5_hex(&body)));
        }

        let fresh_until_ms = now_millis()
            .saturating_add(i64::try_from(timeout.saturating_mul(1000)).unwrap_or(i64::MAX));
        // Kept past the timeout for the stale window, the header list with it.
        let lifetime = timeout.saturating_add(self.stale_while_revalidate);
        let key = learn_cache_key(
            head,
            &parts.headers,
            lifetime,
            &self.key_prefix,
            &self.cache,
        )
        .await;
        let Some(stored) = StoredPage::encode(
            status,
            fresh_until_ms,
            parts.headers.get(ETAG),
            &parts.headers,
            &body,
        ) else {
            return (Response::from_parts(parts, Body::from(body)), false);
        };
        let lifetime = Timeout::Seconds(lifetime);
        match &tags {
            Some(tags) => {
                self.cache
                    .set_bytes_tagged(&key, stored, lifetime, tags)
                    .await;
            }
            None => self.cache.set_bytes(&key, stored, lifetime).await,
        }
        (Response::from_parts(parts, Body::from(body)), true)
    }

    async fn read(&self, key: &str) -> Option<StoredPage> {
        self.cache.get_bytes(key).await.and_then(StoredPage::decode)
    }
}

// === crate functions ===

/// What storing needs of a request once the request itself has gone down the stack.
pub(crate) fn request_head(request: &Request) -> http::Request<()> {
    let mut head = http::Request::new(());
    *head.method_mut() = request.method().clone();
    *head.uri_mut() = request.uri().clone();
    *head.version_mut() = request.version();
    *head.headers_mut() = request.headers().clone();
    if let Some(scheme) = request.extensions().get::<Scheme>() {
        head.extensions_mut().insert(scheme.clone());
    }
    head
}

/// The request's [`SessionTracker`], inserting one when none is there yet.
pub(crate) fn session_tracker(request: &mut Request) -> SessionTracker {
    request
        .extensions_mut()
        .get_or_insert_with(SessionTracker::new)
        .clone()
}

// === private functions ===

fn is_cacheable_method(method: &Method) -> bool {
    *method == Method::GET || *method == Method::HEAD
}

/// A body whose length is not known up front is streamed, and never buffered for the cache.
fn is_streaming(response: &Response) -> bool {
    http_body::Body::size_hint(response.body())
        .exact()
        .is_none()
}

fn surrogate_key() -> HeaderName {
    HeaderName::from_static("surrogate-key")
}

fn cache_tag() -> HeaderName {
    HeaderName::from_static("cache-tag")
}
