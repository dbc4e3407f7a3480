//! Django's token functions against Django's own output, and tokens through the middleware.

use herd_csrf::{mask_cipher_secret, unmask_cipher_token};
use herd_test_support::TestClient;
use http::StatusCode;

use crate::common::{app, config, cookie_secret, fixtures, form_token, post, post_form};

#[test]
fn each_fixture_token_unmasks_to_its_secret() {
    let fixtures = fixtures();
    assert_eq!(fixtures.len(), 3);
    for (secret, token) in fixtures {
        assert_eq!(unmask_cipher_token(&token), secret);
    }
}

#[test]
fn masking_a_fixture_secret_gives_a_new_token_for_it() {
    for (secret, token) in fixtures() {
        let masked = mask_cipher_secret(&secret);
        assert_ne!(masked, token);
        assert_eq!(unmask_cipher_token(&masked), secret);
    }
}

#[tokio::test]
async fn fixture_tokens_are_accepted_for_their_cookie() {
    let client = TestClient::new(app(config()));
    for (secret, token) in fixtures() {
        let response = post_form(&client, &secret, &token).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    }
}

#[tokio::test]
async fn two_renders_differ_and_both_are_accepted() {
    let client = TestClient::new(app(config()));
    let first = client.get("/form").await;
    let secret = cookie_secret(&first).unwrap();
    let cookie = format!("csrftoken={secret}");
    let second = client
        .request(
            http::Request::builder()
                .uri("/form")
                .header("cookie", &cookie)
                .body(herd_core::Body::empty())
                .unwrap(),
        )
        .await;
    let (one, two) = (form_token(&first), form_token(&second));
    assert_ne!(one, two);
    for token in [one, two] {
        let response = post_form(&client, &secret, &token).await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    }
}

#[tokio::test]
async fn the_form_round_trip_succeeds_and_the_view_sees_the_body() {
    let client = TestClient::new(app(config()));
    let page = client.get("/form").await;
    let secret = cookie_secret(&page).unwrap();
    let token = form_token(&page);
    let body = format!("name=O%27Brien+%3Cb%3E&csrfmiddlewaretoken={token}&n=1");
    let cookie = format!("csrftoken={secret}");
    let response = client
        .request(post(
            "/submit",
            &[
                ("cookie", cookie.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
                ("origin", "http://localhost"),
            ],
            body.clone(),
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.text(), format!("received:{body}"));
}

#[tokio::test]
async fn a_multipart_form_is_accepted_and_reaches_the_view_intact() {
    let client = TestClient::new(app(config()));
    let (secret, token) = fixtures().remove(0);
    let body = format!(
        "--b0undary\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.bin\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n\x00\x01binary\r\n\
         --b0undary\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"\r\n\r\n{token}\r\n\
         --b0undary--\r\n"
    );
    let cookie = format!("csrftoken={secret}");
    let response = client
        .request(post(
            "/submit",
            &[
                ("cookie", cookie.as_str()),
                ("content-type", "multipart/form-data; boundary=b0undary"),
            ],
            body.clone(),
        ))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.text(), format!("received:{body}"));
}

#[tokio::test]
async fn the_x_csrftoken_header_is_accepted() {
    let client = TestClient::new(app(config()));
    for (secret, token) in fixtures() {
        let cookie = format!("csrftoken={secret}");
        for sent in [token.as_str(), secret.as_str()] {
            let response = client
                .request(post(
                    "/submit",
                    &[
                        ("cookie", cookie.as_str()),
                        ("x-csrftoken", sent),
                        ("content-type", "application/json"),
                    ],
                    "{\"a\":1}",
                ))
                .await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            assert_eq!(response.text(), "received:{\"a\":1}");
        }
    }
}

#[tokio::test]
async fn rotate_sends_a_new_secret_and_old_tokens_stop_working() {
    let client = TestClient::new(app(config()));
    let (secret, token) = fixtures().remove(0);
    let cookie = format!("csrftoken={secret}");
    let login = client
        .request(post(
            "/login",
            &[("cookie", cookie.as_str()), ("x-csrftoken", token.as_str())],
            "",
        ))
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text());
    let rotated = cookie_secret(&login).unwrap();
    assert_ne!(rotated, secret);
    assert_eq!(login.header("vary"), Some("Cookie"));
    assert_eq!(
        post_form(&client, &rotated, &token).await.status,
        StatusCode::FORBIDDEN
    );
    let fresh = form_token(&login);
    assert_eq!(
        post_form(&client, &rotated, &fresh).await.status,
        StatusCode::OK
    );
}
