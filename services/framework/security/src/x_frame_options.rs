//! Django's `XFrameOptionsMiddleware`: `X-Frame-Options` on every response, unless the view set
//! one or marked itself exempt ([`XFrameOptionsExempt`], Django's `xframe_options_exempt`).

use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use herd_core::{Request, Response};
use http::{HeaderValue, header};
use tower::{Layer, Service};

/// A response extension: the view may be framed, so no `X-Frame-Options` is added.
///
/// ```
/// use herd_security::XFrameOptionsExempt;
///
/// let mut response = herd_core::Response::new(herd_core::Body::empty());
/// response.extensions_mut().insert(XFrameOptionsExempt);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct XFrameOptionsExempt;

/// Adds `X-Frame-Options`; see [`XFrameOptions`].
#[derive(Clone, Debug)]
pub struct XFrameOptionsLayer {
    value: HeaderValue,
}

/// Sets `X-Frame-Options` on the inner service's responses unless the view chose a value or is
/// exempt.
#[derive(Clone, Debug)]
pub struct XFrameOptions<S> {
    inner: S,
    value: HeaderValue,
}

// === impl XFrameOptionsLayer ===

impl XFrameOptionsLayer {
    /// Sends `value` (Django's `X_FRAME_OPTIONS`, normally `DENY`).
    pub fn new(value: HeaderValue) -> Self {
        Self { value }
    }
}

impl Default for XFrameOptionsLayer {
    /// `X-Frame-Options: DENY`, Django's default.
    fn default() -> Self {
        Self::new(HeaderValue::from_static("DENY"))
    }
}

impl<S> Layer<S> for XFrameOptionsLayer {
    type Service = XFrameOptions<S>;

    fn layer(&self, inner: S) -> Self::Service {
        XFrameOptions {
            inner,
            value: self.value.clone(),
        }
    }
}

// === impl XFrameOptions ===

impl<S> XFrameOptions<S> {
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

impl<S, B> Service<Request<B>> for XFrameOptions<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let future = self.inner.call(request);
        let value = self.value.clone();
        Box::pin(async move {
            let mut response = future.await?;
            set_x_frame_options(&mut response, &value);
            Ok(response)
        })
    }
}

// === crate functions ===

/// Sets `X-Frame-Options: value` unless the response has one or is exempt.
pub(crate) fn set_x_frame_options(response: &mut Response, value: &HeaderValue) {
    if response.extensions().get::<XFrameOptionsExempt>().is_some() {
        return;
    }
    response
        .headers_mut()
        .entry(header::X_FRAME_OPTIONS)
        .or_insert_with(|| value.clone());
}
