//! The `redis-get` baseline over a real socket, against a real Redis.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use herd_baselines::redis_get::{self, RedisGet};
use herd_test_support::{TestClient, TestRedis};
use hyper::StatusCode;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A `redis-get` for a key under the test's prefix, started on a free port; dropping the sender
/// stops it.
async fn start_redis_get(redis: &TestRedis) -> (RedisGet, TestClient, oneshot::Sender<()>) {
    let key = format!("{}page", redis.prefix());
    let redis_get = RedisGet::connect(redis.url(), &key).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TestClient::over_port(listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(redis_get::serve(listener, redis_get.clone(), async move {
        let _ = stopped.await;
    }));
    (redis_get, client, stop)
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_get_serves_the_stored_page_as_html() {
    let redis = TestRedis::new().await;
    let (redis_get, client, _stop) = start_redis_get(&redis).await;
    let page = herd_baselines::hello::body_of_size(14_000);
    redis_get.store(&page).await.unwrap();

    let response = client.get("/employee/2010/").await;

    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(response.body, page);
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_get_reads_redis_on_every_request() {
    let redis = TestRedis::new().await;
    let (redis_get, client, _stop) = start_redis_get(&redis).await;
    redis_get.store(b"<p>first</p>").await.unwrap();
    assert_eq!(client.get("/").await.text(), "<p>first</p>");

    // Written behind the server's back: only a server that asks Redis each time sees it.
    let mut connection = redis.connection().await;
    let () = redis::cmd("SET")
        .arg(redis_get.key())
        .arg("<p>second</p>")
        .query_async(&mut connection)
        .await
        .unwrap();

    assert_eq!(client.get("/other/path").await.text(), "<p>second</p>");
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_get_answers_404_while_the_key_is_missing() {
    let redis = TestRedis::new().await;
    let (_redis_get, client, _stop) = start_redis_get(&redis).await;

    let response = client.get("/").await;

    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert!(response.text().contains("Not Found"));
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_pages_expire_within_a_day() {
    let redis = TestRedis::new().await;
    let (redis_get, _client, _stop) = start_redis_get(&redis).await;
    redis_get.store(b"page").await.unwrap();

    let mut connection = redis.connection().await;
    let ttl: i64 = redis::cmd("TTL")
        .arg(redis_get.key())
        .query_async(&mut connection)
        .await
        .unwrap();

    let day = i64::try_from(redis_get::STORE_TTL.as_secs()).unwrap();
    assert!(ttl > day - 60 && ttl <= day, "TTL {ttl}");
}

#[tokio::test(flavor = "multi_thread")]
async fn connecting_fails_at_once_when_redis_does_not_answer() {
    // A port that was just free: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let err = RedisGet::connect(&format!("redis://127.0.0.1:{port}/0"), "key")
        .await
        .unwrap_err();

    assert!(err.to_string().starts_with("redis: "), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_get_answers_500_when_redis_refuses_the_get() {
    let redis = TestRedis::new().await;
    let (redis_get, client, _stop) = start_redis_get(&redis).await;
    // A list under the key: Redis answers GET with WRONGTYPE.
    let mut connection = redis.connection().await;
    let _: i64 = redis::cmd("RPUSH")
        .arg(redis_get.key())
        .arg("not a page")
        .query_async(&mut connection)
        .await
        .unwrap();

    let response = client.get("/").await;

    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(response.text(), "<h1>Server Error (500)</h1>");
}
