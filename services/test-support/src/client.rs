//! [`TestClient`]: sends requests to an app, in process or over a real port.

use std::net::SocketAddr;

use bytes::Bytes;
use herd_core::{App, Body, Request};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tower::ServiceExt;

/// Sends requests to an app, either by calling it directly or over TCP.
#[derive(Clone)]
pub struct TestClient {
    target: Target,
    host: String,
}

#[derive(Clone)]
enum Target {
    InProcess(App),
    Port(SocketAddr, Box<Client<HttpConnector, Body>>),
}

/// A response read to the end.
#[derive(Debug)]
pub struct TestResponse {
    /// The status code.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl TestClient {
    /// A client that calls `app` in process (no socket), with `Host: localhost`.
    pub fn new(app: App) -> Self {
        Self {
            target: Target::InProcess(app),
            host: "localhost".to_owned(),
        }
    }

    /// A client that talks HTTP/1.1 to a server listening on `addr`.
    pub fn over_port(addr: SocketAddr) -> Self {
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self {
            target: Target::Port(addr, Box::new(client)),
            host: "localhost".to_owned(),
        }
    }

    /// Sends `Host: host` from now on instead of `localhost`.
    #[must_use]
    pub fn with_host(mut self, host: &str) -> Self {
        host.clone_into(&mut self.host);
        self
    }

    /// GETs `uri` (a path with an optional query).
    pub async fn get(&self, uri: &str) -> TestResponse {
        self.send(Method::GET, uri, Body::empty()).await
    }

    /// POSTs a URL-encoded form to `uri`.
    pub async fn post_form(&self, uri: &str, form: &str) -> TestResponse {
        let request = http::Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .expect("a valid test request");
        self.request(request).await
    }

    /// Sends `method` to `uri` with `body`.
    pub async fn send(&self, method: Method, uri: &str, body: Body) -> TestResponse {
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .body(body)
            .expect("a valid test request");
        self.request(request).await
    }

    /// Sends a prepared request; a missing `Host` header is set to the client's host.
    pub async fn request(&self, mut request: Request) -> TestResponse {
        if !request.headers().contains_key(header::HOST) {
            let host = HeaderValue::from_str(&self.host).expect("a valid host");
            request.headers_mut().insert(header::HOST, host);
        }
        let response = match &self.target {
            Target::InProcess(app) => {
                let Ok(response) = app.clone().oneshot(request).await;
                response
            }
            Target::Port(addr, client) => {
                let (mut parts, body) = request.into_parts();
                let path = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
                parts.uri = format!("http://{addr}{path}").parse().expect("a valid URI");
                let response = client
                    .request(http::Request::from_parts(parts, body))
                    .await
                    .unwrap_or_else(|err| panic!("request to {addr} failed: {err}"));
                response.map(Body::new)
            }
        };
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .expect("the response body can be read")
            .to_bytes();
        TestResponse {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }
}

impl TestResponse {
    /// The body as UTF-8 text.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("the body is UTF-8")
    }

    /// A header's value as text, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}
