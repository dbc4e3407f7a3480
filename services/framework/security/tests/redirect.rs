//! `SECURE_SSL_REDIRECT`.

use herd_security::SecurityConfig;
use http::{HeaderName, StatusCode};
use regex::Regex;

use super::{client, get};

fn redirecting() -> SecurityConfig {
    SecurityConfig {
        ssl_redirect: true,
        ssl_redirect_exempt: vec![Regex::new("^healthz$").unwrap()],
        ..SecurityConfig::default()
    }
}

#[tokio::test]
async fn plain_http_is_redirected_with_its_path_and_query() {
    let response = client(redirecting())
        .with_host("example.com")
        .get("/employee/?q=ann&page=2")
        .await;
    assert_eq!(response.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        response.header("location"),
        Some("https://example.com/employee/?q=ann&page=2")
    );
    assert_eq!(response.header("x-frame-options"), Some("DENY"));
}

#[tokio::test]
async fn the_redirect_goes_to_the_ssl_host_when_set() {
    let config = SecurityConfig {
        ssl_host: Some("secure.example.com".to_owned()),
        ..redirecting()
    };
    let response = client(config).get("/a/b").await;
    assert_eq!(response.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        response.header("location"),
        Some("https://secure.example.com/a/b")
    );
}

#[tokio::test]
async fn exempt_paths_are_not_redirected() {
    let client = client(redirecting());
    let exempt = client.get("/healthz").await;
    assert_eq!(exempt.status, StatusCode::NOT_FOUND);
    assert_eq!(exempt.header("location"), None);
    let not_exempt = client.get("/healthz/more").await;
    assert_eq!(not_exempt.status, StatusCode::MOVED_PERMANENTLY);
}

#[tokio::test]
async fn secure_requests_are_not_redirected() {
    let response = client(redirecting()).get("https://localhost/").await;
    assert_eq!(response.status, StatusCode::OK);
}

#[tokio::test]
async fn requests_secure_by_the_proxy_header_are_not_redirected() {
    let config = SecurityConfig {
        secure_proxy_header: Some((
            HeaderName::from_static("x-forwarded-proto"),
            "https".to_owned(),
        )),
        ..redirecting()
    };
    let client = client(config);
    let proxied = client
        .request(get("/", &[("x-forwarded-proto", "https")]))
        .await;
    assert_eq!(proxied.status, StatusCode::OK);
    let plain = client
        .request(get("/", &[("x-forwarded-proto", "http")]))
        .await;
    assert_eq!(plain.status, StatusCode::MOVED_PERMANENTLY);
}

#[tokio::test]
async fn nothing_is_redirected_by_default() {
    let response = client(SecurityConfig::default()).get("/").await;
    assert_eq!(response.status, StatusCode::OK);
}
