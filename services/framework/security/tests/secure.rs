//! Which requests count as secure: HSTS and the recorded scheme.

use herd_security::SecurityConfig;
use http::HeaderName;

use super::{client, get};

fn hsts() -> SecurityConfig {
    SecurityConfig {
        hsts_seconds: 31_536_000,
        ..SecurityConfig::default()
    }
}

fn behind_proxy() -> SecurityConfig {
    SecurityConfig {
        secure_proxy_header: Some((
            HeaderName::from_static("x-forwarded-proto"),
            "https".to_owned(),
        )),
        ..hsts()
    }
}

#[tokio::test]
async fn hsts_is_sent_over_https_only() {
    let client = client(hsts());
    let secure = client.get("https://localhost/").await;
    assert_eq!(
        secure.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let secure_404 = client.get("https://localhost/missing").await;
    assert_eq!(
        secure_404.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    assert_eq!(
        client.get("/").await.header("strict-transport-security"),
        None
    );
    assert_eq!(
        client
            .get("http://localhost/")
            .await
            .header("strict-transport-security"),
        None
    );
}

#[tokio::test]
async fn hsts_names_subdomains_and_preload_when_configured() {
    let config = SecurityConfig {
        hsts_seconds: 600,
        hsts_include_subdomains: true,
        hsts_preload: true,
        ..SecurityConfig::default()
    };
    let response = client(config).get("https://localhost/").await;
    assert_eq!(
        response.header("strict-transport-security"),
        Some("max-age=600; includeSubDomains; preload")
    );
}

#[tokio::test]
async fn hsts_is_off_when_seconds_are_zero() {
    let response = client(SecurityConfig::default())
        .get("https://localhost/")
        .await;
    assert_eq!(response.header("strict-transport-security"), None);
}

#[tokio::test]
async fn a_spoofed_proxy_header_is_ignored_without_configuration() {
    let client = client(hsts());
    let response = client
        .request(get("/scheme", &[("x-forwarded-proto", "https")]))
        .await;
    assert_eq!(response.header("strict-transport-security"), None);
    assert_eq!(response.text(), "http");
}

#[tokio::test]
async fn the_configured_proxy_header_makes_a_request_secure() {
    let client = client(behind_proxy());
    let response = client
        .request(get("/scheme", &[("x-forwarded-proto", "https, http")]))
        .await;
    assert_eq!(
        response.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    assert_eq!(response.text(), "https");
}

#[tokio::test]
async fn the_proxy_header_counts_only_by_its_first_value() {
    let client = client(behind_proxy());
    let response = client
        .request(get("/scheme", &[("x-forwarded-proto", "http, https")]))
        .await;
    assert_eq!(response.header("strict-transport-security"), None);
    assert_eq!(response.text(), "http");
}

#[tokio::test]
async fn the_scheme_is_recorded_for_later_layers() {
    let client = client(SecurityConfig::default());
    assert_eq!(client.get("/scheme").await.text(), "http");
    assert_eq!(client.get("https://localhost/scheme").await.text(), "https");
}
