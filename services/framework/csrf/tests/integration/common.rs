//! A tiny app behind the CSRF layer, log capture, and helpers to read forms and cookies.

use std::convert::Infallible;
use std::io::Write;
use std::sync::{Arc, Mutex};

use herd_core::response::Html;
use herd_core::{App, Body, IntoResponse, Request, Response};
use herd_csrf::{CsrfConfig, CsrfLayer, CsrfToken, csrf_exempt};
use herd_test_support::{TestClient, TestResponse};
use http::uri::Scheme;
use http::{Method, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceBuilder;
use tracing::subscriber::DefaultGuard;
use tracing_subscriber::fmt::MakeWriter;

/// Routes: `GET /form` renders a form, `GET /plain` renders none, `POST /submit` echoes its
/// body, `POST /login` rotates the secret and renders a form, `POST /hook` is exempt.
pub(crate) fn app(config: CsrfConfig) -> App {
    app_with(CsrfLayer::new(config))
}

/// The app behind a prepared layer.
pub(crate) fn app_with(layer: CsrfLayer) -> App {
    let protected = ServiceBuilder::new()
        // Stands in for the security layer, which sets the scheme behind a trusted proxy.
        .map_request(|mut request: Request| {
            if request
                .headers()
                .get("x-forwarded-proto")
                .is_some_and(|proto| proto == "https")
            {
                request.extensions_mut().insert(Scheme::HTTPS);
            }
            request
        })
        .layer(layer)
        .service_fn(view);
    let exempt = ServiceBuilder::new()
        .layer(csrf_exempt())
        .service(protected.clone());
    App::new(tower::service_fn(move |request: Request| {
        let mut protected = protected.clone();
        let mut exempt = exempt.clone();
        async move {
            use tower::Service;
            if request.uri().path() == "/hook" {
                exempt.call(request).await
            } else {
                protected.call(request).await
            }
        }
    }))
}

/// The default configuration: host `localhost`, nothing trusted, debug off.
pub(crate) fn config() -> CsrfConfig {
    CsrfConfig {
        trusted_origins: vec!["https://*.example.com".to_owned()],
        allowed_hosts: vec!["localhost".to_owned()],
        cookie_secure: false,
        debug: false,
    }
}

async fn view(request: Request) -> Result<Response, Infallible> {
    let token = request.extensions().get::<CsrfToken>().cloned();
    let path = request.uri().path().to_owned();
    let response = match (request.method().clone(), path.as_str(), token) {
        (Method::GET, "/form", Some(token)) => Html(format!(
            "<form method=\"post\" action=\"/submit\">{}<input name=\"name\"></form>",
            token.hidden_input()
        ))
        .into_response(),
        (Method::GET, "/plain", _) => Html("<p>no form here</p>").into_response(),
        (Method::POST, "/login", Some(token)) => {
            token.rotate();
            Html(format!("<form>{}</form>", token.hidden_input())).into_response()
        }
        (Method::POST, "/submit" | "/hook", _) => {
            let body = request.into_body().collect().await.unwrap().to_bytes();
            let mut text = b"received:".to_vec();
            text.extend_from_slice(&body);
            Html(text).into_response()
        }
        _ => (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    Ok(response)
}

/// Builds a POST to `uri` with `headers`, and `body`.
pub(crate) fn post(uri: &str, headers: &[(&str, &str)], body: impl Into<Body>) -> Request {
    let mut builder = http::Request::builder().method(Method::POST).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.into()).unwrap()
}

/// POSTs a form with `token` in its field and `secret` as the cookie.
pub(crate) async fn post_form(client: &TestClient, secret: &str, token: &str) -> TestResponse {
    let cookie = format!("csrftoken={secret}");
    let body = format!("name=Ann&csrfmiddlewaretoken={token}");
    client
        .request(post(
            "/submit",
            &[
                ("cookie", cookie.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            body,
        ))
        .await
}

/// The token in a rendered form.
pub(crate) fn form_token(response: &TestResponse) -> String {
    let text = response.text();
    let start = text.find("name=\"csrfmiddlewaretoken\" value=\"").unwrap() + 34;
    text[start..start + 64].to_owned()
}

/// The secret in the response's `csrftoken` cookie.
pub(crate) fn cookie_secret(response: &TestResponse) -> Option<String> {
    let cookie = response.header("set-cookie")?;
    let value = cookie.strip_prefix("csrftoken=")?;
    Some(value.split(';').next()?.to_owned())
}

/// Asserts a CSRF refusal: 403, Django's page, `reason` logged and absent from the page.
pub(crate) fn assert_refused(response: &TestResponse, logs: &Logs, reason: &str) {
    assert_eq!(
        response.status,
        StatusCode::FORBIDDEN,
        "{}",
        response.text()
    );
    let text = response.text();
    assert!(text.contains("<title>403 Forbidden</title>"), "{text}");
    assert!(text.contains("CSRF verification failed. Request aborted."));
    assert!(!text.contains(reason), "reason shown without debug: {text}");
    assert!(response.headers.get(header::SET_COOKIE).is_none());
    let logged = logs.text();
    assert!(logged.contains(reason), "{reason:?} not in logs: {logged}");
}

/// Log lines written while the guard of [`capture_logs`] lives.
#[derive(Clone, Default)]
pub(crate) struct Logs(Arc<Mutex<Vec<u8>>>);

impl Logs {
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Logs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Captures this thread's logs (the tests run on a current-thread runtime).
pub(crate) fn capture_logs() -> (Logs, DefaultGuard) {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    (logs, tracing::subscriber::set_default(subscriber))
}

/// The CSRF fixtures made by Django: `(secret, masked_token)`.
pub(crate) fn fixtures() -> Vec<(String, String)> {
    let json: serde_json::Value =
        serde_json::from_str(include_str!("../fixtures/django-compat.json")).unwrap();
    json["csrf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["secret"].as_str().unwrap().to_owned(),
                entry["masked_token"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}
