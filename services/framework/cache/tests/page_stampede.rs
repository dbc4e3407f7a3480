//! Tests of stampede protection and stale-while-revalidate for cached pages.
//!
//! Two `TwoTierBackend` caches on one Redis prefix stand for two workers. Views hold their
//! render until every request is in flight (a `watch` counter, bounded), so the requests
//! overlap it; the only sleep waits out a page's one-second freshness, which is the behaviour
//! under test, not synchronisation.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use ::http::{HeaderValue, StatusCode};
use futures_util::future::join_all;
use herd_cache::headers::{CachePageLayer, VaryOnHeadersLayer};
use herd_cache::local::LocalBackend;
use herd_cache::middleware::{FetchFromCacheLayer, UpdateCacheLayer};
use herd_cache::{Cache, TwoTierBackend};
use herd_core::response::Html;
use herd_core::{App, IntoResponse, Request, Response};
use herd_http::Dispatcher;
use herd_http::urls::{Pattern, Resolver, UrlConf, path};
use herd_test_support::{TestClient, TestRedis, TestResponse};
use tokio::sync::watch;
use tower::ServiceBuilder;

const REQUESTS: usize = 200;

/// Counts the requests sent, for views that wait until all are in flight.
#[derive(Clone)]
struct Arrivals(Arc<watch::Sender<usize>>);

impl Arrivals {
    fn new() -> Self {
        Self(Arc::new(watch::channel(0).0))
    }

    fn arrive(&self) {
        self.0.send_modify(|count| *count += 1);
    }

    /// Waits until `count` requests were sent (at most 5 s: a stuck test still ends).
    async fn all(&self, count: usize) {
        let mut arrived = self.0.subscribe();
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            arrived.wait_for(|arrived| *arrived >= count),
        )
        .await;
    }
}

/// A view counting its renders; render `n` first waits for `arrivals` to reach `hold(n)`.
fn held_view(
    renders: &Arc<AtomicUsize>,
    arrivals: &Arrivals,
    hold: fn(usize) -> usize,
    respond: fn(usize) -> Response,
) -> impl Fn(Request) -> std::pin::Pin<Box<dyn Future<Output = Response> + Send>>
+ Clone
+ Send
+ Sync
+ 'static {
    let (renders, arrivals) = (Arc::clone(renders), arrivals.clone());
    move |_request: Request| {
        let (renders, arrivals) = (Arc::clone(&renders), arrivals.clone());
        Box::pin(async move {
            let render = renders.fetch_add(1, Ordering::SeqCst) + 1;
            arrivals.all(hold(render)).await;
            respond(render)
        })
    }
}

fn routes(patterns: Vec<Pattern>) -> Dispatcher {
    Dispatcher::new(Arc::new(Resolver::new(UrlConf::new(patterns)).unwrap()))
}

/// How long a worker waits on the other's lock here. The default 200 ms bounds the cost of a
/// dead holder, but a loaded test machine can hold a render that long, and then the waiting
/// worker renders too: a test of "exactly one render" gives the holder time instead.
const PATIENT: Duration = Duration::from_secs(5);

/// One worker's per-site stack.
fn site(cache: &Cache, patterns: Vec<Pattern>) -> App {
    App::new(
        ServiceBuilder::new()
            .layer(UpdateCacheLayer::new(cache.clone()))
            .layer(FetchFromCacheLayer::new(cache.clone()).lock_wait(PATIENT))
            .service(routes(patterns)),
    )
}

/// One worker's cache: its own two-tier backend (own L1 and subscription) on the shared prefix.
async fn worker_cache(redis: &TestRedis) -> Cache {
    let backend = TwoTierBackend::connect(redis.url(), redis.prefix(), 16 << 20)
        .await
        .unwrap();
    let mut subscriptions = backend.subscriptions();
    tokio::time::timeout(
        Duration::from_secs(5),
        subscriptions.wait_for(|established| *established >= 1),
    )
    .await
    .expect("subscription established within 5 s")
    .unwrap();
    Cache::builder(Arc::new(backend))
        .key_prefix(redis.prefix())
        .build()
}

fn rendered(render: usize) -> Response {
    Html(format!("<p>render {render}</p>")).into_response()
}

fn with_cookie(render: usize) -> Response {
    let mut response = rendered(render);
    response
        .headers_mut()
        .insert("set-cookie", HeaderValue::from_static("csrftoken=abc"));
    response
}

fn age(response: &TestResponse) -> i64 {
    response.header("age").unwrap().parse().unwrap()
}

/// Requests `uri` until the body is `body`, for up to 5 s.
async fn until_body(client: &TestClient, uri: &str, body: &str) -> TestResponse {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let response = client.get(uri).await;
        if response.body == body.as_bytes() {
            return response;
        }
        assert!(Instant::now() < deadline, "{body:?} not served within 5 s");
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_requests_for_a_cold_page_over_two_workers_render_it_once() {
    let redis = TestRedis::new().await;
    let (one, two) = (worker_cache(&redis).await, worker_cache(&redis).await);
    let renders = Arc::new(AtomicUsize::new(0));
    let arrivals = Arrivals::new();
    let view = held_view(&renders, &arrivals, |_| REQUESTS, rendered);
    let workers = [
        Arc::new(TestClient::new(site(
            &one,
            vec![path("year/2001/", view.clone())],
        ))),
        Arc::new(TestClient::new(site(&two, vec![path("year/2001/", view)]))),
    ];

    let requests: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let (client, arrivals) = (Arc::clone(&workers[i % 2]), arrivals.clone());
            tokio::spawn(async move {
                arrivals.arrive();
                client.get("/year/2001/").await
            })
        })
        .collect();
    let responses = tokio::time::timeout(Duration::from_secs(10), join_all(requests))
        .await
        .expect("every request answered within 10 s");

    assert_eq!(renders.load(Ordering::SeqCst), 1, "one render in all");
    for response in responses {
        let response = response.unwrap();
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.body, "<p>render 1</p>");
    }
    for client in &workers {
        assert_eq!(client.get("/year/2001/").await.body, "<p>render 1</p>");
    }
    assert_eq!(renders.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_page_stampede_over_two_workers_renders_once() {
    let redis = TestRedis::new().await;
    let (one, two) = (worker_cache(&redis).await, worker_cache(&redis).await);
    let renders = Arc::new(AtomicUsize::new(0));
    let arrivals = Arrivals::new();
    let view = held_view(&renders, &arrivals, |_| 100, rendered);
    let app = |cache: &Cache| {
        let layer = CachePageLayer::new(cache.clone(), Duration::from_mins(1)).lock_wait(PATIENT);
        Arc::new(TestClient::new(App::new(routes(vec![
            path("report/", view.clone()).layer(layer),
        ]))))
    };
    let workers = [app(&one), app(&two)];

    let requests: Vec<_> = (0..100)
        .map(|i| {
            let (client, arrivals) = (Arc::clone(&workers[i % 2]), arrivals.clone());
            tokio::spawn(async move {
                arrivals.arrive();
                client.get("/report/").await
            })
        })
        .collect();
    let responses = tokio::time::timeout(Duration::from_secs(10), join_all(requests))
        .await
        .expect("every request answered within 10 s");

    assert_eq!(renders.load(Ordering::SeqCst), 1);
    for response in responses {
        assert_eq!(response.unwrap().body, "<p>render 1</p>");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_response_that_is_not_stored_releases_its_waiters_to_render() {
    let redis = TestRedis::new().await;
    let (one, two) = (worker_cache(&redis).await, worker_cache(&redis).await);
    let renders = Arc::new(AtomicUsize::new(0));
    let arrivals = Arrivals::new();
    let view = held_view(&renders, &arrivals, |_| 40, with_cookie);
    let workers = [
        Arc::new(TestClient::new(site(
            &one,
            vec![path("form/", view.clone())],
        ))),
        Arc::new(TestClient::new(site(&two, vec![path("form/", view)]))),
    ];

    let requests: Vec<_> = (0..40)
        .map(|i| {
            let (client, arrivals) = (Arc::clone(&workers[i % 2]), arrivals.clone());
            tokio::spawn(async move {
                arrivals.arrive();
                client.get("/form/").await
            })
        })
        .collect();
    // Well under `PATIENT`: the other worker's pollers learn from the lock not to wait.
    let responses = tokio::time::timeout(Duration::from_secs(3), join_all(requests))
        .await
        .expect("no request waits for a page that is never stored");

    assert_eq!(renders.load(Ordering::SeqCst), 40, "each rendered its own");
    let mut bodies: Vec<_> = responses
        .into_iter()
        .map(|response| {
            let response = response.unwrap();
            assert_eq!(response.status, StatusCode::OK);
            assert_eq!(response.header("set-cookie"), Some("csrftoken=abc"));
            response.body
        })
        .collect();
    bodies.sort();
    bodies.dedup();
    assert_eq!(bodies.len(), 40, "no response was shared");
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_page_serves_a_stale_page_and_renders_it_once_more() {
    let cache = Cache::builder(Arc::new(LocalBackend::new(16 << 20))).build();
    let renders = Arc::new(AtomicUsize::new(0));
    // The refresh (render 2) waits for the test's go, so the stale answers can be counted.
    let go = Arrivals::new();
    let view = held_view(&renders, &go, |render| render - 1, rendered);
    let layer = CachePageLayer::new(cache.clone(), Duration::from_secs(1));
    let client = TestClient::new(App::new(routes(vec![path("report/", view).layer(layer)])));

    let first = client.get("/report/").await;
    assert_eq!(first.body, "<p>render 1</p>");
    assert_eq!(client.get("/report/").await.body, "<p>render 1</p>");
    assert_eq!(renders.load(Ordering::SeqCst), 1);

    // Past the one-second freshness, inside the default 60 s stale window.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for _ in 0..3 {
        let stale = client.get("/report/").await;
        assert_eq!(stale.status, StatusCode::OK);
        assert_eq!(stale.body, "<p>render 1</p>", "served at once, stale");
        assert_eq!(stale.header("cache-control"), Some("max-age=1"));
        assert!(
            (1..=2).contains(&age(&stale)),
            "Age {} counts from the render",
            age(&stale)
        );
    }
    assert_eq!(cache.metrics().snapshot().stale_serves, 3);

    go.arrive();
    let fresh = until_body(&client, "/report/", "<p>render 2</p>").await;
    assert!((0..=1).contains(&age(&fresh)), "the refreshed page is new");
    let stale_serves = cache.metrics().snapshot().stale_serves;
    for _ in 0..5 {
        assert_eq!(client.get("/report/").await.body, "<p>render 2</p>");
    }
    assert_eq!(renders.load(Ordering::SeqCst), 2, "one refresh");
    assert_eq!(cache.metrics().snapshot().stale_serves, stale_serves);
}

#[tokio::test(flavor = "multi_thread")]
async fn per_site_refresh_goes_down_the_whole_stack_once() {
    let cache = Cache::builder(Arc::new(LocalBackend::new(16 << 20))).build();
    let renders = Arc::new(AtomicUsize::new(0));
    // The refresh (render 2) waits for the test's go, so the stale answers can be counted.
    let go = Arrivals::new();
    let view = held_view(&renders, &go, |render| render - 1, rendered);
    // A middleware between the two halves: a refresh that skipped it would store no `Vary`.
    let client = TestClient::new(App::new(
        ServiceBuilder::new()
            .layer(UpdateCacheLayer::new(cache.clone()).seconds(Duration::from_secs(1)))
            .layer(VaryOnHeadersLayer::new(&["Accept-Language"]))
            .layer(FetchFromCacheLayer::new(cache.clone()))
            .service(routes(vec![path("report/", view)])),
    ));

    client.get("/report/").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let stale_requests: Vec<_> = (0..10).map(|_| client.get("/report/")).collect();
    for stale in join_all(stale_requests).await {
        assert_eq!(stale.body, "<p>render 1</p>");
    }
    assert_eq!(cache.metrics().snapshot().stale_serves, 10);
    go.arrive();

    let fresh = until_body(&client, "/report/", "<p>render 2</p>").await;
    assert_eq!(fresh.header("vary"), Some("Accept-Language"));
    assert_eq!(fresh.header("cache-control"), Some("max-age=1"));
    client.get("/report/").await;
    assert_eq!(
        renders.load(Ordering::SeqCst),
        2,
        "ten stale serves, one refresh"
    );
}
