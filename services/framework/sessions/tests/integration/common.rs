//! A tiny app over the session layer, and helpers to reach its cookies and records.

use std::convert::Infallible;

use herd_cache::{RedisBackend, SessionAccessed, SessionTracker};
use herd_core::signing::Signer;
use herd_core::{App, Error, IntoResponse, Request, Response};
use herd_sessions::{COOKIE_SALT, Session, SessionConfig, SessionLayer};
use herd_test_support::{TestClient, TestRedis, TestResponse};
use http::{HeaderValue, Method, StatusCode, header};
use tower::util::BoxCloneSyncService;
use tower::{ServiceBuilder, ServiceExt};

pub(crate) const SECRET: &str = "a test secret key that is long enough to sign sessions";

/// A backend on the test Redis.
pub(crate) async fn backend(redis: &TestRedis) -> RedisBackend {
    RedisBackend::connect(redis.url(), redis.prefix())
        .await
        .unwrap()
}

/// A backend on a port nothing listens on: every call fails.
pub(crate) async fn dead_backend() -> RedisBackend {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    RedisBackend::connect(&format!("redis://127.0.0.1:{port}/0"), "dead")
        .await
        .unwrap()
}

/// The config every test uses: the test's prefix and [`SECRET`].
pub(crate) fn config(backend: RedisBackend, prefix: &str) -> SessionConfig {
    SessionConfig {
        key_prefix: prefix.to_owned(),
        ..SessionConfig::new(backend, SECRET)
    }
}

/// A client for the test app behind `layer`.
pub(crate) fn client(layer: SessionLayer) -> TestClient {
    TestClient::new(app(layer))
}

/// A client over a worker of its own on the test Redis.
pub(crate) async fn worker(redis: &TestRedis) -> TestClient {
    client(SessionLayer::new(config(
        backend(redis).await,
        redis.prefix(),
    )))
}

/// The app: views under `/untouched`, `/read`, `/write/<name>`, `/clear`, `/flush`, `/cycle`,
/// `/key` and `/fail`. An outer layer gives each request a [`SessionTracker`] and reports it
/// and [`SessionAccessed`] as `x-tracked` and `x-accessed`.
fn app(layer: SessionLayer) -> App {
    let inner = ServiceBuilder::new()
        .layer(layer)
        .service_fn(|request: Request| async move {
            Ok::<_, Infallible>(view(request).await.into_response())
        });
    let outer = tower::service_fn(move |mut request: Request| {
        let inner = inner.clone();
        async move {
            let tracker = SessionTracker::new();
            request.extensions_mut().insert(tracker.clone());
            let mut response = inner.oneshot(request).await?;
            if tracker.is_accessed() {
                response
                    .headers_mut()
                    .insert("x-tracked", HeaderValue::from_static("yes"));
            }
            if response.extensions().get::<SessionAccessed>().is_some() {
                response
                    .headers_mut()
                    .insert("x-accessed", HeaderValue::from_static("yes"));
            }
            Ok(response)
        }
    });
    BoxCloneSyncService::new(outer)
}

async fn view(request: Request) -> Result<Response, Error> {
    let session = Session::from_request(&request)?;
    let path = request.uri().path().to_owned();
    let body = match path.as_str() {
        "/untouched" => "untouched".to_owned(),
        "/read" => session
            .get::<String>("name")
            .await?
            .unwrap_or_else(|| "anonymous".to_owned()),
        "/clear" => {
            session.clear().await?;
            "cleared".to_owned()
        }
        "/flush" => {
            session.flush().await?;
            "flushed".to_owned()
        }
        "/cycle" => {
            session.cycle_key().await?;
            session.session_key().await?.unwrap_or_default()
        }
        "/key" => session.session_key().await?.unwrap_or_default(),
        "/fail" => {
            session.insert("name", "doomed").await?;
            return Ok((StatusCode::INTERNAL_SERVER_ERROR, "failed").into_response());
        }
        _ => {
            let name = path.strip_prefix("/write/").ok_or_else(Error::not_found)?;
            session.insert("name", name).await?;
            format!("hello {name}")
        }
    };
    Ok(body.into_response())
}

/// GETs `uri` with `Cookie: <cookie>`.
pub(crate) async fn get_with_cookie(client: &TestClient, uri: &str, cookie: &str) -> TestResponse {
    let request = http::Request::builder()
        .method(Method::GET)
        .uri(uri)
        .header(header::COOKIE, cookie)
        .body(herd_core::Body::empty())
        .unwrap();
    client.request(request).await
}

/// The response's one `Set-Cookie`, if any.
pub(crate) fn set_cookie(response: &TestResponse) -> Option<String> {
    let all: Vec<_> = response
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .collect();
    assert!(all.len() <= 1, "more than one Set-Cookie: {all:?}");
    all.first().map(|value| value.to_str().unwrap().to_owned())
}

/// The `sessionid=…` pair of a `Set-Cookie` header, to send back as `Cookie`.
pub(crate) fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

/// The session key inside a `sessionid=<key>:<signature>` pair.
pub(crate) fn key_of(pair: &str) -> String {
    let signed = pair.strip_prefix("sessionid=").unwrap();
    Signer::new(SECRET, COOKIE_SALT)
        .unsign(signed)
        .unwrap()
        .to_owned()
}

/// A `sessionid` cookie pair carrying `key`, correctly signed.
pub(crate) fn signed_pair(key: &str) -> String {
    format!("sessionid={}", Signer::new(SECRET, COOKIE_SALT).sign(key))
}

/// The raw record of `key`, if Redis holds one.
pub(crate) async fn record(redis: &TestRedis, key: &str) -> Option<String> {
    let mut connection = redis.connection().await;
    redis::cmd("GET")
        .arg(format!("{}session:{key}", redis.prefix()))
        .query_async(&mut connection)
        .await
        .unwrap()
}

/// Every key under the test's prefix.
pub(crate) async fn keys(redis: &TestRedis) -> Vec<String> {
    let mut connection = redis.connection().await;
    redis::cmd("KEYS")
        .arg(format!("{}*", redis.prefix()))
        .query_async(&mut connection)
        .await
        .unwrap()
}
