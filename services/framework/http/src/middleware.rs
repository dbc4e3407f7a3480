//! The worker's middleware stack, as tower layers.
//!
//! [`stack`] wraps an app in the layers that exist so far, outermost first, in the request-path
//! order of ARCHITECTURE.md:
//!
//! 1. **trace**: sets `x-request-id` (a UUID unless the client sent one), opens the request's
//!    span, logs the response and copies the id onto it. Outermost, so every answer below,
//!    rejections included, is traced.
//! 2. **[`health`]**: `/healthz` and `/readyz`. Before the Host check, because probes address
//!    pods by IP, and before the limits, because a saturated worker must still answer its probes.
//! 3. **[`allowed_hosts`]**: Django's `ALLOWED_HOSTS`, 400 for any other host.
//! 4. **[`limits`]**: in-flight cap, handler timeout and panic catching, directly around the app,
//!    so that only view work counts against the cap and is cut off by the timeout.
//! 5. the app (URL dispatcher and views).
//!
//! Later layers (security headers, sessions, CSRF, auth, the per-site cache) go between the Host
//! check and the limits, in the order ARCHITECTURE.md gives.

pub mod allowed_hosts;
pub mod health;
pub mod limits;

use std::time::Duration;

use herd_core::{App, Body, Request, Settings};
use http::HeaderName;
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

pub use allowed_hosts::{AllowedHosts, AllowedHostsLayer};
pub use health::{Health, HealthLayer, Readiness};
pub use limits::{Limits, LimitsLayer};

/// The header carrying the request id.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Wraps `app` in the worker's middleware, in the order this module's documentation gives.
///
/// `readiness` answers `/readyz`; pass the same one to
/// [`Server::serve`](crate::server::Server::serve) so that draining shows there.
pub fn stack(settings: &Settings, readiness: Readiness, app: App) -> App {
    let handler_timeout =
        Duration::try_from_secs_f64(settings.server.handler_timeout).unwrap_or_default();
    let service = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, RandomRequestId))
        .map_response(|response: http::Response<_>| response.map(Body::new))
        .layer(TraceLayer::new_for_http().make_span_with(make_span))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(HealthLayer::new(readiness))
        .layer(AllowedHostsLayer::new(
            settings.allowed_hosts.iter().cloned(),
        ))
        .layer(LimitsLayer::new(
            settings.server.max_in_flight,
            handler_timeout,
        ))
        .service(app);
    BoxCloneSyncService::new(service)
}

/// Makes a request id: a random (version 4) UUID, as tower-http's `MakeRequestUuid`, but
/// drawn from the thread's seeded generator rather than a `getrandom` call per request.
#[derive(Clone, Copy, Debug, Default)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &http::Request<B>) -> Option<RequestId> {
        let uuid = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut text = [0_u8; uuid::fmt::Hyphenated::LENGTH];
        let text = uuid.hyphenated().encode_lower(&mut text);
        http::HeaderValue::from_str(text).ok().map(RequestId::new)
    }
}

/// The request's span: method, path (not the query, which may carry personal data) and id.
fn make_span(request: &Request) -> tracing::Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|id| id.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        version = ?request.version(),
        request_id,
    )
}
