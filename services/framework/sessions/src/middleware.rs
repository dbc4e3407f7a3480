//! [`SessionLayer`]: Django's `SessionMiddleware`. It puts a lazy [`Session`] in each request's
//! extensions and, once the view has answered, varies the response on `Cookie` if the session
//! was used, saves a modified session and sends its cookie, or deletes an emptied one and
//! revokes its cookie.
//!
//! Nothing is saved and no cookie is sent on a 5xx. A failed save or delete turns the response
//! into a 503, so that a login whose session could not be stored never looks successful.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use herd_cache::headers::{CacheControl, patch_cache_control, patch_vary_headers};
use herd_cache::{RedisBackend, SessionAccessed, SessionTracker};
use herd_core::signing::Signer;
use herd_core::{Error, IntoResponse, Request, Response};
use http::HeaderValue;
use http::header::SET_COOKIE;
use tower::{Layer, Service};

use crate::session::{Session, State};
use crate::store::{Saved, Store};
use crate::{COOKIE_SALT, DEFAULT_MAX_AGE, cookie};

/// The settings of [`SessionLayer`].
#[derive(Clone)]
pub struct SessionConfig {
    /// Where the records live; its timeouts and breaker bound every session call.
    pub redis: RedisBackend,
    /// The key the cookie is signed with (`HERD_SECRET_KEY`).
    pub secret_key: String,
    /// Adds `Secure` to the cookie (Django's `SESSION_COOKIE_SECURE`); set it behind HTTPS.
    pub cookie_secure: bool,
    /// Put before `session:<key>` in Redis, to share one Redis between sites or tests.
    pub key_prefix: String,
    /// Lifetime of a saved session and of its cookie, in seconds (Django's
    /// `SESSION_COOKIE_AGE`); [`DEFAULT_MAX_AGE`] by default.
    pub max_age: u64,
}

/// Django's `SessionMiddleware` on Redis; see the [module docs](self).
#[derive(Clone)]
pub struct SessionLayer {
    shared: Arc<Shared>,
}

/// The service [`SessionLayer`] builds.
#[derive(Clone)]
pub struct SessionMiddleware<S> {
    inner: S,
    shared: Arc<Shared>,
}

struct Shared {
    store: Store,
    signer: Signer,
    cookie_secure: bool,
}

/// What the layer does with the session after the view.
enum Outcome {
    Nothing,
    SetCookie(String),
    DeleteCookie,
}

// === impl SessionConfig ===

impl SessionConfig {
    /// Sessions in `redis` signed with `secret_key`, with no key prefix, no `Secure` flag and a
    /// lifetime of [`DEFAULT_MAX_AGE`].
    pub fn new(redis: RedisBackend, secret_key: impl Into<String>) -> Self {
        Self {
            redis,
            secret_key: secret_key.into(),
            cookie_secure: false,
            key_prefix: String::new(),
            max_age: DEFAULT_MAX_AGE,
        }
    }
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret key must never reach a log.
        f.debug_struct("SessionConfig")
            .field("redis", &self.redis)
            .field("cookie_secure", &self.cookie_secure)
            .field("key_prefix", &self.key_prefix)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

// === impl SessionLayer ===

impl SessionLayer {
    /// The middleware for `config`. Makes no Redis call.
    pub fn new(config: SessionConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                store: Store::new(config.redis, config.key_prefix, config.max_age),
                signer: Signer::new(config.secret_key, COOKIE_SALT),
                cookie_secure: config.cookie_secure,
            }),
        }
    }

    /// Django's `clearsessions`: removes expired sessions. Redis expires records by their TTL,
    /// so there is nothing to do (Django's cache backend does the same).
    ///
    /// # Errors
    ///
    /// None with Redis; a `Result` because other stores would need one.
    #[expect(
        clippy::unused_async,
        reason = "the command awaits it like any store's"
    )]
    pub async fn clear_expired(&self) -> herd_core::Result<()> {
        Ok(())
    }
}

impl std::fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLayer")
            .field("store", &self.shared.store)
            .field("cookie_secure", &self.shared.cookie_secure)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionMiddleware<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionMiddleware {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

// === impl SessionMiddleware ===

impl<S> SessionMiddleware<S> {
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

impl<S, B> Service<Request<B>> for SessionMiddleware<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        let incoming = cookie::incoming(request.headers(), &shared.signer);
        let tracker = request.extensions().get::<SessionTracker>().cloned();
        let session = Session::new(shared.store.clone(), incoming, tracker);
        request.extensions_mut().insert(session.clone());
        let future = self.inner.call(request);
        Box::pin(async move {
            let response = future.await?;
            Ok(finish(&shared, &session, response).await)
        })
    }
}

/// Applies what the view did with the session to its response.
async fn finish(shared: &Shared, session: &Session, response: Response) -> Response {
    let mut state = session.state().await;
    if !state.accessed {
        return response;
    }
    let mut response = if response.status().is_server_error() {
        response
    } else {
        match persist(session, &mut state).await {
            Ok(Outcome::Nothing) => response,
            Ok(Outcome::SetCookie(key)) => with_cookie(
                response,
                &cookie::set_cookie(
                    &shared.signer.sign(&key),
                    session.store().max_age(),
                    shared.cookie_secure,
                ),
            ),
            Ok(Outcome::DeleteCookie) => with_cookie(response, &cookie::deleting_cookie()),
            Err(err) => err.into_response(),
        }
    };
    let headers = response.headers_mut();
    patch_vary_headers(headers, &["Cookie"]);
    patch_cache_control(headers, &CacheControl::new().private());
    response.extensions_mut().insert(SessionAccessed);
    response
}

/// Saves or deletes the session as the view left it.
async fn persist(session: &Session, state: &mut State) -> herd_core::Result<Outcome> {
    if !state.loaded {
        // Read attempted but Redis failed: nothing is known, so nothing changes.
        return Ok(Outcome::Nothing);
    }
    let store = session.store();
    if state.data.is_empty() {
        if !state.modified && state.key.is_some() {
            return Ok(Outcome::Nothing);
        }
        if let Some(key) = state.key.take() {
            store.delete(&key).await?;
        }
        // Unknown, tampered and emptied sessions alike: the client's cookie is worthless.
        return Ok(if session.cookie_present() {
            Outcome::DeleteCookie
        } else {
            Outcome::Nothing
        });
    }
    if !state.modified {
        return Ok(Outcome::Nothing);
    }
    let key = match state.key.take() {
        Some(key) => match store.save(&key, &state.data).await? {
            Saved::Saved => key,
            Saved::Interrupted => {
                return Err(Error::bad_request(
                    "the request's session was deleted before the request completed",
                ));
            }
        },
        None => store.create(&state.data).await?,
    };
    Ok(Outcome::SetCookie(key))
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    match HeaderValue::from_str(cookie) {
        Ok(value) => {
            response.headers_mut().append(SET_COOKIE, value);
            response
        }
        // The cookie is built from hex, base64 and a date: always a valid header.
        Err(err) => Error::internal(err).into_response(),
    }
}
