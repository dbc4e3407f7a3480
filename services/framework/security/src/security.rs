//! Django's `SecurityMiddleware` (with `XFrameOptionsMiddleware` folded in) as one tower layer.
//!
//! On every response, rejections and cache hits included, it adds what the view did not set
//! (DJANGO.md §8): `X-Content-Type-Options: nosniff`, `Referrer-Policy`,
//! `Cross-Origin-Opener-Policy`, `X-Frame-Options` (unless the response carries
//! [`XFrameOptionsExempt`](crate::XFrameOptionsExempt)), and on secure requests only
//! `Strict-Transport-Security`.
//!
//! A request is secure when its URI scheme is `https`, or, only when
//! [`SecurityConfig::secure_proxy_header`] is configured and the proxy sent that header, when the
//! header's first value equals the configured one. The header is never trusted otherwise: a
//! client could send it itself. The verdict goes into the request's extensions as
//! [`Scheme::HTTPS`] or [`Scheme::HTTP`] for the layers after this one (CSRF, cache keys).
//!
//! Before the view runs, `TRACE`, `CONNECT` and unknown methods get 405 with `Allow`
//! (DJANGO.md §14), and with [`SecurityConfig::ssl_redirect`] plain HTTP gets a 301 to
//! `https://<ssl_host or host><full path>` unless its path matches an exemption.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::{self, BoxFuture};
use herd_core::error::bare_response;
use herd_core::response::Redirect;
use herd_core::{Error, IntoResponse, Request, Response};
use http::uri::Scheme;
use http::{HeaderName, HeaderValue, Method, StatusCode, header};
use regex::Regex;
use tower::{Layer, Service};

use crate::error::{Result, SecurityError};
use crate::x_frame_options::set_x_frame_options;

/// Not among `http`'s named headers; parsed once, not on every response.
const CROSS_ORIGIN_OPENER_POLICY: HeaderName =
    HeaderName::from_static("cross-origin-opener-policy");

/// The methods a view may see; anything else is answered 405 listing these.
const ALLOWED_METHODS: [Method; 7] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

/// The settings of [`SecurityLayer`], named after Django's `SECURE_*` settings.
///
/// An empty string turns the matching header off, as `None` does in Django.
#[expect(
    clippy::struct_excessive_bools,
    reason = "one field per Django setting, so Django's documentation maps one to one"
)]
#[derive(Clone, Debug)]
pub struct SecurityConfig {
    /// `SECURE_HSTS_SECONDS`: `max-age` of `Strict-Transport-Security`; 0 (default) sends none.
    pub hsts_seconds: u64,
    /// `SECURE_HSTS_INCLUDE_SUBDOMAINS`: adds `; includeSubDomains`. Default `false`.
    pub hsts_include_subdomains: bool,
    /// `SECURE_HSTS_PRELOAD`: adds `; preload`. Default `false`.
    pub hsts_preload: bool,
    /// `SECURE_SSL_REDIRECT`: redirect plain HTTP to HTTPS with 301. Default `false`.
    pub ssl_redirect: bool,
    /// `SECURE_REDIRECT_EXEMPT`: paths never redirected; each pattern is searched, as in Django,
    /// in the path without its leading `/` (so `^healthz$` exempts `/healthz`). Default none.
    pub ssl_redirect_exempt: Vec<Regex>,
    /// `SECURE_SSL_HOST`: the host to redirect to; default `None`, the request's own host.
    pub ssl_host: Option<String>,
    /// `SECURE_PROXY_SSL_HEADER`: a header set by the proxy in front and the value meaning
    /// HTTPS, such as `(X-Forwarded-Proto, "https")`. Default `None`: the header is ignored.
    pub secure_proxy_header: Option<(HeaderName, String)>,
    /// `SECURE_REFERRER_POLICY`: the `Referrer-Policy` value. Default `same-origin`.
    pub referrer_policy: String,
    /// `SECURE_CROSS_ORIGIN_OPENER_POLICY`: the `Cross-Origin-Opener-Policy` value.
    /// Default `same-origin`.
    pub cross_origin_opener_policy: String,
    /// `SECURE_CONTENT_TYPE_NOSNIFF`: send `X-Content-Type-Options: nosniff`. Default `true`.
    pub content_type_nosniff: bool,
    /// `X_FRAME_OPTIONS`: the `X-Frame-Options` value. Default `DENY`.
    pub x_frame_options: String,
}

/// Adds Django's security headers and checks; see [`Security`].
#[derive(Clone, Debug)]
pub struct SecurityLayer {
    shared: Arc<Shared>,
}

/// Applies [`SecurityConfig`] around the inner service, as this module's documentation says.
#[derive(Clone, Debug)]
pub struct Security<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// The configuration, with header values checked once at start.
#[derive(Debug)]
struct Shared {
    hsts: Option<HeaderValue>,
    nosniff: bool,
    referrer_policy: Option<HeaderValue>,
    cross_origin_opener_policy: Option<HeaderValue>,
    x_frame_options: Option<HeaderValue>,
    ssl_redirect: bool,
    ssl_redirect_exempt: Vec<Regex>,
    ssl_host: Option<String>,
    secure_proxy_header: Option<(HeaderName, String)>,
}

// === impl SecurityConfig ===

impl Default for SecurityConfig {
    /// Django's defaults: no HSTS, no redirect, no trusted proxy header, `nosniff`,
    /// `same-origin` referrer and opener policies, `X-Frame-Options: DENY`.
    fn default() -> Self {
        Self {
            hsts_seconds: 0,
            hsts_include_subdomains: false,
            hsts_preload: false,
            ssl_redirect: false,
            ssl_redirect_exempt: Vec::new(),
            ssl_host: None,
            secure_proxy_header: None,
            referrer_policy: "same-origin".to_owned(),
            cross_origin_opener_policy: "same-origin".to_owned(),
            content_type_nosniff: true,
            x_frame_options: "DENY".to_owned(),
        }
    }
}

impl SecurityConfig {
    /// The `Strict-Transport-Security` value, or `None` when HSTS is off.
    pub fn hsts_header(&self) -> Option<String> {
        if self.hsts_seconds == 0 {
            return None;
        }
        let mut value = format!("max-age={}", self.hsts_seconds);
        if self.hsts_include_subdomains {
            value.push_str("; includeSubDomains");
        }
        if self.hsts_preload {
            value.push_str("; preload");
        }
        Some(value)
    }
}

// === impl SecurityLayer ===

impl SecurityLayer {
    /// Applies `config` to every request and response.
    ///
    /// # Errors
    ///
    /// [`SecurityError::InvalidHeaderValue`] when a policy, `X_FRAME_OPTIONS` or the SSL host
    /// cannot be sent in a header.
    pub fn new(config: SecurityConfig) -> Result<Self> {
        let x_frame_options = config.x_frame_options.to_ascii_uppercase();
        let shared = Shared {
            hsts: config
                .hsts_header()
                .map(|value| header_value("SECURE_HSTS_SECONDS", &value))
                .transpose()?,
            nosniff: config.content_type_nosniff,
            referrer_policy: optional_header_value(
                "SECURE_REFERRER_POLICY",
                &config.referrer_policy,
            )?,
            cross_origin_opener_policy: optional_header_value(
                "SECURE_CROSS_ORIGIN_OPENER_POLICY",
                &config.cross_origin_opener_policy,
            )?,
            x_frame_options: optional_header_value("X_FRAME_OPTIONS", &x_frame_options)?,
            ssl_redirect: config.ssl_redirect,
            ssl_redirect_exempt: config.ssl_redirect_exempt,
            ssl_host: match config.ssl_host {
                Some(host) if host.is_empty() => None,
                Some(host) if host.parse::<http::uri::Authority>().is_err() => {
                    return Err(SecurityError::InvalidHeaderValue {
                        setting: "SECURE_SSL_HOST",
                        value: host,
                    });
                }
                host => host,
            },
            secure_proxy_header: config.secure_proxy_header,
        };
        Ok(Self {
            shared: Arc::new(shared),
        })
    }
}

impl<S> Layer<S> for SecurityLayer {
    type Service = Security<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Security {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

// === impl Security ===

impl<S> Security<S> {
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

impl<S, B> Service<Request<B>> for Security<S>
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

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        let secure = shared.is_secure(&request);
        request
            .extensions_mut()
            .insert(if secure { Scheme::HTTPS } else { Scheme::HTTP });
        if let Some(mut response) = shared.answer_early(&request, secure) {
            shared.add_headers(&mut response, secure);
            return Box::pin(future::ready(Ok(response)));
        }
        let future = self.inner.call(request);
        Box::pin(async move {
            let mut response = future.await?;
            shared.add_headers(&mut response, secure);
            Ok(response)
        })
    }
}

// === impl Shared ===

impl Shared {
    /// Django's `HttpRequest.is_secure` with `SECURE_PROXY_SSL_HEADER`.
    fn is_secure<B>(&self, request: &Request<B>) -> bool {
        if let Some((name, secure_value)) = &self.secure_proxy_header
            && let Some(value) = request.headers().get(name)
        {
            let first = value
                .to_str()
                .ok()
                .and_then(|value| value.split(',').next())
                .map(str::trim);
            return first == Some(secure_value.as_str());
        }
        request.uri().scheme() == Some(&Scheme::HTTPS)
    }

    /// The answer given without calling the view: 405 for a refused method, 301 to HTTPS.
    fn answer_early<B>(&self, request: &Request<B>, secure: bool) -> Option<Response> {
        if !ALLOWED_METHODS.contains(request.method()) {
            tracing::debug!(method = %request.method(), "method refused");
            return Some(Error::method_not_allowed(ALLOWED_METHODS.to_vec()).into_response());
        }
        if !self.ssl_redirect || secure {
            return None;
        }
        let path = request.uri().path().trim_start_matches('/');
        if self
            .ssl_redirect_exempt
            .iter()
            .any(|pattern| pattern.is_match(path))
        {
            return None;
        }
        let host = match &self.ssl_host {
            Some(host) => Some(host.as_str()),
            None => request
                .headers()
                .get(header::HOST)
                .and_then(|host| host.to_str().ok())
                .or_else(|| request.uri().authority().map(http::uri::Authority::as_str)),
        };
        let Some(host) = host.filter(|host| host.parse::<http::uri::Authority>().is_ok()) else {
            return Some(bare_response(StatusCode::BAD_REQUEST));
        };
        let full_path = request
            .uri()
            .path_and_query()
            .map_or("/", http::uri::PathAndQuery::as_str);
        Some(
            Redirect::permanent(&format!("https://{host}{full_path}"))
                .map_or_else(IntoResponse::into_response, IntoResponse::into_response),
        )
    }

    /// Django's `SecurityMiddleware.process_response` and `XFrameOptionsMiddleware`.
    fn add_headers(&self, response: &mut Response, secure: bool) {
        if let Some(value) = &self.x_frame_options {
            set_x_frame_options(response, value);
        }
        let headers = response.headers_mut();
        if secure && let Some(value) = &self.hsts {
            headers
                .entry(header::STRICT_TRANSPORT_SECURITY)
                .or_insert_with(|| value.clone());
        }
        if self.nosniff {
            headers
                .entry(header::X_CONTENT_TYPE_OPTIONS)
                .or_insert(HeaderValue::from_static("nosniff"));
        }
        if let Some(value) = &self.referrer_policy {
            headers
                .entry(header::REFERRER_POLICY)
                .or_insert_with(|| value.clone());
        }
        if let Some(value) = &self.cross_origin_opener_policy {
            headers
                .entry(CROSS_ORIGIN_OPENER_POLICY)
                .or_insert_with(|| value.clone());
        }
    }
}

// === private functions ===

fn header_value(setting: &'static str, value: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(value).map_err(|_| SecurityError::InvalidHeaderValue {
        setting,
        value: value.to_owned(),
    })
}

/// `None` for an empty setting, which turns its header off.
fn optional_header_value(setting: &'static str, value: &str) -> Result<Option<HeaderValue>> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    header_value(setting, value).map(Some)
}
