//! Why a request failed the CSRF check: Django's `REASON_*` texts.

/// Why a token or cookie value is malformed (Django's `InvalidTokenFormat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvalidFormat {
    /// Neither 32 nor 64 characters.
    #[error("has incorrect length")]
    Length,
    /// A character outside `a–z A–Z 0–9`.
    #[error("has invalid characters")]
    Characters,
}

/// Why the middleware refused a request; the text is Django's, logged on every refusal and shown
/// on the 403 page only with debug on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CsrfError {
    /// `Origin` is neither the request's own origin nor trusted (`Origin: null` included).
    #[error("Origin checking failed - {0} does not match any trusted origins.")]
    BadOrigin(String),
    /// HTTPS request without `Referer`.
    #[error("Referer checking failed - no Referer.")]
    NoReferer,
    /// `Referer` that is not an absolute URL.
    #[error("Referer checking failed - Referer is malformed.")]
    MalformedReferer,
    /// Plain-HTTP `Referer` on an HTTPS request.
    #[error("Referer checking failed - Referer is insecure while host is secure.")]
    InsecureReferer,
    /// `Referer` of another site.
    #[error("Referer checking failed - {0} does not match any trusted origins.")]
    BadReferer(String),
    /// No `csrftoken` cookie.
    #[error("CSRF cookie not set.")]
    NoCookie,
    /// A `csrftoken` cookie that is not a secret or token.
    #[error("CSRF cookie {0}.")]
    BadCookie(InvalidFormat),
    /// Neither the form field nor the header carries a token.
    #[error("CSRF token missing.")]
    TokenMissing,
    /// The token sent is not a secret or token.
    #[error("CSRF token {0}.")]
    BadToken(InvalidFormat),
    /// The token sent belongs to another secret.
    #[error("CSRF token incorrect.")]
    TokenIncorrect,
}

/// A `Result` whose error is a CSRF refusal.
pub type Result<T, E = CsrfError> = std::result::Result<T, E>;
