//! Herd's `django.contrib.auth`: password [`hashers`] compatible with Django's stored hashes,
//! Django's password [`validators`], the `auth` app's [`models`](mod@models) and migrations, permissions
//! ([`create_permissions`], [`has_perm`]), [`authenticate`], session [`login`] / [`logout`] /
//! [`get_user`], and [`is_safe_url`] for `next` redirects.
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
mod login;
mod middleware;
pub mod models;
mod permissions;
mod redirect;
mod required;
pub mod throttle;
pub mod validators;

pub use login::{
    BACKEND, BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, authenticate, get_user, login,
    logout, session_auth_hash, set_password, update_session_auth_hash,
};
pub use middleware::{AuthenticationLayer, AuthenticationMiddleware, CurrentUser};
pub use models::models;
pub use permissions::{PERMISSION_ACTIONS, create_permissions, has_perm, permission_target};
pub use redirect::{MAX_URL_LENGTH, is_safe_url};
pub use required::{LOGIN_URL, LoginRequiredLayer, PermissionRequiredLayer, Required};

/// The app label of Django's auth app.
pub const APP_LABEL: &str = "auth";

/// The `auth` app's migration files, embedded by `build.rs`.
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The `auth` app's migration files as `(file name, JSON text)`, e.g. `0001_initial.json`.
pub fn migration_files() -> &'static [(&'static str, &'static str)] {
    embedded::MIGRATIONS
}

/// The `auth` app's migrations and current models, for `herd_db::migrations::migrate`.
pub fn app_migrations() -> herd_db::migrations::AppMigrations {
    herd_db::migrations::AppMigrations {
        app: APP_LABEL.to_owned(),
        migrations: migration_files()
            .iter()
            .map(|(name, text)| {
                (
                    name.trim_end_matches(".json").to_owned(),
                    (*text).to_owned(),
                )
            })
            .collect(),
        models: models(),
    }
}

/// Errors from `herd-auth`.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Every hashing permit stayed taken for the whole queue wait; answered with 503.
    #[error("password hashing is overloaded")]
    Busy,
    /// The hashing thread panicked or is gone.
    #[error("password hashing thread failed")]
    Task,
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
