//! Liveness (`/healthz`) and readiness (`/readyz`), answered before any other middleware.
//!
//! `/healthz` says only that the process serves HTTP: it never consults Postgres or Redis, so a
//! dependency outage cannot get pods restarted (RELIABILITY.md §3). `/readyz` reports the last
//! round of background checks, run each second with a 500 ms timeout, so answering it costs
//! nothing; it turns 503 at once when the worker starts draining (§4).

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::{self, BoxFuture};
use herd_core::{Body, Request, Response};
use http::{HeaderValue, Method, StatusCode, header};
use tokio::sync::watch;
use tower::{Layer, Service};

/// How often the readiness checks run.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// How long one check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_millis(500);

/// A readiness check: resolves to `Err(reason)` when its dependency is unusable.
type CheckFn = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// Whether the worker should receive traffic: its checks pass and it is not draining.
///
/// Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Readiness {
    inner: Arc<Inner>,
}

struct Inner {
    checks: Mutex<Vec<(String, CheckFn)>>,
    status: Mutex<Status>,
    draining: watch::Sender<bool>,
    started: AtomicBool,
}

/// The result of the last round of checks.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Status {
    /// A check was added and has not run yet.
    Unchecked,
    Ready,
    /// The name of the first failing check.
    Failing(String),
}

/// Answers `/healthz` and `/readyz` from a [`Readiness`]; see [`Health`].
#[derive(Clone, Debug)]
pub struct HealthLayer {
    readiness: Readiness,
}

/// Answers `GET`/`HEAD` `/healthz` (200 `ok`) and `/readyz` (200 `ready`, or 503 naming the
/// failing check or `draining`) itself and passes every other request to the inner service.
#[derive(Clone, Debug)]
pub struct Health<S> {
    inner: S,
    readiness: Readiness,
}

// === impl Readiness ===

impl Readiness {
    /// Ready, with no checks, not draining.
    pub fn new() -> Self {
        let (draining, _) = watch::channel(false);
        Self {
            inner: Arc::new(Inner {
                checks: Mutex::new(Vec::new()),
                status: Mutex::new(Status::Ready),
                draining,
                started: AtomicBool::new(false),
            }),
        }
    }

    /// Adds a check named `name` (say `database`); `/readyz` names it while it fails.
    ///
    /// The worker counts as not ready until the check has run once.
    pub fn add_check(
        &self,
        name: &str,
        check: impl Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync + 'static,
    ) {
        lock(&self.inner.checks).push((name.to_owned(), Arc::new(check)));
        *lock(&self.inner.status) = Status::Unchecked;
    }

    /// Starts running the checks in the background: a first round at once, then one each
    /// second. Calling it again does nothing; the task ends when the last clone is dropped.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start(&self) {
        if self.inner.started.swap(true, Ordering::SeqCst) {
            return;
        }
        tokio::spawn(run_checks(Arc::downgrade(&self.inner)));
    }

    /// Marks the worker as draining: `/readyz` answers 503 from now on.
    pub fn set_draining(&self) {
        if !self.inner.draining.send_replace(true) {
            tracing::info!("readiness: draining");
        }
    }

    /// Returns true once [`Readiness::set_draining`] was called.
    pub fn is_draining(&self) -> bool {
        *self.inner.draining.borrow()
    }

    /// Resolves once the worker is draining (at once if it already is).
    pub async fn draining(&self) {
        let mut draining = self.inner.draining.subscribe();
        // The sender lives in `self.inner`, so the channel cannot close while we wait.
        let _ = draining.wait_for(|draining| *draining).await;
    }

    /// Returns true when the last round of checks passed and the worker is not draining.
    pub fn is_ready(&self) -> bool {
        !self.is_draining() && *lock(&self.inner.status) == Status::Ready
    }

    fn readyz(&self) -> Response {
        if self.is_draining() {
            return text(StatusCode::SERVICE_UNAVAILABLE, "draining".to_owned());
        }
        match &*lock(&self.inner.status) {
            Status::Ready => text(StatusCode::OK, "ready".to_owned()),
            Status::Unchecked => text(
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: starting".to_owned(),
            ),
            Status::Failing(name) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {name}"),
            ),
        }
    }
}

impl Default for Readiness {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field("status", &*lock(&self.inner.status))
            .field("draining", &self.is_draining())
            .finish_non_exhaustive()
    }
}

// === impl HealthLayer ===

impl HealthLayer {
    /// Answers `/readyz` from `readiness`.
    pub fn new(readiness: Readiness) -> Self {
        Self { readiness }
    }
}

impl<S> Layer<S> for HealthLayer {
    type Service = Health<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Health {
            inner,
            readiness: self.readiness.clone(),
        }
    }
}

// === impl Health ===

impl<S> Health<S> {
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

impl<S, B> Service<Request<B>> for Health<S>
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
        let response = match request.uri().path() {
            "/healthz" => probe(request.method(), || text(StatusCode::OK, "ok".to_owned())),
            "/readyz" => probe(request.method(), || self.readiness.readyz()),
            _ => return Box::pin(self.inner.call(request)),
        };
        Box::pin(future::ready(Ok(response)))
    }
}

// === private functions ===

async fn run_checks(inner: Weak<Inner>) {
    let mut interval = tokio::time::interval(CHECK_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let checks = lock(&inner.checks).clone();
        let results = future::join_all(checks.iter().map(|(name, check)| async move {
            let result = match tokio::time::timeout(CHECK_TIMEOUT, check()).await {
                Ok(result) => result,
                Err(_) => Err(format!("no answer within {CHECK_TIMEOUT:?}")),
            };
            (name, result)
        }))
        .await;
        let failure = results
            .into_iter()
            .find_map(|(name, result)| result.err().map(|reason| (name, reason)));
        let status = match &failure {
            Some((name, _)) => Status::Failing((*name).clone()),
            None => Status::Ready,
        };
        let previous = std::mem::replace(&mut *lock(&inner.status), status.clone());
        if previous != status {
            if let Some((name, reason)) = failure {
                tracing::warn!(check = %name, %reason, "readiness check failing");
            } else {
                tracing::info!("readiness checks pass");
            }
        }
    }
}

/// Answers a probe for `GET` and `HEAD`; anything else gets 405.
fn probe(method: &Method, answer: impl FnOnce() -> Response) -> Response {
    if method == Method::GET || method == Method::HEAD {
        answer()
    } else {
        herd_core::IntoResponse::into_response(herd_core::Error::method_not_allowed(vec![
            Method::GET,
            Method::HEAD,
        ]))
    }
}

fn text(status: StatusCode, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Locks a mutex that no code path can leave inconsistent, so a poisoned one is still usable.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
