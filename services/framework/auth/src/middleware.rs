//! Django's `AuthenticationMiddleware`: puts the request's user in its extensions.
//!
//! Only a request that carries a session cookie touches the session (and so Redis and the
//! database): anonymous requests pass through untouched, so their pages stay cacheable. A
//! request whose session holds a user therefore reads the session, which marks its response
//! as private to the page caches.

use std::convert::Infallible;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use herd_core::{Request, Response};
use herd_db::Database;
use herd_sessions::Session;
use tower::{Layer, Service};

use crate::login::get_user;
use crate::models::User;

/// The logged-in user of a request, if any (a request extension).
#[derive(Clone, Debug, Default)]
pub struct CurrentUser(pub Option<User>);

/// The database users and permissions are read from (a request extension, for route layers
/// such as `permission_required`).
#[derive(Clone, Debug)]
pub(crate) struct AuthDatabase(pub(crate) Database);

/// Adds [`CurrentUser`] to every request; see the module docs.
#[derive(Clone, Debug)]
pub struct AuthenticationLayer {
    db: Database,
    secret_key: std::sync::Arc<str>,
}

/// The service of [`AuthenticationLayer`].
#[derive(Clone, Debug)]
pub struct AuthenticationMiddleware<S> {
    inner: S,
    db: Database,
    secret_key: std::sync::Arc<str>,
}

// === impl AuthenticationLayer ===

impl AuthenticationLayer {
    /// Users are read from `db`; session hashes are checked with `secret_key`.
    pub fn new(db: Database, secret_key: &str) -> Self {
        Self {
            db,
            secret_key: secret_key.into(),
        }
    }
}

impl<S> Layer<S> for AuthenticationLayer {
    type Service = AuthenticationMiddleware<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthenticationMiddleware {
            inner,
            db: self.db.clone(),
            secret_key: self.secret_key.clone(),
        }
    }
}

// === impl AuthenticationMiddleware ===

impl<S> AuthenticationMiddleware<S> {
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

impl<S> Service<Request> for AuthenticationMiddleware<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        request
            .extensions_mut()
            .insert(AuthDatabase(self.db.clone()));
        if !has_session_cookie(&request) {
            request.extensions_mut().insert(CurrentUser(None));
            return Box::pin(inner.call(request));
        }
        let db = self.db.clone();
        let secret_key = self.secret_key.clone();
        Box::pin(async move {
            let user = match Session::from_request(&request) {
                Ok(session) => match get_user(&db, &session, &secret_key).await {
                    Ok(user) => user,
                    // Authentication fails closed: no user, and the error page says why.
                    Err(err) => return Ok(herd_core::IntoResponse::into_response(err)),
                },
                Err(_) => None,
            };
            request.extensions_mut().insert(CurrentUser(user));
            inner.call(request).await
        })
    }
}

/// Whether the request carries a `sessionid` cookie at all.
fn has_session_cookie(request: &Request) -> bool {
    request
        .headers()
        .get_all(http::header::COOKIE)
        .iter()
        .any(|value| {
            value.to_str().is_ok_and(|cookies| {
                cookies
                    .split(';')
                    .filter_map(|pair| pair.trim_start().split_once('='))
                    .any(|(name, _)| name == herd_sessions::COOKIE_NAME)
            })
        })
}
