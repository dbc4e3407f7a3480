//! `authenticate` against Django's fixture hashes: every one logs in and is upgraded, unknown
//! and inactive users are refused at the cost of one hash.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use herd_auth::authenticate;
use herd_auth::hashers::{
    Hasher, Hashers, HashingPool, Pbkdf2Sha256Hasher, check_password, must_update,
};
use herd_auth::models::User;
use herd_db::Model;

use crate::common::{setup, user};
use crate::fixture_hashes;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fixture_hash_user_logs_in_and_gets_a_fresh_hash() {
    let fx = setup().await;
    let pool = HashingPool::default();
    let hashes: Vec<_> = fixture_hashes()
        .into_iter()
        .filter(|h| h.hasher.is_some())
        .collect();
    assert!(hashes.len() >= 4);
    for (i, h) in hashes.iter().enumerate() {
        let name = format!("user{i}");
        user(&fx.db, &name, &h.encoded).await;
        let wrong = authenticate(&fx.db, &pool, &name, "wrong password")
            .await
            .unwrap();
        assert!(wrong.is_none(), "{} accepted a wrong password", h.encoded);

        let found = authenticate(&fx.db, &pool, &name, &h.password)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{} must log in", h.encoded));
        assert_eq!(found.username, name);
        let stored = User::objects()
            .get(&fx.db, User::username().exact(name.as_str()))
            .await
            .unwrap();
        // Herd prefers argon2 with its own parameters, so every Django hash is upgraded.
        assert_ne!(stored.password, h.encoded, "{} was not upgraded", h.encoded);
        assert_eq!(stored.password, found.password);
        assert!(!must_update(&stored.password));
        assert!(check_password(&h.password, &stored.password));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_1000_iteration_hash_becomes_a_1500000_iteration_hash_after_one_login() {
    let fx = setup().await;
    let old = fixture_hashes()
        .into_iter()
        .find(|h| h.encoded.starts_with("pbkdf2_sha256$1000$"))
        .unwrap();
    user(&fx.db, "old", &old.encoded).await;
    let pool = HashingPool::new(Hashers::django_default());
    let found = authenticate(&fx.db, &pool, "old", &old.password)
        .await
        .unwrap()
        .unwrap();
    assert!(found.password.starts_with("pbkdf2_sha256$1500000$"));
    let stored = User::objects()
        .get(&fx.db, User::username().exact("old"))
        .await
        .unwrap();
    assert_eq!(stored.password, found.password);

    // A second login leaves the now current hash alone.
    let again = authenticate(&fx.db, &pool, "old", &old.password)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.password, stored.password);
}

/// A cheap pbkdf2 hasher that counts every hash it computes.
#[derive(Debug)]
struct Counting {
    inner: Pbkdf2Sha256Hasher,
    calls: Arc<AtomicUsize>,
}

impl Hasher for Counting {
    fn algorithm(&self) -> &'static str {
        self.inner.algorithm()
    }
    fn encode(&self, password: &str, salt: &str) -> Result<String, herd_auth::AuthError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.encode(password, salt)
    }
    fn verify(&self, password: &str, encoded: &str) -> bool {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.verify(password, encoded)
    }
    fn must_update(&self, encoded: &str) -> bool {
        self.inner.must_update(encoded)
    }
}

#[tokio::test]
async fn unknown_and_inactive_users_are_refused_after_one_hash_each() {
    let fx = setup().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let hasher = Counting {
        inner: Pbkdf2Sha256Hasher::new(1000).unwrap(),
        calls: Arc::clone(&calls),
    };
    let pool = HashingPool::new(Hashers::new(vec![Arc::new(hasher) as Arc<dyn Hasher>]).unwrap());
    let encoded = pool.make_password("s3cret".into()).await.unwrap();
    let mut ann = user(&fx.db, "ann", &encoded).await;

    calls.store(0, Ordering::SeqCst);
    assert!(
        authenticate(&fx.db, &pool, "nobody", "s3cret")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "an unknown user costs one hash"
    );

    calls.store(0, Ordering::SeqCst);
    assert!(
        authenticate(&fx.db, &pool, "ann", "wrong")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    calls.store(0, Ordering::SeqCst);
    assert!(
        authenticate(&fx.db, &pool, "ANN", "s3cret")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "usernames are case-sensitive"
    );

    calls.store(0, Ordering::SeqCst);
    assert!(
        authenticate(&fx.db, &pool, "ann", "s3cret")
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "a current hash is not re-made"
    );

    ann.is_active = false;
    ann.save(&fx.db).await.unwrap();
    calls.store(0, Ordering::SeqCst);
    assert!(
        authenticate(&fx.db, &pool, "ann", "s3cret")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "inactive costs the same hash"
    );
}
