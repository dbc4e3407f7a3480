//! `login_required` and `permission_required` as route layers (Django's decorators).
//!
//! Anonymous requests are redirected to the login page with `?next=<full path>`; a logged-in
//! user without the permission gets 403. They read [`CurrentUser`], which
//! [`AuthenticationLayer`](crate::AuthenticationLayer) puts on every request.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use herd_core::response::Redirect;
use herd_core::{Error, IntoResponse, Request, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tower::{Layer, Service};

use crate::middleware::{AuthDatabase, CurrentUser};
use crate::permissions::has_perm;

/// Django's default `LOGIN_URL`.
pub const LOGIN_URL: &str = "/accounts/login/";

/// What Django's `quote(path, safe="/")` keeps in `next`: letters, digits, `/` and `-._~`.
const NEXT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Requires a logged-in user (Django's `login_required`).
#[derive(Clone, Debug)]
pub struct LoginRequiredLayer {
    login_url: Arc<str>,
}

/// Requires a logged-in user holding a permission (Django's `permission_required`).
#[derive(Clone, Debug)]
pub struct PermissionRequiredLayer {
    login_url: Arc<str>,
    permission: Arc<str>,
}

/// The service of both layers.
#[derive(Clone, Debug)]
pub struct Required<S> {
    inner: S,
    login_url: Arc<str>,
    permission: Option<Arc<str>>,
}

// === impl LoginRequiredLayer ===

impl LoginRequiredLayer {
    /// Redirects anonymous requests to [`LOGIN_URL`].
    pub fn new() -> Self {
        Self {
            login_url: LOGIN_URL.into(),
        }
    }
}

impl Default for LoginRequiredLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for LoginRequiredLayer {
    type Service = Required<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Required {
            inner,
            login_url: self.login_url.clone(),
            permission: None,
        }
    }
}

// === impl PermissionRequiredLayer ===

impl PermissionRequiredLayer {
    /// Requires `permission` (`"directory.add_employee"`).
    pub fn new(permission: &str) -> Self {
        Self {
            login_url: LOGIN_URL.into(),
            permission: permission.into(),
        }
    }
}

impl<S> Layer<S> for PermissionRequiredLayer {
    type Service = Required<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Required {
            inner,
            login_url: self.login_url.clone(),
            permission: Some(self.permission.clone()),
        }
    }
}

// === impl Required ===

impl<S> Service<Request> for Required<S>
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

    fn call(&mut self, request: Request) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let login_url = self.login_url.clone();
        let permission = self.permission.clone();
        Box::pin(async move {
            let user = request
                .extensions()
                .get::<CurrentUser>()
                .and_then(|user| user.0.clone());
            let Some(user) = user else {
                let path = request.uri().path_and_query().map_or("/", |pq| pq.as_str());
                let target = format!("{login_url}?next={}", utf8_percent_encode(path, NEXT));
                return Ok(Redirect::to(&target).into_response());
            };
            if let Some(permission) = permission {
                let Some(AuthDatabase(db)) = request.extensions().get::<AuthDatabase>().cloned()
                else {
                    return Ok(
                        Error::internal("permission_required needs AuthenticationLayer")
                            .into_response(),
                    );
                };
                match has_perm(&db, &user, &permission).await {
                    Ok(true) => {}
                    Ok(false) => return Ok(Error::permission_denied().into_response()),
                    Err(err) => return Ok(herd_core::Error::from(err).into_response()),
                }
            }
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_keeps_slashes_and_encodes_the_query_as_django() {
        assert_eq!(
            utf8_percent_encode("/employee/new/?a=1&b=2", NEXT).to_string(),
            "/employee/new/%3Fa%3D1%26b%3D2"
        );
    }
}
