//! Tests of HTTP caching: per-site, per-view, headers and conditional GET.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ::http::{HeaderValue, Method, StatusCode, header};
use chrono::{DateTime, Utc};
use herd_cache::conditional::{ConditionLayer, ConditionalGetLayer};
use herd_cache::headers::{
    CacheControl, CacheControlLayer, CachePageLayer, NeverCacheLayer, VaryOnHeadersLayer,
    vary_on_cookie,
};
use herd_cache::local::LocalBackend;
use herd_cache::middleware::{
    CacheTags, FetchFromCacheLayer, SessionAccessed, SessionTracker, UpdateCacheLayer,
};
use herd_cache::{Cache, RedisBackend};
use herd_core::response::Html;
use herd_core::{App, Body, IntoResponse, Request, Response};
use herd_http::Dispatcher;
use herd_http::urls::{Pattern, Resolver, UrlConf, path};
use herd_test_support::{TestClient, TestRedis, TestResponse};
use md5::{Digest, Md5};
use tower::ServiceBuilder;

/// How many times a view ran.
#[derive(Clone, Default)]
struct Calls(Arc<AtomicUsize>);

impl Calls {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A view that counts its calls and answers with `respond`.
fn counted<F>(
    calls: &Calls,
    respond: F,
) -> impl Fn(Request) -> std::future::Ready<Response> + Clone + Send + Sync + 'static
where
    F: Fn(&Request) -> Response + Clone + Send + Sync + 'static,
{
    let calls = calls.clone();
    move |request: Request| {
        let call = calls.0.fetch_add(1, Ordering::SeqCst) + 1;
        let mut response = respond(&request);
        response
            .headers_mut()
            .insert("x-call", HeaderValue::from(call));
        std::future::ready(response)
    }
}

fn page() -> Response {
    Html("<p>hello</p>").into_response()
}

fn page_with(headers: &[(&'static str, &'static str)]) -> Response {
    let mut response = page();
    for (name, value) in headers {
        response
            .headers_mut()
            .append(*name, HeaderValue::from_static(value));
    }
    response
}

fn local_cache() -> Cache {
    Cache::builder(Arc::new(LocalBackend::new(32 << 20))).build()
}

fn routes(patterns: Vec<Pattern>) -> Dispatcher {
    Dispatcher::new(Arc::new(Resolver::new(UrlConf::new(patterns)).unwrap()))
}

/// The per-site stack: `UpdateCache` outermost, `FetchFromCache` innermost.
fn site(cache: &Cache, patterns: Vec<Pattern>) -> App {
    App::new(
        ServiceBuilder::new()
            .layer(UpdateCacheLayer::new(cache.clone()))
            .layer(FetchFromCacheLayer::new(cache.clone()))
            .service(routes(patterns)),
    )
}

fn get_with(uri: &str, headers: &[(&'static str, &'static str)]) -> Request {
    let mut builder = ::http::Request::builder().uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

fn with_method(method: Method, uri: &str, headers: &[(&'static str, &'static str)]) -> Request {
    let mut request = get_with(uri, headers);
    *request.method_mut() = method;
    request
}

fn http_date(date: DateTime<Utc>) -> String {
    date.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

fn parse_date(response: &TestResponse, name: &str) -> i64 {
    DateTime::parse_from_rfc2822(response.header(name).unwrap())
        .unwrap()
        .timestamp()
}

fn quoted_md5(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Md5::digest(body)))
}

// --- per-site cache ---

#[tokio::test]
async fn per_site_cache_runs_the_view_once_for_two_gets() {
    let cache = local_cache();
    let calls = Calls::default();
    let client = TestClient::new(site(
        &cache,
        vec![path("page/", counted(&calls, |_| page()))],
    ));

    let first = client.get("/page/").await;
    let hits_before = cache.metrics().snapshot().hits;
    let second = client.get("/page/").await;

    assert_eq!(calls.count(), 1);
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.body, first.body);
    assert_eq!(second.header("x-call"), Some("1"));
    assert_eq!(
        second.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(cache.metrics().snapshot().hits > hits_before);
}

#[tokio::test]
async fn per_site_cache_runs_a_view_that_sets_a_cookie_every_time() {
    let cache = local_cache();
    let calls = Calls::default();
    let view = counted(&calls, |_| {
        page_with(&[("set-cookie", "flavour=oat; Path=/")])
    });
    let client = TestClient::new(site(&cache, vec![path("cookie/", view)]));

    client.get("/cookie/").await;
    let second = client.get("/cookie/").await;

    assert_eq!(calls.count(), 2);
    assert_eq!(second.header("set-cookie"), Some("flavour=oat; Path=/"));
}

#[tokio::test]
async fn per_site_cache_skips_private_no_cache_and_no_store_responses() {
    for directive in [
        "no-store",
        "private",
        "no-cache",
        "private=\"x\"",
        "max-age=0",
    ] {
        let cache = local_cache();
        let calls = Calls::default();
        let view = counted(&calls, move |_| {
            let mut response = page();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_str(directive).unwrap(),
            );
            response
        });
        let client = TestClient::new(site(&cache, vec![path("p/", view)]));

        client.get("/p/").await;
        client.get("/p/").await;

        assert_eq!(calls.count(), 2, "{directive}");
    }
}

#[tokio::test]
async fn per_site_cache_skips_non_200_and_vary_star() {
    let cache = local_cache();
    let missing = Calls::default();
    let star = Calls::default();
    let client = TestClient::new(site(
        &cache,
        vec![
            path(
                "missing/",
                counted(&missing, |_| herd_core::Error::not_found().into_response()),
            ),
            path("star/", counted(&star, |_| page_with(&[("vary", "*")]))),
        ],
    ));

    for _ in 0..2 {
        assert_eq!(client.get("/missing/").await.status, StatusCode::NOT_FOUND);
        client.get("/star/").await;
    }

    assert_eq!(missing.count(), 2);
    assert_eq!(star.count(), 2);
}

#[tokio::test]
async fn per_site_cache_never_stores_a_response_that_read_the_session() {
    let cache = local_cache();
    let marked = Calls::default();
    let tracked = Calls::default();
    let marked_view = counted(&marked, |_| {
        let mut response = page_with(&[("vary", "Cookie")]);
        response.extensions_mut().insert(SessionAccessed);
        response
    });
    let tracked_view = counted(&tracked, |request: &Request| {
        request
            .extensions()
            .get::<SessionTracker>()
            .expect("the cache layers provide a tracker")
            .mark_accessed();
        page()
    });
    let client = TestClient::new(site(
        &cache,
        vec![path("marked/", marked_view), path("tracked/", tracked_view)],
    ));

    for _ in 0..2 {
        client.get("/marked/").await;
        client.get("/tracked/").await;
    }

    assert_eq!(marked.count(), 2);
    assert_eq!(tracked.count(), 2);
}

#[tokio::test]
async fn per_site_cache_never_stores_post() {
    let cache = local_cache();
    let calls = Calls::default();
    let client = TestClient::new(site(
        &cache,
        vec![path("form/", counted(&calls, |_| page()))],
    ));

    client.post_form("/form/", "a=1").await;
    let second = client.post_form("/form/", "a=1").await;
    assert_eq!(calls.count(), 2);
    assert_eq!(second.header("cache-control"), None);

    client.get("/form/").await;
    assert_eq!(calls.count(), 3, "a POST leaves nothing for a GET to hit");
}

#[tokio::test]
async fn query_strings_and_hosts_are_distinct_entries() {
    let cache = local_cache();
    let calls = Calls::default();
    let app = site(&cache, vec![path("page/", counted(&calls, |_| page()))]);
    let local = TestClient::new(app.clone());
    let other = TestClient::new(app).with_host("example.com");

    for _ in 0..2 {
        local.get("/page/?a=1").await;
        local.get("/page/?a=2").await;
        other.get("/page/?a=1").await;
    }

    assert_eq!(calls.count(), 3);
}

#[tokio::test]
async fn a_varied_header_absent_and_empty_are_distinct_entries() {
    let cache = local_cache();
    let calls = Calls::default();
    let view = counted(&calls, |_| page_with(&[("vary", "Accept-Language")]));
    let client = TestClient::new(site(&cache, vec![path("page/", view)]));

    for _ in 0..2 {
        client.request(get_with("/page/", &[])).await;
        client
            .request(get_with("/page/", &[("accept-language", "")]))
            .await;
        client
            .request(get_with("/page/", &[("accept-language", "en")]))
            .await;
    }

    assert_eq!(calls.count(), 3);
}

/// A view answering `<worker> <value of header>`, varying on `header`.
fn varying_on(
    calls: &Calls,
    worker: &'static str,
    header: &'static str,
) -> impl Fn(Request) -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    counted(calls, move |request| {
        let value = request
            .headers()
            .get(header)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("-");
        let mut response = Html(format!("{worker} {value}")).into_response();
        response
            .headers_mut()
            .insert("vary", HeaderValue::from_static(header));
        response
    })
}

#[tokio::test]
async fn a_header_list_changed_by_another_worker_gives_the_variant_of_the_new_list() {
    let cache = local_cache();
    let (first_calls, second_calls) = (Calls::default(), Calls::default());
    // Two workers over one cache: each remembers the header list it read last.
    let first = TestClient::new(site(
        &cache,
        vec![path(
            "page/",
            varying_on(&first_calls, "first", "accept-language"),
        )],
    ));
    let second = TestClient::new(site(
        &cache,
        vec![path("page/", varying_on(&second_calls, "second", "cookie"))],
    ));
    let english_a = || get_with("/page/", &[("accept-language", "en"), ("cookie", "a")]);

    first.request(english_a()).await;
    let hit = first.request(english_a()).await;
    assert_eq!((hit.text(), first_calls.count()), ("first en", 1));
    // The second worker misses on French, renders a page varying on Cookie, and so replaces
    // the URL's header list; the English page stays stored under its old key.
    let french = second
        .request(get_with(
            "/page/",
            &[("accept-language", "fr"), ("cookie", "a")],
        ))
        .await;
    assert_eq!(french.text(), "second a");

    // The first worker still remembers the Accept-Language list, but the stored list rules:
    // the page is the one for cookie `a`, as reading the list and then the page gives.
    let after = first.request(english_a()).await;
    assert_eq!(after.text(), "second a");
    assert!(after.header("age").is_some());
    assert_eq!((first_calls.count(), second_calls.count()), (1, 1));
    // Under the new list a cookie of its own is a page of its own.
    let other = first
        .request(get_with(
            "/page/",
            &[("accept-language", "en"), ("cookie", "b")],
        ))
        .await;
    assert_eq!((other.text(), first_calls.count()), ("first en", 2));
}

#[tokio::test]
async fn a_remembered_header_list_keeps_each_variant_apart() {
    let cache = local_cache();
    let calls = Calls::default();
    let client = TestClient::new(site(
        &cache,
        vec![path(
            "page/",
            varying_on(&calls, "worker", "accept-language"),
        )],
    ));
    let language = |value: &'static str| get_with("/page/", &[("accept-language", value)]);

    for _ in 0..3 {
        for value in ["en", "fr", "de"] {
            let response = client.request(language(value)).await;
            assert_eq!(response.text(), format!("worker {value}"));
        }
    }

    assert_eq!(calls.count(), 3);
}

#[tokio::test]
async fn a_page_replaced_in_the_cache_is_served_anew_not_from_the_decoded_copy() {
    let cache = local_cache();
    let calls = Calls::default();
    let client = TestClient::new(site(
        &cache,
        vec![path("page/", counted(&calls, |_| page()))],
    ));

    client.get("/page/").await;
    assert_eq!(client.get("/page/").await.header("x-call"), Some("1"));
    cache.clear().await;
    client.get("/page/").await;

    let hit = client.get("/page/").await;
    assert_eq!(hit.header("x-call"), Some("2"));
    assert!(hit.header("age").is_some());
}

#[tokio::test]
async fn head_uses_the_get_entry_and_falls_back_to_its_own() {
    let cache = local_cache();
    let calls = Calls::default();
    let other = Calls::default();
    let client = TestClient::new(site(
        &cache,
        vec![
            path("page/", counted(&calls, |_| page())),
            path("other/", counted(&other, |_| page())),
        ],
    ));

    client.get("/page/").await;
    let head = client
        .request(with_method(Method::HEAD, "/page/", &[]))
        .await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(calls.count(), 1);

    client
        .request(with_method(Method::HEAD, "/other/", &[]))
        .await;
    client
        .request(with_method(Method::HEAD, "/other/", &[]))
        .await;
    assert_eq!(other.count(), 1, "the second HEAD hits the HEAD entry");
    client.get("/other/").await;
    assert_eq!(other.count(), 2, "a HEAD entry does not answer GET");
}

#[tokio::test]
async fn hits_carry_age_and_the_stored_expires_and_max_age() {
    let cache = local_cache();
    let calls = Calls::default();
    let view = counted(&calls, |_| {
        let mut response = page_with(&[("cache-control", "max-age=100")]);
        let expires = http_date(Utc::now() + chrono::Duration::seconds(90));
        response
            .headers_mut()
            .insert(header::EXPIRES, HeaderValue::from_str(&expires).unwrap());
        response
    });
    let client = TestClient::new(site(
        &cache,
        vec![
            path("page/", counted(&Calls::default(), |_| page())),
            path("aged/", view),
        ],
    ));

    let first = client.get("/page/").await;
    assert_eq!(first.header("cache-control"), Some("max-age=600"));
    assert_eq!(first.header("age"), None);
    let expires = parse_date(&first, "expires");
    assert!((expires - Utc::now().timestamp() - 600).abs() <= 1);
    let hit = client.get("/page/").await;
    assert_eq!(hit.header("cache-control"), Some("max-age=600"));
    assert_eq!(parse_date(&hit, "expires"), expires);
    assert!(matches!(hit.header("age"), Some("0" | "1")));

    let fresh = client.get("/aged/").await;
    let hit = client.get("/aged/").await;
    assert_eq!(calls.count(), 1);
    assert_eq!(hit.header("cache-control"), Some("max-age=100"));
    assert_eq!(hit.header("expires"), fresh.header("expires"));
    let age: i64 = hit.header("age").unwrap().parse().unwrap();
    assert!(
        (10..=11).contains(&age),
        "Age {age} = max-age 100 - 90 s left"
    );
}

#[tokio::test]
async fn authorization_adds_vary_unless_the_response_is_public() {
    let cache = local_cache();
    let calls = Calls::default();
    let public = Calls::default();
    let client = TestClient::new(site(
        &cache,
        vec![
            path("page/", counted(&calls, |_| page())),
            path(
                "public/",
                counted(&public, |_| page_with(&[("cache-control", "public")])),
            ),
        ],
    ));

    let alice = client
        .request(get_with(
            "/page/",
            &[("authorization", "Basic YWxpY2U6eA==")],
        ))
        .await;
    assert_eq!(alice.header("vary"), Some("Authorization"));
    client
        .request(get_with(
            "/page/",
            &[("authorization", "Basic YWxpY2U6eA==")],
        ))
        .await;
    client
        .request(get_with("/page/", &[("authorization", "Basic Ym9iOng=")]))
        .await;
    assert_eq!(calls.count(), 2, "each credential has its own entry");

    let shared = client
        .request(get_with(
            "/public/",
            &[("authorization", "Basic YWxpY2U6eA==")],
        ))
        .await;
    assert_eq!(shared.header("vary"), None);
    assert_eq!(shared.header("cache-control"), Some("public, max-age=600"));
}

#[tokio::test]
async fn tagged_pages_carry_cdn_headers_and_purge_tag_evicts_them() {
    let cache = local_cache();
    let calls = Calls::default();
    let view = counted(&calls, |_| {
        let mut response = page();
        response.extensions_mut().insert(CacheTags(vec![
            "employees".to_owned(),
            "year-2001".to_owned(),
        ]));
        response
    });
    let client = TestClient::new(site(&cache, vec![path("employee/2001/", view)]));

    let first = client.get("/employee/2001/").await;
    assert_eq!(first.header("surrogate-key"), Some("employees year-2001"));
    assert_eq!(first.header("cache-tag"), Some("employees,year-2001"));
    assert_eq!(
        first.header("cache-control"),
        Some("max-age=600, s-maxage=600, stale-while-revalidate=60")
    );
    let hit = client.get("/employee/2001/").await;
    assert_eq!(calls.count(), 1);
    assert_eq!(hit.header("surrogate-key"), Some("employees year-2001"));

    cache.purge_tag("year-2001").await;
    client.get("/employee/2001/").await;
    assert_eq!(calls.count(), 2);
}

#[tokio::test]
async fn a_cached_page_answers_its_etag_with_304_and_no_body() {
    let cache = local_cache();
    let calls = Calls::default();
    let client = TestClient::new(site(
        &cache,
        vec![path("page/", counted(&calls, |_| page()))],
    ));

    let first = client.get("/page/").await;
    let etag = first.header("etag").unwrap().to_owned();
    assert_eq!(etag, quoted_md5(&first.body));

    let mut request = get_with("/page/", &[]);
    request
        .headers_mut()
        .insert(header::IF_NONE_MATCH, HeaderValue::from_str(&etag).unwrap());
    let conditional = client.request(request).await;

    assert_eq!(conditional.status, StatusCode::NOT_MODIFIED);
    assert!(conditional.body.is_empty());
    assert_eq!(conditional.header("etag"), Some(etag.as_str()));
    assert_eq!(conditional.header("cache-control"), Some("max-age=600"));
    assert_eq!(conditional.header("content-type"), None);
    assert_eq!(calls.count(), 1);
}

#[tokio::test]
async fn per_site_cache_is_shared_by_workers_through_redis() {
    let redis = TestRedis::new().await;
    let prefix = redis.prefix().trim_end_matches(':');
    let worker = || async {
        let backend = RedisBackend::connect(redis.url(), prefix).await.unwrap();
        Cache::builder(Arc::new(backend)).key_prefix(prefix).build()
    };
    let (one, two) = (worker().await, worker().await);
    let calls = Calls::default();
    let view = counted(&calls, |_| {
        let mut response = page();
        response
            .extensions_mut()
            .insert(CacheTags(vec!["employees".to_owned()]));
        response
    });
    let first = TestClient::new(site(&one, vec![path("page/", view.clone())]));
    let second = TestClient::new(site(&two, vec![path("page/", view)]));

    first.get("/page/").await;
    let hit = second.get("/page/").await;
    assert_eq!(calls.count(), 1);
    assert_eq!(hit.header("x-call"), Some("1"));

    one.purge_tag("employees").await;
    second.get("/page/").await;
    assert_eq!(
        calls.count(),
        2,
        "the purge reached the page the other worker reads"
    );
}

#[tokio::test]
async fn a_redis_hit_on_a_url_read_before_takes_one_round_trip() {
    let redis = TestRedis::new().await;
    let prefix = redis.prefix().trim_end_matches(':');
    let backend = RedisBackend::connect(redis.url(), prefix).await.unwrap();
    let cache = Cache::builder(Arc::new(backend.clone()))
        .key_prefix(prefix)
        .build();
    let calls = Calls::default();
    let client = TestClient::new(site(
        &cache,
        vec![path(
            "page/",
            varying_on(&calls, "worker", "accept-language"),
        )],
    ));
    let english = || get_with("/page/", &[("accept-language", "en")]);
    let round_trips = || backend.metrics().snapshot().redis_calls;

    client.request(english()).await;
    // The first hit reads the header list, then the page: Django's two lookups.
    let before = round_trips();
    client.request(english()).await;
    assert_eq!(round_trips() - before, 2);

    let before = round_trips();
    let hit = client.request(english()).await;
    assert_eq!(
        round_trips() - before,
        1,
        "header list and page in one MGET"
    );
    assert_eq!((hit.text(), calls.count()), ("worker en", 1));
    assert!(hit.header("age").is_some());
    // Another value of the varied header is another page, still in one round trip.
    let before = round_trips();
    let french = client
        .request(get_with("/page/", &[("accept-language", "fr")]))
        .await;
    assert_eq!((french.text(), calls.count()), ("worker fr", 2));
    assert!(round_trips() - before >= 1);
    let before = round_trips();
    client
        .request(get_with("/page/", &[("accept-language", "fr")]))
        .await;
    assert_eq!(round_trips() - before, 1);
    assert_eq!(calls.count(), 2);
}

// --- per-view decorators ---

#[tokio::test]
async fn cache_page_runs_the_view_once_and_its_timeout_beats_the_default() {
    let cache = local_cache();
    let calls = Calls::default();
    let shorter = Calls::default();
    let post = Calls::default();
    let layer = CachePageLayer::new(cache.clone(), Duration::from_mins(1)).key_prefix("views");
    let client = TestClient::new(App::new(routes(vec![
        path("page/", counted(&calls, |_| page())).layer(layer.clone()),
        path(
            "short/",
            counted(&shorter, |_| page_with(&[("cache-control", "max-age=30")])),
        )
        .layer(layer.clone()),
        path("form/", counted(&post, |_| page())).layer(layer),
    ])));

    let first = client.get("/page/").await;
    let second = client.get("/page/").await;
    assert_eq!(calls.count(), 1);
    assert_eq!(first.header("cache-control"), Some("max-age=60"));
    assert_eq!(second.header("x-call"), Some("1"));

    let short = client.get("/short/").await;
    assert_eq!(short.header("cache-control"), Some("max-age=30"));
    client.get("/short/").await;
    assert_eq!(shorter.count(), 1);

    client.post_form("/form/", "").await;
    client.post_form("/form/", "").await;
    assert_eq!(post.count(), 2);
}

#[tokio::test]
async fn cache_page_never_stores_cookies_or_a_session_read() {
    let cache = local_cache();
    let cookie = Calls::default();
    let session = Calls::default();
    let layer = CachePageLayer::new(cache, Duration::from_mins(1));
    let client = TestClient::new(App::new(routes(vec![
        path(
            "cookie/",
            counted(&cookie, |_| page_with(&[("set-cookie", "a=b")])),
        )
        .layer(layer.clone()),
        path(
            "session/",
            counted(&session, |request: &Request| {
                if let Some(tracker) = request.extensions().get::<SessionTracker>() {
                    tracker.mark_accessed();
                }
                page()
            }),
        )
        .layer(layer),
    ])));

    for _ in 0..2 {
        client.get("/cookie/").await;
        client.get("/session/").await;
    }

    assert_eq!(cookie.count(), 2);
    assert_eq!(session.count(), 2);
}

#[tokio::test]
async fn never_cache_sets_exactly_django_headers() {
    let calls = Calls::default();
    let client = TestClient::new(App::new(routes(vec![
        path(
            "private/",
            counted(&calls, |_| {
                page_with(&[("cache-control", "max-age=600, public")])
            }),
        )
        .layer(NeverCacheLayer::new()),
    ])));

    let response = client.get("/private/").await;

    assert_eq!(
        response.header("cache-control"),
        Some("max-age=0, no-cache, no-store, must-revalidate, private")
    );
    assert!((parse_date(&response, "expires") - Utc::now().timestamp()).abs() <= 1);
}

#[tokio::test]
async fn cache_control_patches_and_public_replaces_private() {
    let client = TestClient::new(App::new(routes(vec![
        path("plain/", counted(&Calls::default(), |_| page())).layer(CacheControlLayer::new(
            CacheControl::new().max_age(60).public(),
        )),
        path(
            "private/",
            counted(&Calls::default(), |_| {
                page_with(&[("cache-control", "private")])
            }),
        )
        .layer(CacheControlLayer::new(
            CacheControl::new().max_age(60).public(),
        )),
    ])));

    let plain = client.get("/plain/").await;
    let private = client.get("/private/").await;

    assert_eq!(plain.header("cache-control"), Some("max-age=60, public"));
    assert_eq!(private.header("cache-control"), Some("max-age=60, public"));
}

#[tokio::test]
async fn vary_on_headers_merges_case_insensitively_in_order() {
    let client = TestClient::new(App::new(routes(vec![
        path(
            "merged/",
            counted(&Calls::default(), |_| page_with(&[("vary", "Cookie")])),
        )
        .layer(VaryOnHeadersLayer::new(&["cookie", "Accept-Language"])),
        path("cookie/", counted(&Calls::default(), |_| page())).layer(vary_on_cookie()),
        path(
            "star/",
            counted(&Calls::default(), |_| page_with(&[("vary", "Cookie")])),
        )
        .layer(VaryOnHeadersLayer::new(&["*"])),
    ])));

    assert_eq!(
        client.get("/merged/").await.header("vary"),
        Some("Cookie, Accept-Language")
    );
    assert_eq!(client.get("/cookie/").await.header("vary"), Some("Cookie"));
    assert_eq!(client.get("/star/").await.header("vary"), Some("*"));
}

// --- conditional requests ---

const LAST_MODIFIED: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

fn conditional_app() -> App {
    App::new(
        ServiceBuilder::new()
            .layer(ConditionalGetLayer::new())
            .service(routes(vec![
                path(
                    "page/",
                    counted(&Calls::default(), |_| {
                        page_with(&[("cache-control", "max-age=60"), ("set-cookie", "a=b")])
                    }),
                ),
                path(
                    "dated/",
                    counted(&Calls::default(), |_| {
                        page_with(&[("last-modified", LAST_MODIFIED)])
                    }),
                ),
                path(
                    "secret/",
                    counted(&Calls::default(), |_| {
                        page_with(&[("cache-control", "no-store")])
                    }),
                ),
            ])),
    )
}

#[tokio::test]
async fn conditional_get_answers_a_resent_etag_with_304() {
    let client = TestClient::new(conditional_app());

    let first = client.get("/page/").await;
    let etag = first.header("etag").unwrap().to_owned();
    assert_eq!(etag, quoted_md5(b"<p>hello</p>"));

    for sent in [
        etag.clone(),
        format!("W/{etag}"),
        "\"other\", ".to_owned() + &etag,
        "*".to_owned(),
    ] {
        let mut request = get_with("/page/", &[]);
        request
            .headers_mut()
            .insert(header::IF_NONE_MATCH, HeaderValue::from_str(&sent).unwrap());
        let response = client.request(request).await;
        assert_eq!(response.status, StatusCode::NOT_MODIFIED, "{sent}");
        assert!(response.body.is_empty());
        assert_eq!(response.header("etag"), Some(etag.as_str()));
        assert_eq!(response.header("cache-control"), Some("max-age=60"));
        assert_eq!(response.header("set-cookie"), Some("a=b"));
        assert_eq!(response.header("content-type"), None);
    }

    let stale = client
        .request(get_with("/page/", &[("if-none-match", "\"other\"")]))
        .await;
    assert_eq!(stale.status, StatusCode::OK);
    let post = client.post_form("/page/", "").await;
    assert_eq!(post.header("etag"), None);
    assert_eq!(client.get("/secret/").await.header("etag"), None);
}

#[tokio::test]
async fn if_modified_since_counts_only_without_if_none_match() {
    let client = TestClient::new(conditional_app());

    let same = client
        .request(get_with("/dated/", &[("if-modified-since", LAST_MODIFIED)]))
        .await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    assert_eq!(same.header("last-modified"), Some(LAST_MODIFIED));

    let older = client
        .request(get_with(
            "/dated/",
            &[("if-modified-since", "Sat, 05 Nov 1994 08:49:37 GMT")],
        ))
        .await;
    assert_eq!(older.status, StatusCode::OK);

    let both = client
        .request(get_with(
            "/dated/",
            &[
                ("if-modified-since", LAST_MODIFIED),
                ("if-none-match", "\"other\""),
            ],
        ))
        .await;
    assert_eq!(both.status, StatusCode::OK);
}

#[tokio::test]
async fn condition_refuses_a_put_with_a_stale_if_match() {
    let calls = Calls::default();
    let condition = ConditionLayer::new()
        .etag(|_request| Box::pin(async { Some("v2".to_owned()) }))
        .last_modified(|_request| Box::pin(async { DateTime::from_timestamp(784_111_777, 0) }));
    let client = TestClient::new(App::new(routes(vec![
        path("doc/", counted(&calls, |_| page())).layer(condition),
    ])));

    let stale = client
        .request(with_method(Method::PUT, "/doc/", &[("if-match", "\"v1\"")]))
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert!(stale.body.is_empty());
    assert_eq!(calls.count(), 0);

    let current = client
        .request(with_method(Method::PUT, "/doc/", &[("if-match", "\"v2\"")]))
        .await;
    assert_eq!(current.status, StatusCode::OK);
    assert_eq!(
        current.header("etag"),
        None,
        "only safe methods get the validators"
    );
    assert_eq!(calls.count(), 1);

    let fresh = client.get("/doc/").await;
    assert_eq!(fresh.header("etag"), Some("\"v2\""));
    assert_eq!(fresh.header("last-modified"), Some(LAST_MODIFIED));

    let unchanged = client
        .request(get_with("/doc/", &[("if-none-match", "\"v2\"")]))
        .await;
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);
    assert_eq!(unchanged.header("etag"), Some("\"v2\""));
    assert_eq!(calls.count(), 2, "a 304 does not run the view");
}
