//! Tests of the two-tier backend, invalidation, tags and stampede protection.
//!
//! Two `TwoTierBackend` instances in one process stand for two workers: each has its own L1,
//! subscription and origin id, exactly as two processes would. Redis tests use their own key
//! prefix (and so their own invalidation channel) on the shared Redis; the outage test starts a
//! private `redis-server` on a free port and stops only that one. Waits poll with a deadline.

use std::future::Future;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::join_all;
use herd_cache::local::LocalBackend;
use herd_cache::{Cache, Timeout, TwoTierBackend};
use herd_test_support::TestRedis;
use herd_test_support::eventually;
use tokio::sync::Notify;

const L1_BYTES: u64 = 16 * 1024 * 1024;
/// How fast an invalidation must reach the other worker.
const PROPAGATION: Duration = Duration::from_millis(100);

/// One worker: a cache over its own two-tier backend.
struct Worker {
    cache: Cache,
    backend: TwoTierBackend,
}

impl Worker {
    async fn new(url: &str, prefix: &str) -> Self {
        let backend = TwoTierBackend::connect(url, prefix, L1_BYTES)
            .await
            .unwrap();
        let cache = Cache::builder(Arc::new(backend.clone()))
            .key_prefix(prefix)
            .build();
        Self { cache, backend }
    }

    /// A worker whose subscription is live, so that it hears every later invalidation.
    async fn subscribed(url: &str, prefix: &str) -> Self {
        let worker = Self::new(url, prefix).await;
        worker.wait_for_subscriptions(1).await;
        worker
    }

    /// Waits until the subscription has been established `count` times in all.
    async fn wait_for_subscriptions(&self, count: u64) {
        let mut subscriptions = self.backend.subscriptions();
        tokio::time::timeout(
            Duration::from_secs(5),
            subscriptions.wait_for(|established| *established >= count),
        )
        .await
        .unwrap_or_else(|_| panic!("subscription {count} not established within 5 s"))
        .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_set_or_delete_on_one_worker_reaches_the_others_l1() {
    let redis = TestRedis::new().await;
    let a = Worker::subscribed(redis.url(), redis.prefix()).await;
    let b = Worker::subscribed(redis.url(), redis.prefix()).await;

    a.cache
        .set("employee:42", "Ann", Timeout::Seconds(60))
        .await;
    // Until A's message is in, B must not keep what it reads: the message may be for a later
    // write than the one B's read saw.
    eventually(PROPAGATION, "B hears A's write", || async {
        b.backend.metrics().invalidations_received == 1
    })
    .await;
    assert_eq!(
        b.cache.get::<String>("employee:42").await.as_deref(),
        Some("Ann")
    );
    assert_eq!(
        b.cache.get::<String>("employee:42").await.as_deref(),
        Some("Ann")
    );
    let b_before = b.backend.metrics();
    assert_eq!(
        (b_before.l2_hits, b_before.l1_hits),
        (1, 1),
        "B read Redis once, then its L1"
    );

    a.cache
        .set("employee:42", "Bob", Timeout::Seconds(60))
        .await;
    eventually(PROPAGATION, "B sees the new value", || async {
        b.cache.get::<String>("employee:42").await.as_deref() == Some("Bob")
    })
    .await;
    assert_eq!(
        a.cache.get::<String>("employee:42").await.as_deref(),
        Some("Bob")
    );
    assert!(
        a.backend.metrics().l1_hits >= 1,
        "the writer kept its own fresh copy"
    );
    assert_eq!(
        a.backend.metrics().l2_hits,
        0,
        "the writer never needed Redis to read"
    );

    a.cache.delete("employee:42").await;
    eventually(PROPAGATION, "B sees the delete", || async {
        b.cache.get::<String>("employee:42").await.is_none()
    })
    .await;
    assert!(b.backend.metrics().invalidations_received >= 2);

    b.cache.set("employee:43", "Cy", Timeout::Seconds(60)).await;
    assert_eq!(
        a.cache.get::<String>("employee:43").await.as_deref(),
        Some("Cy")
    );
    a.cache.clear().await;
    eventually(PROPAGATION, "B sees the clear", || async {
        b.cache.get::<String>("employee:43").await.is_none()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn l1_entries_live_at_most_five_seconds_and_are_counted() {
    let redis = TestRedis::new().await;
    // Subscribed first: the first subscription flushes L1 (it may hold writes made while
    // Redis was unreachable).
    let a = Worker::subscribed(redis.url(), redis.prefix()).await;
    a.cache.set("forever", &1, Timeout::Never).await;
    a.cache.set("short", &2, Timeout::Seconds(1)).await;
    a.backend.l1().run_pending_tasks().await;
    let metrics = a.backend.metrics();
    assert_eq!(metrics.l1_entries, 2);
    assert!(metrics.l1_bytes > 0);
    let mut connection = redis.connection().await;
    let ttl: i64 = redis::cmd("PTTL")
        .arg(a.cache.make_key("forever"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(
        ttl, -1,
        "Redis keeps the entry without expiry; only L1 is capped"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_re_established_subscription_flushes_l1() {
    let redis = TestRedis::new().await;
    let b = Worker::subscribed(redis.url(), redis.prefix()).await;
    b.cache.set("page", "old", Timeout::Seconds(60)).await;
    assert_eq!(b.cache.get::<String>("page").await.as_deref(), Some("old"));

    // A write whose invalidation B never hears, as while its subscription is down.
    let mut connection = redis.connection().await;
    let () = redis::cmd("SET")
        .arg(b.cache.make_key("page"))
        .arg("\"new\"")
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(
        b.cache.get::<String>("page").await.as_deref(),
        Some("old"),
        "B's L1 still holds the old copy"
    );

    let id = b.backend.subscriber_client_id().expect("subscribed");
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(id)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(killed, 1);
    b.wait_for_subscriptions(2).await;

    assert_eq!(b.backend.metrics().resyncs, 1);
    assert_eq!(
        b.cache.get::<String>("page").await.as_deref(),
        Some("new"),
        "L1 was flushed"
    );
    assert_ne!(
        b.backend.subscriber_client_id(),
        Some(id),
        "a new connection"
    );
}

/// A `redis-server` of this test's own on a free port.
struct PrivateRedis {
    port: u16,
    process: Option<tokio::process::Child>,
}

impl PrivateRedis {
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    async fn start(&mut self) {
        let process = tokio::process::Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server is installed (make test installs it)");
        self.process = Some(process);
        let client = redis::Client::open(self.url()).unwrap();
        eventually(
            Duration::from_secs(10),
            "the private redis-server answers",
            || async {
                match client.get_multiplexed_async_connection().await {
                    Ok(mut connection) => redis::cmd("PING")
                        .query_async::<String>(&mut connection)
                        .await
                        .is_ok(),
                    Err(_) => false,
                }
            },
        )
        .await;
    }

    async fn stop(&mut self) {
        let client = redis::Client::open(self.url()).unwrap();
        let mut connection = client.get_multiplexed_async_connection().await.unwrap();
        // The server closes the connection instead of answering.
        let _ = redis::cmd("SHUTDOWN")
            .arg("NOSAVE")
            .query_async::<()>(&mut connection)
            .await;
        let mut process = self.process.take().unwrap();
        tokio::time::timeout(Duration::from_secs(10), process.wait())
            .await
            .unwrap()
            .unwrap();
    }
}

/// Runs `call` and checks it came back within the Redis timeouts' bound.
async fn bounded<T>(call: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let value = call.await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "a cache call took {:?}",
        started.elapsed()
    );
    value
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_outages_leave_l1_serving_and_caching_resumes_by_itself() {
    let mut server = PrivateRedis {
        port: PrivateRedis::free_port(),
        process: None,
    };
    let url = server.url();

    let started = Instant::now();
    let a = Worker::new(&url, "outage").await;
    let b = Worker::new(&url, "outage").await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "connect does not wait for Redis"
    );

    bounded(a.cache.set("while-down", "local", Timeout::Seconds(60))).await;
    assert_eq!(
        bounded(a.cache.get::<String>("while-down"))
            .await
            .as_deref(),
        Some("local"),
        "L1 serves"
    );
    assert_eq!(
        bounded(b.cache.get::<String>("while-down")).await,
        None,
        "nothing shared yet"
    );

    server.start().await;
    // Subscribing flushes L1 (what it holds may be stale by then); wait for it to be done.
    a.wait_for_subscriptions(1).await;
    b.wait_for_subscriptions(1).await;
    assert_eq!(
        a.cache.get::<String>("while-down").await,
        None,
        "L1 was flushed: it missed writes"
    );
    eventually(
        Duration::from_secs(15),
        "caching through Redis resumes",
        || async {
            a.cache
                .set("shared", "via-redis", Timeout::Seconds(60))
                .await;
            b.cache.get::<String>("shared").await.as_deref() == Some("via-redis")
        },
    )
    .await;
    assert!(b.backend.metrics().l2_hits >= 1);
    // Once B has applied every invalidation A sent, what B reads stays in its L1.
    eventually(PROPAGATION, "B applies A's invalidations", || async {
        b.backend.metrics().invalidations_received == a.backend.metrics().invalidations_published
    })
    .await;
    assert_eq!(
        b.cache.get::<String>("shared").await.as_deref(),
        Some("via-redis")
    );

    server.stop().await;
    assert_eq!(
        bounded(b.cache.get::<String>("shared")).await.as_deref(),
        Some("via-redis"),
        "B's L1 serves"
    );
    for _ in 0..10 {
        bounded(a.cache.set("during-outage", "x", Timeout::Seconds(60))).await;
        bounded(b.cache.get::<String>("missing")).await;
    }
    assert_eq!(
        bounded(a.cache.get::<String>("during-outage"))
            .await
            .as_deref(),
        Some("x")
    );

    server.start().await;
    eventually(
        Duration::from_secs(15),
        "caching through Redis resumes after a restart",
        || async {
            a.cache.set("again", "back", Timeout::Seconds(60)).await;
            b.cache.get::<String>("again").await.as_deref() == Some("back")
        },
    )
    .await;
    b.wait_for_subscriptions(2).await;
    a.cache.set("again", "changed", Timeout::Seconds(60)).await;
    eventually(PROPAGATION, "invalidation works again", || async {
        b.cache.get::<String>("again").await.as_deref() == Some("changed")
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn purge_tag_invalidates_tagged_entries_on_every_worker() {
    let redis = TestRedis::new().await;
    let a = Worker::subscribed(redis.url(), redis.prefix()).await;
    let b = Worker::subscribed(redis.url(), redis.prefix()).await;
    let tags = |id: u32| vec!["employee".to_owned(), format!("employee:{id}")];

    a.cache
        .set_bytes_tagged(
            "page:42",
            Bytes::from("Ann"),
            Timeout::Seconds(60),
            &tags(42),
        )
        .await;
    a.cache
        .set_bytes_tagged("page:43", Bytes::from("Bob"), Timeout::Never, &tags(43))
        .await;
    a.cache
        .set_bytes("untagged", Bytes::from("stays"), Timeout::Seconds(60))
        .await;
    for key in ["page:42", "page:43", "untagged"] {
        assert!(
            b.cache.get_bytes(key).await.is_some(),
            "{key} is in B's L1 now"
        );
    }

    let mut connection = redis.connection().await;
    let index = format!("{}:tag:employee:43", redis.prefix());
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&index)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(ttl, -1, "an index lives as long as its longest-lived entry");

    b.cache.purge_tag("employee:42").await;
    eventually(PROPAGATION, "A drops the purged page", || async {
        a.cache.get_bytes("page:42").await.is_none()
    })
    .await;
    assert!(b.cache.get_bytes("page:42").await.is_none());
    assert_eq!(a.cache.get_bytes("page:43").await, Some(Bytes::from("Bob")));

    a.cache.purge_tag("employee").await;
    eventually(PROPAGATION, "B drops every employee page", || async {
        b.cache.get_bytes("page:43").await.is_none()
    })
    .await;
    assert_eq!(
        b.cache.get_bytes("untagged").await,
        Some(Bytes::from("stays"))
    );
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&index)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(exists, 1, "the other tag's index stays until purged");
    a.cache.purge_tag("employee:43").await;
    let exists: i64 = redis::cmd("EXISTS")
        .arg(&index)
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(exists, 0, "a purged index is gone");
}

#[tokio::test]
async fn tags_work_within_the_worker_on_the_local_backend() {
    let cache = Cache::builder(Arc::new(LocalBackend::new(L1_BYTES)))
        .key_prefix("tags")
        .build();
    let other = Cache::builder(Arc::new(LocalBackend::new(L1_BYTES)))
        .key_prefix("tags")
        .build();
    cache
        .set_bytes_tagged(
            "a",
            Bytes::from("1"),
            Timeout::Seconds(60),
            &["t".to_owned()],
        )
        .await;
    other
        .set_bytes_tagged(
            "a",
            Bytes::from("2"),
            Timeout::Seconds(60),
            &["t".to_owned()],
        )
        .await;
    cache
        .set_bytes_tagged(
            "b",
            Bytes::from("3"),
            Timeout::Seconds(60),
            &["u".to_owned()],
        )
        .await;
    cache.purge_tag("t").await;
    assert_eq!(cache.get_bytes("a").await, None);
    assert_eq!(cache.get_bytes("b").await, Some(Bytes::from("3")));
    assert_eq!(
        other.get_bytes("a").await,
        Some(Bytes::from("2")),
        "another worker's cache is its own"
    );
}

/// 100 concurrent `get_or_set_with` on each worker for one cold key; returns how often the
/// computation ran.
async fn stampede(a: &Worker, b: &Worker, key: &str) -> usize {
    let runs = Arc::new(AtomicUsize::new(0));
    let callers = (0..200).map(|i| {
        let cache = if i % 2 == 0 {
            a.cache.clone()
        } else {
            b.cache.clone()
        };
        let (runs, key) = (Arc::clone(&runs), key.to_owned());
        tokio::spawn(async move {
            cache
                .get_or_set_with(&key, Timeout::Seconds(60), || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    Ok::<_, std::io::Error>(vec!["Ann".to_owned(), "Bob".to_owned()])
                })
                .await
                .unwrap()
        })
    });
    let callers: Vec<_> = callers.collect();
    for names in join_all(callers).await {
        assert_eq!(names.unwrap(), ["Ann", "Bob"]);
    }
    runs.load(Ordering::SeqCst)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_cold_misses_over_two_workers_compute_once_with_the_lock() {
    let redis = TestRedis::new().await;
    let a = Worker::subscribed(redis.url(), redis.prefix()).await;
    let b = Worker::subscribed(redis.url(), redis.prefix()).await;
    assert_eq!(stampede(&a, &b, "year:2001").await, 1);
    let mut connection = redis.connection().await;
    let lock: i64 = redis::cmd("EXISTS")
        .arg(format!("{}:lock", a.cache.make_key("year:2001")))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(lock, 0, "the lock was released");
    let ttl: i64 = redis::cmd("TTL")
        .arg(a.cache.make_key("year:2001"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!((54..=66).contains(&ttl), "60 s ± 10 %: {ttl}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lock_whose_holder_died_costs_each_worker_one_computation_at_most() {
    let redis = TestRedis::new().await;
    let a = Worker::subscribed(redis.url(), redis.prefix()).await;
    let b = Worker::subscribed(redis.url(), redis.prefix()).await;
    let mut connection = redis.connection().await;
    let () = redis::cmd("SET")
        .arg(format!("{}:lock", a.cache.make_key("year:2002")))
        .arg("1")
        .arg("PX")
        .arg(5000)
        .query_async(&mut connection)
        .await
        .unwrap();
    let started = Instant::now();
    let runs = stampede(&a, &b, "year:2002").await;
    let elapsed = started.elapsed();
    // Each worker's leader waits for the dead holder, then computes, unless the other worker's
    // value arrived first: one or two computations, never one per caller.
    assert!((1..=2).contains(&runs), "{runs} computations");
    assert!(
        elapsed >= Duration::from_millis(200),
        "the leaders waited for the holder: {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(2),
        "the wait is bounded: {elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_while_revalidate_serves_stale_and_refreshes_once_across_workers() {
    let redis = TestRedis::new().await;
    let a = Worker::subscribed(redis.url(), redis.prefix()).await;
    let b = Worker::subscribed(redis.url(), redis.prefix()).await;
    let minute = Duration::from_mins(1);

    let first = a
        .cache
        .get_or_set_with_stale("report", Duration::ZERO, minute, || async {
            Ok::<_, String>(1)
        })
        .await;
    assert_eq!(first, Ok(1), "stored already stale");

    let refreshes = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Notify::new());
    let refresh = |value: u32| {
        let (refreshes, gate) = (Arc::clone(&refreshes), Arc::clone(&gate));
        move || async move {
            refreshes.fetch_add(1, Ordering::SeqCst);
            gate.notified().await;
            Ok::<_, String>(value)
        }
    };
    assert_eq!(
        a.cache
            .get_or_set_with_stale("report", minute, minute, refresh(2))
            .await,
        Ok(1),
        "stale at once"
    );
    eventually(Duration::from_secs(5), "A's refresher starts", || async {
        refreshes.load(Ordering::SeqCst) == 1
    })
    .await;
    for _ in 0..5 {
        assert_eq!(
            a.cache
                .get_or_set_with_stale("report", minute, minute, refresh(3))
                .await,
            Ok(1)
        );
        assert_eq!(
            b.cache
                .get_or_set_with_stale("report", minute, minute, refresh(4))
                .await,
            Ok(1)
        );
    }
    assert_eq!(a.cache.metrics().snapshot().stale_serves, 6);
    assert_eq!(b.cache.metrics().snapshot().stale_serves, 5);
    gate.notify_one();
    for worker in [&a, &b] {
        eventually(
            Duration::from_secs(5),
            "the refreshed value reaches both workers",
            || async {
                worker
                    .cache
                    .get_or_set_with_stale("report", minute, minute, refresh(5))
                    .await
                    == Ok(2)
            },
        )
        .await;
    }
    assert_eq!(
        refreshes.load(Ordering::SeqCst),
        1,
        "one refresher for both workers"
    );
}
