//! A hello-world on the same accept loop: what serving a cached page could cost at best.
//!
//! The body can be padded to any size ([`body_of_size`]), so that the benchmark compares a
//! cached page with a hello-world that puts as many bytes on the wire.

use std::convert::Infallible;
use std::future::Future;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Response, StatusCode};
use tokio::net::TcpListener;

/// The body every request gets by default.
pub const BODY: &str = "Hello, world!";

/// `size` bytes of `Hello, world!\n` repeated, cut at `size`; [`BODY`] for `BODY.len()`.
pub fn body_of_size(size: usize) -> Bytes {
    Bytes::from(
        "Hello, world!\n"
            .bytes()
            .cycle()
            .take(size)
            .collect::<Vec<u8>>(),
    )
}

/// Answers every request with `200 Hello, world!` until `shutdown` resolves.
///
/// # Errors
///
/// Socket errors.
pub async fn serve(listener: TcpListener, shutdown: impl Future<Output = ()>) -> crate::Result<()> {
    serve_body(listener, Bytes::from_static(BODY.as_bytes()), shutdown).await
}

/// Answers every request with `200` and `body` until `shutdown` resolves.
///
/// # Errors
///
/// Socket errors.
pub async fn serve_body(
    listener: TcpListener,
    body: Bytes,
    shutdown: impl Future<Output = ()>,
) -> crate::Result<()> {
    let service = service_fn(move |_request| {
        // A clone of `Bytes` shares the buffer: no copy per request.
        let mut response = Response::new(Full::new(body.clone()));
        *response.status_mut() = StatusCode::OK;
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        async move { Ok::<_, Infallible>(response) }
    });
    crate::serve::serve(listener, service, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_have_exactly_the_size_asked_for() {
        assert_eq!(body_of_size(0).len(), 0);
        assert_eq!(body_of_size(BODY.len()), BODY.as_bytes());
        assert_eq!(&body_of_size(16)[..], b"Hello, world!\nHe");
        assert_eq!(body_of_size(14_321).len(), 14_321);
    }
}
