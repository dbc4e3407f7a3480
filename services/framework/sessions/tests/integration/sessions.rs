//! Laziness, cookies, records, flush, `cycle_key`, 5xx and Redis outages.

use herd_sessions::{SessionConfig, SessionLayer};
use herd_test_support::TestRedis;
use http::StatusCode;
use regex::Regex;

use crate::common::{
    SECRET, backend, client, config, cookie_pair, dead_backend, get_with_cookie, key_of, keys,
    record, set_cookie, signed_pair, worker,
};

const DELETING_COOKIE: &str =
    "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax";

fn a_key() -> String {
    "0123456789abcdef".repeat(4)
}

#[tokio::test]
async fn an_untouched_session_makes_no_redis_call_and_adds_nothing() {
    let backend = dead_backend().await;
    let metrics = backend.metrics().clone();
    let client = client(SessionLayer::new(SessionConfig::new(backend, SECRET)));
    let before = metrics.snapshot();

    for response in [
        client.get("/untouched").await,
        get_with_cookie(&client, "/untouched", &signed_pair(&a_key())).await,
    ] {
        assert_eq!(response.status, StatusCode::OK);
        assert_eq!(response.text(), "untouched");
        assert_eq!(set_cookie(&response), None);
        assert_eq!(response.header("vary"), None);
        assert_eq!(response.header("cache-control"), None);
        assert_eq!(response.header("x-tracked"), None);
        assert_eq!(response.header("x-accessed"), None);
    }

    let after = metrics.snapshot();
    assert_eq!(after.redis_calls, before.redis_calls, "no Redis call");
    assert_eq!(after.redis_skipped, before.redis_skipped, "no skipped call");
}

#[tokio::test]
async fn reading_the_session_adds_vary_cookie_and_marks_it_accessed() {
    let redis = TestRedis::new().await;
    let client = worker(&redis).await;

    let response = client.get("/read").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.text(), "anonymous");
    assert_eq!(response.header("vary"), Some("Cookie"));
    assert_eq!(response.header("cache-control"), Some("private"));
    assert_eq!(response.header("x-tracked"), Some("yes"));
    assert_eq!(response.header("x-accessed"), Some("yes"));
    assert_eq!(set_cookie(&response), None, "a read saves nothing");
    assert!(keys(&redis).await.is_empty());
}

#[tokio::test]
async fn writing_sets_the_cookie_with_django_attributes_and_stores_the_record() {
    let redis = TestRedis::new().await;
    let client = worker(&redis).await;

    let response = client.get("/write/alice").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("vary"), Some("Cookie"));
    let cookie = set_cookie(&response).expect("a session cookie");
    let shape = Regex::new(
        r"^sessionid=[0-9a-f]{64}:[A-Za-z0-9_-]{43}; expires=(\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} GMT); HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax$",
    )
    .unwrap();
    let captures = shape
        .captures(&cookie)
        .unwrap_or_else(|| panic!("{cookie}"));
    let expires = chrono::DateTime::parse_from_rfc2822(&captures[1]).unwrap();
    let expected = chrono::Utc::now() + chrono::Duration::seconds(1_209_600);
    assert!(
        (expected - expires.to_utc()).num_seconds().abs() < 60,
        "{cookie}"
    );

    let key = key_of(&cookie_pair(&cookie));
    let stored = record(&redis, &key).await.expect("a record");
    let data: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(data, serde_json::json!({ "name": "alice" }));
    let mut connection = redis.connection().await;
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("{}session:{key}", redis.prefix()))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!((1_209_500..=1_209_600).contains(&ttl), "TTL {ttl}");

    let secure = client_with(&redis, |config| config.cookie_secure = true).await;
    let cookie = set_cookie(&secure.get("/write/bob").await).unwrap();
    assert!(cookie.ends_with("; SameSite=Lax; Secure"), "{cookie}");
}

async fn client_with(
    redis: &TestRedis,
    edit: impl FnOnce(&mut SessionConfig),
) -> herd_test_support::TestClient {
    let mut config = config(backend(redis).await, redis.prefix());
    edit(&mut config);
    client(SessionLayer::new(config))
}

#[tokio::test]
async fn a_session_round_trips_between_two_workers_sharing_redis() {
    let redis = TestRedis::new().await;
    let first = worker(&redis).await;
    let second = worker(&redis).await;

    let pair = cookie_pair(&set_cookie(&first.get("/write/alice").await).unwrap());
    let response = get_with_cookie(&second, "/read", &pair).await;
    assert_eq!(response.text(), "alice");
    assert_eq!(
        set_cookie(&response),
        None,
        "unmodified: no save, expiry does not slide"
    );

    let response = get_with_cookie(&second, "/write/carol", &pair).await;
    let again = cookie_pair(&set_cookie(&response).expect("modified: saved and re-sent"));
    assert_eq!(
        key_of(&again),
        key_of(&pair),
        "the same session keeps its key"
    );
    assert_eq!(
        get_with_cookie(&first, "/read", &pair).await.text(),
        "carol"
    );
}

#[tokio::test]
async fn a_tampered_or_unknown_cookie_gives_a_new_empty_session_and_is_not_adopted() {
    let redis = TestRedis::new().await;
    let client = worker(&redis).await;
    let real = cookie_pair(&set_cookie(&client.get("/write/alice").await).unwrap());
    let real_key = key_of(&real);
    let other = herd_core::signing::Signer::new("another secret", herd_sessions::COOKIE_SALT);

    let unknown = a_key();
    for cookie in [
        signed_pair(&unknown),
        format!("sessionid={}", other.sign(&real_key)),
        format!("sessionid={real_key}"),
        format!("sessionid={real_key}:forged"),
        signed_pair("not-a-key"),
        "sessionid=%%%".to_owned(),
    ] {
        let response = get_with_cookie(&client, "/read", &cookie).await;
        assert_eq!(response.status, StatusCode::OK, "{cookie}");
        assert_eq!(response.text(), "anonymous", "{cookie}");
        assert_eq!(
            set_cookie(&response).as_deref(),
            Some(DELETING_COOKIE),
            "{cookie}"
        );
        assert_eq!(get_with_cookie(&client, "/key", &cookie).await.text(), "");

        let response = get_with_cookie(&client, "/write/mallory", &cookie).await;
        let minted = key_of(&cookie_pair(&set_cookie(&response).unwrap()));
        assert_ne!(minted, unknown, "{cookie}");
        assert_ne!(minted, real_key, "{cookie}");
    }
    assert_eq!(
        record(&redis, &unknown).await,
        None,
        "the client's key is never adopted"
    );
    assert_eq!(
        get_with_cookie(&client, "/read", &real).await.text(),
        "alice"
    );
}

#[tokio::test]
async fn flush_deletes_the_record_and_revokes_the_cookie() {
    let redis = TestRedis::new().await;
    let client = worker(&redis).await;
    let pair = cookie_pair(&set_cookie(&client.get("/write/alice").await).unwrap());
    let key = key_of(&pair);

    let response = get_with_cookie(&client, "/flush", &pair).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(set_cookie(&response).as_deref(), Some(DELETING_COOKIE));
    assert_eq!(record(&redis, &key).await, None);
    assert_eq!(
        get_with_cookie(&client, "/read", &pair).await.text(),
        "anonymous"
    );
}

#[tokio::test]
async fn clear_empties_the_session_deletes_the_record_and_revokes_the_cookie() {
    let redis = TestRedis::new().await;
    let client = worker(&redis).await;
    let pair = cookie_pair(&set_cookie(&client.get("/write/alice").await).unwrap());

    let response = get_with_cookie(&client, "/clear", &pair).await;
    assert_eq!(set_cookie(&response).as_deref(), Some(DELETING_COOKIE));
    assert_eq!(record(&redis, &key_of(&pair)).await, None);
    assert!(keys(&redis).await.is_empty());
}

#[tokio::test]
async fn cycle_key_changes_the_key_keeps_the_data_and_kills_the_old_key() {
    let redis = TestRedis::new().await;
    let client = worker(&redis).await;
    let old = cookie_pair(&set_cookie(&client.get("/write/alice").await).unwrap());

    let response = get_with_cookie(&client, "/cycle", &old).await;
    let new = cookie_pair(&set_cookie(&response).expect("the new key's cookie"));
    assert_ne!(key_of(&new), key_of(&old));
    assert_eq!(
        response.text(),
        key_of(&new),
        "session_key() is the new key at once"
    );
    assert_eq!(record(&redis, &key_of(&old)).await, None);
    assert_eq!(
        get_with_cookie(&client, "/read", &new).await.text(),
        "alice"
    );
    assert_eq!(
        get_with_cookie(&client, "/read", &old).await.text(),
        "anonymous"
    );
}

#[tokio::test]
async fn a_server_error_sends_no_cookie_and_saves_nothing() {
    let redis = TestRedis::new().await;
    let client = worker(&redis).await;

    let response = client.get("/fail").await;
    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(set_cookie(&response), None);
    assert_eq!(response.header("vary"), Some("Cookie"));
    assert!(keys(&redis).await.is_empty());

    let pair = cookie_pair(&set_cookie(&client.get("/write/alice").await).unwrap());
    let response = get_with_cookie(&client, "/fail", &pair).await;
    assert_eq!(set_cookie(&response), None);
    assert_eq!(
        get_with_cookie(&client, "/read", &pair).await.text(),
        "alice"
    );
}

#[tokio::test]
async fn redis_down_fails_closed_with_a_cookie_and_stays_anonymous_without_one() {
    let backend = dead_backend().await;
    let layer = SessionLayer::new(SessionConfig::new(backend, SECRET));
    layer.clear_expired().await.unwrap();
    let client = client(layer);

    for uri in ["/read", "/write/alice", "/flush", "/cycle"] {
        let response = get_with_cookie(&client, uri, &signed_pair(&a_key())).await;
        assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE, "{uri}");
        assert!(response.header("retry-after").is_some(), "{uri}");
        assert_eq!(set_cookie(&response), None, "{uri}");
    }

    let response = client.get("/read").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.text(), "anonymous");
    assert_eq!(set_cookie(&response), None);

    let response = client.get("/write/alice").await;
    assert_eq!(
        response.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "the save fails closed"
    );
    assert_eq!(set_cookie(&response), None);
}
