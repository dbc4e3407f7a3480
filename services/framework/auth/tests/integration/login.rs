//! `login`, `get_user` and `logout` through the session layer on a real Redis.

use herd_auth::hashers::{Hasher, Hashers, HashingPool, Pbkdf2Sha256Hasher};
use herd_auth::models::User;
use herd_auth::{BACKEND, session_auth_hash};
use herd_db::Model;
use herd_test_support::TestRedis;
use std::sync::Arc;

use crate::common::{SECRET, client, cookie, get, key_of, setup, user};

/// A cheap pool, so the tests spend their time on sessions rather than hashing.
fn cheap_pool() -> HashingPool {
    let hasher = Pbkdf2Sha256Hasher::new(1000).unwrap();
    HashingPool::new(Hashers::new(vec![Arc::new(hasher) as Arc<dyn Hasher>]).unwrap())
}

#[test]
fn the_session_auth_hash_is_djangos_salted_hmac_of_the_password_hash() {
    // hmac.new(sha256(salt + secret).digest(), password, sha256).hexdigest() in Python.
    let mut user = User::new("ann", "pbkdf2_sha256$1000$abc$xyz=");
    assert_eq!(
        session_auth_hash(&user, "a test secret key"),
        "d9e1d05708a64a6c82cc701c7970d37295658365c9384184a24de3a83f1294f5"
    );
    user.password.push('x');
    assert_ne!(
        session_auth_hash(&user, "a test secret key"),
        "d9e1d05708a64a6c82cc701c7970d37295658365c9384184a24de3a83f1294f5"
    );
}

#[tokio::test]
async fn login_stores_the_auth_keys_cycles_the_key_and_sets_last_login() {
    let fx = setup().await;
    let redis = TestRedis::new().await;
    let pool = cheap_pool();
    let encoded = pool.make_password("s3cret".into()).await.unwrap();
    let ann = user(&fx.db, "ann", &encoded).await;
    assert!(ann.last_login.is_none());
    let client = client(&redis, fx.db.clone(), pool).await;

    let visit = get(&client, "/visit", None).await;
    let anonymous = cookie(&visit).unwrap();

    let denied = get(&client, "/login/ann/wrong", Some(&anonymous)).await;
    assert_eq!(denied.text(), "denied");
    assert_eq!(
        cookie(&denied),
        None,
        "a failed login leaves the session alone"
    );

    let response = get(&client, "/login/ann/s3cret", Some(&anonymous)).await;
    assert_eq!(response.text(), "ok");
    let logged_in = cookie(&response).unwrap();
    assert_ne!(key_of(&logged_in), key_of(&anonymous), "the key changes");
    assert_eq!(
        get(&client, "/cart", Some(&logged_in)).await.text(),
        "1",
        "data kept"
    );
    assert_eq!(
        get(&client, "/cart", Some(&anonymous)).await.text(),
        "",
        "old key gone"
    );

    let stored = get(&client, "/session", Some(&logged_in)).await;
    let lines: Vec<&str> = stored.text().lines().collect();
    assert_eq!(
        lines,
        [
            ann.id.to_string().as_str(),
            BACKEND,
            &session_auth_hash(&ann, SECRET)
        ]
    );
    assert_eq!(get(&client, "/me", Some(&logged_in)).await.text(), "ann");

    let reloaded = User::objects()
        .get(&fx.db, User::id().exact(ann.id))
        .await
        .unwrap();
    let last_login = reloaded.last_login.expect("last_login set");
    assert!((chrono::Utc::now() - last_login).num_seconds().abs() < 60);
}

#[tokio::test]
async fn logging_in_as_another_user_flushes_the_session() {
    let fx = setup().await;
    let redis = TestRedis::new().await;
    let pool = cheap_pool();
    let encoded = pool.make_password("s3cret".into()).await.unwrap();
    user(&fx.db, "ann", &encoded).await;
    user(&fx.db, "bob", &encoded).await;
    let client = client(&redis, fx.db.clone(), pool).await;

    let visit = get(&client, "/visit", None).await;
    let as_ann =
        cookie(&get(&client, "/login/ann/s3cret", Some(&cookie(&visit).unwrap())).await).unwrap();
    assert_eq!(get(&client, "/cart", Some(&as_ann)).await.text(), "1");

    let as_bob = cookie(&get(&client, "/login/bob/s3cret", Some(&as_ann)).await).unwrap();
    assert_ne!(key_of(&as_bob), key_of(&as_ann));
    assert_eq!(get(&client, "/me", Some(&as_bob)).await.text(), "bob");
    assert_eq!(
        get(&client, "/cart", Some(&as_bob)).await.text(),
        "",
        "flushed"
    );
    assert_eq!(get(&client, "/me", Some(&as_ann)).await.text(), "anonymous");
}

#[tokio::test]
async fn a_password_change_ends_the_old_sessions() {
    let fx = setup().await;
    let redis = TestRedis::new().await;
    let pool = cheap_pool();
    let encoded = pool.make_password("s3cret".into()).await.unwrap();
    let mut ann = user(&fx.db, "ann", &encoded).await;
    let client = client(&redis, fx.db.clone(), pool.clone()).await;

    let first = cookie(&get(&client, "/login/ann/s3cret", None).await).unwrap();
    let second = cookie(&get(&client, "/login/ann/s3cret", None).await).unwrap();
    assert_eq!(get(&client, "/me", Some(&first)).await.text(), "ann");
    assert_eq!(get(&client, "/me", Some(&second)).await.text(), "ann");

    ann.password = pool.make_password("n3w".into()).await.unwrap();
    ann.save(&fx.db).await.unwrap();

    let me = get(&client, "/me", Some(&first)).await;
    assert_eq!(me.text(), "anonymous");
    let deleting = me.header("set-cookie").unwrap();
    assert!(deleting.starts_with("sessionid=\"\""), "{deleting}");
    assert_eq!(get(&client, "/me", Some(&first)).await.text(), "anonymous");
    assert_eq!(get(&client, "/me", Some(&second)).await.text(), "anonymous");

    let fresh = cookie(&get(&client, "/login/ann/n3w", None).await).unwrap();
    assert_eq!(get(&client, "/me", Some(&fresh)).await.text(), "ann");
}

#[tokio::test]
async fn changing_ones_own_password_keeps_this_session_under_a_new_key_and_ends_the_others() {
    let fx = setup().await;
    let redis = TestRedis::new().await;
    let pool = cheap_pool();
    let encoded = pool.make_password("s3cret".into()).await.unwrap();
    user(&fx.db, "ann", &encoded).await;
    let client = client(&redis, fx.db.clone(), pool.clone()).await;

    let here = cookie(&get(&client, "/login/ann/s3cret", None).await).unwrap();
    let elsewhere = cookie(&get(&client, "/login/ann/s3cret", None).await).unwrap();
    let changed = get(&client, "/password/n3w", Some(&here)).await;
    assert_eq!(changed.text(), "changed");
    let renewed = cookie(&changed).expect("the key is cycled");
    assert_ne!(key_of(&renewed), key_of(&here));

    assert_eq!(get(&client, "/me", Some(&renewed)).await.text(), "ann");
    assert_eq!(get(&client, "/me", Some(&here)).await.text(), "anonymous");
    assert_eq!(
        get(&client, "/me", Some(&elsewhere)).await.text(),
        "anonymous"
    );
    let stored = User::objects()
        .filter(User::username().exact("ann"))
        .first(&fx.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        pool.check_password("n3w".into(), stored.password)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn logout_and_deactivation_make_the_session_anonymous() {
    let fx = setup().await;
    let redis = TestRedis::new().await;
    let pool = cheap_pool();
    let encoded = pool.make_password("s3cret".into()).await.unwrap();
    let mut ann = user(&fx.db, "ann", &encoded).await;
    let client = client(&redis, fx.db.clone(), pool).await;

    let first = cookie(&get(&client, "/login/ann/s3cret", None).await).unwrap();
    let second = cookie(&get(&client, "/login/ann/s3cret", None).await).unwrap();
    assert_eq!(get(&client, "/logout", Some(&first)).await.text(), "bye");
    assert_eq!(get(&client, "/me", Some(&first)).await.text(), "anonymous");
    assert_eq!(get(&client, "/me", Some(&second)).await.text(), "ann");

    ann.is_active = false;
    ann.save(&fx.db).await.unwrap();
    assert_eq!(get(&client, "/me", Some(&second)).await.text(), "anonymous");
    assert_eq!(
        get(&client, "/login/ann/s3cret", None).await.text(),
        "denied"
    );
}
