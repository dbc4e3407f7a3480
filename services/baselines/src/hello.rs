//! A hello-world on the same accept loop: what serving a cached page could cost at best.

use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use tokio::net::TcpListener;

/// The body every request gets.
pub const BODY: &str = "Hello, world!";

/// Answers every request with `200 Hello, world!` until `shutdown` resolves.
///
/// # Errors
///
/// Socket errors.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()>) -> crate::Result<()> {
    let service = service_fn(|_request| async {
        let mut response = Response::new(Full::new(Bytes::from_static(BODY.as_bytes())));
        *response.status_mut() = StatusCode::OK;
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        Ok::<_, Infallible>(response)
    });
    crate::serve::serve(listener, service, shutdown).await
}
