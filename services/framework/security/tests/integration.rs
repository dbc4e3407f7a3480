//! Integration tests of herd-security through the in-process test client.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod checks;
mod form;
mod headers;
mod methods;
mod redirect;
mod secure;

use std::convert::Infallible;

use herd_core::{App, Body, Request, Response};
use herd_security::{SecurityConfig, SecurityLayer};
use herd_test_support::TestClient;
use http::uri::Scheme;
use http::{HeaderValue, StatusCode, header};
use tower::util::BoxCloneSyncService;
use tower::{Layer, service_fn};

/// A small site: `/` 200, `/own` sets its own headers, `/framed` is exempt from
/// `X-Frame-Options`, `/scheme` echoes the scheme the layer recorded, anything else 404.
fn app() -> App {
    BoxCloneSyncService::new(service_fn(|request: Request| async move {
        let response = match request.uri().path() {
            "/" => Response::new(Body::from("home")),
            "/own" => {
                let mut response = Response::new(Body::from("own"));
                let headers = response.headers_mut();
                headers.insert(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("custom"),
                );
                headers.insert(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                );
                headers.insert(
                    "cross-origin-opener-policy",
                    HeaderValue::from_static("unsafe-none"),
                );
                headers.insert(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("SAMEORIGIN"),
                );
                headers.insert(
                    header::STRICT_TRANSPORT_SECURITY,
                    HeaderValue::from_static("max-age=1"),
                );
                response
            }
            "/framed" => {
                let mut response = Response::new(Body::from("framed"));
                response
                    .extensions_mut()
                    .insert(herd_security::XFrameOptionsExempt);
                response
            }
            "/scheme" => {
                let scheme = request
                    .extensions()
                    .get::<Scheme>()
                    .map(ToString::to_string);
                Response::new(Body::from(scheme.unwrap_or_else(|| "none".to_owned())))
            }
            _ => herd_core::IntoResponse::into_response(herd_core::Error::not_found()),
        };
        Ok::<_, Infallible>(response)
    }))
}

/// The small site behind a [`SecurityLayer`] built from `config`.
fn client(config: SecurityConfig) -> TestClient {
    let layer = SecurityLayer::new(config).unwrap();
    TestClient::new(BoxCloneSyncService::new(layer.layer(app())))
}

/// A GET of `uri` with extra headers.
fn get(uri: &str, headers: &[(&str, &str)]) -> Request {
    let mut builder = http::Request::get(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn the_layer_passes_responses_through() {
    let response = client(SecurityConfig::default()).get("/").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.text(), "home");
}
