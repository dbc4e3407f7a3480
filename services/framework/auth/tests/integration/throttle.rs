//! Login throttling counts per account and per IP, in Redis or, when it is down, per worker.

use std::time::Duration;

use herd_auth::throttle::{Limit, Limits, LoginThrottle};
use herd_cache::RedisBackend;
use herd_test_support::TestRedis;

fn limits() -> Limits {
    Limits {
        per_account: Limit {
            max_failures: 3,
            window: Duration::from_mins(15),
        },
        per_ip: Limit {
            max_failures: 5,
            window: Duration::from_mins(5),
        },
    }
}

#[tokio::test]
async fn failures_are_shared_by_workers_and_a_success_clears_the_account() {
    let redis = TestRedis::new().await;
    let worker = |_: u8| {
        LoginThrottle::new(
            RedisBackend::builder(redis.url()).build().unwrap(),
            redis.prefix(),
            limits(),
        )
    };
    let (a, b) = (worker(1), worker(2));
    for _ in 0..2 {
        a.failed("ann", "10.0.0.1").await;
    }
    assert!(b.blocked("ann", "10.0.0.1").await.is_none());
    b.failed("ANN", "10.0.0.1").await;
    let retry = a
        .blocked("ann", "10.0.0.2")
        .await
        .expect("the account is locked on every worker");
    assert!(retry <= Duration::from_mins(15) && retry > Duration::ZERO);
    a.succeeded("ann").await;
    assert!(b.blocked("ann", "10.0.0.1").await.is_none());
    for user in ["b", "c", "d", "e", "f"] {
        a.failed(user, "10.0.0.9").await;
    }
    assert!(
        a.blocked("someone-else", "10.0.0.9").await.is_some(),
        "the IP is over its limit"
    );
}

#[tokio::test]
async fn with_redis_down_each_worker_still_throttles() {
    let throttle = LoginThrottle::new(
        RedisBackend::builder("redis://127.0.0.1:1/0")
            .build()
            .unwrap(),
        "t:",
        limits(),
    );
    for _ in 0..3 {
        throttle.failed("bea", "10.0.0.3").await;
    }
    assert!(throttle.blocked("bea", "10.0.0.4").await.is_some());
}
