//! Herd's authentication building blocks from `django.contrib.auth`: password [`hashers`]
//! compatible with Django's stored hashes, and Django's password [`validators`].
//!
//! ```
//! use herd_auth::hashers::{check_password, make_password};
//! use herd_auth::validators::{default_validators, validate_password};
//!
//! assert!(validate_password("correct horse battery staple", &[], &default_validators()).is_ok());
//! let encoded = make_password("correct horse battery staple");
//! assert!(check_password("correct horse battery staple", &encoded));
//! ```

pub mod hashers;
pub mod validators;

/// Errors from `herd-auth`.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Every hashing permit stayed taken for the whole queue wait; answered with 503.
    #[error("password hashing is overloaded")]
    Busy,
    /// The hashing task panicked.
    #[error("password hashing task failed")]
    Task(#[source] tokio::task::JoinError),
    /// A salt was empty or contained `$`.
    #[error("salt must be non-empty and free of '$'")]
    InvalidSalt,
    /// Hasher parameters out of range.
    #[error("invalid hasher parameters: {0}")]
    InvalidParams(&'static str),
    /// A hasher registry needs at least one hasher.
    #[error("no password hashers configured")]
    NoHashers,
}

impl AuthError {
    /// Returns true when hashing was refused for overload (503).
    pub fn is_busy(&self) -> bool {
        matches!(self, Self::Busy)
    }
}

impl From<AuthError> for herd_core::Error {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::Busy => herd_core::Error::unavailable("password hashing is overloaded"),
            other => herd_core::Error::internal(other),
        }
    }
}

/// `Result` with [`AuthError`].
pub type Result<T, E = AuthError> = std::result::Result<T, E>;
