//! Tests of the low-level cache API on every backend, modelled on Django's `tests/cache/tests.py`.
//!
//! The same test bodies run on the local and the Redis backend (modules `local` and `redis`);
//! the dummy backend has its own (Django's `DummyCacheTests`). Redis tests use their own key
//! prefix on the shared Redis; the outage tests start a private `redis-server` on a free port
//! and stop only that one.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use herd_cache::dummy::DummyBackend;
use herd_cache::local::LocalBackend;
use herd_cache::{Cache, CacheMetrics, Caches, RedisBackend, Timeout};
use herd_test_support::TestRedis;
use herd_test_support::eventually;
use serde::{Deserialize, Serialize};

/// A cache under test, with what is needed to look behind it.
struct Fixture {
    cache: Cache,
    local: Option<LocalBackend>,
    redis: Option<TestRedis>,
}

impl Fixture {
    fn local() -> Self {
        let backend = LocalBackend::new(64 * 1024 * 1024);
        let cache = Cache::builder(Arc::new(backend.clone())).build();
        Self {
            cache,
            local: Some(backend),
            redis: None,
        }
    }

    async fn redis() -> Self {
        let redis = TestRedis::new().await;
        let cache = redis_cache(
            redis.url(),
            &format!("{}cache", redis.prefix()),
            Duration::from_mins(5),
        );
        Self {
            cache,
            local: None,
            redis: Some(redis),
        }
    }

    /// Another cache over the same store with another key prefix and default timeout.
    fn sibling(&self, prefix: &str, default_timeout: Duration) -> Cache {
        match (&self.local, &self.redis) {
            (Some(local), _) => Cache::builder(Arc::new(local.clone()))
                .key_prefix(prefix)
                .default_timeout(default_timeout)
                .build(),
            (None, Some(redis)) => redis_cache(
                redis.url(),
                &format!("{}{prefix}", redis.prefix()),
                default_timeout,
            ),
            (None, None) => unreachable!("every fixture has a store"),
        }
    }

    /// The remaining time to live of `key` in milliseconds as Redis reports it (`-1` = none,
    /// `-2` = no key); `None` for the local backend, which does not say.
    async fn pttl(&self, key: &str) -> Option<i64> {
        let redis = self.redis.as_ref()?;
        let mut connection = redis.connection().await;
        Some(
            redis::cmd("PTTL")
                .arg(self.cache.make_key(key))
                .query_async(&mut connection)
                .await
                .unwrap(),
        )
    }
}

fn redis_cache(url: &str, prefix: &str, default_timeout: Duration) -> Cache {
    let metrics = Arc::new(CacheMetrics::default());
    let backend = RedisBackend::builder(url)
        .key_prefix(prefix)
        .metrics(Arc::clone(&metrics))
        .build()
        .unwrap();
    Cache::builder(Arc::new(backend))
        .key_prefix(prefix)
        .metrics(metrics)
        .default_timeout(default_timeout)
        .build()
}

macro_rules! every_backend {
    ($($name:ident),* $(,)?) => {
        mod local_backend {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&super::Fixture::local()).await;
                }
            )*
        }

        mod redis_backend {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(&super::Fixture::redis().await).await;
                }
            )*
        }
    };
}

every_backend!(
    get_returns_what_set_stored,
    add_stores_only_when_absent,
    delete_reports_whether_a_value_was_removed,
    has_key_sees_stored_values_even_null,
    get_many_returns_the_present_keys_by_caller_key,
    set_many_stores_every_entry,
    delete_many_removes_only_the_named_keys,
    clear_removes_every_key,
    incr_and_decr_count_and_refuse_missing_keys,
    incr_of_a_non_integer_is_an_error,
    incr_keeps_the_expiry,
    timeout_never_keeps_the_value,
    timeout_zero_stores_nothing_and_deletes,
    default_timeout_applies_to_timeout_default,
    short_timeouts_expire,
    touch_changes_the_expiry,
    versions_keep_keys_apart,
    incr_version_moves_the_value,
    prefixes_keep_keys_apart,
    unicode_keys_and_values_round_trip,
    binary_values_round_trip,
    large_values_round_trip,
    data_types_round_trip,
    get_or_set_stores_the_default_only_when_missing,
    long_and_spaced_keys_warn_but_work,
);

async fn get_returns_what_set_stored(f: &Fixture) {
    let cache = &f.cache;
    cache.set("key", "value", Timeout::Default).await;
    assert_eq!(cache.get::<String>("key").await.as_deref(), Some("value"));
    assert_eq!(cache.get::<String>("does-not-exist").await, None);
    cache.set("key", "replaced", Timeout::Default).await;
    assert_eq!(
        cache.get::<String>("key").await.as_deref(),
        Some("replaced")
    );
    let metrics = cache.metrics().snapshot();
    assert_eq!(
        (metrics.hits, metrics.misses, metrics.sets, metrics.errors),
        (2, 1, 2, 0)
    );
}

async fn add_stores_only_when_absent(f: &Fixture) {
    let cache = &f.cache;
    assert!(cache.add("addkey1", "value", Timeout::Default).await);
    assert!(!cache.add("addkey1", "newvalue", Timeout::Default).await);
    assert_eq!(
        cache.get::<String>("addkey1").await.as_deref(),
        Some("value")
    );
    assert_eq!(
        cache.metrics().snapshot().sets,
        1,
        "the refused add stored nothing"
    );
}

async fn delete_reports_whether_a_value_was_removed(f: &Fixture) {
    let cache = &f.cache;
    cache.set("key1", "spam", Timeout::Default).await;
    cache.set("key2", "eggs", Timeout::Default).await;
    assert!(cache.delete("key1").await);
    assert_eq!(cache.get::<String>("key1").await, None);
    assert_eq!(cache.get::<String>("key2").await.as_deref(), Some("eggs"));
    assert!(
        !cache.delete("key1").await,
        "deleting a missing key reports false"
    );
    assert!(!cache.delete("nonexistent_key").await);
}

async fn has_key_sees_stored_values_even_null(f: &Fixture) {
    let cache = &f.cache;
    cache.set("hello1", "goodbye1", Timeout::Default).await;
    assert!(cache.has_key("hello1").await);
    assert!(!cache.has_key("goodbye1").await);
    // Django: a stored None is a value (`has_key` true; `get` gives it back).
    cache.set("no_value", &None::<i32>, Timeout::Default).await;
    assert!(cache.has_key("no_value").await);
    assert_eq!(cache.get::<Option<i32>>("no_value").await, Some(None));
}

async fn get_many_returns_the_present_keys_by_caller_key(f: &Fixture) {
    let cache = &f.cache;
    cache.set("a", "a", Timeout::Default).await;
    cache.set("b", "b", Timeout::Default).await;
    cache.set("c", "c", Timeout::Default).await;
    cache.set("d", "d", Timeout::Default).await;
    let found: HashMap<String, String> = cache.get_many(&["a", "c", "d"]).await;
    assert_eq!(
        found,
        HashMap::from([
            ("a".into(), "a".into()),
            ("c".into(), "c".into()),
            ("d".into(), "d".into())
        ])
    );
    let found: HashMap<String, String> = cache.get_many(&["a", "b", "e"]).await;
    assert_eq!(
        found,
        HashMap::from([("a".into(), "a".into()), ("b".into(), "b".into())])
    );
    assert!(cache.get_many::<String>(&[]).await.is_empty());
    let metrics = cache.metrics().snapshot();
    assert_eq!((metrics.hits, metrics.misses), (5, 1));
}

async fn set_many_stores_every_entry(f: &Fixture) {
    let cache = &f.cache;
    cache
        .set_many(&[("key1", "spam"), ("key2", "eggs")], Timeout::Default)
        .await;
    assert_eq!(cache.get::<String>("key1").await.as_deref(), Some("spam"));
    assert_eq!(cache.get::<String>("key2").await.as_deref(), Some("eggs"));
    assert_eq!(cache.metrics().snapshot().sets, 2);
    cache
        .set_many(&[("key3", 3), ("key4", 4)], Timeout::Seconds(60))
        .await;
    if let Some(ttl) = f.pttl("key3").await {
        assert!(
            (1..=60_000).contains(&ttl),
            "set_many with a timeout sets a TTL on each key: {ttl}"
        );
        assert!((1..=60_000).contains(&f.pttl("key4").await.unwrap()));
        let ttl = f.pttl("key1").await.unwrap();
        assert!(
            (290_000..=300_000).contains(&ttl),
            "the default timeout: {ttl}"
        );
    }
    cache
        .set_many(&[("key5", 5), ("key6", 6)], Timeout::Never)
        .await;
    assert_eq!(cache.get::<i32>("key6").await, Some(6));
    if let Some(ttl) = f.pttl("key5").await {
        assert_eq!(ttl, -1, "set_many with Never leaves no TTL");
    }
    cache.set_many::<i32>(&[], Timeout::Default).await;
}

async fn delete_many_removes_only_the_named_keys(f: &Fixture) {
    let cache = &f.cache;
    cache
        .set_many(
            &[("key1", "spam"), ("key2", "eggs"), ("key3", "ham")],
            Timeout::Default,
        )
        .await;
    cache.delete_many(&["key1", "key2", "never-set"]).await;
    assert_eq!(cache.get::<String>("key1").await, None);
    assert_eq!(cache.get::<String>("key2").await, None);
    assert_eq!(cache.get::<String>("key3").await.as_deref(), Some("ham"));
    cache.delete_many(&[]).await;
}

async fn clear_removes_every_key(f: &Fixture) {
    let cache = &f.cache;
    cache
        .set_many(&[("key1", "spam"), ("key2", "eggs")], Timeout::Default)
        .await;
    cache
        .with_version(2)
        .set("key3", "ham", Timeout::Never)
        .await;
    cache.clear().await;
    if let Some(local) = &f.local {
        local.run_pending_tasks().await;
    }
    assert_eq!(cache.get::<String>("key1").await, None);
    assert_eq!(cache.get::<String>("key2").await, None);
    assert_eq!(
        cache.with_version(2).get::<String>("key3").await,
        None,
        "clear spans versions"
    );
}

async fn incr_and_decr_count_and_refuse_missing_keys(f: &Fixture) {
    let cache = &f.cache;
    cache.set("answer", &41, Timeout::Default).await;
    assert_eq!(cache.incr("answer", 1).await.unwrap(), 42);
    assert_eq!(cache.get::<i64>("answer").await, Some(42));
    assert_eq!(cache.incr("answer", 10).await.unwrap(), 52);
    assert_eq!(cache.incr("answer", -10).await.unwrap(), 42);
    assert_eq!(cache.decr("answer", 1).await.unwrap(), 41);
    assert_eq!(cache.decr("answer", 10).await.unwrap(), 31);
    assert_eq!(cache.decr("answer", -10).await.unwrap(), 41);
    let err = cache.incr("does_not_exist", 1).await.unwrap_err();
    assert!(err.is_key_not_found(), "{err}");
    let err = cache.decr("does_not_exist", 1).await.unwrap_err();
    assert!(err.is_key_not_found(), "{err}");
    assert!(
        !cache.has_key("does_not_exist").await,
        "incr must not create the key"
    );
    assert_eq!(
        cache.metrics().snapshot().errors,
        0,
        "a missing key is not a backend failure"
    );
}

async fn incr_of_a_non_integer_is_an_error(f: &Fixture) {
    let cache = &f.cache;
    cache.set("word", "hello", Timeout::Default).await;
    let err = cache.incr("word", 1).await.unwrap_err();
    assert!(err.is_not_an_integer(), "{err}");
    assert_eq!(cache.get::<String>("word").await.as_deref(), Some("hello"));
}

async fn incr_keeps_the_expiry(f: &Fixture) {
    let cache = &f.cache;
    cache.set("counter", &1, Timeout::Seconds(100)).await;
    assert_eq!(cache.incr("counter", 5).await.unwrap(), 6);
    if let Some(ttl) = f.pttl("counter").await {
        assert!((1..=100_000).contains(&ttl), "INCRBY keeps the TTL: {ttl}");
    }
    cache.set("short", &1, Timeout::Seconds(1)).await;
    assert_eq!(cache.incr("short", 1).await.unwrap(), 2);
    eventually(
        Duration::from_secs(4),
        "an incremented key still expires",
        || async { cache.get::<i64>("short").await.is_none() },
    )
    .await;
}

async fn timeout_never_keeps_the_value(f: &Fixture) {
    let cache = &f.cache;
    cache.set("key1", "eggs", Timeout::Never).await;
    assert_eq!(cache.get::<String>("key1").await.as_deref(), Some("eggs"));
    assert!(cache.add("key2", "ham", Timeout::Never).await);
    assert_eq!(cache.get::<String>("key2").await.as_deref(), Some("ham"));
    assert!(!cache.add("key1", "new eggs", Timeout::Never).await);
    cache.set("key3", "spam", Timeout::Seconds(100)).await;
    cache.set("key3", "spam", Timeout::Never).await;
    if let Some(ttl) = f.pttl("key1").await {
        assert_eq!(ttl, -1);
        assert_eq!(f.pttl("key2").await, Some(-1));
        assert_eq!(
            f.pttl("key3").await,
            Some(-1),
            "setting with Never drops an earlier TTL"
        );
    }
}

async fn timeout_zero_stores_nothing_and_deletes(f: &Fixture) {
    let cache = &f.cache;
    cache.set("key1", "eggs", Timeout::Seconds(0)).await;
    assert_eq!(cache.get::<String>("key1").await, None);
    assert!(
        cache.add("key2", "ham", Timeout::Seconds(0)).await,
        "the key was free"
    );
    assert_eq!(cache.get::<String>("key2").await, None);
    cache
        .set_many(
            &[("key3", "sausage"), ("key4", "lobster bisque")],
            Timeout::Seconds(0),
        )
        .await;
    assert_eq!(cache.get::<String>("key3").await, None);
    assert_eq!(cache.get::<String>("key4").await, None);

    cache.set("key5", "belgian fries", Timeout::Default).await;
    cache.set("key5", "replaced", Timeout::Seconds(0)).await;
    assert_eq!(
        cache.get::<String>("key5").await,
        None,
        "a zero timeout deletes the value already there"
    );
    cache
        .set_many(&[("key6", 6), ("key7", 7)], Timeout::Default)
        .await;
    cache
        .set_many(&[("key6", 60), ("key7", 70)], Timeout::Seconds(0))
        .await;
    assert!(!cache.has_key("key6").await && !cache.has_key("key7").await);
    cache.set("key8", "chips", Timeout::Default).await;
    assert!(
        !cache.add("key8", "other", Timeout::Seconds(0)).await,
        "add with 0 on a present key is false"
    );
    assert_eq!(
        cache.get::<String>("key8").await.as_deref(),
        Some("chips"),
        "and leaves it alone"
    );
    assert!(cache.touch("key8", Timeout::Seconds(0)).await);
    assert!(!cache.has_key("key8").await, "touch with 0 deletes");
}

async fn default_timeout_applies_to_timeout_default(f: &Fixture) {
    let cache = &f.cache;
    cache.set("key", "value", Timeout::Default).await;
    if let Some(ttl) = f.pttl("key").await {
        assert!(
            (290_000..=300_000).contains(&ttl),
            "the 300 s default: {ttl}"
        );
    }
    let hour = f.sibling("hour", Duration::from_hours(1));
    hour.set("key", "value", Timeout::Default).await;
    assert_eq!(hour.get::<String>("key").await.as_deref(), Some("value"));
    let zero = f.sibling("zero", Duration::ZERO);
    zero.set("key", "value", Timeout::Default).await;
    assert_eq!(
        zero.get::<String>("key").await,
        None,
        "a default timeout of 0 stores nothing"
    );
    zero.set("key", "value", Timeout::Seconds(60)).await;
    assert_eq!(
        zero.get::<String>("key").await.as_deref(),
        Some("value"),
        "an explicit timeout still stores"
    );
    if let Some(redis) = &f.redis {
        let mut connection = redis.connection().await;
        let ttl: i64 = redis::cmd("PTTL")
            .arg(hour.make_key("key"))
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!(
            (3_590_000..=3_600_000).contains(&ttl),
            "the cache's own default: {ttl}"
        );
    }
}

async fn short_timeouts_expire(f: &Fixture) {
    let cache = &f.cache;
    cache
        .set("expire1", "very quickly", Timeout::Seconds(1))
        .await;
    cache
        .set("expire2", "very quickly", Timeout::Seconds(1))
        .await;
    assert!(
        cache
            .add("expire3", "very quickly", Timeout::Seconds(1))
            .await
    );
    if let Some(ttl) = f.pttl("expire1").await {
        assert!((1..=1000).contains(&ttl), "{ttl}");
    }
    eventually(
        Duration::from_secs(4),
        "one-second entries expire",
        || async {
            !cache.has_key("expire1").await
                && !cache.has_key("expire2").await
                && !cache.has_key("expire3").await
        },
    )
    .await;
    assert_eq!(cache.get::<String>("expire1").await, None);
    assert!(
        cache.add("expire3", "newvalue", Timeout::Default).await,
        "an expired key is free again"
    );
    assert_eq!(
        cache.get::<String>("expire3").await.as_deref(),
        Some("newvalue")
    );
}

async fn touch_changes_the_expiry(f: &Fixture) {
    let cache = &f.cache;
    cache
        .set("expire1", "very quickly", Timeout::Seconds(1))
        .await;
    assert!(cache.touch("expire1", Timeout::Seconds(60)).await);
    cache
        .set("expire2", "very quickly", Timeout::Seconds(1))
        .await;
    assert!(cache.touch("expire2", Timeout::Never).await);
    cache.set("expire3", "persistent", Timeout::Never).await;
    assert!(
        cache.touch("expire3", Timeout::Never).await,
        "touching a key without a TTL reports it existed"
    );
    assert!(!cache.touch("nonexistent", Timeout::Default).await);
    assert!(!cache.touch("nonexistent", Timeout::Never).await);
    if let Some(ttl) = f.pttl("expire1").await {
        assert!(
            (1_001..=60_000).contains(&ttl),
            "PEXPIRE set the new TTL: {ttl}"
        );
        assert_eq!(f.pttl("expire2").await, Some(-1), "PERSIST removed the TTL");
        assert_eq!(f.pttl("expire3").await, Some(-1));
    } else {
        // The local backend does not report TTLs: outlive the old one-second timeout.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    assert_eq!(
        cache.get::<String>("expire1").await.as_deref(),
        Some("very quickly")
    );
    assert_eq!(
        cache.get::<String>("expire2").await.as_deref(),
        Some("very quickly")
    );
    assert!(
        !cache.has_key("nonexistent").await,
        "touch does not create keys"
    );
}

async fn versions_keep_keys_apart(f: &Fixture) {
    let cache = &f.cache;
    let v2 = cache.with_version(2);
    assert_eq!(
        cache.make_key("answer"),
        format!("{}:1:answer", cache.key_prefix())
    );
    assert_eq!(
        v2.make_key("answer"),
        format!("{}:2:answer", cache.key_prefix())
    );

    cache.set("answer1", &42, Timeout::Default).await;
    assert_eq!(cache.get::<i32>("answer1").await, Some(42));
    assert_eq!(v2.get::<i32>("answer1").await, None);
    assert!(!v2.has_key("answer1").await);
    v2.set("answer2", &42, Timeout::Default).await;
    assert_eq!(cache.get::<i32>("answer2").await, None);
    assert_eq!(v2.get::<i32>("answer2").await, Some(42));

    cache.set("answer3", &37, Timeout::Default).await;
    v2.set("answer3", &42, Timeout::Default).await;
    assert_eq!(
        cache.get_many::<i32>(&["answer3"]).await.get("answer3"),
        Some(&37)
    );
    assert_eq!(
        v2.get_many::<i32>(&["answer3"]).await.get("answer3"),
        Some(&42)
    );
    assert!(v2.delete("answer3").await);
    assert_eq!(
        cache.get::<i32>("answer3").await,
        Some(37),
        "deleting version 2 leaves version 1"
    );
    assert!(!cache.add("answer3", &1, Timeout::Default).await);
    assert!(v2.add("answer3", &2, Timeout::Default).await);
    assert_eq!(v2.incr("answer3", 1).await.unwrap(), 3);
    assert_eq!(cache.get::<i32>("answer3").await, Some(37));
}

async fn incr_version_moves_the_value(f: &Fixture) {
    let cache = &f.cache;
    cache.set("answer", &42, Timeout::Default).await;
    assert_eq!(cache.incr_version("answer", 1).await.unwrap(), 2);
    assert_eq!(cache.get::<i32>("answer").await, None);
    assert_eq!(cache.with_version(2).get::<i32>("answer").await, Some(42));
    assert_eq!(
        cache
            .with_version(2)
            .decr_version("answer", 1)
            .await
            .unwrap(),
        1
    );
    assert_eq!(cache.get::<i32>("answer").await, Some(42));
    assert!(
        cache
            .incr_version("does_not_exist", 1)
            .await
            .unwrap_err()
            .is_key_not_found()
    );
}

async fn prefixes_keep_keys_apart(f: &Fixture) {
    let cache = &f.cache;
    let other = f.sibling("other", Duration::from_mins(5));
    assert_ne!(cache.make_key("somekey"), other.make_key("somekey"));
    cache.set("somekey", "value", Timeout::Default).await;
    assert!(!other.has_key("somekey").await);
    assert_eq!(other.get::<String>("somekey").await, None);
    other.set("somekey", "other value", Timeout::Default).await;
    assert_eq!(
        cache.get::<String>("somekey").await.as_deref(),
        Some("value")
    );
    assert!(other.delete("somekey").await);
    assert_eq!(
        cache.get::<String>("somekey").await.as_deref(),
        Some("value")
    );
}

async fn unicode_keys_and_values_round_trip(f: &Fixture) {
    let cache = &f.cache;
    let stuff = [
        ("ascii", serde_json::json!("ascii_value")),
        ("unicode_ascii", serde_json::json!("Iñtërnâtiônàlizætiøn1")),
        (
            "Iñtërnâtiônàlizætiøn",
            serde_json::json!("Iñtërnâtiônàlizætiøn2"),
        ),
        ("ascii2", serde_json::json!({"x": 1})),
        ("日本語のキー", serde_json::json!("値 🎉")),
    ];
    for (key, value) in &stuff {
        cache.set(key, value, Timeout::Default).await;
        assert_eq!(
            cache.get::<serde_json::Value>(key).await.as_ref(),
            Some(value),
            "{key}"
        );
    }
    for (key, _) in &stuff {
        assert!(cache.delete(key).await);
        assert_eq!(cache.get::<serde_json::Value>(key).await, None);
    }
    for (key, value) in &stuff {
        assert!(cache.add(key, value, Timeout::Default).await);
        assert_eq!(
            cache.get::<serde_json::Value>(key).await.as_ref(),
            Some(value)
        );
    }
    cache
        .delete_many(&stuff.iter().map(|(key, _)| *key).collect::<Vec<_>>())
        .await;
    cache.set_many(&stuff, Timeout::Default).await;
    let keys: Vec<&str> = stuff.iter().map(|(key, _)| *key).collect();
    let found = cache.get_many::<serde_json::Value>(&keys).await;
    assert_eq!(found.len(), stuff.len());
    for (key, value) in &stuff {
        assert_eq!(found.get(*key), Some(value));
    }
}

async fn binary_values_round_trip(f: &Fixture) {
    let cache = &f.cache;
    let every_byte: Vec<u8> = (0..=255).cycle().take(4096).collect();
    cache
        .set_bytes("binary1", Bytes::from(every_byte.clone()), Timeout::Default)
        .await;
    assert_eq!(
        cache.get_bytes("binary1").await.as_deref(),
        Some(every_byte.as_slice())
    );
    assert_eq!(
        cache.get::<String>("binary1").await,
        None,
        "bytes that are not JSON read as a miss"
    );
    cache.set("binary2", &every_byte, Timeout::Default).await;
    assert_eq!(
        cache.get::<Vec<u8>>("binary2").await,
        Some(every_byte.clone())
    );
    cache
        .set_bytes("empty", Bytes::new(), Timeout::Default)
        .await;
    assert_eq!(
        cache.get_bytes("empty").await,
        Some(Bytes::new()),
        "an empty value is a value"
    );
    assert!(cache.has_key("empty").await);
}

async fn large_values_round_trip(f: &Fixture) {
    let cache = &f.cache;
    let text: String = "0123456789abcdef".repeat(64 * 1024);
    cache.set("large_text", &text, Timeout::Default).await;
    assert_eq!(
        cache
            .get::<String>("large_text")
            .await
            .map(|value| value.len()),
        Some(text.len())
    );
    let blob = Bytes::from(vec![7u8; 3 * 1024 * 1024]);
    cache
        .set_bytes("large_blob", blob.clone(), Timeout::Default)
        .await;
    assert_eq!(cache.get_bytes("large_blob").await, Some(blob));
    let many: Vec<(String, String)> = (0..200)
        .map(|i| (format!("bulk{i}"), format!("value {i}")))
        .collect();
    let entries: Vec<(&str, &str)> = many
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .collect();
    cache.set_many(&entries, Timeout::Default).await;
    let keys: Vec<&str> = many.iter().map(|(key, _)| key.as_str()).collect();
    assert_eq!(cache.get_many::<String>(&keys).await.len(), 200);
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Employee {
    name: String,
    address: Option<String>,
    year: u16,
    tags: Vec<String>,
}

async fn data_types_round_trip(f: &Fixture) {
    let cache = &f.cache;
    cache
        .set("string", "this is a string", Timeout::Default)
        .await;
    cache.set("int", &42_i64, Timeout::Default).await;
    cache.set("float", &1.5_f64, Timeout::Default).await;
    cache.set("bool", &true, Timeout::Default).await;
    cache.set("list", &[1, 2, 3, 4], Timeout::Default).await;
    cache.set("tuple", &(1, "two", 3.0), Timeout::Default).await;
    cache
        .set(
            "dict",
            &HashMap::from([("A", 1), ("B", 2)]),
            Timeout::Default,
        )
        .await;
    let employee = Employee {
        name: "O'Brien & <Sons>".into(),
        address: None,
        year: 2001,
        tags: vec!["a".into()],
    };
    cache.set("struct", &employee, Timeout::Default).await;
    assert_eq!(
        cache.get::<String>("string").await.as_deref(),
        Some("this is a string")
    );
    assert_eq!(cache.get::<i64>("int").await, Some(42));
    assert_eq!(cache.get::<f64>("float").await, Some(1.5));
    assert_eq!(cache.get::<bool>("bool").await, Some(true));
    assert_eq!(cache.get::<Vec<i32>>("list").await, Some(vec![1, 2, 3, 4]));
    assert_eq!(
        cache.get::<(i32, String, f64)>("tuple").await,
        Some((1, "two".into(), 3.0))
    );
    assert_eq!(
        cache.get::<HashMap<String, i32>>("dict").await,
        Some(HashMap::from([("A".into(), 1), ("B".into(), 2)]))
    );
    assert_eq!(cache.get::<Employee>("struct").await, Some(employee));
    assert_eq!(
        cache.get::<Employee>("string").await,
        None,
        "the wrong type reads as a miss"
    );
}

async fn get_or_set_stores_the_default_only_when_missing(f: &Fixture) {
    let cache = &f.cache;
    assert_eq!(cache.get::<i32>("projector").await, None);
    assert_eq!(
        cache.get_or_set("projector", Timeout::Default, || 42).await,
        42
    );
    assert_eq!(cache.get::<i32>("projector").await, Some(42));
    let mut called = false;
    let value = cache
        .get_or_set("projector", Timeout::Default, || {
            called = true;
            24
        })
        .await;
    assert_eq!(value, 42);
    assert!(!called, "the default is not computed on a hit");
    assert_eq!(
        cache
            .get_or_set("null", Timeout::Default, || None::<i32>)
            .await,
        None
    );
    assert!(
        cache.has_key("null").await,
        "a None default is stored, as in Django"
    );
    assert_eq!(cache.get_or_set("zero", Timeout::Seconds(0), || 7).await, 7);
    assert!(!cache.has_key("zero").await);
}

/// Collects what `tracing` writes while it is this thread's subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

async fn long_and_spaced_keys_warn_but_work(f: &Fixture) {
    let cache = &f.cache;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let long_key = "a".repeat(251);
    cache.set(&long_key, "value", Timeout::Default).await;
    assert_eq!(
        cache.get::<String>(&long_key).await.as_deref(),
        Some("value")
    );
    let text = captured.text();
    assert!(
        text.contains("Cache key will cause errors if used with memcached"),
        "{text}"
    );
    assert!(text.contains("(longer than 250)"), "{text}");

    let spaced = "key with spaces and\ttab";
    cache.set(spaced, "value", Timeout::Default).await;
    assert_eq!(cache.get::<String>(spaced).await.as_deref(), Some("value"));
    assert!(cache.delete(spaced).await);
    let text = captured.text();
    assert!(
        text.contains(
            "Cache key contains characters that will cause errors if used with memcached"
        ),
        "{text}"
    );

    let before = captured.text().len();
    cache.set("fine_key", "value", Timeout::Default).await;
    assert_eq!(
        captured.text().len(),
        before,
        "a valid key warns about nothing"
    );
}

// === dummy backend (Django's DummyCacheTests) ===

fn dummy() -> Cache {
    Cache::builder(Arc::new(DummyBackend)).build()
}

#[tokio::test]
async fn dummy_stores_nothing() {
    let cache = dummy();
    cache.set("key", "value", Timeout::Default).await;
    assert_eq!(cache.get::<String>("key").await, None);
    assert!(
        cache.add("addkey1", "value", Timeout::Default).await,
        "add reports success as Django's"
    );
    assert!(cache.add("addkey1", "newvalue", Timeout::Default).await);
    assert_eq!(cache.get::<String>("addkey1").await, None);
    cache
        .set_many(&[("a", 1), ("b", 2)], Timeout::Default)
        .await;
    assert!(cache.get_many::<i32>(&["a", "b"]).await.is_empty());
    assert!(!cache.has_key("a").await);
    assert!(!cache.delete("a").await);
    cache.delete_many(&["a", "b"]).await;
    assert!(!cache.touch("a", Timeout::Never).await);
    cache.clear().await;
    assert_eq!(cache.metrics().snapshot().errors, 0);
}

#[tokio::test]
async fn dummy_incr_and_decr_refuse_every_key() {
    let cache = dummy();
    cache.set("answer", &42, Timeout::Default).await;
    assert!(
        cache
            .incr("answer", 1)
            .await
            .unwrap_err()
            .is_key_not_found()
    );
    assert!(
        cache
            .decr("answer", 1)
            .await
            .unwrap_err()
            .is_key_not_found()
    );
    assert!(
        cache
            .incr_version("answer", 1)
            .await
            .unwrap_err()
            .is_key_not_found()
    );
}

#[tokio::test]
async fn dummy_get_or_set_returns_the_default() {
    let cache = dummy();
    assert_eq!(
        cache
            .get_or_set("mykey", Timeout::Default, || "default".to_owned())
            .await,
        "default"
    );
    assert_eq!(
        cache
            .get_or_set("mykey", Timeout::Default, || "other".to_owned())
            .await,
        "other"
    );
}

// === Redis only ===

#[tokio::test]
async fn redis_clear_deletes_only_keys_under_its_prefix() {
    let f = Fixture::redis().await;
    let redis = f.redis.as_ref().unwrap();
    let other = f.sibling("other", Duration::from_mins(5));
    f.cache.set("key", "value", Timeout::Default).await;
    other.set("key", "value", Timeout::Default).await;
    let mut connection = redis.connection().await;
    let outside = [
        format!("{}session:abc", redis.prefix()),
        format!("{}cachelike:1:key", redis.prefix()),
    ];
    for key in &outside {
        let () = redis::cmd("SET")
            .arg(key)
            .arg("x")
            .query_async(&mut connection)
            .await
            .unwrap();
    }
    // More keys than one SCAN step returns, so clear walks the cursor.
    let many: Vec<(String, i32)> = (0..2500).map(|i| (format!("k{i}"), i)).collect();
    let entries: Vec<(&str, i32)> = many
        .iter()
        .map(|(key, value)| (key.as_str(), *value))
        .collect();
    f.cache.set_many(&entries, Timeout::Default).await;

    f.cache.clear().await;
    assert!(!f.cache.has_key("key").await);
    assert!(!f.cache.has_key("k2499").await);
    let left: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}cache:*", redis.prefix()))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(
        other.get::<String>("key").await.as_deref(),
        Some("value"),
        "another prefix is untouched"
    );
    for key in &outside {
        let exists: bool = redis::cmd("EXISTS")
            .arg(key)
            .query_async(&mut connection)
            .await
            .unwrap();
        assert!(exists, "{key} is outside the cache's prefix");
    }
}

#[tokio::test]
async fn redis_values_are_shared_between_workers() {
    let f = Fixture::redis().await;
    let redis = f.redis.as_ref().unwrap();
    let prefix = format!("{}cache", redis.prefix());
    let backend = RedisBackend::connect(redis.url(), &prefix).await.unwrap();
    assert!(backend.is_up(), "connect waits for a reachable Redis");
    let worker2 = Cache::builder(Arc::new(backend))
        .key_prefix(&prefix)
        .build();
    f.cache
        .set("shared", "from worker 1", Timeout::Default)
        .await;
    assert_eq!(
        worker2.get::<String>("shared").await.as_deref(),
        Some("from worker 1")
    );
    worker2.set("counter", &0, Timeout::Default).await;
    assert_eq!(f.cache.incr("counter", 1).await.unwrap(), 1);
    assert_eq!(worker2.incr("counter", 1).await.unwrap(), 2);
    assert!(
        !worker2
            .add("shared", "from worker 2", Timeout::Default)
            .await
    );
    assert!(worker2.delete("shared").await);
    assert!(!f.cache.has_key("shared").await);
}

#[tokio::test]
async fn redis_records_latency_into_the_cache_metrics() {
    let f = Fixture::redis().await;
    let before = f.cache.metrics().snapshot().redis_calls;
    f.cache.set("key", "value", Timeout::Default).await;
    let _: Option<String> = f.cache.get("key").await;
    let after = f.cache.metrics().snapshot();
    assert!(after.redis_calls >= before + 2, "{after:?}");
    assert!(after.redis_latency_mean().is_some());
}

/// The Redis URL of a port nothing listens on.
const CLOSED: &str = "redis://127.0.0.1:1/0";
/// How long a call may take against an unreachable Redis: the 200 ms call timeout plus
/// scheduling slack on a busy two-core machine.
const CALL_BOUND: Duration = Duration::from_millis(700);

#[tokio::test]
async fn unreachable_redis_answers_misses_within_the_timeout() {
    let metrics = Arc::new(CacheMetrics::default());
    let backend = RedisBackend::builder(CLOSED)
        .metrics(Arc::clone(&metrics))
        .breaker(1000, Duration::from_secs(5))
        .build()
        .unwrap();
    let cache = Cache::builder(Arc::new(backend.clone()))
        .metrics(metrics)
        .build();

    macro_rules! bounded {
        ($call:expr) => {{
            let started = Instant::now();
            let answer = $call.await;
            assert!(
                started.elapsed() < CALL_BOUND,
                "{} took {:?}",
                stringify!($call),
                started.elapsed()
            );
            answer
        }};
    }
    assert_eq!(bounded!(cache.get::<String>("key")), None);
    assert_eq!(bounded!(cache.get_bytes("key")), None);
    bounded!(cache.set("key", "value", Timeout::Default));
    assert!(!bounded!(cache.add("key", "value", Timeout::Default)));
    assert!(bounded!(cache.get_many::<String>(&["a", "b"])).is_empty());
    bounded!(cache.set_many(&[("a", 1), ("b", 2)], Timeout::Seconds(10)));
    bounded!(cache.set_many(&[("a", 1), ("b", 2)], Timeout::Never));
    assert!(!bounded!(cache.delete("key")));
    bounded!(cache.delete_many(&["a", "b"]));
    assert!(bounded!(cache.incr("key", 1)).unwrap_err().is_unavailable());
    assert!(bounded!(cache.decr("key", 1)).unwrap_err().is_unavailable());
    assert!(!bounded!(cache.touch("key", Timeout::Default)));
    assert!(!bounded!(cache.touch("key", Timeout::Never)));
    assert!(!bounded!(cache.has_key("key")));
    bounded!(cache.clear());
    assert_eq!(bounded!(cache.get_or_set("key", Timeout::Default, || 5)), 5);

    let snapshot = cache.metrics().snapshot();
    // One failed backend call each, and three for get_or_set (get, add, get).
    assert_eq!(snapshot.errors, 18, "{snapshot:?}");
    assert_eq!((snapshot.hits, snapshot.misses, snapshot.sets), (0, 0, 0));
    assert_eq!(
        snapshot.redis_skipped, 0,
        "the breaker was set not to open here"
    );
}

#[tokio::test]
async fn breaker_skips_redis_after_five_failures_in_a_row() {
    let metrics = Arc::new(CacheMetrics::default());
    let backend = RedisBackend::builder(CLOSED)
        .metrics(Arc::clone(&metrics))
        .build()
        .unwrap();
    let cache = Cache::builder(Arc::new(backend.clone()))
        .metrics(Arc::clone(&metrics))
        .build();
    // The background connection attempt may count as the first failure; drive it to five.
    eventually(Duration::from_secs(5), "the breaker opens", || async {
        let _: Option<String> = cache.get("key").await;
        metrics.redis_skipped.get() > 0
    })
    .await;
    assert!(!backend.is_up());
    let calls = metrics.redis_calls.get();
    // Five failures open it; the background connection attempt may have been in flight then.
    assert!(
        (5..=6).contains(&calls),
        "calls that reached for Redis before the breaker opened: {calls}"
    );
    for _ in 0..50 {
        let started = Instant::now();
        assert_eq!(cache.get::<String>("key").await, None);
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "a skipped call answers at once"
        );
    }
    assert_eq!(
        metrics.redis_calls.get(),
        calls,
        "an open breaker does not touch Redis"
    );
    assert!(metrics.redis_skipped.get() >= 50);
    assert!(metrics.errors.get() >= 55, "skipped calls count as errors");
}

#[tokio::test]
async fn caches_start_while_redis_is_down() {
    let started = Instant::now();
    let settings = settings(&[("HERD_CACHE__BACKEND", "redis"), ("HERD_REDIS_URL", CLOSED)]);
    let caches = Caches::from_settings(&settings).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "start-up does not wait for Redis"
    );
    assert_eq!(caches.default().backend().name(), "redis");
    assert_eq!(caches.default().get::<String>("key").await, None);
}

/// A `redis-server` this test started on a free port, stopped (only it) when dropped.
struct PrivateRedis {
    port: u16,
    child: Option<tokio::process::Child>,
}

impl PrivateRedis {
    async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port).await
    }

    async fn start_on(port: u16) -> Self {
        let child = tokio::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server is installed (make test installs it)");
        let this = Self {
            port,
            child: Some(child),
        };
        let url = this.url();
        eventually(
            Duration::from_secs(5),
            "the private redis-server answers",
            || {
                let url = url.clone();
                async move {
                    let Ok(client) = redis::Client::open(url.as_str()) else {
                        return false;
                    };
                    let Ok(mut connection) = client.get_multiplexed_async_connection().await else {
                        return false;
                    };
                    redis::cmd("PING")
                        .query_async::<String>(&mut connection)
                        .await
                        .is_ok()
                }
            },
        )
        .await;
        this
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .and_then(tokio::process::Child::id)
            .unwrap()
    }

    async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// `SHUTDOWN NOSAVE`, then waits for the process to exit.
    async fn shutdown(&mut self) {
        let mut connection = self.connection().await;
        let _: Result<(), _> = redis::cmd("SHUTDOWN")
            .arg("NOSAVE")
            .query_async(&mut connection)
            .await;
        let mut child = self.child.take().unwrap();
        tokio::time::timeout(Duration::from_secs(5), child.wait())
            .await
            .unwrap()
            .unwrap();
    }

    fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            // Resume it first in case a test stopped it, so that the kill is acted on.
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .arg("-CONT")
                    .arg(pid.to_string())
                    .status();
            }
            let _ = child.start_kill();
        }
    }
}

#[tokio::test]
async fn redis_that_comes_back_is_used_again() {
    let mut server = PrivateRedis::start().await;
    let metrics = Arc::new(CacheMetrics::default());
    let backend = RedisBackend::builder(&server.url())
        .metrics(Arc::clone(&metrics))
        .build()
        .unwrap();
    let cache = Cache::builder(Arc::new(backend.clone()))
        .metrics(Arc::clone(&metrics))
        .build();
    cache.set("before", "stored", Timeout::Default).await;
    assert_eq!(
        cache.get::<String>("before").await.as_deref(),
        Some("stored")
    );
    assert!(backend.is_up());

    server.shutdown().await;
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(
            cache.get::<String>("before").await,
            None,
            "a stopped Redis is a miss"
        );
        assert!(started.elapsed() < CALL_BOUND, "{:?}", started.elapsed());
    }
    assert!(!backend.is_up(), "five failures in a row open the breaker");
    assert!(metrics.errors.get() >= 5);

    let server = PrivateRedis::start_on(server.port).await;
    let restarted = Instant::now();
    cache.set("skipped", "not stored", Timeout::Default).await;
    let mut connection = server.connection().await;
    let stored: bool = redis::cmd("EXISTS")
        .arg(cache.make_key("skipped"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(!stored, "while the breaker is open, Redis is not used");
    assert!(metrics.redis_skipped.get() >= 1);

    eventually(
        Duration::from_secs(10),
        "the cache uses Redis again",
        || async {
            cache.set("after", "stored", Timeout::Default).await;
            cache.get::<String>("after").await.as_deref() == Some("stored")
        },
    )
    .await;
    assert!(
        restarted.elapsed() < Duration::from_secs(7),
        "back within the 5 s cooldown: {:?}",
        restarted.elapsed()
    );
    assert!(backend.is_up());
    let stored: Option<String> = redis::cmd("GET")
        .arg(cache.make_key("after"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(
        stored.as_deref(),
        Some("\"stored\""),
        "values are JSON in Redis"
    );
}

#[tokio::test]
async fn hung_redis_answers_misses_within_the_timeout_and_recovers() {
    let server = PrivateRedis::start().await;
    let metrics = Arc::new(CacheMetrics::default());
    let backend = RedisBackend::builder(&server.url())
        .metrics(Arc::clone(&metrics))
        .breaker(2, Duration::from_millis(300))
        .build()
        .unwrap();
    let cache = Cache::builder(Arc::new(backend.clone()))
        .metrics(Arc::clone(&metrics))
        .build();
    cache.set("key", "value", Timeout::Default).await;
    assert_eq!(cache.get::<String>("key").await.as_deref(), Some("value"));

    server.signal("STOP");
    for _ in 0..3 {
        let started = Instant::now();
        assert_eq!(
            cache.get::<String>("key").await,
            None,
            "a hung Redis is a miss"
        );
        assert!(started.elapsed() < CALL_BOUND, "{:?}", started.elapsed());
    }
    assert!(!backend.is_up());
    server.signal("CONT");
    eventually(
        Duration::from_secs(5),
        "the cache reads Redis again",
        || async { cache.get::<String>("key").await.as_deref() == Some("value") },
    )
    .await;
    assert!(backend.is_up());
}

// === the registry ===

fn settings(pairs: &[(&str, &str)]) -> herd_core::Settings {
    let mut env: HashMap<String, String> =
        HashMap::from([("HERD_DEBUG".to_owned(), "true".to_owned())]);
    env.extend(
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned())),
    );
    herd_core::Settings::from_env_map(env).unwrap()
}

#[tokio::test]
async fn caches_build_the_default_cache_from_settings() {
    for (name, backend) in [
        ("dummy", "dummy"),
        ("local", "local"),
        ("redis", "redis"),
        ("two-tier", "two-tier"),
    ] {
        let settings = settings(&[
            ("HERD_CACHE__BACKEND", name),
            ("HERD_CACHE__TIMEOUT", "600"),
        ]);
        let caches = Caches::from_settings(&settings).unwrap();
        let cache = caches.default();
        assert_eq!(cache.backend().name(), backend);
        assert_eq!(cache.default_timeout(), Duration::from_mins(10));
        assert_eq!(cache.make_key("k"), ":1:k");
        assert!(caches.get("default").is_some());
        assert!(caches.get("sessions").is_none());
    }
}

#[tokio::test]
async fn caches_register_named_caches() {
    let mut caches = Caches::new(dummy());
    let local = Cache::builder(Arc::new(LocalBackend::new(1 << 20)))
        .key_prefix("fragments")
        .build();
    caches.insert("fragments", local);
    assert_eq!(caches.get("fragments").unwrap().key_prefix(), "fragments");
    assert_eq!(caches.names(), ["default", "fragments"]);
    caches.insert(
        "default",
        Cache::builder(Arc::new(LocalBackend::new(1 << 20))).build(),
    );
    assert_eq!(caches.default().backend().name(), "local");
    caches.default().set("k", &1, Timeout::Default).await;
    assert_eq!(
        caches.get("default").unwrap().get::<i32>("k").await,
        Some(1)
    );
}

#[tokio::test]
async fn a_bad_redis_url_is_a_configuration_error() {
    let err = RedisBackend::connect("http://not-redis", "")
        .await
        .unwrap_err();
    assert!(err.is_config(), "{err}");
}
