//! Every reason to refuse a request, and the exemptions.

use herd_core::Body;
use herd_csrf::{CsrfConfig, CsrfLayer};
use herd_test_support::TestClient;
use http::StatusCode;

use crate::common::{
    app, app_with, assert_refused, capture_logs, config, fixtures, post, post_form,
};

fn form_headers<'a>(cookie: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![
        ("cookie", cookie),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    headers.extend_from_slice(extra);
    headers
}

/// POSTs the first fixture's valid form to `uri` with `extra` headers.
async fn post_valid(
    client: &TestClient,
    uri: &str,
    extra: &[(&str, &str)],
) -> herd_test_support::TestResponse {
    let (secret, token) = fixtures().remove(0);
    let cookie = format!("csrftoken={secret}");
    let body = format!("csrfmiddlewaretoken={token}");
    client
        .request(post(uri, &form_headers(&cookie, extra), body))
        .await
}

#[tokio::test]
async fn a_post_without_the_cookie_is_forbidden() {
    let (logs, _guard) = capture_logs();
    let client = TestClient::new(app(config()));
    let (_, token) = fixtures().remove(0);
    let response = client
        .post_form("/submit", &format!("csrfmiddlewaretoken={token}"))
        .await;
    assert_refused(&response, &logs, "CSRF cookie not set.");
}

#[tokio::test]
async fn a_post_without_a_token_is_forbidden() {
    let (logs, _guard) = capture_logs();
    let client = TestClient::new(app(config()));
    let (secret, _) = fixtures().remove(0);
    let response = post_form(&client, &secret, "").await;
    assert_refused(&response, &logs, "CSRF token missing.");
}

#[tokio::test]
async fn a_text_plain_body_carries_no_token() {
    let (logs, _guard) = capture_logs();
    let client = TestClient::new(app(config()));
    let (secret, token) = fixtures().remove(0);
    let cookie = format!("csrftoken={secret}");
    let response = client
        .request(post(
            "/submit",
            &[("cookie", cookie.as_str()), ("content-type", "text/plain")],
            format!("csrfmiddlewaretoken={token}"),
        ))
        .await;
    assert_refused(&response, &logs, "CSRF token missing.");
}

#[tokio::test]
async fn a_wrong_token_is_forbidden() {
    let (logs, _guard) = capture_logs();
    let client = TestClient::new(app(config()));
    let (secret, _) = fixtures().remove(0);
    let response = post_form(&client, &secret, &"a".repeat(64)).await;
    assert_refused(&response, &logs, "CSRF token incorrect.");
}

#[tokio::test]
async fn the_token_of_another_visitors_secret_is_forbidden() {
    let (logs, _guard) = capture_logs();
    let client = TestClient::new(app(config()));
    let fixtures = fixtures();
    let response = post_form(&client, &fixtures[0].0, &fixtures[1].1).await;
    assert_refused(&response, &logs, "CSRF token incorrect.");
    let response = post_form(&client, &fixtures[0].0, &fixtures[1].0).await;
    assert_refused(&response, &logs, "CSRF token incorrect.");
}

#[tokio::test]
async fn a_foreign_origin_is_forbidden() {
    let (logs, _guard) = capture_logs();
    let client = TestClient::new(app(config()));
    let response = post_valid(&client, "/submit", &[("origin", "https://evil.com")]).await;
    assert_refused(
        &response,
        &logs,
        "Origin checking failed - https://evil.com does not match any trusted origins.",
    );
    // The right host over the wrong scheme is another origin too.
    let response = post_valid(&client, "/submit", &[("origin", "https://localhost")]).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn origin_null_is_forbidden() {
    let (logs, _guard) = capture_logs();
    let client = TestClient::new(app(config()));
    let response = post_valid(&client, "/submit", &[("origin", "null")]).await;
    assert_refused(
        &response,
        &logs,
        "Origin checking failed - null does not match any trusted origins.",
    );
}

#[tokio::test]
async fn own_and_trusted_origins_are_accepted() {
    let client = TestClient::new(app(config()));
    for origin in [
        "http://localhost",
        "https://shop.example.com",
        "https://example.com",
    ] {
        let response = post_valid(&client, "/submit", &[("origin", origin)]).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{origin}: {}",
            response.text()
        );
    }
    let response = post_valid(&client, "/submit", &[("origin", "http://shop.example.com")]).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_origin_from_a_host_not_allowed_is_forbidden() {
    let client = TestClient::new(app(config())).with_host("evil.com");
    let response = post_valid(&client, "/submit", &[("origin", "http://evil.com")]).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn https_without_referer_is_forbidden() {
    let (logs, _guard) = capture_logs();
    let client = TestClient::new(app(config()));
    let response = post_valid(&client, "https://localhost/submit", &[]).await;
    assert_refused(&response, &logs, "Referer checking failed - no Referer.");
    let response = post_valid(&client, "/submit", &[("x-forwarded-proto", "https")]).await;
    assert_refused(&response, &logs, "Referer checking failed - no Referer.");
    // Plain HTTP needs no Referer.
    assert_eq!(
        post_valid(&client, "/submit", &[]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_cross_site_referer_over_https_is_forbidden() {
    let (logs, _guard) = capture_logs();
    let client = TestClient::new(app(config()));
    let proxied = ("x-forwarded-proto", "https");
    let response = post_valid(
        &client,
        "/submit",
        &[proxied, ("referer", "https://evil.com/form")],
    )
    .await;
    assert_refused(
        &response,
        &logs,
        "Referer checking failed - https://evil.com/form does not match any trusted origins.",
    );
    let response = post_valid(
        &client,
        "/submit",
        &[proxied, ("referer", "http://localhost/form")],
    )
    .await;
    assert_refused(
        &response,
        &logs,
        "Referer checking failed - Referer is insecure while host is secure.",
    );
    let response = post_valid(&client, "/submit", &[proxied, ("referer", "not a url")]).await;
    assert_refused(
        &response,
        &logs,
        "Referer checking failed - Referer is malformed.",
    );
}

#[tokio::test]
async fn a_same_site_or_trusted_referer_over_https_is_accepted() {
    let client = TestClient::new(app(config()));
    for referer in ["https://localhost/form", "https://a.example.com/x"] {
        let response = post_valid(
            &client,
            "/submit",
            &[("x-forwarded-proto", "https"), ("referer", referer)],
        )
        .await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{referer}: {}",
            response.text()
        );
    }
}

#[tokio::test]
async fn malformed_cookie_or_token_values_are_forbidden_not_server_errors() {
    let (logs, _guard) = capture_logs();
    let client = TestClient::new(app(config()));
    let (secret, token) = fixtures().remove(0);
    let huge = "A".repeat(70_000);
    let bad_values = [
        "short".to_owned(),
        "a".repeat(33),
        "a".repeat(63),
        "-".repeat(32),
        format!("{}é", &secret[..30]),
        "%00".repeat(16),
        huge.clone(),
    ];
    for bad in &bad_values {
        let response = post_form(&client, bad, &token).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "cookie {bad:.40}");
        let response = post_form(&client, &secret, bad).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "token {bad:.40}");
        let cookie = format!("csrftoken={secret}");
        let response = client
            .request(post(
                "/submit",
                &[("cookie", cookie.as_str()), ("x-csrftoken", bad.as_str())],
                "",
            ))
            .await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "header {bad:.40}");
    }
    let logged = logs.text();
    assert!(
        logged.contains("CSRF cookie has incorrect length."),
        "{logged}"
    );
    assert!(
        logged.contains("CSRF cookie has invalid characters."),
        "{logged}"
    );
    assert!(
        logged.contains("CSRF token has incorrect length."),
        "{logged}"
    );
    assert!(
        logged.contains("CSRF token has invalid characters."),
        "{logged}"
    );
    // A header value that is not text at all.
    let mut request = post("/submit", &[("cookie", &format!("csrftoken={secret}"))], "");
    request.headers_mut().insert(
        "x-csrftoken",
        http::HeaderValue::from_bytes(&[0xff; 64]).unwrap(),
    );
    assert_eq!(client.request(request).await.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_form_body_over_the_limit_is_refused_with_413() {
    let client = TestClient::new(app_with(CsrfLayer::new(config()).max_body_bytes(1024)));
    let (secret, token) = fixtures().remove(0);
    let padding = "x".repeat(2000);
    let cookie = format!("csrftoken={secret}");
    let response = client
        .request(post(
            "/submit",
            &form_headers(&cookie, &[]),
            format!("pad={padding}&csrfmiddlewaretoken={token}"),
        ))
        .await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn the_reason_is_shown_only_with_debug() {
    let client = TestClient::new(app(CsrfConfig {
        debug: true,
        ..config()
    }));
    let response = client.post_form("/submit", "a=1").await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert!(
        response.text().contains("CSRF cookie not set."),
        "{}",
        response.text()
    );
    let response = post_valid(&client, "/submit", &[("origin", "https://<evil>.com")]).await;
    assert!(
        response.text().contains("https://&lt;evil&gt;.com"),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn safe_methods_and_exempt_views_are_not_checked() {
    let client = TestClient::new(app(config()));
    for method in [
        http::Method::GET,
        http::Method::HEAD,
        http::Method::OPTIONS,
        http::Method::TRACE,
    ] {
        let response = client.send(method.clone(), "/plain", Body::empty()).await;
        assert_ne!(response.status, StatusCode::FORBIDDEN, "{method}");
    }
    let response = client.post_form("/hook", "event=1").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.text(), "received:event=1");
    for method in [http::Method::PUT, http::Method::DELETE, http::Method::PATCH] {
        let response = client.send(method.clone(), "/submit", Body::empty()).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{method}");
    }
}
