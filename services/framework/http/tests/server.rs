//! The server, the middleware stack and static files, over real sockets where the transport
//! matters and in process otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::borrow::Cow;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use herd_core::{App, Body, IntoResponse, Request, Response, Settings};
use herd_http::middleware::{Readiness, stack};
use herd_http::server::Server;
use herd_http::static_files::StaticFiles;
use herd_test_support::TestClient;
use http::{Method, StatusCode, Version, header};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};
use tower::util::BoxCloneSyncService;

/// Bound on anything a test waits for; reaching it fails the test.
const PATIENCE: Duration = Duration::from_secs(10);

fn settings(overrides: &[(&str, &str)]) -> Settings {
    let mut env: HashMap<String, String> =
        HashMap::from([("HERD_DEBUG".to_owned(), "true".to_owned())]);
    env.extend(
        overrides
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned())),
    );
    Settings::from_env_map(env).unwrap()
}

/// Lets a test hold a view until it says so: the view signals `entered`, then waits for `release`.
#[derive(Default)]
struct Gate {
    entered: Notify,
    release: Notify,
}

/// The test site: a few views that exercise the server.
fn app(gate: Arc<Gate>, calls: Arc<AtomicUsize>) -> App {
    BoxCloneSyncService::new(tower::service_fn(move |request: Request| {
        let gate = Arc::clone(&gate);
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            let response = match request.uri().path() {
                "/hello" => "hello".into_response(),
                "/version" => format!("{:?}", request.version()).into_response(),
                "/echo" => match request.into_body().collect_bytes().await {
                    Ok(bytes) => bytes.len().to_string().into_response(),
                    Err(err) => err.into_response(),
                },
                "/slow" => {
                    gate.entered.notify_one();
                    gate.release.notified().await;
                    "finished".into_response()
                }
                "/forever" => {
                    gate.entered.notify_one();
                    std::future::pending().await
                }
                "/panic" => panic!("secret panic text from src/views.rs"),
                _ => herd_core::Error::not_found().into_response(),
            };
            Ok::<Response, Infallible>(response)
        }
    }))
}

struct Running {
    addr: SocketAddr,
    readiness: Readiness,
    gate: Arc<Gate>,
    calls: Arc<AtomicUsize>,
    shutdown: Option<oneshot::Sender<()>>,
    server: JoinHandle<std::io::Result<()>>,
}

async fn start(settings: &Settings) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let readiness = Readiness::new();
    let gate = Arc::new(Gate::default());
    let calls = Arc::new(AtomicUsize::new(0));
    let app = stack(
        settings,
        readiness.clone(),
        app(Arc::clone(&gate), Arc::clone(&calls)),
    );
    let (shutdown, signal) = oneshot::channel::<()>();
    let server = tokio::spawn(Server::new(settings.server.clone()).serve(
        listener,
        app,
        readiness.clone(),
        async move {
            let _ = signal.await;
        },
    ));
    Running {
        addr,
        readiness,
        gate,
        calls,
        shutdown: Some(shutdown),
        server,
    }
}

impl Running {
    fn shut_down(&mut self) {
        self.shutdown.take().unwrap().send(()).unwrap();
    }
}

/// Writes `request` on a fresh connection and reads until the server closes it.
async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    // A reset after the response still leaves what was read in `response`.
    let _ = timeout(PATIENCE, stream.read_to_end(&mut response))
        .await
        .expect("the server closes the connection");
    String::from_utf8_lossy(&response).into_owned()
}

fn in_process(settings: &Settings, readiness: Readiness) -> (TestClient, Arc<Gate>) {
    let gate = Arc::new(Gate::default());
    let app = stack(
        settings,
        readiness,
        app(Arc::clone(&gate), Arc::new(AtomicUsize::new(0))),
    );
    (TestClient::new(app), gate)
}

// === transport ===

#[tokio::test]
async fn keep_alive_serves_two_requests_on_one_connection() {
    let server = start(&settings(&[])).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(stream))
            .await
            .unwrap();
    let connection = tokio::spawn(connection);
    for _ in 0..2 {
        sender.ready().await.unwrap();
        let request = http::Request::get("/hello")
            .header(header::HOST, "localhost")
            .body(Body::empty())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get(header::CONNECTION).is_none());
        assert_eq!(
            response.into_body().collect().await.unwrap().to_bytes(),
            "hello"
        );
    }
    drop(sender);
    connection.await.unwrap().unwrap();
    assert_eq!(server.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn h2c_with_prior_knowledge_is_served() {
    let server = start(&settings(&[])).await;
    let client = Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http::<Body>();
    let uri = format!("http://127.0.0.1:{}/version", server.addr.port());
    let response = client.get(uri.parse().unwrap()).await.unwrap();
    assert_eq!(response.version(), Version::HTTP_2);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.into_body().collect().await.unwrap().to_bytes(),
        "HTTP/2.0"
    );

    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake::<_, _, Body>(
        TokioExecutor::new(),
        TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let request = http::Request::get("http://evil.example/version")
        .body(Body::empty())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "the :authority is checked on HTTP/2"
    );
}

#[tokio::test]
async fn malformed_request_lines_get_400() {
    let server = start(&settings(&[])).await;
    let requests: [&[u8]; 5] = [
        b"GARBAGE\r\n\r\n",
        b"GET /a b HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /\x00 HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET / HTTP/1.1 extra\r\nHost: localhost\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ];
    for request in requests {
        let response = raw(server.addr, request).await;
        assert!(
            response.starts_with("HTTP/1.1 400"),
            "{request:?} got {response:?}"
        );
    }
    assert_eq!(server.calls.load(Ordering::SeqCst), 0);
    let response = raw(
        server.addr,
        b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
}

#[tokio::test]
async fn a_uri_over_8_kib_gets_414_and_a_head_over_64_kib_431() {
    let server = start(&settings(&[])).await;
    let long = format!(
        "GET /{} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        "a".repeat(8 * 1024)
    );
    let response = raw(server.addr, long.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 414"), "{response:?}");
    let huge = format!(
        "GET /hello HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    let response = raw(server.addr, huge.as_bytes()).await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response:?}");
    assert_eq!(server.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_declared_body_over_the_limit_gets_413_before_the_view_runs() {
    let server = start(&settings(&[("HERD_SERVER__MAX_BODY_BYTES", "1024")])).await;
    let response = raw(
        server.addr,
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4096\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response:?}");
    assert_eq!(server.calls.load(Ordering::SeqCst), 0);

    let client = TestClient::over_port(server.addr);
    let response = client
        .send(Method::POST, "/echo", Body::from(vec![b'x'; 1024]))
        .await;
    assert_eq!((response.status, response.text()), (StatusCode::OK, "1024"));
}

#[tokio::test]
async fn a_streamed_body_over_the_limit_gets_413_before_the_view_runs() {
    let server = start(&settings(&[("HERD_SERVER__MAX_BODY_BYTES", "1024")])).await;
    let chunked = |chunk: usize| {
        let mut request =
            b"POST /echo HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
        for _ in 0..2 {
            request.extend(format!("{chunk:x}\r\n").as_bytes());
            request.extend(vec![b'x'; chunk]);
            request.extend(b"\r\n");
        }
        request.extend(b"0\r\n\r\n");
        request
    };
    let response = raw(server.addr, &chunked(700)).await;
    assert!(response.starts_with("HTTP/1.1 413"), "{response:?}");
    assert_eq!(server.calls.load(Ordering::SeqCst), 0);
    let response = raw(server.addr, &chunked(512)).await;
    assert!(
        response.starts_with("HTTP/1.1 200") && response.ends_with("1024"),
        "{response:?}"
    );
}

#[tokio::test]
async fn a_body_that_stops_arriving_gets_408_before_the_view_runs() {
    let server = start(&settings(&[("HERD_SERVER__BODY_READ_TIMEOUT", "0.3")])).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nabc")
        .await
        .unwrap();
    let started = Instant::now();
    let mut response = Vec::new();
    let _ = timeout(PATIENCE, stream.read_to_end(&mut response))
        .await
        .expect("the server closes the connection");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response:?}");
    assert!(response.contains("408 Request Timeout"), "{response:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(server.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_handler_timeout_starts_once_the_body_has_arrived() {
    let server = start(&settings(&[
        ("HERD_SERVER__HANDLER_TIMEOUT", "0.3"),
        ("HERD_SERVER__BODY_READ_TIMEOUT", "5"),
    ]))
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 6\r\nConnection: close\r\n\r\nabc")
        .await
        .unwrap();
    // Slower than the handler timeout, well within the body read timeout.
    tokio::time::sleep(Duration::from_millis(600)).await;
    stream.write_all(b"def").await.unwrap();
    let mut response = Vec::new();
    let _ = timeout(PATIENCE, stream.read_to_end(&mut response))
        .await
        .expect("the server closes the connection");
    let response = String::from_utf8_lossy(&response);
    assert!(
        response.starts_with("HTTP/1.1 200") && response.ends_with("\r\n\r\n6"),
        "{response:?}"
    );
}

/// Reads one whole `Content-Length` response (head and body) from a kept-alive connection.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut response = Vec::new();
    let mut chunk = [0_u8; 4096];
    loop {
        let read = timeout(PATIENCE, stream.read(&mut chunk))
            .await
            .expect("a response")
            .unwrap();
        assert!(read > 0, "closed mid-response: {response:?}");
        response.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&response).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .and_then(|value| value.trim().parse().ok())
                .unwrap_or(0);
            if body.len() >= length {
                return text;
            }
        }
    }
}

/// Waits until the server closes `stream`; returns how long that took.
async fn closed_after(stream: &mut TcpStream) -> Duration {
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = timeout(PATIENCE, stream.read_to_end(&mut rest))
        .await
        .expect("the server closes the connection");
    started.elapsed()
}

#[tokio::test]
async fn an_idle_keep_alive_connection_outlives_the_header_timeout_until_the_keep_alive_timeout() {
    let server = start(&settings(&[
        ("HERD_SERVER__HEADER_READ_TIMEOUT", "0.3"),
        ("HERD_SERVER__KEEP_ALIVE_TIMEOUT", "1.2"),
    ]))
    .await;
    let request = b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));

    // Idle for twice the header timeout: the connection is still there.
    tokio::time::sleep(Duration::from_millis(600)).await;
    stream.write_all(request).await.unwrap();
    assert!(read_response(&mut stream).await.ends_with("hello"));

    let idle = closed_after(&mut stream).await;
    assert!(
        idle >= Duration::from_millis(900) && idle < Duration::from_secs(4),
        "closed after {idle:?} idle"
    );
}

#[tokio::test]
async fn a_later_request_head_that_stalls_is_cut_at_the_header_timeout() {
    let server = start(&settings(&[
        ("HERD_SERVER__HEADER_READ_TIMEOUT", "0.3"),
        ("HERD_SERVER__KEEP_ALIVE_TIMEOUT", "30"),
    ]))
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: loc")
        .await
        .unwrap();
    let stalled = closed_after(&mut stream).await;
    assert!(stalled < Duration::from_secs(3), "closed after {stalled:?}");
}

#[tokio::test]
async fn slow_headers_are_closed_after_the_header_timeout() {
    let server = start(&settings(&[("HERD_SERVER__HEADER_READ_TIMEOUT", "0.3")])).await;
    let partial: [&[u8]; 3] = [
        b"",
        b"GET /hello HTTP/1.1\r\nHost: localhost\r\n",
        b"PRI * HTTP/2.0\r\n",
    ];
    for sent in partial {
        let started = Instant::now();
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(sent).await.unwrap();
        let mut buf = [0_u8; 64];
        let read = timeout(PATIENCE, stream.read(&mut buf))
            .await
            .expect("the server closes the connection");
        assert!(matches!(read, Ok(0) | Err(_)), "{sent:?}: {read:?}");
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "{sent:?} closed too early"
        );
    }
    let response = raw(
        server.addr,
        b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response:?}");
}

// === shutdown ===

#[tokio::test]
async fn a_request_in_flight_during_shutdown_completes_while_readyz_turns_503() {
    let mut server = start(&settings(&[
        ("HERD_SERVER__DRAIN_DELAY", "2"),
        ("HERD_SERVER__DRAIN_DEADLINE", "10"),
    ]))
    .await;
    let client = TestClient::over_port(server.addr);
    assert_eq!(client.get("/readyz").await.status, StatusCode::OK);

    let slow = tokio::spawn({
        let client = TestClient::over_port(server.addr);
        async move { client.get("/slow").await }
    });
    timeout(PATIENCE, server.gate.entered.notified())
        .await
        .unwrap();
    server.shut_down();
    timeout(PATIENCE, server.readiness.draining())
        .await
        .unwrap();

    let readyz = TestClient::over_port(server.addr).get("/readyz").await;
    assert_eq!(
        (readyz.status, readyz.text()),
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    );
    assert!(!server.server.is_finished());

    server.gate.release.notify_one();
    let slow = timeout(PATIENCE, slow).await.unwrap().unwrap();
    assert_eq!((slow.status, slow.text()), (StatusCode::OK, "finished"));
    timeout(PATIENCE, server.server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "the listener is closed"
    );
}

#[tokio::test]
async fn shutdown_gives_up_on_requests_still_running_at_the_drain_deadline() {
    let mut server = start(&settings(&[
        ("HERD_SERVER__DRAIN_DELAY", "0"),
        ("HERD_SERVER__DRAIN_DEADLINE", "0.2"),
    ]))
    .await;
    let stuck = tokio::spawn({
        let client = Client::builder(TokioExecutor::new()).build_http::<Body>();
        let uri = format!("http://{}/forever", server.addr);
        async move {
            client
                .get(uri.parse().unwrap())
                .await
                .map(|response| response.status())
        }
    });
    timeout(PATIENCE, server.gate.entered.notified())
        .await
        .unwrap();
    server.shut_down();
    timeout(PATIENCE, server.server)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let stuck = timeout(PATIENCE, stuck).await.unwrap().unwrap();
    assert!(
        stuck.is_err(),
        "the stuck request's connection is closed: {stuck:?}"
    );
}

// === middleware ===

#[tokio::test]
async fn hosts_are_checked_as_django_does() {
    let settings = settings(&[("HERD_ALLOWED_HOSTS", "localhost,.example.com")]);
    let (client, _) = in_process(&settings, Readiness::new());
    let status = |host: &'static str| {
        let client = client.clone().with_host(host);
        async move { client.get("/hello").await.status }
    };
    assert_eq!(status("evil.com").await, StatusCode::BAD_REQUEST);
    assert_eq!(status("LOCALHOST:8000").await, StatusCode::OK);
    assert_eq!(status("localhost.").await, StatusCode::OK);
    assert_eq!(status("example.com").await, StatusCode::OK);
    assert_eq!(status("www.Example.com:443").await, StatusCode::OK);
    assert_eq!(status("badexample.com").await, StatusCode::BAD_REQUEST);
    assert_eq!(status("localhost:80:80").await, StatusCode::BAD_REQUEST);
    let rejected = client.clone().with_host("evil.com").get("/hello").await;
    assert!(
        rejected.text().contains("<h1>Bad Request (400)</h1>"),
        "{}",
        rejected.text()
    );

    for probe in ["/healthz", "/readyz"] {
        let response = client.clone().with_host("10.1.2.3:8000").get(probe).await;
        assert_eq!(response.status, StatusCode::OK, "{probe} is exempt");
    }

    let mut request = http::Request::get("/hello").body(Body::empty()).unwrap();
    request
        .headers_mut()
        .append(header::HOST, "localhost".parse().unwrap());
    request
        .headers_mut()
        .append(header::HOST, "example.com".parse().unwrap());
    assert_eq!(
        client.request(request).await.status,
        StatusCode::BAD_REQUEST,
        "two Host headers"
    );
}

#[tokio::test]
async fn an_http_1_1_request_without_host_gets_400() {
    let server = start(&settings(&[])).await;
    let response = raw(
        server.addr,
        b"GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response:?}");
    let response = raw(
        server.addr,
        b"GET /hello HTTP/1.1\r\nHost: evil.com\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(response.starts_with("HTTP/1.1 400"), "{response:?}");
    assert_eq!(server.calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn requests_over_the_in_flight_limit_get_503_with_retry_after() {
    let settings = settings(&[("HERD_SERVER__MAX_IN_FLIGHT", "1")]);
    let (client, gate) = in_process(&settings, Readiness::new());
    let first = tokio::spawn({
        let client = client.clone();
        async move { client.get("/slow").await }
    });
    timeout(PATIENCE, gate.entered.notified()).await.unwrap();

    let refused = client.get("/hello").await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(
        client.get("/healthz").await.status,
        StatusCode::OK,
        "probes bypass the limit"
    );

    gate.release.notify_one();
    assert_eq!(
        timeout(PATIENCE, first).await.unwrap().unwrap().status,
        StatusCode::OK
    );
    assert_eq!(client.get("/hello").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_panicking_view_gets_a_500_page_without_the_panic_text() {
    let server = start(&settings(&[])).await;
    let client = TestClient::over_port(server.addr);
    let response = client.get("/panic").await;
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    let page = response.text();
    assert!(page.contains("<h1>Server Error (500)</h1>"), "{page}");
    for leak in ["secret", "panicked", ".rs"] {
        assert!(!page.contains(leak), "{leak} in {page}");
    }
    assert_eq!(client.get("/hello").await.status, StatusCode::OK);
}

#[tokio::test(start_paused = true)]
async fn a_view_over_the_handler_timeout_gets_503() {
    let settings = settings(&[("HERD_SERVER__HANDLER_TIMEOUT", "10")]);
    let (client, _) = in_process(&settings, Readiness::new());
    let started = Instant::now();
    let response = client.get("/forever").await;
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.header("retry-after"), Some("1"));
    assert!(started.elapsed() >= Duration::from_secs(10));
    assert_eq!(
        client.get("/hello").await.status,
        StatusCode::OK,
        "the permit was returned"
    );
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let (client, _) = in_process(&settings(&[]), Readiness::new());
    let response = client.get("/hello").await;
    assert_eq!(response.header("x-request-id").map(str::len), Some(36));
    let mut request = http::Request::get("/hello").body(Body::empty()).unwrap();
    request
        .headers_mut()
        .insert("x-request-id", "abc-123".parse().unwrap());
    assert_eq!(
        client.request(request).await.header("x-request-id"),
        Some("abc-123")
    );
}

#[tokio::test]
async fn generated_request_ids_are_distinct_version_4_uuids() {
    let (client, _) = in_process(&settings(&[]), Readiness::new());
    let mut seen = std::collections::HashSet::new();
    for _ in 0..50 {
        let response = client.get("/hello").await;
        let id = response.header("x-request-id").unwrap();
        let uuid = uuid::Uuid::parse_str(id).unwrap();
        assert_eq!(uuid.get_version_num(), 4, "{id}");
        assert_eq!(uuid.get_variant(), uuid::Variant::RFC4122, "{id}");
        assert_eq!(id, uuid.hyphenated().to_string(), "lower-case, hyphenated");
        assert!(seen.insert(id.to_owned()), "{id} came twice");
    }
}

// === health ===

#[tokio::test(start_paused = true)]
async fn readyz_reports_the_checks_within_a_second_of_start() {
    let database_up = Arc::new(AtomicBool::new(true));
    let readiness = Readiness::new();
    readiness.add_check("database", {
        let up = Arc::clone(&database_up);
        move || {
            let up = up.load(Ordering::SeqCst);
            async move {
                if up {
                    Ok(())
                } else {
                    Err("connection refused".to_owned())
                }
            }
            .boxed()
        }
    });
    let (client, _) = in_process(&settings(&[]), readiness.clone());
    let readyz = client.get("/readyz").await;
    assert_eq!(
        (readyz.status, readyz.text()),
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: starting")
    );

    readiness.start();
    tokio::time::sleep(Duration::from_millis(999)).await;
    let readyz = client.get("/readyz").await;
    assert_eq!((readyz.status, readyz.text()), (StatusCode::OK, "ready"));
    assert!(readiness.is_ready());

    database_up.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let readyz = client.get("/readyz").await;
    assert_eq!(
        (readyz.status, readyz.text()),
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: database")
    );
    let healthz = client.get("/healthz").await;
    assert_eq!(
        (healthz.status, healthz.text()),
        (StatusCode::OK, "ok"),
        "liveness ignores dependencies"
    );

    database_up.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(client.get("/readyz").await.status, StatusCode::OK);

    readiness.set_draining();
    let readyz = client.get("/readyz").await;
    assert_eq!(
        (readyz.status, readyz.text()),
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    );
    assert!(!readiness.is_ready());
}

#[tokio::test(start_paused = true)]
async fn a_check_that_hangs_fails_after_its_timeout() {
    let readiness = Readiness::new();
    readiness.add_check("cache", || std::future::pending().boxed());
    readiness.start();
    tokio::time::sleep(Duration::from_millis(999)).await;
    let (client, _) = in_process(&settings(&[]), readiness);
    let readyz = client.get("/readyz").await;
    assert_eq!(
        (readyz.status, readyz.text()),
        (StatusCode::SERVICE_UNAVAILABLE, "not ready: cache")
    );
}

#[tokio::test]
async fn probes_answer_get_and_head_only() {
    let (client, _) = in_process(&settings(&[]), Readiness::new());
    assert_eq!(
        client
            .send(Method::HEAD, "/healthz", Body::empty())
            .await
            .status,
        StatusCode::OK
    );
    let post = client.send(Method::POST, "/readyz", Body::empty()).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

// === static files ===

fn static_files() -> StaticFiles {
    StaticFiles::new([
        (
            "css/site.css".to_owned(),
            Cow::Borrowed(b"body { color: #333 }".as_slice()),
        ),
        (
            "js/app.js".to_owned(),
            Cow::Owned(b"console.log(1)".to_vec()),
        ),
        (
            "img/logo.svg".to_owned(),
            Cow::Borrowed(b"<svg></svg>".as_slice()),
        ),
        (
            "fonts/a.woff2".to_owned(),
            Cow::Borrowed(b"wOF2".as_slice()),
        ),
    ])
}

#[tokio::test]
async fn static_files_are_served_under_content_hashed_names() {
    let files = static_files();
    let url = files.url("css/site.css").unwrap();
    let hash = &url["/static/css/site.".len()..url.len() - ".css".len()];
    assert_eq!(hash.len(), 12);
    assert!(
        hash.bytes()
            .all(|byte| byte.is_ascii_hexdigit() && !byte.is_ascii_uppercase()),
        "{url}"
    );
    assert_eq!(files.url("css/missing.css"), None);
    let other = StaticFiles::new([(
        "css/site.css".to_owned(),
        Cow::Borrowed(b"body {}".as_slice()),
    )]);
    assert_ne!(
        other.url("css/site.css"),
        Some(url.clone()),
        "the name follows the content"
    );

    let client = TestClient::new(files.service());
    let hashed = client.get(&url).await;
    assert_eq!(hashed.status, StatusCode::OK);
    assert_eq!(hashed.text(), "body { color: #333 }");
    assert_eq!(
        hashed.header("content-type"),
        Some("text/css; charset=utf-8")
    );
    assert_eq!(
        hashed.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let etag = hashed.header("etag").unwrap().to_owned();

    let logical = client.get("/static/css/site.css").await;
    assert_eq!(logical.status, StatusCode::OK);
    assert_eq!(logical.header("cache-control"), Some("public, max-age=60"));

    let mut request = http::Request::get(&url).body(Body::empty()).unwrap();
    request
        .headers_mut()
        .insert(header::IF_NONE_MATCH, etag.parse().unwrap());
    let cached = client.request(request).await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    assert!(cached.body.is_empty());

    for (logical, content_type) in [
        ("js/app.js", "text/javascript; charset=utf-8"),
        ("img/logo.svg", "image/svg+xml"),
        ("fonts/a.woff2", "font/woff2"),
    ] {
        let response = client.get(&files.url(logical).unwrap()).await;
        assert_eq!(
            response.header("content-type"),
            Some(content_type),
            "{logical}"
        );
    }
}

#[tokio::test]
async fn static_traversal_attempts_get_404() {
    let files = StaticFiles::new([(
        "css/site.css".to_owned(),
        Cow::Borrowed(b"SECRET-ish content".as_slice()),
    )]);
    let client = TestClient::new(files.service());
    for path in [
        "/static/../Cargo.toml",
        "/static/css/../css/site.css",
        "/static/%2e%2e%2fCargo.toml",
        "/static/css/%2e%2e/css/site.css",
        "/static/..%5c..%5cCargo.toml",
        "/static/%252e%252e%252fCargo.toml",
        "/static/css%2fsite.css%00",
        "/static/%ff",
        "/static/",
        "/other/css/site.css",
    ] {
        let response = client.get(path).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!response.text().contains("SECRET"), "{path}");
    }
}

#[tokio::test]
async fn static_files_answer_head_and_refuse_other_methods() {
    let files = static_files();
    let client = TestClient::new(files.service());
    let url = files.url("css/site.css").unwrap();
    let head = client.send(Method::HEAD, &url, Body::empty()).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), Some("20"));
    let post = client.send(Method::POST, &url, Body::empty()).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}
