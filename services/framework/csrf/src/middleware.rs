//! [`CsrfLayer`]: Django's `CsrfViewMiddleware` as a tower layer.
//!
//! Every request gets a [`CsrfToken`] extension over the secret of its `csrftoken` cookie. For
//! every method but GET, HEAD, OPTIONS and TRACE, and unless the request carries [`CsrfExempt`],
//! the layer then checks, in Django's order:
//!
//! 1. `Origin`, when present, is the request's own `<scheme>://<host[:port]>` or a trusted origin
//!    (`Origin: null` never is);
//! 2. else, on HTTPS only, `Referer` is present, https, and of the request's host or a trusted one;
//! 3. the `csrftoken` cookie is present and well-formed;
//! 4. the POST form field `csrfmiddlewaretoken` (URL-encoded or multipart), else the header
//!    `X-CSRFToken`, is 32 or 64 letters and digits and matches the cookie's secret in constant
//!    time.
//!
//! A failure is answered 403 with Django's page and its reason logged (and shown on the page
//! with debug on). To find the form field the body is read, up to the body limit, and handed on
//! to the view as the same bytes.
//!
//! The scheme is the one of an [`http::uri::Scheme`] request extension, which the security layer
//! sets behind a trusted proxy, else the URI's, else `http`.

mod form;
mod origin;

use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use herd_core::html::escape;
use herd_core::response::Html;
use herd_core::{Body, Error, IntoResponse, Request, Response};
use http::header::{self, HeaderName, HeaderValue};
use http::uri::Scheme;
use http::{Method, StatusCode, Version};
use http_body_util::Limited;
use tower::{Layer, Service};

use crate::cipher::{CSRF_TOKEN_LENGTH, check_token_format, does_token_match, unmask_cipher_token};
use crate::error::{CsrfError, InvalidFormat};
use crate::token::{CsrfToken, Outcome};

/// The cookie holding the secret (Django's `CSRF_COOKIE_NAME`).
pub const COOKIE_NAME: &str = "csrftoken";

/// The header a script sends the token in (Django's `CSRF_HEADER_NAME`).
pub const HEADER_NAME: HeaderName = HeaderName::from_static("x-csrftoken");

/// The cookie's lifetime: one year, as Django's `CSRF_COOKIE_AGE`.
const COOKIE_MAX_AGE: u32 = 31_449_600;

/// Django's `DATA_UPLOAD_MAX_MEMORY_SIZE`, the default body limit (RELIABILITY.md §1).
const DEFAULT_MAX_BODY_BYTES: usize = 2_621_440;

/// The CSRF settings (Django's `CSRF_*`).
#[derive(Clone, Debug, Default)]
pub struct CsrfConfig {
    /// `CSRF_TRUSTED_ORIGINS`: origins allowed besides the site's own, exact
    /// (`https://example.com`) or with a subdomain wildcard (`https://*.example.com`).
    pub trusted_origins: Vec<String>,
    /// `ALLOWED_HOSTS`, to accept the request's `Host` as its own origin: `example.com`,
    /// `.example.com` or `*`. Empty leaves the host check to the `AllowedHosts` layer and takes
    /// any well-formed host.
    pub allowed_hosts: Vec<String>,
    /// `CSRF_COOKIE_SECURE`: send the cookie with `Secure`.
    pub cookie_secure: bool,
    /// `DEBUG`: show the reason of a refusal on the 403 page.
    pub debug: bool,
}

/// Applies Django's CSRF protection; see [`Csrf`] and the module documentation.
#[derive(Clone, Debug)]
pub struct CsrfLayer {
    shared: Arc<Shared>,
}

/// The CSRF middleware service; built by [`CsrfLayer`].
#[derive(Clone, Debug)]
pub struct Csrf<S> {
    inner: S,
    shared: Arc<Shared>,
}

/// A request extension that skips the checks (Django's `@csrf_exempt`).
///
/// It must be in the request before [`CsrfLayer`] sees it: insert it from a layer outside
/// `CsrfLayer` (see [`csrf_exempt`]), never from a route inside it, where the check has
/// already run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CsrfExempt;

/// Marks every request through it [`CsrfExempt`]; see [`csrf_exempt`].
#[derive(Clone, Copy, Debug, Default)]
pub struct CsrfExemptLayer;

/// The service of [`CsrfExemptLayer`].
#[derive(Clone, Debug)]
pub struct CsrfExemptService<S> {
    inner: S,
}

/// Django's `@csrf_exempt`: a layer that marks requests [`CsrfExempt`]. Put it outside
/// [`CsrfLayer`] around the services it should exempt (a webhook endpoint, say).
pub fn csrf_exempt() -> CsrfExemptLayer {
    CsrfExemptLayer
}

#[derive(Clone, Debug)]
struct Shared {
    trusted: Trusted,
    allowed_hosts: Vec<String>,
    cookie_secure: bool,
    debug: bool,
    max_body_bytes: usize,
}

/// `CSRF_TRUSTED_ORIGINS`, prepared as Django's middleware does.
#[derive(Clone, Debug, Default)]
pub(crate) struct Trusted {
    /// Origins without a wildcard, compared exactly.
    exact: Vec<String>,
    /// `(scheme, .domain)` for each `scheme://*.domain`.
    subdomains: Vec<(String, String)>,
    /// Each origin's host with the `*` dropped, for the `Referer` check.
    hosts: Vec<String>,
}

/// Why a request does not reach the view.
enum Refusal {
    Csrf(CsrfError),
    Response(Response),
}

// === impl CsrfLayer ===

impl CsrfLayer {
    /// The middleware with `config`, reading at most 2.5 MiB of a form body.
    pub fn new(config: CsrfConfig) -> Self {
        let mut trusted = Trusted::default();
        for origin in config.trusted_origins {
            let Some((scheme, netloc)) = origin::split_url(&origin) else {
                tracing::warn!(origin, "trusted origin without a scheme ignored");
                continue;
            };
            trusted
                .hosts
                .push(netloc.trim_start_matches('*').to_owned());
            match netloc.strip_prefix('*') {
                Some(domain) => trusted.subdomains.push((scheme, domain.to_owned())),
                None => trusted.exact.push(origin),
            }
        }
        Self {
            shared: Arc::new(Shared {
                trusted,
                allowed_hosts: config
                    .allowed_hosts
                    .into_iter()
                    .map(|host| host.to_ascii_lowercase())
                    .collect(),
                cookie_secure: config.cookie_secure,
                debug: config.debug,
                max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            }),
        }
    }

    /// Reads at most `limit` bytes of a form body looking for the token; a longer body is
    /// answered 413.
    #[must_use]
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        Arc::make_mut(&mut self.shared).max_body_bytes = limit;
        self
    }
}

impl<S> Layer<S> for CsrfLayer {
    type Service = Csrf<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Csrf {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

// === impl Csrf ===

impl<S> Csrf<S> {
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

impl<S> Service<Request> for Csrf<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let cookie = cookie_secret(request.headers());
        let token = CsrfToken::new(cookie.clone().ok().flatten());
        request.extensions_mut().insert(token.clone());
        let checked =
            !is_safe(request.method()) && request.extensions().get::<CsrfExempt>().is_none();
        // The clone that was not polled stays behind; the ready one serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = Arc::clone(&self.shared);
        Box::pin(async move {
            if checked {
                request = match verify(request, cookie, &shared).await {
                    Ok(request) => request,
                    Err(Refusal::Response(response)) => return Ok(response),
                    Err(Refusal::Csrf(reason)) => return Ok(reject(&reason, &shared)),
                };
            }
            let mut response = inner.call(request).await?;
            finish(&token, &mut response, shared.cookie_secure);
            Ok(response)
        })
    }
}

// === impl CsrfExemptLayer ===

impl<S> Layer<S> for CsrfExemptLayer {
    type Service = CsrfExemptService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CsrfExemptService { inner }
    }
}

impl<S, B> Service<Request<B>> for CsrfExemptService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(CsrfExempt);
        self.inner.call(request)
    }
}

// === private functions ===

fn is_safe(method: &Method) -> bool {
    [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE].contains(method)
}

/// Steps 1 to 4 of the module documentation; gives the request back with its body restored.
async fn verify(
    request: Request,
    cookie: Result<Option<String>, InvalidFormat>,
    shared: &Shared,
) -> Result<Request, Refusal> {
    let scheme = request_scheme(&request);
    let host = request_host(&request).filter(|host| shared.is_allowed(host));
    let site = origin::Site {
        scheme: &scheme,
        host,
    };
    origin::check(request.headers(), &site, &shared.trusted).map_err(Refusal::Csrf)?;

    let secret = match cookie {
        Ok(Some(secret)) => secret,
        Ok(None) => return Err(Refusal::Csrf(CsrfError::NoCookie)),
        Err(format) => return Err(Refusal::Csrf(CsrfError::BadCookie(format))),
    };

    let (request, field) = read_form_field(request, shared.max_body_bytes).await?;
    let sent = field.filter(|token| !token.is_empty()).or_else(|| {
        request
            .headers()
            .get(&HEADER_NAME)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
    });
    let Some(sent) = sent else {
        return Err(Refusal::Csrf(CsrfError::TokenMissing));
    };
    check_token_format(&sent).map_err(|format| Refusal::Csrf(CsrfError::BadToken(format)))?;
    if !does_token_match(&sent, &secret) {
        return Err(Refusal::Csrf(CsrfError::TokenIncorrect));
    }
    Ok(request)
}

/// For a POST form, reads the body (up to `limit`) and returns the request with the same bytes
/// as its body, plus the `csrfmiddlewaretoken` field when there is one.
async fn read_form_field(
    request: Request,
    limit: usize,
) -> Result<(Request, Option<String>), Refusal> {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let is_form = {
        let mime = content_type.split(';').next().unwrap_or_default().trim();
        mime.eq_ignore_ascii_case("application/x-www-form-urlencoded")
            || mime.eq_ignore_ascii_case("multipart/form-data")
    };
    // As Django's `request.POST`, only a POST carries form fields.
    if request.method() != Method::POST || !is_form {
        return Ok((request, None));
    }
    let (parts, body) = request.into_parts();
    let bytes: Bytes = Body::new(Limited::new(body, limit))
        .collect_bytes()
        .await
        .map_err(|error: Error| Refusal::Response(error.into_response()))?;
    let field = form::field(&content_type, &bytes);
    Ok((Request::from_parts(parts, Body::from(bytes)), field))
}

/// The secret in the `csrftoken` cookie: `Ok(None)` when there is none, an error when it is
/// malformed. A 64-character (masked) cookie, as older Django versions set, is unmasked.
fn cookie_secret(headers: &http::HeaderMap) -> Result<Option<String>, InvalidFormat> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .flat_map(|header| header.as_bytes().split(|&byte| byte == b';'))
        .find_map(|pair| {
            let pair = pair.trim_ascii();
            let at = pair.iter().position(|&byte| byte == b'=')?;
            (pair[..at].trim_ascii() == COOKIE_NAME.as_bytes()).then(|| &pair[at + 1..])
        });
    let Some(value) = value else {
        return Ok(None);
    };
    let value = String::from_utf8_lossy(value.trim_ascii());
    let value = value.trim_matches('"');
    check_token_format(value)?;
    if value.len() == CSRF_TOKEN_LENGTH {
        return Ok(Some(unmask_cipher_token(value)));
    }
    Ok(Some(value.to_owned()))
}

/// `https` or `http`: a [`Scheme`] extension first, then the URI's.
fn request_scheme(request: &Request) -> String {
    let scheme = request
        .extensions()
        .get::<Scheme>()
        .or_else(|| request.uri().scheme())
        .map_or("http", Scheme::as_str);
    scheme.to_ascii_lowercase()
}

/// The host the client asked for, with its port, as the `AllowedHosts` layer reads it.
fn request_host(request: &Request) -> Option<&str> {
    let mut hosts = request.headers().get_all(header::HOST).iter();
    let header = hosts.next();
    if hosts.next().is_some() {
        return None;
    }
    let header = header.and_then(|value| value.to_str().ok());
    let authority = request.uri().authority().map(http::uri::Authority::as_str);
    match request.version() {
        Version::HTTP_2 | Version::HTTP_3 => authority.or(header),
        _ => header.or(authority),
    }
}

/// Adds `Vary: Cookie`, and the cookie when the secret is new, if the view rendered a token.
fn finish(token: &CsrfToken, response: &mut Response, secure: bool) {
    let secret = match token.outcome() {
        Outcome::Untouched => return,
        Outcome::Used => None,
        Outcome::SetCookie(secret) => Some(secret),
    };
    if let Some(secret) = secret {
        let mut cookie =
            format!("{COOKIE_NAME}={secret}; Max-Age={COOKIE_MAX_AGE}; Path=/; SameSite=Lax");
        if secure {
            cookie.push_str("; Secure");
        }
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    patch_vary_cookie(response.headers_mut());
}

/// Django's `patch_vary_headers(response, ("Cookie",))`: one `Vary` header, `Cookie` added once.
fn patch_vary_cookie(headers: &mut http::HeaderMap) {
    let existing: Vec<String> = headers
        .get_all(header::VARY)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|field| field.trim().to_owned())
        .filter(|field| !field.is_empty())
        .collect();
    if existing
        .iter()
        .any(|field| field == "*" || field.eq_ignore_ascii_case("cookie"))
    {
        return;
    }
    let mut vary = existing.join(", ");
    if !vary.is_empty() {
        vary.push_str(", ");
    }
    vary.push_str("Cookie");
    if let Ok(value) = HeaderValue::from_str(&vary) {
        headers.insert(header::VARY, value);
    }
}

/// Logs `reason` and answers Django's CSRF failure page.
fn reject(reason: &CsrfError, shared: &Shared) -> Response {
    tracing::warn!(reason = %reason, "Forbidden (CSRF)");
    let mut page = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"robots\" content=\"NONE,NOARCHIVE\"><title>403 Forbidden</title></head>\
         <body><h1>Forbidden <span>(403)</span></h1>\
         <p>CSRF verification failed. Request aborted.</p>",
    );
    if shared.debug {
        let _ = write!(
            page,
            "<p>Reason given for failure:</p><pre>    {}</pre>",
            escape(&reason.to_string())
        );
    }
    page.push_str("</body></html>\n");
    (StatusCode::FORBIDDEN, Html(page)).into_response()
}

// === impl Shared ===

impl Shared {
    /// Django's `validate_host` over the domain of `host` (without port or trailing dot).
    fn is_allowed(&self, host: &str) -> bool {
        let Some(domain) = domain(host) else {
            return false;
        };
        self.allowed_hosts.is_empty()
            || self
                .allowed_hosts
                .iter()
                .any(|pattern| pattern == "*" || origin::is_same_domain(&domain, pattern))
    }
}

/// Django's `split_domain_port`: the lower-cased domain, or `None` for a malformed host.
fn domain(host: &str) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let (name, port) = if host.starts_with('[') {
        let end = host.find(']')?;
        host.split_at(end + 1)
    } else {
        host.split_at(host.find(':').unwrap_or(host.len()))
    };
    let valid_name = !name.is_empty()
        && name.bytes().all(|byte| {
            byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'-' | b'[' | b']' | b':')
        });
    let valid_port = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    (valid_name && valid_port).then(|| name.strip_suffix('.').unwrap_or(name).to_owned())
}
