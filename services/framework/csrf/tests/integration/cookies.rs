//! When responses carry the `csrftoken` cookie and `Vary: Cookie`.

use herd_core::Body;
use herd_csrf::CsrfConfig;
use herd_test_support::TestClient;
use http::{StatusCode, header};

use crate::common::{app, config, cookie_secret, fixtures, form_token};

#[tokio::test]
async fn a_get_that_renders_no_form_sets_no_cookie_and_no_vary() {
    let client = TestClient::new(app(config()));
    let response = client.get("/plain").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.headers.get(header::SET_COOKIE).is_none());
    assert!(response.headers.get(header::VARY).is_none());
}

#[tokio::test]
async fn a_get_that_renders_a_form_sets_the_cookie_and_vary_cookie() {
    let client = TestClient::new(app(config()));
    let response = client.get("/form").await;
    assert_eq!(response.status, StatusCode::OK);
    let cookie = response.header("set-cookie").unwrap();
    let secret = cookie_secret(&response).unwrap();
    assert_eq!(secret.len(), 32);
    assert!(secret.bytes().all(|byte| byte.is_ascii_alphanumeric()));
    assert_eq!(
        cookie,
        format!("csrftoken={secret}; Max-Age=31449600; Path=/; SameSite=Lax")
    );
    assert!(!cookie.contains("HttpOnly"));
    assert_eq!(response.header("vary"), Some("Cookie"));
    assert_eq!(
        herd_csrf::unmask_cipher_token(&form_token(&response)),
        secret
    );
}

#[tokio::test]
async fn the_cookie_is_secure_when_configured() {
    let client = TestClient::new(app(CsrfConfig {
        cookie_secure: true,
        ..config()
    }));
    let response = client.get("/form").await;
    assert!(
        response
            .header("set-cookie")
            .unwrap()
            .ends_with("; SameSite=Lax; Secure")
    );
}

#[tokio::test]
async fn a_form_for_a_visitor_with_a_valid_cookie_reuses_its_secret() {
    let client = TestClient::new(app(config()));
    let (secret, _) = fixtures().remove(0);
    let request = http::Request::builder()
        .uri("/form")
        .header("cookie", format!("theme=dark; csrftoken={secret}"))
        .body(Body::empty())
        .unwrap();
    let response = client.request(request).await;
    assert!(response.headers.get(header::SET_COOKIE).is_none());
    assert_eq!(response.header("vary"), Some("Cookie"));
    assert_eq!(
        herd_csrf::unmask_cipher_token(&form_token(&response)),
        secret
    );
}

#[tokio::test]
async fn a_malformed_cookie_is_replaced_when_a_form_renders() {
    let client = TestClient::new(app(config()));
    let request = http::Request::builder()
        .uri("/form")
        .header("cookie", "csrftoken=<script>")
        .body(Body::empty())
        .unwrap();
    let response = client.request(request).await;
    assert_eq!(response.status, StatusCode::OK);
    let secret = cookie_secret(&response).unwrap();
    assert_eq!(
        herd_csrf::unmask_cipher_token(&form_token(&response)),
        secret
    );
}
