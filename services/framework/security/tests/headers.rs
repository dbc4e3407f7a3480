//! The headers added to every response.

use herd_security::{SecurityConfig, XFrameOptionsLayer};
use herd_test_support::TestClient;
use http::StatusCode;
use tower::Layer;
use tower::util::BoxCloneSyncService;

use super::{app, client};

const DEFAULTS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("x-frame-options", "DENY"),
];

#[tokio::test]
async fn every_header_is_added_to_a_200() {
    let response = client(SecurityConfig::default()).get("/").await;
    assert_eq!(response.status, StatusCode::OK);
    for (name, value) in DEFAULTS {
        assert_eq!(response.header(name), Some(value), "{name}");
    }
}

#[tokio::test]
async fn every_header_is_added_to_a_404() {
    let response = client(SecurityConfig::default()).get("/missing").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    for (name, value) in DEFAULTS {
        assert_eq!(response.header(name), Some(value), "{name}");
    }
}

#[tokio::test]
async fn values_the_view_set_are_kept() {
    let config = SecurityConfig {
        hsts_seconds: 3600,
        ..SecurityConfig::default()
    };
    let response = client(config).get("https://localhost/own").await;
    assert_eq!(response.header("x-content-type-options"), Some("custom"));
    assert_eq!(response.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(
        response.header("cross-origin-opener-policy"),
        Some("unsafe-none")
    );
    assert_eq!(response.header("x-frame-options"), Some("SAMEORIGIN"));
    assert_eq!(
        response.header("strict-transport-security"),
        Some("max-age=1")
    );
    for name in ["x-frame-options", "referrer-policy"] {
        assert_eq!(response.headers.get_all(name).iter().count(), 1, "{name}");
    }
}

#[tokio::test]
async fn an_exempt_view_gets_no_x_frame_options_but_the_other_headers() {
    let response = client(SecurityConfig::default()).get("/framed").await;
    assert_eq!(response.header("x-frame-options"), None);
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
}

#[tokio::test]
async fn configured_values_replace_the_defaults_and_empty_ones_turn_headers_off() {
    let config = SecurityConfig {
        referrer_policy: "strict-origin".to_owned(),
        cross_origin_opener_policy: String::new(),
        content_type_nosniff: false,
        x_frame_options: "sameorigin".to_owned(),
        ..SecurityConfig::default()
    };
    let response = client(config).get("/").await;
    assert_eq!(response.header("referrer-policy"), Some("strict-origin"));
    assert_eq!(response.header("x-frame-options"), Some("SAMEORIGIN"));
    assert_eq!(response.header("cross-origin-opener-policy"), None);
    assert_eq!(response.header("x-content-type-options"), None);
}

#[tokio::test]
async fn an_invalid_policy_is_refused_at_start() {
    let config = SecurityConfig {
        referrer_policy: "same-origin\r\nSet-Cookie: a=b".to_owned(),
        ..SecurityConfig::default()
    };
    let error = herd_security::SecurityLayer::new(config).unwrap_err();
    assert!(
        error.to_string().contains("SECURE_REFERRER_POLICY"),
        "{error}"
    );
}

#[tokio::test]
async fn the_x_frame_options_layer_alone_respects_exemptions_and_view_values() {
    let layer = XFrameOptionsLayer::default();
    let client = TestClient::new(BoxCloneSyncService::new(layer.layer(app())));
    assert_eq!(
        client.get("/").await.header("x-frame-options"),
        Some("DENY")
    );
    assert_eq!(client.get("/framed").await.header("x-frame-options"), None);
    assert_eq!(
        client.get("/own").await.header("x-frame-options"),
        Some("SAMEORIGIN")
    );
}
