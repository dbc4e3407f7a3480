//! Django's `ALLOWED_HOSTS` check: requests for a host the site does not serve get 400.
//!
//! As Django's `HttpRequest.get_host` (DJANGO.md §8): the `Host` header only (never
//! `X-Forwarded-Host`), lower-cased, trailing dot and port dropped, then allowed when it equals an
//! entry, lies under a `.example.com` entry (which also matches `example.com`), or an entry is `*`.
//! HTTP/2 requests name their host in the `:authority` pseudo-header, which hyper puts in the URI.
//! An HTTP/1.1 request without `Host`, and any request with two, is malformed (RFC 9112 §3.2).
//!
//! `/healthz`, `/readyz` and `/metrics` are exempt: probes and scrapers address pods by IP.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::{self, BoxFuture};
use herd_core::error::bare_response;
use herd_core::{Request, Response};
use http::{StatusCode, Version, header};
use tower::{Layer, Service};

/// Paths answered whatever the `Host`.
const EXEMPT_PATHS: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// Rejects requests whose host is not allowed; see [`AllowedHosts`].
#[derive(Clone, Debug)]
pub struct AllowedHostsLayer {
    allowed: Arc<[String]>,
}

/// Answers 400 (Django's bare page) to a request whose host is not allowed, and passes the rest
/// to the inner service.
#[derive(Clone, Debug)]
pub struct AllowedHosts<S> {
    inner: S,
    allowed: Arc<[String]>,
}

// === impl AllowedHostsLayer ===

impl AllowedHostsLayer {
    /// Allows the given host patterns: `example.com`, `.example.com` (the domain and every
    /// subdomain) or `*` (any host), compared without case.
    pub fn new(allowed: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let allowed = allowed
            .into_iter()
            .map(|host| host.into().to_ascii_lowercase())
            .collect();
        Self { allowed }
    }
}

impl<S> Layer<S> for AllowedHostsLayer {
    type Service = AllowedHosts<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AllowedHosts {
            inner,
            allowed: Arc::clone(&self.allowed),
        }
    }
}

// === impl AllowedHosts ===

impl<S> AllowedHosts<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B> Service<Request<B>> for AllowedHosts<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Error: Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        if EXEMPT_PATHS.contains(&request.uri().path()) {
            return Box::pin(self.inner.call(request));
        }
        let domain = request_host(&request).and_then(domain);
        match domain {
            Some(domain) if is_allowed(&domain, &self.allowed) => {
                Box::pin(self.inner.call(request))
            }
            _ => {
                tracing::debug!(host = ?request.headers().get(header::HOST), "host not allowed");
                Box::pin(future::ready(Ok(bare_response(StatusCode::BAD_REQUEST))))
            }
        }
    }
}

// === private functions ===

/// The host the client asked for, as sent; `None` when it is missing, ambiguous or not text.
fn request_host<B>(request: &Request<B>) -> Option<&str> {
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let header = hosts.next();
    if hosts.next().is_some() {
        return None;
    }
    let authority = request.uri().authority().map(http::uri::Authority::as_str);
    match request.version() {
        Version::HTTP_2 | Version::HTTP_3 => authority.or_else(|| header?.to_str().ok()),
        Version::HTTP_11 => header?.to_str().ok(),
        _ => header.and_then(|value| value.to_str().ok()).or(authority),
    }
}

/// Django's `split_domain_port`: the lower-cased domain without port or trailing dot, or `None`
/// when `host` is not a valid host (with an optional port).
fn domain(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let (domain, port) = if host.starts_with('[') {
        let end = host.find(']')?;
        let (literal, rest) = host.split_at(end + 1);
        let inner = &literal[1..literal.len() - 1];
        let valid = inner.contains(':')
            && inner
                .bytes()
                .all(|byte| byte.is_ascii_hexdigit() || byte == b':' || byte == b'.');
        if !valid {
            return None;
        }
        (literal, rest)
    } else {
        let end = host.find(':').unwrap_or(host.len());
        let (name, rest) = host.split_at(end);
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'.' || byte == b'-');
        if !valid {
            return None;
        }
        (name, rest)
    };
    if !port.is_empty() {
        let digits = port.strip_prefix(':')?;
        if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
    }
    Some(domain.strip_suffix('.').unwrap_or(domain).to_owned())
}

/// Django's `validate_host` with `is_same_domain`.
fn is_allowed(domain: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|pattern| {
        pattern == "*"
            || pattern == domain
            || pattern
                .strip_prefix('.')
                .is_some_and(|parent| domain == parent || domain.ends_with(pattern.as_str()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_drops_case_port_and_trailing_dot() {
        assert_eq!(domain("LOCALHOST:8000").as_deref(), Some("localhost"));
        assert_eq!(domain("example.com.").as_deref(), Some("example.com"));
        assert_eq!(domain("[::1]:8000").as_deref(), Some("[::1]"));
        assert_eq!(domain("[::1]").as_deref(), Some("[::1]"));
    }

    #[test]
    fn domain_refuses_malformed_hosts() {
        for host in [
            "",
            "exa mple.com",
            "example.com:",
            "example.com:80x",
            "[::1",
            "[zz]",
            "a@b",
            "é.com",
            ":80",
        ] {
            assert_eq!(domain(host), None, "{host:?}");
        }
    }

    #[test]
    fn wildcard_entries_match_the_domain_and_its_subdomains_only() {
        let allowed = [".example.com".to_owned()];
        assert!(is_allowed("example.com", &allowed));
        assert!(is_allowed("www.example.com", &allowed));
        assert!(!is_allowed("badexample.com", &allowed));
        assert!(!is_allowed("example.com.evil.org", &allowed));
        assert!(is_allowed("anything", &["*".to_owned()]));
    }
}
