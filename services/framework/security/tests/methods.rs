//! Methods refused before any view runs.

use herd_core::Body;
use herd_security::SecurityConfig;
use http::{Method, StatusCode};

use super::client;

const ALLOW: &str = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

#[tokio::test]
async fn trace_connect_and_unknown_methods_get_405_with_allow() {
    let client = client(SecurityConfig::default());
    for method in [
        Method::TRACE,
        Method::CONNECT,
        Method::from_bytes(b"PROPFIND").unwrap(),
        Method::from_bytes(b"BREW").unwrap(),
    ] {
        let response = client.send(method.clone(), "/", Body::empty()).await;
        assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(response.header("allow"), Some(ALLOW), "{method}");
        assert_eq!(response.header("x-frame-options"), Some("DENY"), "{method}");
    }
}

#[tokio::test]
async fn known_methods_reach_the_view() {
    let client = client(SecurityConfig::default());
    for method in [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ] {
        let response = client.send(method.clone(), "/", Body::empty()).await;
        assert_eq!(response.status, StatusCode::OK, "{method}");
    }
}
