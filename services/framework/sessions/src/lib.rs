//! Django's sessions for Herd: [`SessionLayer`] (Django's `SessionMiddleware`) keeps each
//! client's [`Session`] in Redis under `<prefix>session:<key>` and names it with a signed
//! `sessionid` cookie.
//!
//! The key is 256 bits from the OS CSPRNG, written as 64 lowercase hex digits and carried signed
//! (`herd_core::signing::Signer`, salt [`COOKIE_SALT`]). The record is the session's JSON object,
//! stored with a TTL of `max_age` seconds that does not slide: it is renewed only when the
//! session is saved.
//!
//! The session is lazy. A request whose view never touches its [`Session`] makes no Redis call,
//! gets no cookie and no `Vary: Cookie`, so anonymous pages stay cacheable. Any use of the
//! session adds `Vary: Cookie` and `Cache-Control: private`, marks the response
//! [`herd_cache::SessionAccessed`] and the request's [`herd_cache::SessionTracker`], so no page
//! cache stores it. A modified session is saved (and its cookie re-sent) after the view answers,
//! unless the answer is a 5xx; an emptied session is deleted and its cookie revoked.
//!
//! Unknown, expired, tampered or malformed cookies give a new empty session: a client's key is
//! never adopted, a fresh one is minted on the first save. When Redis is down, reading the
//! session of a request that carries a cookie fails closed with
//! [`herd_core::Error::unavailable`] (503 + `Retry-After`); a request without a cookie stays
//! anonymous without touching Redis.
//!
//! ```no_run
//! use herd_cache::RedisBackend;
//! use herd_core::{Error, IntoResponse, Request, Response};
//! use herd_sessions::{Session, SessionConfig, SessionLayer};
//! use tower::ServiceBuilder;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let redis = RedisBackend::connect("redis://127.0.0.1:6379/0", "herd").await?;
//! let layer = SessionLayer::new(SessionConfig::new(redis, "a long secret key"));
//!
//! async fn visits(request: Request) -> Result<Response, Error> {
//!     let session = Session::from_request(&request)?;
//!     let count: u64 = session.get("visits").await?.unwrap_or(0) + 1;
//!     session.insert("visits", count).await?;
//!     Ok(format!("{count} visits").into_response())
//! }
//!
//! let app = ServiceBuilder::new().layer(layer).service_fn(|request| async move {
//!     Ok::<_, std::convert::Infallible>(visits(request).await.into_response())
//! });
//! # let _ = app;
//! # Ok(())
//! # }
//! ```

mod cookie;
pub mod middleware;
pub mod session;
mod store;

pub use middleware::{SessionConfig, SessionLayer, SessionMiddleware};
pub use session::Session;

/// The session cookie's name (Django's `SESSION_COOKIE_NAME`).
pub const COOKIE_NAME: &str = "sessionid";
/// The salt the session cookie is signed with.
pub const COOKIE_SALT: &str = "herd.session";
/// The default lifetime of a session and its cookie, in seconds: two weeks (Django's
/// `SESSION_COOKIE_AGE`).
pub const DEFAULT_MAX_AGE: u64 = 1_209_600;
