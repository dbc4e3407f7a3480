//! The errors of this crate: a security setting that cannot be used.

/// A `Result` whose error defaults to [`SecurityError`].
pub type Result<T, E = SecurityError> = std::result::Result<T, E>;

/// A security setting that cannot be turned into a header; start-up should stop naming it.
#[derive(Debug, thiserror::Error)]
pub enum SecurityError {
    /// The value is not a valid HTTP header value (control characters, non-ASCII text).
    #[error("{setting} is not a valid header value: {value:?}")]
    InvalidHeaderValue {
        /// The setting, as Django names it (`SECURE_REFERRER_POLICY`).
        setting: &'static str,
        /// The offending value.
        value: String,
    },
}
