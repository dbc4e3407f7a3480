//! A migrated test database and a site served in process.

use std::collections::HashMap;

use herd::core::Settings;
use herd::project::{self, Site};
use herd_test_support::{TestClient, TestDatabase, TestRedis};

/// A long enough secret key for tests.
const SECRET_KEY: &str = "test-secret-key-that-is-long-enough-for-the-checks-0123456789";

/// A site on its own migrated database.
pub(crate) struct TestSite {
    pub(crate) db: TestDatabase,
    _redis: TestRedis,
    pub(crate) site: Site,
    pub(crate) client: TestClient,
}

/// Settings as a production worker has them (DEBUG off) on the given services, plus `extra`
/// `HERD_*` values.
pub(crate) fn settings(database_url: &str, redis_url: &str, extra: &[(&str, &str)]) -> Settings {
    let env: HashMap<String, String> = [
        ("HERD_DATABASE_URL", database_url),
        ("HERD_REDIS_URL", redis_url),
        ("HERD_SECRET_KEY", SECRET_KEY),
    ]
    .into_iter()
    .chain(extra.iter().copied())
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Settings::from_env_map(env).unwrap()
}

/// A worker (a `Site` and a client calling it in process) on the given services.
pub(crate) fn worker(
    database_url: &str,
    redis_url: &str,
    extra: &[(&str, &str)],
) -> (Site, TestClient) {
    let site = Site::new(
        settings(database_url, redis_url, extra),
        &herd_directory::apps(),
    )
    .unwrap();
    let client = TestClient::new(site.app(&site.readiness()));
    (site, client)
}

/// Migrates the database at `url` and seeds `count` employees.
pub(crate) async fn migrate_and_seed(url: &str, redis_url: &str, count: u64) {
    let settings = settings(url, redis_url, &[("HERD_CACHE__BACKEND", "dummy")]);
    let apps = herd_directory::apps();
    project::migrate(&settings, &apps).await.unwrap();
    let site = Site::new(settings, &apps).unwrap();
    herd_directory::seed::seed(site.db(), count).await.unwrap();
}

impl TestSite {
    /// Migrates a fresh database and seeds `count` employees; caching is off.
    pub(crate) async fn new(count: u64) -> Self {
        let db = TestDatabase::new().await;
        let redis = TestRedis::new().await;
        migrate_and_seed(db.url(), redis.url(), count).await;
        let (site, client) = worker(db.url(), redis.url(), &[("HERD_CACHE__BACKEND", "dummy")]);
        Self {
            db,
            _redis: redis,
            site,
            client,
        }
    }
}

/// A plain connection to the database at `url`, to check what the site wrote.
pub(crate) async fn sql(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}
