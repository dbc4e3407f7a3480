//! A migrated test database and a site served in process.

use std::collections::HashMap;

use herd::core::Settings;
use herd::project::{self, Site};
use herd_test_support::{TestClient, TestDatabase, TestRedis};

/// A site on its own migrated database.
pub(crate) struct TestSite {
    pub(crate) db: TestDatabase,
    _redis: TestRedis,
    pub(crate) site: Site,
    pub(crate) client: TestClient,
}

/// Settings as a production worker has them (DEBUG off), on the given services.
pub(crate) fn settings(database_url: &str, redis_url: &str) -> Settings {
    let env: HashMap<String, String> = [
        ("HERD_DATABASE_URL", database_url),
        ("HERD_REDIS_URL", redis_url),
        (
            "HERD_SECRET_KEY",
            "test-secret-key-that-is-long-enough-for-the-checks-0123456789",
        ),
        ("HERD_CACHE__BACKEND", "dummy"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    Settings::from_env_map(env).unwrap()
}

impl TestSite {
    /// Migrates a fresh database and seeds `count` employees.
    pub(crate) async fn new(count: u64) -> Self {
        let db = TestDatabase::new().await;
        let redis = TestRedis::new().await;
        let settings = settings(db.url(), redis.url());
        let apps = herd_directory::apps();
        project::migrate(&settings, &apps).await.unwrap();
        let site = Site::new(settings, &apps).unwrap();
        herd_directory::seed::seed(site.db(), count).await.unwrap();
        let client = TestClient::new(site.app(&site.readiness()));
        Self {
            db,
            _redis: redis,
            site,
            client,
        }
    }
}
