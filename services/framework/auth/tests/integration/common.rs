//! A fresh database with the `auth` migrations, users, and a tiny app over the session layer
//! whose views log in, report and log out.

use std::convert::Infallible;
use std::sync::Arc;

use herd_auth::hashers::HashingPool;
use herd_auth::models::User;
use herd_core::settings::DatabaseSettings;
use herd_core::signing::Signer;
use herd_core::{App, Error, IntoResponse, Request, Response};
use herd_db::{Database, Model};
use herd_sessions::{COOKIE_SALT, Session, SessionConfig, SessionLayer};
use herd_test_support::{TestClient, TestDatabase, TestRedis, TestResponse};
use http::{Method, header};
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;

pub(crate) const SECRET: &str = "a test secret key that is long enough to sign sessions";

pub(crate) struct Fixture {
    pub(crate) db: Database,
    // Dropped after `db`, so the pool closes before the database goes.
    _test_db: TestDatabase,
}

/// A new database with the `auth` app migrated.
pub(crate) async fn setup() -> Fixture {
    let test_db = TestDatabase::new().await;
    let report = herd_db::migrations::migrate(test_db.url(), &[herd_auth::app_migrations()])
        .await
        .unwrap();
    assert_eq!(report.applied.len(), 2);
    let settings = DatabaseSettings {
        pool_size: 4,
        wait_timeout: 2.0,
        create_timeout: 2.0,
        recycle_timeout: 1.0,
        statement_timeout: 10.0,
    };
    let db = Database::connect(test_db.url(), &settings).unwrap();
    Fixture {
        db,
        _test_db: test_db,
    }
}

/// Saves an active user with `encoded` as the stored password.
pub(crate) async fn user(db: &Database, username: &str, encoded: &str) -> User {
    User::create(db, User::new(username, encoded))
        .await
        .unwrap()
}

/// The app: `/login/<username>/<password>` (`ok` or `denied`), `/me` (the username or
/// `anonymous`), `/session` (the three auth keys, one a line), `/visit` (stores `cart=1`),
/// `/cart`, `/logout` and `/password/<new>` (the logged-in user changes their password and
/// stays logged in: `changed`, or `anonymous`).
pub(crate) async fn client(redis: &TestRedis, db: Database, pool: HashingPool) -> TestClient {
    let backend = herd_cache::RedisBackend::connect(redis.url(), redis.prefix())
        .await
        .unwrap();
    let config = SessionConfig {
        key_prefix: redis.prefix().to_owned(),
        ..SessionConfig::new(backend, SECRET)
    };
    let state = Arc::new((db, pool));
    let service =
        ServiceBuilder::new()
            .layer(SessionLayer::new(config))
            .service_fn(move |request: Request| {
                let state = Arc::clone(&state);
                async move {
                    Ok::<_, Infallible>(view(&state.0, &state.1, request).await.into_response())
                }
            });
    let app: App = BoxCloneSyncService::new(service);
    TestClient::new(app)
}

async fn view(db: &Database, pool: &HashingPool, request: Request) -> Result<Response, Error> {
    let session = Session::from_request(&request)?;
    let path = request.uri().path().to_owned();
    let body = match path.as_str() {
        "/me" => herd_auth::get_user(db, &session, SECRET)
            .await?
            .map_or_else(|| "anonymous".to_owned(), |u| u.username),
        "/session" => {
            let mut lines = Vec::new();
            for key in [
                herd_auth::SESSION_KEY,
                herd_auth::BACKEND_SESSION_KEY,
                herd_auth::HASH_SESSION_KEY,
            ] {
                lines.push(session.get::<String>(key).await?.unwrap_or_default());
            }
            lines.join("\n")
        }
        "/visit" => {
            session.insert("cart", "1").await?;
            "visited".to_owned()
        }
        "/cart" => session.get::<String>("cart").await?.unwrap_or_default(),
        "/logout" => {
            herd_auth::logout(&session).await?;
            "bye".to_owned()
        }
        _ if path.starts_with("/password/") => {
            let new_password = &path["/password/".len()..];
            match herd_auth::get_user(db, &session, SECRET).await? {
                Some(mut user) => {
                    herd_auth::set_password(db, pool, &mut user, new_password).await?;
                    herd_auth::update_session_auth_hash(&session, &user, SECRET).await?;
                    "changed".to_owned()
                }
                None => "anonymous".to_owned(),
            }
        }
        _ => {
            let rest = path.strip_prefix("/login/").ok_or_else(Error::not_found)?;
            let (username, password) = rest.split_once('/').ok_or_else(Error::not_found)?;
            match herd_auth::authenticate(db, pool, username, password).await? {
                Some(mut user) => {
                    herd_auth::login(db, &session, &mut user, SECRET).await?;
                    "ok".to_owned()
                }
                None => "denied".to_owned(),
            }
        }
    };
    Ok(body.into_response())
}

/// GETs `uri`, with `Cookie: <cookie>` when given.
pub(crate) async fn get(client: &TestClient, uri: &str, cookie: Option<&str>) -> TestResponse {
    let mut builder = http::Request::builder().method(Method::GET).uri(uri);
    if let Some(cookie) = cookie {
        builder = builder.header(header::COOKIE, cookie);
    }
    client
        .request(builder.body(herd_core::Body::empty()).unwrap())
        .await
}

/// The `sessionid=…` pair a response set, if any.
pub(crate) fn cookie(response: &TestResponse) -> Option<String> {
    response
        .headers
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
}

/// The session key inside a `sessionid=<key>:<signature>` pair.
pub(crate) fn key_of(pair: &str) -> String {
    let signed = pair.strip_prefix("sessionid=").unwrap();
    Signer::new(SECRET, COOKIE_SALT)
        .unsign(signed)
        .unwrap()
        .to_owned()
}
