//! The framework's error type, and the one place where errors become HTTP responses.
//!
//! An [`Error`] is opaque: inspect it with the `is_*` predicates. Its response is one of
//! Django's bare pages, so no internal text (SQL, paths, panics) ever reaches a client.

use std::fmt;

use http::{HeaderValue, StatusCode, header};

use crate::body::Body;
use crate::response::IntoResponse;

/// A boxed error, as tower and hyper use.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A `Result` whose error defaults to Herd's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error from Herd or from a view; inspect it with the `is_*` methods.
pub struct Error {
    inner: Box<ErrorImpl>,
}

struct ErrorImpl {
    kind: Kind,
    message: Option<String>,
    source: Option<BoxError>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    BadRequest,
    PermissionDenied,
    NotFound,
    MethodNotAllowed(Vec<http::Method>),
    PayloadTooLarge,
    Unavailable,
    Internal,
}

// === impl Error ===

impl Error {
    fn new(kind: Kind, message: Option<String>) -> Self {
        Self {
            inner: Box::new(ErrorImpl {
                kind,
                message,
                source: None,
            }),
        }
    }

    /// The request is malformed (400); `reason` is logged, never sent.
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, Some(reason.into()))
    }

    /// The user may not do this (403).
    pub fn permission_denied() -> Self {
        Self::new(Kind::PermissionDenied, None)
    }

    /// The object or page does not exist (404), Django's `Http404`.
    pub fn not_found() -> Self {
        Self::new(Kind::NotFound, None)
    }

    /// The resource exists but not for this method (405); `allow` fills the `Allow` header.
    pub fn method_not_allowed(allow: Vec<http::Method>) -> Self {
        Self::new(Kind::MethodNotAllowed(allow), None)
    }

    /// The request body is over the configured limit (413).
    pub fn payload_too_large() -> Self {
        Self::new(Kind::PayloadTooLarge, None)
    }

    /// A dependency (database, cache) is unavailable or saturated (503, `Retry-After`).
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::new(Kind::Unavailable, Some(reason.into()))
    }

    /// Anything else: a bug or an unexpected failure (500).
    pub fn internal(source: impl Into<BoxError>) -> Self {
        Self::new(Kind::Internal, None).with_source(source)
    }

    /// Attaches the underlying cause, kept for logs.
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Returns true for a malformed request (400).
    pub fn is_bad_request(&self) -> bool {
        self.inner.kind == Kind::BadRequest
    }

    /// Returns true when access is denied (403).
    pub fn is_permission_denied(&self) -> bool {
        self.inner.kind == Kind::PermissionDenied
    }

    /// Returns true when the object does not exist (404).
    pub fn is_not_found(&self) -> bool {
        self.inner.kind == Kind::NotFound
    }

    /// Returns true when the method is not allowed (405).
    pub fn is_method_not_allowed(&self) -> bool {
        matches!(self.inner.kind, Kind::MethodNotAllowed(_))
    }

    /// Returns true when the body was too large (413).
    pub fn is_payload_too_large(&self) -> bool {
        self.inner.kind == Kind::PayloadTooLarge
    }

    /// Returns true when a dependency was unavailable (503).
    pub fn is_unavailable(&self) -> bool {
        self.inner.kind == Kind::Unavailable
    }

    /// Returns true for an unexpected failure (500).
    pub fn is_internal(&self) -> bool {
        self.inner.kind == Kind::Internal
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self.inner.kind {
            Kind::BadRequest => StatusCode::BAD_REQUEST,
            Kind::PermissionDenied => StatusCode::FORBIDDEN,
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Kind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Kind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The bare body Django sends for `status` when DEBUG is off.
pub fn bare_page(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => {
            "<!doctype html>\n<html lang=\"en\"><head><title>Bad Request (400)</title></head><body><h1>Bad Request (400)</h1></body></html>\n"
        }
        StatusCode::FORBIDDEN => {
            "<!doctype html>\n<html lang=\"en\"><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1></body></html>\n"
        }
        StatusCode::NOT_FOUND => {
            "<!doctype html>\n<html lang=\"en\"><head><title>Not Found</title></head><body><h1>Not Found</h1><p>The requested resource was not found on this server.</p></body></html>\n"
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            "<!doctype html>\n<html lang=\"en\"><head><title>405 Method Not Allowed</title></head><body><h1>405 Method Not Allowed</h1></body></html>\n"
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            "<!doctype html>\n<html lang=\"en\"><head><title>413 Payload Too Large</title></head><body><h1>413 Payload Too Large</h1></body></html>\n"
        }
        StatusCode::REQUEST_TIMEOUT => {
            "<!doctype html>\n<html lang=\"en\"><head><title>408 Request Timeout</title></head><body><h1>408 Request Timeout</h1></body></html>\n"
        }
        StatusCode::SERVICE_UNAVAILABLE => {
            "<!doctype html>\n<html lang=\"en\"><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable (503)</h1></body></html>\n"
        }
        _ => {
            "<!doctype html>\n<html lang=\"en\"><head><title>Server Error (500)</title></head><body><h1>Server Error (500)</h1></body></html>\n"
        }
    }
}

/// Builds the bare page response for `status`.
pub fn bare_response(status: StatusCode) -> http::Response<Body> {
    let mut response = http::Response::new(Body::from(bare_page(status)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

impl IntoResponse for Error {
    fn into_response(self) -> http::Response<Body> {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, source = ?self.inner.source, "request failed");
        } else {
            tracing::debug!(error = %self, "request rejected");
        }
        let mut response = bare_response(status);
        match &self.inner.kind {
            Kind::MethodNotAllowed(allow) => {
                let allow = allow
                    .iter()
                    .map(http::Method::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                if let Ok(value) = HeaderValue::from_str(&allow) {
                    response.headers_mut().insert(header::ALLOW, value);
                }
            }
            Kind::Unavailable => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        response
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("herd::Error");
        debug.field("kind", &self.inner.kind);
        if let Some(message) = &self.inner.message {
            debug.field("message", message);
        }
        if let Some(source) = &self.inner.source {
            debug.field("source", source);
        }
        debug.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.inner.kind {
            Kind::BadRequest => "bad request",
            Kind::PermissionDenied => "permission denied",
            Kind::NotFound => "not found",
            Kind::MethodNotAllowed(_) => "method not allowed",
            Kind::PayloadTooLarge => "payload too large",
            Kind::Unavailable => "service unavailable",
            Kind::Internal => "internal error",
        };
        match &self.inner.message {
            Some(message) => write!(f, "{what}: {message}"),
            None => f.write_str(what),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner.source.as_deref().map(|source| source as _)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_is_a_bare_404_page() {
        let response = Error::not_found().into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert!(bare_page(StatusCode::NOT_FOUND).contains("<h1>Not Found</h1>"));
    }

    #[test]
    fn method_not_allowed_lists_the_allowed_methods() {
        let response =
            Error::method_not_allowed(vec![http::Method::GET, http::Method::HEAD]).into_response();
        assert_eq!(response.headers()[header::ALLOW], "GET, HEAD");
    }

    #[test]
    fn internal_errors_never_leak_their_source() {
        let error = Error::internal("relation \"secret\" does not exist");
        assert!(error.is_internal());
        let page = bare_page(error.status());
        assert!(!page.contains("secret"));
        assert_eq!(error.to_string(), "internal error");
    }
}
