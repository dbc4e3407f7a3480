//! Per-worker overload protection around the views (RELIABILITY.md §1, §2): at most
//! `max_in_flight` requests inside at once, each for at most `handler_timeout`, and a panicking
//! view answered with a 500 page instead of a dropped connection.
//!
//! Excess requests are refused at once (503, `Retry-After: 1`), never queued: a queue in front of
//! a saturated worker only turns overload into latency, while the router can retry elsewhere.
//! A view over its deadline is cancelled and answered 503 (408 is for slow request bodies).

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{self, BoxFuture};
use herd_core::error::bare_response;
use herd_core::{Request, Response};
use http::{HeaderValue, StatusCode, header};
use tokio::sync::Semaphore;
use tower::{Layer, Service};

/// Caps concurrency and duration of requests and catches panics; see [`Limits`].
#[derive(Clone, Debug)]
pub struct LimitsLayer {
    in_flight: Arc<Semaphore>,
    handler_timeout: Option<Duration>,
}

/// Refuses requests beyond the in-flight cap (503 + `Retry-After: 1`), cancels those over the
/// handler timeout (503 + `Retry-After: 1`) and turns a panic into a bare 500 page.
///
/// Every clone shares one cap.
#[derive(Clone, Debug)]
pub struct Limits<S> {
    inner: S,
    in_flight: Arc<Semaphore>,
    handler_timeout: Option<Duration>,
}

// === impl LimitsLayer ===

impl LimitsLayer {
    /// At most `max_in_flight` requests at once (at least one), each within `handler_timeout`
    /// (zero means no timeout).
    pub fn new(max_in_flight: usize, handler_timeout: Duration) -> Self {
        let permits = max_in_flight.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            in_flight: Arc::new(Semaphore::new(permits)),
            handler_timeout: Some(handler_timeout).filter(|timeout| !timeout.is_zero()),
        }
    }
}

impl<S> Layer<S> for LimitsLayer {
    type Service = Limits<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Limits {
            inner,
            in_flight: Arc::clone(&self.in_flight),
            handler_timeout: self.handler_timeout,
        }
    }
}

// === impl Limits ===

impl<S> Limits<S> {
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

impl<S, B> Service<Request<B>> for Limits<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Error: Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let Ok(permit) = Arc::clone(&self.in_flight).try_acquire_owned() else {
            tracing::warn!(reason = "in_flight", "request rejected");
            return Box::pin(future::ready(Ok(unavailable())));
        };
        let inner = &mut self.inner;
        let response = match std::panic::catch_unwind(AssertUnwindSafe(|| inner.call(request))) {
            Ok(response) => response,
            Err(panic) => return Box::pin(future::ready(Ok(panicked(&*panic)))),
        };
        let handler_timeout = self.handler_timeout;
        Box::pin(async move {
            let _permit = permit;
            let response = AssertUnwindSafe(response).catch_unwind();
            let outcome = if let Some(timeout) = handler_timeout {
                let Ok(outcome) = tokio::time::timeout(timeout, response).await else {
                    tracing::warn!(reason = "handler_timeout", ?timeout, "request rejected");
                    return Ok(unavailable());
                };
                outcome
            } else {
                response.await
            };
            outcome.unwrap_or_else(|panic| Ok(panicked(&*panic)))
        })
    }
}

// === private functions ===

fn unavailable() -> Response {
    let mut response = bare_response(StatusCode::SERVICE_UNAVAILABLE);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// Logs a view's panic and answers the bare 500 page, which never shows the panic's text.
fn panicked(panic: &(dyn Any + Send)) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "view panicked");
    bare_response(StatusCode::INTERNAL_SERVER_ERROR)
}
