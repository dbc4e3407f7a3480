//! Django's `django.utils.cache` and the cache decorators: header patching (`Vary`,
//! `Cache-Control`, `Expires`), the page and header-list keys the cache middleware uses, and the
//! per-view layers `cache_page`, `never_cache`, `cache_control` and `vary_on_headers`.
//!
//! The per-view layers attach to one route with `herd_http`'s `Pattern::layer`, as Django's
//! decorators wrap one view:
//!
//! ```no_run
//! use std::sync::Arc;
//! use std::time::Duration;
//!
//! use herd_cache::headers::{CacheControl, CacheControlLayer, CachePageLayer, NeverCacheLayer};
//! use herd_cache::Cache;
//! use herd_cache::local::LocalBackend;
//!
//! let cache = Cache::builder(Arc::new(LocalBackend::new(64 << 20))).build();
//! let archive = CachePageLayer::new(cache, Duration::from_secs(900)).key_prefix("archive");
//! let public = CacheControlLayer::new(CacheControl::new().max_age(60).public());
//! let private = NeverCacheLayer::new();
//! # let _ = (archive, public, private);
//! ```

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use herd_core::{Request, Response};
use http::header::{CACHE_CONTROL, EXPIRES, HOST, VARY};
use http::uri::Scheme;
use http::{HeaderMap, HeaderValue, Method};
use md5::{Digest, Md5};
use tower::{Layer, Service, ServiceExt};

use crate::backend::BoxFuture;
use crate::cache::{Cache, Timeout};
use crate::middleware::{
    PageCache, Resolution, StaleEntry, refresh_request, request_head, session_tracker,
};

/// `Cache-Control` directives to merge into a response, in the order given (Django's keyword
/// arguments to `patch_cache_control` and `cache_control`).
///
/// ```
/// use herd_cache::headers::{CacheControl, patch_cache_control};
///
/// let mut headers = http::HeaderMap::new();
/// patch_cache_control(&mut headers, &CacheControl::new().max_age(60).public());
/// assert_eq!(headers["cache-control"], "max-age=60, public");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheControl {
    /// `(name, value)`: a `None` value is a bare directive (Django's `True`).
    directives: Vec<(String, Option<String>)>,
}

/// Django's `never_cache` decorator: [`add_never_cache_headers`] on every response.
#[derive(Clone, Copy, Debug, Default)]
pub struct NeverCacheLayer;

/// Django's `cache_control(**kwargs)` decorator: [`patch_cache_control`] on every response.
#[derive(Clone, Debug)]
pub struct CacheControlLayer {
    directives: CacheControl,
}

/// Django's `vary_on_headers(*headers)` decorator: [`patch_vary_headers`] on every response.
#[derive(Clone, Debug)]
pub struct VaryOnHeadersLayer {
    headers: Vec<String>,
}

/// The service of the three decorator layers above: it patches each response's headers.
#[derive(Clone, Debug)]
pub struct PatchHeaders<S> {
    inner: S,
    patch: HeaderPatch,
}

/// The service [`NeverCacheLayer`] builds.
pub type NeverCache<S> = PatchHeaders<S>;
/// The service [`CacheControlLayer`] builds.
pub type CacheControlService<S> = PatchHeaders<S>;
/// The service [`VaryOnHeadersLayer`] builds.
pub type VaryOnHeaders<S> = PatchHeaders<S>;

/// What [`PatchHeaders`] does to a response.
#[derive(Clone, Debug)]
enum HeaderPatch {
    NeverCache,
    CacheControl(CacheControl),
    Vary(Vec<String>),
}

/// Django's `cache_page(timeout, cache=…, key_prefix=…)`: the whole cache middleware around one
/// view, with the page timeout taking precedence over the response's `max-age`.
#[derive(Clone)]
pub struct CachePageLayer {
    page: PageCache,
}

/// The service [`CachePageLayer`] builds.
#[derive(Clone)]
pub struct CachePage<S> {
    inner: S,
    /// Shared, so that each request takes one reference rather than cloning every setting.
    page: Arc<PageCache>,
}

/// A directive value held while patching: `no-cache` may carry several field names.
#[derive(Debug)]
enum Directive {
    One(Option<String>),
    Fields(Vec<Option<String>>),
}

// === impl CacheControl ===

impl CacheControl {
    /// No directives.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `name`, bare when `value` is `None`. Underscores become hyphens and
    /// the name is lower-cased, as Django turns keyword arguments into directives.
    #[must_use]
    pub fn directive(mut self, name: &str, value: Option<&str>) -> Self {
        let name = name.replace('_', "-").to_ascii_lowercase();
        let value = value.map(str::to_owned);
        match self.directives.iter_mut().find(|(known, _)| *known == name) {
            Some(entry) => entry.1 = value,
            None => self.directives.push((name, value)),
        }
        self
    }

    /// `max-age=<seconds>`; a smaller `max-age` already on the response wins.
    #[must_use]
    pub fn max_age(self, seconds: u64) -> Self {
        self.directive("max-age", Some(&seconds.to_string()))
    }

    /// `s-maxage=<seconds>`: the lifetime for shared caches (CDNs).
    #[must_use]
    pub fn s_maxage(self, seconds: u64) -> Self {
        self.directive("s-maxage", Some(&seconds.to_string()))
    }

    /// `stale-while-revalidate=<seconds>`.
    #[must_use]
    pub fn stale_while_revalidate(self, seconds: u64) -> Self {
        self.directive("stale-while-revalidate", Some(&seconds.to_string()))
    }

    /// `public`; it removes a `private` already on the response.
    #[must_use]
    pub fn public(self) -> Self {
        self.directive("public", None)
    }

    /// `private`; it removes a `public` already on the response.
    #[must_use]
    pub fn private(self) -> Self {
        self.directive("private", None)
    }

    /// `no-cache`.
    #[must_use]
    pub fn no_cache(self) -> Self {
        self.directive("no-cache", None)
    }

    /// `no-store`.
    #[must_use]
    pub fn no_store(self) -> Self {
        self.directive("no-store", None)
    }

    /// `must-revalidate`.
    #[must_use]
    pub fn must_revalidate(self) -> Self {
        self.directive("must-revalidate", None)
    }

    fn get(&self, name: &str) -> Option<&Option<String>> {
        self.directives
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, value)| value)
    }
}

/// Merges `directives` into the response's `Cache-Control`, as Django's `patch_cache_control`:
/// existing directives keep their place, new ones follow in order; a new `max-age` never raises
/// an existing one; `public` and `private` replace each other; `no-cache` collects field names
/// (a bare `no-cache` wins over them).
pub fn patch_cache_control(headers: &mut HeaderMap, directives: &CacheControl) {
    let mut current: Vec<(String, Directive)> = Vec::new();
    if let Some(value) = joined(headers, &CACHE_CONTROL).filter(|value| !value.is_empty()) {
        for field in split_list(&value) {
            let (name, value) = directive_item(field);
            set_directive(&mut current, name, value);
        }
    }

    let mut new = directives.clone();
    if let (Some(Directive::One(Some(old))), Some(Some(requested))) =
        (find(&current, "max-age"), new.get("max-age"))
        && let (Ok(old), Ok(requested)) = (old.trim().parse::<i64>(), requested.parse::<i64>())
    {
        new = new.directive("max-age", Some(&old.min(requested).to_string()));
    }

    if find(&current, "private").is_some() && new.get("public").is_some() {
        current.retain(|(name, _)| name != "private");
    } else if find(&current, "public").is_some() && new.get("private").is_some() {
        current.retain(|(name, _)| name != "public");
    }

    for (name, value) in new.directives {
        set_directive(&mut current, name, value);
    }

    let mut rendered = Vec::new();
    for (name, directive) in current {
        match directive {
            Directive::One(value) => rendered.push(render_directive(&name, value.as_deref())),
            Directive::Fields(fields) if fields.contains(&None) => rendered.push(name),
            Directive::Fields(fields) => rendered.extend(
                fields
                    .iter()
                    .map(|field| render_directive(&name, field.as_deref())),
            ),
        }
    }
    set_header(headers, CACHE_CONTROL, &rendered.join(", "));
}

/// The response's `max-age` in seconds, if `Cache-Control` has one that is an integer.
pub fn get_max_age(headers: &HeaderMap) -> Option<i64> {
    let value = joined(headers, &CACHE_CONTROL)?;
    let mut max_age = None;
    for field in split_list(&value) {
        let (name, value) = directive_item(field);
        if name == "max-age" {
            max_age = Some(value);
        }
    }
    max_age
        .flatten()
        .and_then(|value| value.trim().parse().ok())
}

/// Adds `Expires` (now + `timeout`) when absent and patches `max-age=<timeout>` in, as Django's
/// `patch_response_headers`.
pub fn patch_response_headers(headers: &mut HeaderMap, timeout: u64) {
    if !headers.contains_key(EXPIRES) {
        let expires = now_timestamp().saturating_add(i64::try_from(timeout).unwrap_or(i64::MAX));
        set_header(headers, EXPIRES, &http_date(expires));
    }
    patch_cache_control(headers, &CacheControl::new().max_age(timeout));
}

/// Marks a response as never to be cached: `Expires` now (when absent) and
/// `Cache-Control: max-age=0, no-cache, no-store, must-revalidate, private`.
pub fn add_never_cache_headers(headers: &mut HeaderMap) {
    patch_response_headers(headers, 0);
    patch_cache_control(
        headers,
        &CacheControl::new()
            .no_cache()
            .no_store()
            .must_revalidate()
            .private(),
    );
}

/// Adds `new_headers` to `Vary`, skipping names already there (compared case-insensitively),
/// keeping the existing order; a `*` anywhere makes the header exactly `*`.
pub fn patch_vary_headers(headers: &mut HeaderMap, new_headers: &[&str]) {
    let mut vary: Vec<String> = joined(headers, &VARY)
        .map(|value| split_list(&value).map(str::to_owned).collect())
        .unwrap_or_default();
    for new in new_headers {
        if !vary.iter().any(|known| known.eq_ignore_ascii_case(new)) {
            vary.push((*new).to_owned());
        }
    }
    if vary.iter().any(|name| name == "*") {
        set_header(headers, VARY, "*");
    } else if !vary.is_empty() {
        set_header(headers, VARY, &vary.join(", "));
    }
}

/// Whether `Vary` names `name` (case-insensitively).
pub fn has_vary_header(headers: &HeaderMap, name: &str) -> bool {
    joined(headers, &VARY)
        .is_some_and(|value| split_list(&value).any(|known| known.eq_ignore_ascii_case(name)))
}

/// The request's absolute URL, `scheme://host/path?query`, as Django's `build_absolute_uri`.
///
/// The scheme is the URI's, else an [`http::uri::Scheme`] a middleware stored in the request's
/// extensions (the security layer does, behind a TLS-terminating proxy), else `http`.
pub fn build_absolute_uri<B>(request: &http::Request<B>) -> String {
    let mut uri = String::new();
    for part in absolute_uri_parts(request) {
        uri.push_str(part);
    }
    uri
}

/// The pieces of [`build_absolute_uri`], in order, so that the URL can be hashed without
/// being assembled (the page cache hashes it on every request).
fn absolute_uri_parts<B>(request: &http::Request<B>) -> [&str; 6] {
    let scheme = request
        .uri()
        .scheme_str()
        .or_else(|| request.extensions().get::<Scheme>().map(Scheme::as_str))
        .unwrap_or("http");
    let host = request
        .headers()
        .get(HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| request.uri().authority().map(http::uri::Authority::as_str))
        .unwrap_or_default();
    let path = request.uri().path();
    match request.uri().query().filter(|query| !query.is_empty()) {
        Some(query) => [scheme, "://", host, path, "?", query],
        None => [scheme, "://", host, path, "", ""],
    }
}

/// The hex MD5 of a request's absolute URL, the part of every cache key that names the page.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct UrlHash([u8; 32]);

impl UrlHash {
    pub(crate) fn of<B>(request: &http::Request<B>) -> Self {
        let mut digest = Md5::new();
        for part in absolute_uri_parts(request) {
            digest.update(part.as_bytes());
        }
        let mut hex = [0_u8; 32];
        // 16 bytes always fit 32 hex digits.
        let _ = hex::encode_to_slice(digest.finalize(), &mut hex);
        Self(hex)
    }

    pub(crate) fn as_str(&self) -> &str {
        // Hex digits are ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The page key for the request under `method`, if a header list was learned for its URL.
pub async fn get_cache_key<B: Sync>(
    request: &http::Request<B>,
    key_prefix: &str,
    method: &Method,
    cache: &Cache,
) -> Option<String> {
    let header_list = learned_header_list(request, key_prefix, cache).await?;
    Some(generate_cache_key(
        request,
        method,
        &header_list,
        key_prefix,
    ))
}

/// The header list learned for the request's URL, if any.
pub(crate) async fn learned_header_list<B: Sync>(
    request: &http::Request<B>,
    key_prefix: &str,
    cache: &Cache,
) -> Option<Vec<String>> {
    cache.get(&cache_header_key(key_prefix, request)).await
}

/// The page key for the request under `method` and a learned header list.
pub(crate) fn page_key<B>(
    request: &http::Request<B>,
    method: &Method,
    header_list: &[String],
    key_prefix: &str,
    url: &UrlHash,
) -> String {
    let mut hex = *EMPTY_MD5_HEX;
    // A page that varies on nothing (most do) has the MD5 of no bytes, known in advance.
    if !header_list.is_empty() {
        let mut values = Md5::new();
        for name in header_list {
            hash_header_piece(&mut values, request.headers(), name);
        }
        let _ = hex::encode_to_slice(values.finalize(), &mut hex);
    }
    let method = method.as_str();
    let mut key =
        String::with_capacity(PAGE_KEY_HEAD.len() + key_prefix.len() + method.len() + 3 + 64);
    for part in [
        PAGE_KEY_HEAD,
        key_prefix,
        ".",
        method,
        ".",
        url.as_str(),
        ".",
        std::str::from_utf8(&hex).unwrap_or_default(),
    ] {
        key.push_str(part);
    }
    key
}

/// The key of the header list learned for a URL.
pub(crate) fn header_list_key(key_prefix: &str, url: &UrlHash) -> String {
    let mut key = String::with_capacity(HEADER_KEY_HEAD.len() + key_prefix.len() + 1 + 32);
    for part in [HEADER_KEY_HEAD, key_prefix, ".", url.as_str()] {
        key.push_str(part);
    }
    key
}

/// What concurrent misses on a URL share a flight (and a lock) by before a header list is
/// learned for it.
pub(crate) fn url_flight_key(request: &Request, key_prefix: &str, url: &UrlHash) -> String {
    format!(
        "views.decorators.cache.cache_flight.{key_prefix}.{}.{}",
        request.method(),
        url.as_str()
    )
}

/// Stores the header list the response varies on (its `Vary` names, lower-cased and sorted) for
/// the request's URL, for `timeout` seconds, and returns the page key for the request's method.
pub async fn learn_cache_key<B: Sync>(
    request: &http::Request<B>,
    response_headers: &HeaderMap,
    timeout: u64,
    key_prefix: &str,
    cache: &Cache,
) -> String {
    let mut header_list: Vec<String> = joined(response_headers, &VARY)
        .map(|value| {
            split_list(&value)
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    header_list.sort();
    header_list.dedup();
    cache
        .set(
            &cache_header_key(key_prefix, request),
            &header_list,
            Timeout::Seconds(timeout),
        )
        .await;
    generate_cache_key(request, request.method(), &header_list, key_prefix)
}

/// Django's `never_cache`.
pub fn never_cache() -> NeverCacheLayer {
    NeverCacheLayer
}

/// Django's `cache_control(**kwargs)`.
pub fn cache_control(directives: CacheControl) -> CacheControlLayer {
    CacheControlLayer::new(directives)
}

/// Django's `vary_on_headers(*headers)`.
pub fn vary_on_headers(headers: &[&str]) -> VaryOnHeadersLayer {
    VaryOnHeadersLayer::new(headers)
}

/// Django's `vary_on_cookie`: `Vary: Cookie`.
pub fn vary_on_cookie() -> VaryOnHeadersLayer {
    VaryOnHeadersLayer::new(&["Cookie"])
}

/// Django's `cache_page(timeout, cache=…)`.
pub fn cache_page(cache: Cache, timeout: Duration) -> CachePageLayer {
    CachePageLayer::new(cache, timeout)
}

// === impl NeverCacheLayer ===

impl NeverCacheLayer {
    /// The layer.
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for NeverCacheLayer {
    type Service = NeverCache<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PatchHeaders {
            inner,
            patch: HeaderPatch::NeverCache,
        }
    }
}

// === impl CacheControlLayer ===

impl CacheControlLayer {
    /// A layer patching `directives` into every response.
    pub fn new(directives: CacheControl) -> Self {
        Self { directives }
    }
}

impl<S> Layer<S> for CacheControlLayer {
    type Service = CacheControlService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PatchHeaders {
            inner,
            patch: HeaderPatch::CacheControl(self.directives.clone()),
        }
    }
}

// === impl VaryOnHeadersLayer ===

impl VaryOnHeadersLayer {
    /// A layer adding `headers` to every response's `Vary`.
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|name| (*name).to_owned()).collect(),
        }
    }
}

impl<S> Layer<S> for VaryOnHeadersLayer {
    type Service = VaryOnHeaders<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PatchHeaders {
            inner,
            patch: HeaderPatch::Vary(self.headers.clone()),
        }
    }
}

// === impl PatchHeaders ===

impl<S> PatchHeaders<S> {
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

impl<S> Service<Request> for PatchHeaders<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let future = self.inner.call(request);
        let patch = self.patch.clone();
        Box::pin(async move {
            let mut response = future.await?;
            let headers = response.headers_mut();
            match &patch {
                HeaderPatch::NeverCache => add_never_cache_headers(headers),
                HeaderPatch::CacheControl(directives) => patch_cache_control(headers, directives),
                HeaderPatch::Vary(names) => {
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    patch_vary_headers(headers, &names);
                }
            }
            Ok(response)
        })
    }
}

// === impl CachePageLayer ===

impl CachePageLayer {
    /// Caches the view's pages in `cache` for `timeout` (whole seconds; zero stores nothing).
    pub fn new(cache: Cache, timeout: Duration) -> Self {
        let seconds = timeout.as_secs();
        Self {
            page: PageCache::new(cache, seconds, Some(seconds)),
        }
    }

    /// Separates these pages' keys from other caches' (Django's `key_prefix`); default empty.
    #[must_use]
    pub fn key_prefix(mut self, key_prefix: &str) -> Self {
        self.page = self.page.with_key_prefix(key_prefix);
        self
    }

    /// How long a miss waits for the page another worker renders under the lock before it
    /// renders itself; default [`LOCK_WAIT`](crate::stampede::LOCK_WAIT) (200 ms).
    #[must_use]
    pub fn lock_wait(mut self, wait: Duration) -> Self {
        self.page = self.page.with_lock_wait(wait);
        self
    }

    /// The stale-while-revalidate window (whole seconds; zero turns it off): how long past
    /// its timeout a page is still served while one background request renders it again; also
    /// the hint given to CDNs on tagged pages. Default 60 s.
    #[must_use]
    pub fn stale_while_revalidate(mut self, hint: Duration) -> Self {
        self.page = self.page.with_stale_while_revalidate(hint.as_secs());
        self
    }
}

impl<S> Layer<S> for CachePageLayer {
    type Service = CachePage<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CachePage {
            inner,
            page: Arc::new(self.page.clone()),
        }
    }
}

// === impl CachePage ===

impl<S> CachePage<S> {
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

impl<S> Service<Request> for CachePage<S>
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
        if self.page.keeps_nothing() {
            return Box::pin(self.inner.call(request));
        }
        // The ready service answers this request; the clone waits for the next `poll_ready`.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let page = self.page.clone();
        Box::pin(async move {
            match page.resolve(&request).await {
                Resolution::Hit(response) => Ok(*response),
                Resolution::Skip => inner.call(request).await,
                Resolution::Stale(response, StaleEntry { key, method }) => {
                    let head = request_head(&request);
                    let extensions = request.extensions().clone();
                    let refresh = {
                        let page = page.clone();
                        async move {
                            let mut request = refresh_request(&head, extensions, method);
                            let tracker = session_tracker(&mut request);
                            let head = request_head(&request);
                            let Ok(response) = inner.oneshot(request).await;
                            page.update(&head, Some(&tracker), response, None).await.1
                        }
                    };
                    page.refresh_in_background(&key, refresh);
                    Ok(*response)
                }
                Resolution::Render(flight) => {
                    let head = request_head(&request);
                    let tracker = session_tracker(&mut request);
                    let response = inner.call(request).await?;
                    Ok(page.update(&head, Some(&tracker), response, flight).await.0)
                }
            }
        })
    }
}

// === private functions ===

/// Splits a comma-separated header value as Django's `cc_delim_re`, dropping empty items.
pub(crate) fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// Every value of `name`, joined with `, ` (as a WSGI server folds repeated headers); `None`
/// when absent.
pub(crate) fn joined(headers: &HeaderMap, name: &http::HeaderName) -> Option<String> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    Some(
        values
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", "),
    )
}

/// Parsed `Cache-Control` directives, names lower-cased (`None` = bare directive).
pub(crate) fn cache_control_directives(headers: &HeaderMap) -> Vec<(String, Option<String>)> {
    joined(headers, &CACHE_CONTROL)
        .map(|value| split_list(&value).map(directive_item).collect())
        .unwrap_or_default()
}

fn directive_item(field: &str) -> (String, Option<String>) {
    match field.split_once('=') {
        Some((name, value)) => (name.to_ascii_lowercase(), Some(value.to_owned())),
        None => (field.to_ascii_lowercase(), None),
    }
}

fn find<'a>(directives: &'a [(String, Directive)], name: &str) -> Option<&'a Directive> {
    directives
        .iter()
        .find(|(known, _)| known == name)
        .map(|(_, directive)| directive)
}

fn set_directive(directives: &mut Vec<(String, Directive)>, name: String, value: Option<String>) {
    let position = directives.iter().position(|(known, _)| *known == name);
    if name == "no-cache" {
        match position.map(|index| &mut directives[index].1) {
            Some(Directive::Fields(fields)) => {
                if !fields.contains(&value) {
                    fields.push(value);
                }
            }
            Some(other) => *other = Directive::Fields(vec![value]),
            None => directives.push((name, Directive::Fields(vec![value]))),
        }
        return;
    }
    match position {
        Some(index) => directives[index].1 = Directive::One(value),
        None => directives.push((name, Directive::One(value))),
    }
}

fn render_directive(name: &str, value: Option<&str>) -> String {
    match value {
        Some(value) => format!("{name}={value}"),
        None => name.to_owned(),
    }
}

/// Replaces `name` with `value`; a value that is not a valid header leaves the header unset
/// rather than failing the response.
pub(crate) fn set_header(headers: &mut HeaderMap, name: http::HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(value) => {
            headers.insert(name, value);
        }
        Err(_) => {
            headers.remove(name);
        }
    }
}

fn cache_header_key<B>(key_prefix: &str, request: &http::Request<B>) -> String {
    header_list_key(key_prefix, &UrlHash::of(request))
}

/// The page key: each listed header contributes `<bytes>:<value>,`, or `-,` when the request
/// lacks it, so an absent header and an empty one never share a page.
fn generate_cache_key<B>(
    request: &http::Request<B>,
    method: &Method,
    header_list: &[String],
    key_prefix: &str,
) -> String {
    page_key(
        request,
        method,
        header_list,
        key_prefix,
        &UrlHash::of(request),
    )
}

/// Feeds one listed header's piece of the page key to `digest`: `<bytes>:<value>,` with the
/// request's values joined by `,` (as Django's `META` holds repeated headers), or `-,`.
fn hash_header_piece(digest: &mut Md5, headers: &HeaderMap, name: &str) {
    let values = headers.get_all(name);
    let mut count = 0;
    let mut len = 0;
    for value in &values {
        count += 1;
        len += value.len();
    }
    if count == 0 {
        digest.update(b"-,");
        return;
    }
    let len = len + (count - 1);
    digest.update(len.to_string().as_bytes());
    digest.update(b":");
    for (index, value) in values.iter().enumerate() {
        if index > 0 {
            digest.update(b",");
        }
        digest.update(value.as_bytes());
    }
    digest.update(b",");
}

/// The hex MD5 of no bytes: the varied-headers part of the key of a page that varies on none.
const EMPTY_MD5_HEX: &[u8; 32] = b"d41d8cd98f00b204e9800998ecf8427e";

/// The start of every page key, before the middleware's key prefix.
const PAGE_KEY_HEAD: &str = "views.decorators.cache.cache_page.";

/// The start of every header-list key, before the middleware's key prefix.
const HEADER_KEY_HEAD: &str = "views.decorators.cache.cache_header.";

/// The lower-case hex MD5 of `bytes`.
pub(crate) fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

/// Seconds since the Unix epoch.
pub(crate) fn now_timestamp() -> i64 {
    Utc::now().timestamp()
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) for a Unix timestamp.
pub(crate) fn http_date(timestamp: i64) -> String {
    DateTime::<Utc>::from_timestamp(timestamp, 0)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// Parses the three date formats HTTP allows (RFC 1123, RFC 850, asctime) into a Unix
/// timestamp; `None` for anything else (Django's `parse_http_date_safe`).
pub(crate) fn parse_http_date(value: &str) -> Option<i64> {
    const FORMATS: [&str; 3] = [
        "%a, %d %b %Y %H:%M:%S GMT",
        "%A, %d-%b-%y %H:%M:%S GMT",
        "%a %b %e %H:%M:%S %Y",
    ];
    let value = value.trim();
    FORMATS
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|date| date.and_utc().timestamp())
}

#[cfg(test)]
mod tests;
