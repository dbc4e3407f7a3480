//! The worker's HTTP server: hyper serving HTTP/1.1 with keep-alive and h2c (HTTP/2 with prior
//! knowledge) on one port, with the limits of RELIABILITY.md §1 and the graceful shutdown of §4.
//!
//! Limits enforced here, before the app sees a request: a request head over 64 KiB gets 431 and a
//! malformed one 400 (hyper), a URI over 8 KiB gets 414, a declared `Content-Length` over
//! `server.max_body_bytes` gets 413 without the body being read. A client that does not finish
//! its request head within `server.header_read_timeout` is disconnected; that includes one that
//! sends nothing at all, which hyper's own timer would not catch because the protocol sniffing
//! (HTTP/1 or HTTP/2) runs before it starts.
//! Between requests an HTTP/1 connection may stay idle for
//! `server.keep_alive_timeout` (75 s, longer than a router keeps its pooled connections); the
//! header timeout counts from the first byte of each request head.
//!
//! A request body is read whole before the app sees the request, as Django's servers do: one
//! that grows past `server.max_body_bytes` gets 413, one not received within
//! `server.body_read_timeout` 408, a broken one 400. So a slow client never holds a view, its
//! database connection or an in-flight slot, and the handler timeout measures the view alone.
//!
//! Shutdown, once the `shutdown` future resolves:
//! 1. readiness turns draining at once, so `/readyz` answers 503 and the router stops sending;
//! 2. the server keeps accepting and serving for `server.drain_delay`;
//! 3. the listener closes and every connection is told to shut down gracefully: idle ones close,
//!    busy ones close after their response, HTTP/2 ones get GOAWAY;
//! 4. after at most `server.drain_deadline` the connections still open are dropped and
//!    [`Server::serve`] returns.

mod head_timer;
mod io;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use herd_core::error::bare_response;
use herd_core::settings::ServerSettings;
use herd_core::{App, Body, Request, Response};
use http::{HeaderValue, StatusCode, Version, header};
use http_body::Body as _;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tower::ServiceExt;

use self::head_timer::{Activity, HeadTimer};
use crate::middleware::health::Readiness;

/// Longest request target served; longer ones get 414 (RELIABILITY.md §1).
const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest request head hyper buffers; larger ones get 431.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// What a disabled timeout waits: for ever, as far as a connection is concerned.
const IDLE_FOR_EVER: Duration = Duration::from_hours(100 * 365 * 24);
/// Pause after a failed `accept`, so that running out of file descriptors does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The HTTP server of a worker, configured from [`ServerSettings`].
///
/// ```no_run
/// # async fn run(settings: herd_core::Settings, app: herd_core::App) -> std::io::Result<()> {
/// use herd_http::middleware::{self, health::Readiness};
/// use herd_http::server::{Server, shutdown_signal};
///
/// let listener = tokio::net::TcpListener::bind(settings.bind).await?;
/// let readiness = Readiness::new();
/// readiness.start();
/// let app = middleware::stack(&settings, readiness.clone(), app);
/// Server::new(settings.server.clone()).serve(listener, app, readiness, shutdown_signal()).await
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Server {
    settings: ServerSettings,
}

/// The address of the TCP peer a request came from (a request extension). Behind a router
/// this is the router; `X-Forwarded-For` carries the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// How long a connection may take over a request head, and stay idle between requests.
#[derive(Clone, Copy, Debug)]
struct Timeouts {
    header: Option<Duration>,
    keep_alive: Duration,
}

/// Turns hyper's requests into the app's, applying the limits that need the raw request.
#[derive(Clone)]
struct Handler {
    app: App,
    max_body_bytes: u64,
    body_timeout: Option<Duration>,
}

// === impl Server ===

impl Server {
    /// A server with the given limits and timeouts.
    pub fn new(settings: ServerSettings) -> Self {
        Self { settings }
    }

    /// Serves `app` on `listener` until `shutdown` resolves, then drains as the module
    /// documentation describes and returns.
    ///
    /// # Errors
    ///
    /// Fails only when the listener has no local address; errors of single connections (and
    /// of `accept`) are logged and the server carries on.
    pub async fn serve(
        self,
        listener: TcpListener,
        app: App,
        readiness: Readiness,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let addr = listener.local_addr()?;
        let header_timeout = seconds(self.settings.header_read_timeout);
        let timeouts = Timeouts {
            header: header_timeout,
            keep_alive: seconds(self.settings.keep_alive_timeout).unwrap_or(IDLE_FOR_EVER),
        };
        let drain_delay = seconds(self.settings.drain_delay).unwrap_or_default();
        let drain_deadline = seconds(self.settings.drain_deadline).unwrap_or_default();
        let handler = Handler {
            app,
            max_body_bytes: self.settings.max_body_bytes,
            body_timeout: seconds(self.settings.body_read_timeout),
        };
        let graceful = GracefulShutdown::new();
        let mut connections = JoinSet::new();
        let spawn = |connections: &mut JoinSet<()>, stream: TcpStream, peer: SocketAddr| {
            connections.spawn(serve_connection(
                stream,
                peer,
                handler.clone(),
                graceful.watcher(),
                timeouts,
            ));
        };
        tracing::info!(%addr, "listening");

        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => spawn(&mut connections, stream, peer),
                    Err(err) => accept_failed(&err).await,
                },
                Some(_) = connections.join_next() => {}
            }
        }

        readiness.set_draining();
        tracing::info!(delay = ?drain_delay, "draining: /readyz answers 503, still serving");
        let mut delay = std::pin::pin!(tokio::time::sleep(drain_delay));
        loop {
            tokio::select! {
                () = &mut delay => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => spawn(&mut connections, stream, peer),
                    Err(err) => accept_failed(&err).await,
                },
                Some(_) = connections.join_next() => {}
            }
        }

        drop(listener);
        tracing::info!(
            connections = graceful.count(),
            deadline = ?drain_deadline,
            "listener closed, waiting for in-flight requests"
        );
        if tokio::time::timeout(drain_deadline, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                connections = connections.len(),
                "drain deadline passed, closing the remaining connections"
            );
        }
        connections.shutdown().await;
        tracing::info!("server stopped");
        Ok(())
    }
}

// === impl Handler ===

impl Handler {
    async fn handle(self, request: http::Request<Incoming>) -> Result<Response, Infallible> {
        let target_len = request
            .uri()
            .path_and_query()
            .map_or(0, |target| target.as_str().len());
        if target_len > MAX_URI_BYTES {
            tracing::debug!(length = target_len, "URI too long");
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::URI_TOO_LONG;
            return Ok(response);
        }
        if request.body().size_hint().lower() > self.max_body_bytes {
            tracing::debug!(limit = self.max_body_bytes, "declared body too large");
            return Ok(refused(StatusCode::PAYLOAD_TOO_LARGE, request.version()));
        }
        let request = if request.body().is_end_stream() {
            request.map(|_| Body::empty())
        } else {
            match self.read_body(request).await {
                Ok(request) => request,
                Err(response) => return Ok(response),
            }
        };
        self.app.oneshot(request).await
    }

    /// Reads the whole body within the size limit and the body read timeout.
    async fn read_body(&self, request: http::Request<Incoming>) -> Result<Request, Response> {
        let (parts, body) = request.into_parts();
        let limit = usize::try_from(self.max_body_bytes).unwrap_or(usize::MAX);
        let collect = Limited::new(body, limit).collect();
        let collected = match self.body_timeout {
            Some(timeout) => tokio::time::timeout(timeout, collect).await,
            None => Ok(collect.await),
        };
        match collected {
            Ok(Ok(collected)) => Ok(Request::from_parts(parts, Body::from(collected.to_bytes()))),
            Ok(Err(err)) if err.is::<LengthLimitError>() => {
                tracing::debug!(limit = self.max_body_bytes, "streamed body too large");
                Err(refused(StatusCode::PAYLOAD_TOO_LARGE, parts.version))
            }
            Ok(Err(err)) => {
                tracing::debug!(error = %err, "request body broke off");
                Err(refused(StatusCode::BAD_REQUEST, parts.version))
            }
            Err(_elapsed) => {
                tracing::debug!(timeout = ?self.body_timeout, "request body too slow");
                Err(refused(StatusCode::REQUEST_TIMEOUT, parts.version))
            }
        }
    }
}

/// The bare page for `status`, closing an HTTP/1 connection: the rest of the body is unread,
/// so the connection cannot carry another request.
fn refused(status: StatusCode, version: Version) -> Response {
    let mut response = bare_response(status);
    if version < Version::HTTP_2 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

// === private functions ===

/// The connection's HTTP/1 and HTTP/2 settings; HTTP/1's header timer is `timer`.
fn builder(header_timeout: Duration, timer: HeadTimer) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(timer)
        .header_read_timeout(Some(header_timeout))
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(MAX_HEAD_BYTES).unwrap_or(u32::MAX));
    builder
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    handler: Handler,
    watcher: Watcher,
    timeouts: Timeouts,
) {
    if let Err(err) = stream.set_nodelay(true) {
        tracing::debug!(%peer, error = %err, "could not set TCP_NODELAY");
    }
    let activity = Activity::new();
    // hyper's header timer is always armed, so that the keep-alive timeout applies even when
    // the header timeout is off.
    let header_timeout = timeouts.header.unwrap_or(IDLE_FOR_EVER);
    let timer = HeadTimer::new(Arc::clone(&activity), header_timeout, timeouts.keep_alive);
    let builder = builder(header_timeout, timer);
    let Some(io) = io::sniff(stream, timeouts.header, activity).await else {
        tracing::debug!(%peer, "connection closed before a request started");
        return;
    };
    let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
        request.extensions_mut().insert(ClientAddr(peer));
        handler.clone().handle(request)
    });
    let connection = builder.serve_connection(TokioIo::new(io), service);
    if let Err(err) = watcher.watch(connection).await {
        tracing::debug!(%peer, error = %err, "connection ended with an error");
    }
}

async fn accept_failed(err: &std::io::Error) {
    tracing::error!(error = %err, "accept failed");
    tokio::time::sleep(ACCEPT_BACKOFF).await;
}

/// A setting in seconds as a duration; zero (or an unusable value) means none.
fn seconds(value: f64) -> Option<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|duration| !duration.is_zero())
}

/// Resolves on the first SIGTERM or SIGINT, for [`Server::serve`]'s `shutdown`.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};

    let terminate = signal(SignalKind::terminate());
    let interrupt = signal(SignalKind::interrupt());
    let (mut terminate, mut interrupt) = match (terminate, interrupt) {
        (Ok(terminate), Ok(interrupt)) => (terminate, interrupt),
        (Err(err), _) | (_, Err(err)) => {
            tracing::error!(error = %err, "cannot listen for SIGTERM/SIGINT; falling back to Ctrl-C");
            if let Err(err) = tokio::signal::ctrl_c().await {
                tracing::error!(error = %err, "cannot listen for Ctrl-C either");
                std::future::pending::<()>().await;
            }
            return;
        }
    };
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM received"),
        _ = interrupt.recv() => tracing::info!("SIGINT received"),
    }
}
