//! Pool exhaustion, an unreachable server and slow statements surface as "unavailable" (503).

use std::time::{Duration, Instant};

use herd_db::{Database, Executor, Model, Statement};

use crate::common::{Employee, settings, setup, setup_with};

#[tokio::test]
async fn ping_answers_when_postgres_does() {
    let fx = setup().await;
    let before = fx.db.statements_executed();
    fx.db.ping().await.unwrap();
    assert_eq!(fx.db.statements_executed(), before);
}

#[tokio::test]
async fn a_saturated_pool_answers_unavailable_within_the_wait_timeout() {
    let mut tight = settings();
    tight.pool_size = 1;
    tight.wait_timeout = 0.2;
    let fx = setup_with(&tight).await;
    let db = &fx.db;

    let holder = db.begin().await.unwrap();
    let started = Instant::now();
    let err = Employee::objects().count(db).await.unwrap_err();
    let waited = started.elapsed();
    assert!(err.is_unavailable(), "{err}");
    assert!(
        waited >= Duration::from_millis(150) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    let http = herd_core::Error::from(err);
    assert!(http.is_unavailable());
    assert_eq!(http.status(), 503);
    assert!(db.ping().await.unwrap_err().is_unavailable());

    // The held connection still works, and once released the pool serves again.
    assert_eq!(Employee::objects().count(&holder).await.unwrap(), 0);
    holder.commit().await.unwrap();
    assert_eq!(Employee::objects().count(db).await.unwrap(), 0);
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable_not_a_crash() {
    // Port 1 on localhost refuses connections at once.
    let db = Database::connect("postgres://postgres@127.0.0.1:1/herd", &settings()).unwrap();
    let err = db.ping().await.unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    let err = Employee::objects().all(&db).await.unwrap_err();
    assert!(herd_core::Error::from(err).is_unavailable());
}

#[tokio::test]
async fn a_malformed_url_is_a_configuration_error() {
    let err =
        Database::connect("postgres://postgres@127.0.0.1:notaport/herd", &settings()).unwrap_err();
    assert!(matches!(err, herd_db::Error::Config(_)));
}

#[tokio::test]
async fn statements_over_the_statement_timeout_are_cancelled() {
    let mut quick = settings();
    quick.statement_timeout = 0.2;
    let fx = setup_with(&quick).await;
    let db = &fx.db;
    let shown = db
        .query(&Statement::new("SHOW statement_timeout"))
        .await
        .unwrap();
    assert_eq!(shown[0].get::<_, String>(0), "200ms");
    let started = Instant::now();
    let err = db
        .query(&Statement::new("SELECT pg_sleep(5)"))
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
    // The connection survives a cancelled statement.
    db.ping().await.unwrap();
}
