#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]
//! Django 6.1.3's own hashes (tests/fixtures/django-compat.json) against Herd's hashers, and
//! the `auth` app on a real Postgres and Redis.

#[path = "integration/authentication.rs"]
mod authentication;
#[path = "integration/common.rs"]
mod common;
#[path = "integration/login.rs"]
mod login;
#[path = "integration/permissions.rs"]
mod permissions;
#[path = "integration/throttle.rs"]
mod throttle;

use std::sync::Arc;

use herd_auth::hashers::{
    self, Hasher, Hashers, HashingPool, Pbkdf2Sha256Hasher, check_password, make_password,
    make_unusable_password, must_update,
};
use serde_json::Value;

struct FixtureHash {
    password: String,
    hasher: Option<String>,
    encoded: String,
}

fn fixture_hashes() -> Vec<FixtureHash> {
    let root: Value = serde_json::from_str(include_str!("fixtures/django-compat.json")).unwrap();
    root["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| FixtureHash {
            password: h["password"].as_str().unwrap().to_owned(),
            hasher: h["hasher"].as_str().map(str::to_owned),
            encoded: h["encoded"].as_str().unwrap().to_owned(),
        })
        .collect()
}

fn find(algorithm: &str, iterations_prefix: &str) -> FixtureHash {
    fixture_hashes()
        .into_iter()
        .find(|h| {
            h.hasher.as_deref() == Some(algorithm) && h.encoded.starts_with(iterations_prefix)
        })
        .unwrap()
}

#[test]
fn every_fixture_hash_verifies_with_its_password_and_fails_with_another() {
    let hashes = fixture_hashes();
    assert_eq!(hashes.len(), 18);
    // Each check is a full-cost hash, so spread them over the cores.
    std::thread::scope(|scope| {
        for h in hashes.iter().filter(|h| h.hasher.is_some()) {
            scope.spawn(move || {
                assert!(
                    check_password(&h.password, &h.encoded),
                    "{} must verify",
                    h.encoded
                );
                let wrong = format!("{}x", h.password);
                assert!(
                    !check_password(&wrong, &h.encoded),
                    "{} matched a wrong password",
                    h.encoded
                );
                assert!(
                    !check_password("", &h.encoded),
                    "{} matched the empty password",
                    h.encoded
                );
            });
        }
    });
}

#[test]
fn the_unusable_fixture_hash_never_matches() {
    let unusable = fixture_hashes()
        .into_iter()
        .find(|h| h.hasher.is_none())
        .unwrap();
    assert!(!hashers::is_password_usable(&unusable.encoded));
    for pw in [
        unusable.password.as_str(),
        "",
        "!",
        &unusable.encoded,
        &unusable.encoded[1..],
    ] {
        assert!(!check_password(pw, &unusable.encoded));
    }
    assert!(!must_update(&unusable.encoded));
    let fresh = make_unusable_password();
    assert!(!check_password("", &fresh));
    assert!(!check_password(&fresh, &fresh));
}

#[test]
fn must_update_flags_weak_and_legacy_hashes() {
    let old = find("pbkdf2_sha256", "pbkdf2_sha256$1000$");
    assert!(must_update(&old.encoded));
    assert!(must_update(&find("pbkdf2_sha1", "pbkdf2_sha1$").encoded));
    assert!(must_update(&find("scrypt", "scrypt$").encoded));
    // Django's argon2 parameters are stronger but not Herd's, so they are re-hashed too.
    assert!(must_update(&find("argon2", "argon2$").encoded));
    assert!(!must_update(&make_password("fresh")));

    // With Django's order (pbkdf2_sha256 preferred) only the iteration count decides.
    let django = Hashers::django_default();
    assert!(django.must_update(&old.encoded));
    assert!(!django.must_update(&find("pbkdf2_sha256", "pbkdf2_sha256$1500000$").encoded));
    assert!(django.must_update("pbkdf2_sha256$1500000$shortsalt$AAAA"));
}

#[test]
fn a_correct_login_upgrades_the_1000_iteration_hash() {
    let old = find("pbkdf2_sha256", "pbkdf2_sha256$1000$");
    let pbkdf2_first = Hashers::new(vec![
        Arc::new(Pbkdf2Sha256Hasher::default()) as Arc<dyn Hasher>
    ])
    .unwrap();
    let verdict = pbkdf2_first.verify_password(&old.password, &old.encoded);
    assert!(verdict.is_correct && verdict.must_update);
    let upgraded = pbkdf2_first.make_password(&old.password);
    assert!(upgraded.starts_with("pbkdf2_sha256$1500000$"));
    assert!(pbkdf2_first.check_password(&old.password, &upgraded));
    assert!(!pbkdf2_first.must_update(&upgraded));
}

#[test]
fn make_password_round_trips() {
    let encoded = make_password("pässwörd-ünïcode-🐑");
    assert!(encoded.starts_with("argon2$argon2id$v=19$m=19456,t=2,p=1$"));
    assert!(check_password("pässwörd-ünïcode-🐑", &encoded));
    assert!(!check_password("pässwörd-ünïcode-🐏", &encoded));
    assert_ne!(
        make_password("same"),
        make_password("same"),
        "salts must differ"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_pool_hashes_and_verifies_fixture_hashes() {
    let pool = HashingPool::default();
    let h = find("pbkdf2_sha256", "pbkdf2_sha256$1500000$");
    assert!(
        pool.check_password(h.password.clone(), h.encoded.clone())
            .await
            .unwrap()
    );
    assert!(!pool.check_password("nope".into(), h.encoded).await.unwrap());
    let encoded = pool.make_password("async".into()).await.unwrap();
    let verdict = pool.verify_password("async".into(), encoded).await.unwrap();
    assert!(verdict.is_correct && !verdict.must_update);
}
