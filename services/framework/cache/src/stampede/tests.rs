//! Unit tests of single-flight, jitter and stale-while-revalidate on the local backend.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_util::future::join_all;
use tokio::sync::Notify;

use super::*;
use crate::local::LocalBackend;

fn local_cache() -> Cache {
    Cache::builder(Arc::new(LocalBackend::new(1 << 20)))
        .key_prefix("stampede")
        .build()
}

/// Waits until `waiters` callers wait on the flight of `key`, so the test really is concurrent.
async fn wait_for_waiters(cache: &Cache, key: &str, waiters: usize) {
    let flight_key = FlightKey {
        backend: Arc::as_ptr(cache.backend()).cast::<()>().addr(),
        key: cache.make_key(key),
        refresh: false,
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let count = FLIGHTS
            .lock()
            .unwrap()
            .get(&flight_key)
            .and_then(|flight| {
                flight
                    .downcast_ref::<watch::Sender<Outcome<u64>>>()
                    .map(watch::Sender::receiver_count)
            })
            .unwrap_or(0);
        if count >= waiters {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {count} of {waiters} callers joined the flight"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_misses_share_one_computation() {
    let cache = local_cache();
    let runs = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Notify::new());
    let callers = (0..50).map(|_| {
        let (cache, runs, gate) = (cache.clone(), Arc::clone(&runs), Arc::clone(&gate));
        tokio::spawn(async move {
            cache
                .get_or_set_with("cold", Timeout::Seconds(60), || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    gate.notified().await;
                    Ok::<u64, std::io::Error>(7)
                })
                .await
                .unwrap()
        })
    });
    let callers: Vec<_> = callers.collect();
    wait_for_waiters(&cache, "cold", 49).await;
    gate.notify_one();
    for value in join_all(callers).await {
        assert_eq!(value.unwrap(), 7);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    assert_eq!(
        cache.get::<u64>("cold").await,
        Some(7),
        "the value was stored"
    );
    assert!(
        FLIGHTS
            .lock()
            .unwrap()
            .keys()
            .all(|key| key.key != cache.make_key("cold")),
        "the flight was removed"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn waiters_compute_for_themselves_when_the_leader_fails() {
    let cache = local_cache();
    let gate = Arc::new(Notify::new());
    let leader = {
        let (cache, gate) = (cache.clone(), Arc::clone(&gate));
        tokio::spawn(async move {
            cache
                .get_or_set_with("failing", Timeout::Seconds(60), || async move {
                    gate.notified().await;
                    Err::<u64, &str>("database down")
                })
                .await
        })
    };
    // The leader is in its computation once the flight exists; then this caller waits on it.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !FLIGHTS
        .lock()
        .unwrap()
        .keys()
        .any(|key| key.key == cache.make_key("failing"))
    {
        assert!(Instant::now() < deadline, "the leader never started");
        tokio::task::yield_now().await;
    }
    let waiter = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .get_or_set_with("failing", Timeout::Seconds(60), || async {
                    Ok::<u64, &str>(3)
                })
                .await
        })
    };
    wait_for_waiters(&cache, "failing", 1).await;
    gate.notify_one();
    assert_eq!(leader.await.unwrap(), Err("database down"));
    assert_eq!(waiter.await.unwrap(), Ok(3));
}

#[tokio::test]
async fn a_timeout_of_zero_computes_without_storing() {
    let cache = local_cache();
    let value = cache
        .get_or_set_with("zero", Timeout::Seconds(0), || async { Ok::<u64, ()>(1) })
        .await;
    assert_eq!(value, Ok(1));
    assert_eq!(cache.get::<u64>("zero").await, None);
}

#[test]
fn jitter_stays_within_ten_percent() {
    let cache = local_cache();
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let Timeout::Seconds(seconds) = jittered(&cache, Timeout::Seconds(1000)) else {
            panic!("a finite timeout stays finite");
        };
        assert!((900..=1100).contains(&seconds), "{seconds}");
        seen.insert(seconds);
    }
    assert!(seen.len() > 10, "the timeouts vary: {seen:?}");
    assert_eq!(jittered(&cache, Timeout::Never), Timeout::Never);
    assert_eq!(
        jittered(&cache, Timeout::Seconds(1)),
        Timeout::Seconds(1),
        "never rounded away"
    );
}

#[test]
fn ceil_secs_keeps_sub_second_remainders() {
    assert_eq!(ceil_secs(Duration::from_millis(1500)), 2);
    assert_eq!(ceil_secs(Duration::from_secs(3)), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_values_are_served_while_one_refresher_recomputes() {
    let cache = local_cache();
    let first = cache
        .get_or_set_with_stale("report", Duration::ZERO, Duration::from_mins(1), || async {
            Ok::<u64, String>(1)
        })
        .await;
    assert_eq!(first, Ok(1));

    let refreshes = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new(Notify::new());
    for _ in 0..10 {
        let (refreshes, gate) = (Arc::clone(&refreshes), Arc::clone(&gate));
        let served = cache
            .get_or_set_with_stale(
                "report",
                Duration::from_mins(1),
                Duration::from_mins(1),
                move || async move {
                    refreshes.fetch_add(1, Ordering::SeqCst);
                    gate.notified().await;
                    Ok::<u64, String>(2)
                },
            )
            .await;
        assert_eq!(served, Ok(1), "stale, at once");
    }
    assert_eq!(cache.metrics().snapshot().stale_serves, 10);
    gate.notify_one();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = cache
            .get_or_set_with_stale(
                "report",
                Duration::from_mins(1),
                Duration::from_mins(1),
                || async { Ok::<u64, String>(99) },
            )
            .await;
        if now == Ok(2) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the refreshed value never arrived"
        );
        tokio::task::yield_now().await;
    }
    assert_eq!(refreshes.load(Ordering::SeqCst), 1, "one refresher");
}
