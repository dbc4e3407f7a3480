//! Conditional requests: Django's `ConditionalGetMiddleware` as [`ConditionalGetLayer`] and its
//! `condition`, `etag` and `last_modified` view decorators as [`ConditionLayer`].
//!
//! Preconditions are evaluated in RFC 9110 §13.2.2's order, as Django's
//! `get_conditional_response`: `If-Match`, then `If-Unmodified-Since` (only without
//! `If-Match`), then `If-None-Match` (weak comparison; 304 for GET/HEAD, else 412), then
//! `If-Modified-Since` (only without `If-None-Match`, GET/HEAD only). `ETags` Herd makes are
//! strong: `"<md5 hex of the body>"`.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use chrono::{DateTime, Utc};
use herd_core::{Body, IntoResponse, Request, Response};
use http::header::{
    CACHE_CONTROL, CONTENT_LOCATION, DATE, ETAG, EXPIRES, IF_MATCH, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, IF_UNMODIFIED_SINCE, LAST_MODIFIED, SET_COOKIE, VARY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tower::{Layer, Service};

use crate::backend::BoxFuture;
use crate::headers::{http_date, joined, md5_hex, parse_http_date, split_list};

/// Computes a view's `ETag` (quoted or not) from the request; `None` when it has none.
pub type EtagFn = Arc<dyn for<'a> Fn(&'a Request) -> BoxFuture<'a, Option<String>> + Send + Sync>;

/// Computes when a view's resource last changed; `None` when unknown.
pub type LastModifiedFn =
    Arc<dyn for<'a> Fn(&'a Request) -> BoxFuture<'a, Option<DateTime<Utc>>> + Send + Sync>;

/// Django's `ConditionalGetMiddleware`: on GET, adds an `ETag` to 2xx bodies that lack one and
/// answers a matching `If-None-Match` (or, without it, a satisfied `If-Modified-Since`) with 304.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConditionalGetLayer;

/// The service [`ConditionalGetLayer`] builds.
#[derive(Clone, Debug)]
pub struct ConditionalGet<S> {
    inner: S,
}

/// Django's `condition(etag_func, last_modified_func)` view decorator: evaluates the request's
/// preconditions before the view runs (412 on a failed `If-Match`/`If-Unmodified-Since` or, on
/// unsafe methods, a matched `If-None-Match`; 304 on GET/HEAD) and sets `ETag` and
/// `Last-Modified` on safe responses.
#[derive(Clone, Default)]
pub struct ConditionLayer {
    etag: Option<EtagFn>,
    last_modified: Option<LastModifiedFn>,
}

/// The service [`ConditionLayer`] builds.
#[derive(Clone)]
pub struct Condition<S> {
    inner: S,
    etag: Option<EtagFn>,
    last_modified: Option<LastModifiedFn>,
}

/// What a request's preconditions say about a representation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Precondition {
    /// Serve the representation.
    Proceed,
    /// 304 Not Modified.
    NotModified,
    /// 412 Precondition Failed.
    Failed,
}

/// Django's `condition(etag_func=…, last_modified_func=…)`.
pub fn condition<E, L>(etag: E, last_modified: L) -> ConditionLayer
where
    E: for<'a> Fn(&'a Request) -> BoxFuture<'a, Option<String>> + Send + Sync + 'static,
    L: for<'a> Fn(&'a Request) -> BoxFuture<'a, Option<DateTime<Utc>>> + Send + Sync + 'static,
{
    ConditionLayer::new()
        .etag(etag)
        .last_modified(last_modified)
}

/// Django's `etag(etag_func)`.
pub fn etag<E>(etag: E) -> ConditionLayer
where
    E: for<'a> Fn(&'a Request) -> BoxFuture<'a, Option<String>> + Send + Sync + 'static,
{
    ConditionLayer::new().etag(etag)
}

/// Django's `last_modified(last_modified_func)`.
pub fn last_modified<L>(last_modified: L) -> ConditionLayer
where
    L: for<'a> Fn(&'a Request) -> BoxFuture<'a, Option<DateTime<Utc>>> + Send + Sync + 'static,
{
    ConditionLayer::new().last_modified(last_modified)
}

/// Parses an `If-Match`/`If-None-Match` value: `["*"]`, or the well-formed (optionally weak)
/// quoted `ETags` in it; malformed ones are dropped (Django's `parse_etags`).
pub fn parse_etags(value: &str) -> Vec<String> {
    if value.trim() == "*" {
        return vec!["*".to_owned()];
    }
    value
        .split(',')
        .map(str::trim)
        .filter(|etag| is_etag(etag))
        .map(str::to_owned)
        .collect()
}

/// Quotes `etag` unless it already is a (possibly weak) quoted `ETag` (Django's `quote_etag`).
pub fn quote_etag(etag: &str) -> String {
    if is_etag(etag) {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    }
}

// === impl ConditionalGetLayer ===

impl ConditionalGetLayer {
    /// The layer.
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for ConditionalGetLayer {
    type Service = ConditionalGet<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ConditionalGet { inner }
    }
}

// === impl ConditionalGet ===

impl<S> ConditionalGet<S> {
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

impl<S> Service<Request> for ConditionalGet<S>
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
        // Too late to refuse an unsafe request, and a HEAD body is empty, so only GET qualifies.
        if request.method() != Method::GET {
            return Box::pin(self.inner.call(request));
        }
        let conditions = request.headers().clone();
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            if !response.status().is_success() {
                return Ok(response);
            }
            if needs_etag(response.headers()) && !response.headers().contains_key(ETAG) {
                response = match set_response_etag(response).await {
                    Ok(response) => response,
                    Err(response) => return Ok(response),
                };
            }
            let etag = header_text(response.headers(), &ETAG);
            let last_modified = header_text(response.headers(), &LAST_MODIFIED)
                .as_deref()
                .and_then(parse_http_date);
            if etag.is_none() && last_modified.is_none() {
                return Ok(response);
            }
            Ok(
                match evaluate(&Method::GET, &conditions, etag.as_deref(), last_modified) {
                    Precondition::Proceed => response,
                    Precondition::NotModified => not_modified(Some(response.headers())),
                    Precondition::Failed => precondition_failed(),
                },
            )
        })
    }
}

// === impl ConditionLayer ===

impl ConditionLayer {
    /// A layer with neither function: it evaluates nothing until one is set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the `ETag` function.
    #[must_use]
    pub fn etag<E>(mut self, etag: E) -> Self
    where
        E: for<'a> Fn(&'a Request) -> BoxFuture<'a, Option<String>> + Send + Sync + 'static,
    {
        self.etag = Some(Arc::new(etag));
        self
    }

    /// Sets the last-modified function.
    #[must_use]
    pub fn last_modified<L>(mut self, last_modified: L) -> Self
    where
        L: for<'a> Fn(&'a Request) -> BoxFuture<'a, Option<DateTime<Utc>>> + Send + Sync + 'static,
    {
        self.last_modified = Some(Arc::new(last_modified));
        self
    }
}

impl std::fmt::Debug for ConditionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConditionLayer")
            .field("etag", &self.etag.is_some())
            .field("last_modified", &self.last_modified.is_some())
            .finish()
    }
}

impl<S> Layer<S> for ConditionLayer {
    type Service = Condition<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Condition {
            inner,
            etag: self.etag.clone(),
            last_modified: self.last_modified.clone(),
        }
    }
}

// === impl Condition ===

impl<S> Condition<S> {
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

impl<S> Service<Request> for Condition<S>
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
        // The ready service answers this request; the clone waits for the next `poll_ready`.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let etag_fn = self.etag.clone();
        let last_modified_fn = self.last_modified.clone();
        Box::pin(async move {
            let last_modified = match &last_modified_fn {
                Some(compute) => compute(&request).await.map(|date| date.timestamp()),
                None => None,
            };
            let etag = match &etag_fn {
                Some(compute) => compute(&request).await.map(|etag| quote_etag(&etag)),
                None => None,
            };
            let method = request.method().clone();
            let mut response =
                match evaluate(&method, request.headers(), etag.as_deref(), last_modified) {
                    Precondition::Proceed => inner.call(request).await?,
                    Precondition::NotModified => not_modified(None),
                    Precondition::Failed => precondition_failed(),
                };
            if method == Method::GET || method == Method::HEAD {
                let headers = response.headers_mut();
                if let Some(last_modified) = last_modified
                    && !headers.contains_key(LAST_MODIFIED)
                    && let Ok(value) = HeaderValue::from_str(&http_date(last_modified))
                {
                    headers.insert(LAST_MODIFIED, value);
                }
                if let Some(etag) = etag
                    && !headers.contains_key(ETAG)
                    && let Ok(value) = HeaderValue::from_str(&etag)
                {
                    headers.insert(ETAG, value);
                }
            }
            Ok(response)
        })
    }
}

// === crate functions ===

/// Evaluates the request's preconditions against a representation's `ETag` and last-modified
/// time (Unix seconds), as Django's `get_conditional_response`.
pub(crate) fn evaluate(
    method: &Method,
    request: &HeaderMap,
    etag: Option<&str>,
    last_modified: Option<i64>,
) -> Precondition {
    let if_match = joined(request, &IF_MATCH).map_or_else(Vec::new, |value| parse_etags(&value));
    let if_unmodified_since = header_text(request, &IF_UNMODIFIED_SINCE)
        .as_deref()
        .and_then(parse_http_date);
    let if_none_match =
        joined(request, &IF_NONE_MATCH).map_or_else(Vec::new, |value| parse_etags(&value));
    let if_modified_since = header_text(request, &IF_MODIFIED_SINCE)
        .as_deref()
        .and_then(parse_http_date);
    let safe = *method == Method::GET || *method == Method::HEAD;

    if !if_match.is_empty() && !if_match_passes(etag, &if_match) {
        return Precondition::Failed;
    }
    if if_match.is_empty()
        && let Some(since) = if_unmodified_since
        && last_modified.is_none_or(|modified| modified > since)
    {
        return Precondition::Failed;
    }
    if !if_none_match.is_empty() && !if_none_match_passes(etag, &if_none_match) {
        return if safe {
            Precondition::NotModified
        } else {
            Precondition::Failed
        };
    }
    if if_none_match.is_empty()
        && safe
        && let Some(since) = if_modified_since
        && last_modified.is_some_and(|modified| modified <= since)
    {
        return Precondition::NotModified;
    }
    Precondition::Proceed
}

/// A 304 with no body, keeping from `original` the headers RFC 9110 §15.4.5 asks for, plus
/// `Last-Modified` and the cookies (Django's `_not_modified`).
pub(crate) fn not_modified(original: Option<&HeaderMap>) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    if let Some(original) = original {
        let kept = [
            CACHE_CONTROL,
            CONTENT_LOCATION,
            DATE,
            ETAG,
            EXPIRES,
            LAST_MODIFIED,
            VARY,
            SET_COOKIE,
        ];
        let headers = response.headers_mut();
        for name in kept {
            for value in original.get_all(&name) {
                headers.append(name.clone(), value.clone());
            }
        }
    }
    response
}

/// An empty 412, as Django's `_precondition_failed`.
pub(crate) fn precondition_failed() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::PRECONDITION_FAILED;
    response
}

/// A header's value as text (repeated values joined), if present.
pub(crate) fn header_text(headers: &HeaderMap, name: &http::HeaderName) -> Option<String> {
    joined(headers, name)
}

// === private functions ===

/// Whether `etag` is a quoted, optionally weak, `ETag` (Django's `ETAG_MATCH`).
fn is_etag(etag: &str) -> bool {
    let quoted = etag.strip_prefix("W/").unwrap_or(etag);
    quoted.len() >= 2
        && quoted.starts_with('"')
        && quoted.ends_with('"')
        && !quoted[1..quoted.len() - 1].contains('"')
}

fn if_match_passes(target: Option<&str>, etags: &[String]) -> bool {
    match target {
        None | Some("") => false,
        // An ETag, even weak, means a current representation exists, which `*` asks for.
        Some(_) if etags == ["*"] => true,
        // A weak ETag never matches strongly.
        Some(target) if target.starts_with("W/") => false,
        Some(target) => etags.iter().any(|etag| etag == target),
    }
}

fn if_none_match_passes(target: Option<&str>, etags: &[String]) -> bool {
    match target {
        None | Some("") => true,
        Some(_) if etags == ["*"] => false,
        Some(target) => {
            let weak = |etag: &str| etag.strip_prefix("W/").unwrap_or(etag).to_owned();
            let target = weak(target);
            !etags.iter().any(|etag| weak(etag) == target)
        }
    }
}

/// Whether `Cache-Control` lacks `no-store` (Django's `ConditionalGetMiddleware.needs_etag`).
fn needs_etag(headers: &HeaderMap) -> bool {
    joined(headers, &CACHE_CONTROL)
        .is_none_or(|value| split_list(&value).all(|item| !item.eq_ignore_ascii_case("no-store")))
}

/// Adds `ETag: "<md5 hex>"` to a non-empty buffered body; streamed bodies are left alone.
/// A body that fails to read becomes its error response.
async fn set_response_etag(response: Response) -> Result<Response, Response> {
    if http_body::Body::size_hint(response.body())
        .exact()
        .is_none()
    {
        return Ok(response);
    }
    let (mut parts, body) = response.into_parts();
    let body = body
        .collect_bytes()
        .await
        .map_err(IntoResponse::into_response)?;
    if !body.is_empty()
        && let Ok(value) = HeaderValue::from_str(&format!("\"{}\"", md5_hex(&body)))
    {
        parts.headers.insert(ETAG, value);
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conditions(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn parse_etags_keeps_well_formed_tags_and_star() {
        assert_eq!(parse_etags(" * "), ["*"]);
        assert_eq!(parse_etags(r#""a", W/"b", c, "d"#), [r#""a""#, r#"W/"b""#]);
    }

    #[test]
    fn quote_etag_leaves_quoted_tags() {
        assert_eq!(quote_etag("abc"), r#""abc""#);
        assert_eq!(quote_etag(r#"W/"abc""#), r#"W/"abc""#);
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let headers = conditions(&[("if-none-match", r#"W/"x""#)]);
        assert_eq!(
            evaluate(&Method::GET, &headers, Some(r#""x""#), None),
            Precondition::NotModified
        );
        assert_eq!(
            evaluate(&Method::PUT, &headers, Some(r#""x""#), None),
            Precondition::Failed
        );
        assert_eq!(
            evaluate(&Method::GET, &headers, Some(r#""y""#), None),
            Precondition::Proceed
        );
    }

    #[test]
    fn if_match_compares_strongly_and_star_needs_an_etag() {
        let star = conditions(&[("if-match", "*")]);
        assert_eq!(
            evaluate(&Method::PUT, &star, None, None),
            Precondition::Failed
        );
        assert_eq!(
            evaluate(&Method::PUT, &star, Some(r#"W/"x""#), None),
            Precondition::Proceed
        );
        let weak = conditions(&[("if-match", r#""x""#)]);
        assert_eq!(
            evaluate(&Method::PUT, &weak, Some(r#"W/"x""#), None),
            Precondition::Failed
        );
    }

    #[test]
    fn if_modified_since_is_ignored_beside_if_none_match() {
        let headers = conditions(&[
            ("if-none-match", r#""other""#),
            ("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT"),
        ]);
        assert_eq!(
            evaluate(&Method::GET, &headers, Some(r#""x""#), Some(784_111_777)),
            Precondition::Proceed
        );
        let alone = conditions(&[("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT")]);
        assert_eq!(
            evaluate(&Method::GET, &alone, None, Some(784_111_777)),
            Precondition::NotModified
        );
        assert_eq!(
            evaluate(&Method::GET, &alone, None, Some(784_111_778)),
            Precondition::Proceed
        );
    }

    #[test]
    fn if_unmodified_since_fails_a_newer_or_unknown_resource() {
        let headers = conditions(&[("if-unmodified-since", "Sunday, 06-Nov-94 08:49:37 GMT")]);
        assert_eq!(
            evaluate(&Method::PUT, &headers, None, Some(784_111_778)),
            Precondition::Failed
        );
        assert_eq!(
            evaluate(&Method::PUT, &headers, None, None),
            Precondition::Failed
        );
        assert_eq!(
            evaluate(&Method::PUT, &headers, None, Some(784_111_777)),
            Precondition::Proceed
        );
    }
}
