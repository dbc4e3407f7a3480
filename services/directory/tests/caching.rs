//! The site's caches across workers: edits show at once everywhere, pages survive a Redis
//! outage, and anonymous pages never carry a session cookie.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use herd::db::Model;
use herd_directory::models::Employee;
use herd_test_support::{TestClient, TestDatabase, TestRedis};

use crate::common::{migrate_and_seed, worker};

async fn hire(site: &herd::project::Site, name: &str) -> Employee {
    let hire_date = NaiveDate::from_ymd_opt(2010, 6, 1).unwrap();
    let employee = Employee {
        id: 0,
        name: name.to_owned(),
        address: "1 Road".to_owned(),
        hire_date,
    };
    Employee::create(site.db(), employee).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_edit_through_one_worker_shows_on_another_within_100_ms() {
    let db = TestDatabase::new().await;
    let redis = TestRedis::new().await;
    migrate_and_seed(db.url(), redis.url(), 300).await;
    let cache = [
        ("HERD_CACHE__BACKEND", "two-tier"),
        ("HERD_CACHE__KEY_PREFIX", redis.prefix()),
    ];
    let (site_a, client_a) = worker(db.url(), redis.url(), &cache);
    let (_site_b, client_b) = worker(db.url(), redis.url(), &cache);
    let mut ann = hire(&site_a, "Before Edit").await;

    // Both workers serve and cache the page (per-site, per-view and the fragment).
    for client in [&client_a, &client_b, &client_b] {
        let page = client.get("/employee/2010/").await;
        assert_eq!(page.status, 200);
        assert!(page.text().contains("Before Edit"));
    }
    let cached = client_b.get("/employee/2010/").await;
    assert!(
        cached.header("age").is_some(),
        "the second worker serves the page from its cache"
    );

    ann.name = "After Edit".to_owned();
    ann.save(site_a.db()).await.unwrap();
    let saved = Instant::now();
    loop {
        let page = client_b.get("/employee/2010/").await;
        if page.text().contains("After Edit") {
            break;
        }
        assert!(page.text().contains("Before Edit"));
        assert!(
            saved.elapsed() < Duration::from_millis(100),
            "worker B still serves the old page"
        );
        tokio::task::yield_now().await;
    }
    assert!(saved.elapsed() < Duration::from_millis(100));
    for client in [&client_a, &client_b] {
        let page = client.get("/employee/2010/").await;
        assert!(page.text().contains("After Edit") && !page.text().contains("Before Edit"));
        let detail = client.get(&format!("/employee/id/{}/", ann.id)).await;
        assert!(detail.text().contains("After Edit"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cached_pages_are_tagged_for_downstream_caches() {
    let db = TestDatabase::new().await;
    let redis = TestRedis::new().await;
    migrate_and_seed(db.url(), redis.url(), 50).await;
    let (_site, client) = worker(
        db.url(),
        redis.url(),
        &[
            ("HERD_CACHE__BACKEND", "local"),
            ("HERD_CACHE__KEY_PREFIX", redis.prefix()),
        ],
    );
    let page = client.get("/employee/id/7/").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("surrogate-key"), Some("employee employee:7"));
    assert_eq!(page.header("cache-tag"), Some("employee,employee:7"));
    assert!(
        page.header("set-cookie").is_none()
            && page
                .header("vary")
                .is_none_or(|vary| !vary.contains("Cookie"))
    );
}

/// A Redis server of this test's own, on its own port, so it can be stopped.
struct PrivateRedis {
    port: u16,
    server: Option<Child>,
}

impl PrivateRedis {
    fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Self { port, server: None };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn restart(&mut self) {
        let server = Command::new("redis-server")
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
            .spawn()
            .expect("redis-server is installed (make test installs it)");
        self.server = Some(server);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers() {
            assert!(
                Instant::now() < deadline,
                "the private redis-server did not start"
            );
            std::thread::yield_now();
        }
    }

    fn answers(&self) -> bool {
        let ping = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "ping"])
            .output();
        ping.is_ok_and(|output| output.stdout.starts_with(b"PONG"))
    }

    fn stop(&mut self) {
        let _ = Command::new("redis-cli")
            .args(["-p", &self.port.to_string(), "shutdown", "nosave"])
            .output();
        if let Some(mut server) = self.server.take() {
            let _ = server.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(server) = &mut self.server {
            let _ = server.kill();
            let _ = server.wait();
        }
    }
}

async fn timed_get(client: &TestClient, path: &str) -> (u16, Duration, bool) {
    let started = Instant::now();
    let page = client.get(path).await;
    (
        page.status.as_u16(),
        started.elapsed(),
        page.header("age").is_some(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_keep_answering_while_redis_is_down_and_caching_resumes_after() {
    let db = TestDatabase::new().await;
    let mut redis = PrivateRedis::start();
    migrate_and_seed(db.url(), &redis.url(), 300).await;
    let (_site, client) = worker(
        db.url(),
        &redis.url(),
        &[("HERD_CACHE__BACKEND", "two-tier")],
    );
    let paths = [
        "/",
        "/employee/",
        "/employee/2010/",
        "/employee/id/3/",
        "/employee/name/",
    ];
    for path in paths {
        assert_eq!(client.get(path).await.status, 200, "{path}");
    }

    redis.stop();
    for round in 0..3 {
        for path in paths {
            let (status, took, _) = timed_get(&client, &format!("{path}?down={round}")).await;
            assert_eq!(status, 200, "{path} while Redis is down");
            assert!(
                took < Duration::from_secs(1),
                "{path} took {took:?} while Redis is down"
            );
        }
    }

    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut round = 0;
    loop {
        round += 1;
        let path = format!("/employee/2011/?back={round}");
        let (status, _, _) = timed_get(&client, &path).await;
        assert_eq!(status, 200);
        let (_, _, from_cache) = timed_get(&client, &path).await;
        if from_cache {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "caching did not resume after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_requests_for_a_cold_page_over_two_workers_query_the_database_once() {
    let db = TestDatabase::new().await;
    let redis = TestRedis::new().await;
    migrate_and_seed(db.url(), redis.url(), 500).await;
    let cache = [
        ("HERD_CACHE__BACKEND", "two-tier"),
        ("HERD_CACHE__KEY_PREFIX", redis.prefix()),
    ];
    let (site_a, client_a) = worker(db.url(), redis.url(), &cache);
    let (site_b, client_b) = worker(db.url(), redis.url(), &cache);
    let before = site_a.db().statements_executed() + site_b.db().statements_executed();

    let requests = (0..200).map(|i| {
        let client = if i % 2 == 0 {
            client_a.clone()
        } else {
            client_b.clone()
        };
        async move { client.get("/employee/2012/").await }
    });
    let pages = futures_util::future::join_all(requests).await;

    assert!(pages.iter().all(|page| page.status == 200));
    assert!(
        pages.iter().all(|page| page.body == pages[0].body),
        "every request got the same page"
    );
    let queries = site_a.db().statements_executed() + site_b.db().statements_executed() - before;
    // One with the Redis lock; a second only if a worker's 200 ms wait for the other ran out.
    assert!(queries <= 2, "{queries} archive queries for one cold page");
    eprintln!("archive queries for 200 concurrent cold requests over two workers: {queries}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_logged_in_page_is_never_served_to_an_anonymous_visitor() {
    let db = TestDatabase::new().await;
    let redis = TestRedis::new().await;
    migrate_and_seed(db.url(), redis.url(), 100).await;
    let cache = [
        ("HERD_CACHE__BACKEND", "two-tier"),
        ("HERD_CACHE__KEY_PREFIX", redis.prefix()),
    ];
    let (site, client) = worker(db.url(), redis.url(), &cache);
    let encoded = herd::auth::hashers::make_password("correct horse battery staple");
    herd::auth::models::User::create(site.db(), herd::auth::models::User::new("ann", encoded))
        .await
        .unwrap();
    let session = crate::accounts::log_in(&client, "ann", "correct horse battery staple").await;

    for path in ["/employee/2010/", "/employee/name/", "/employee/id/5/"] {
        let request = http::Request::builder()
            .uri(path)
            .header("cookie", format!("sessionid={session}"))
            .body(herd::core::Body::empty())
            .unwrap();
        let mine = client.request(request).await;
        assert_eq!(mine.status, 200, "{path}");
        assert!(
            mine.text().contains("Signed in as ann"),
            "{path} shows the user"
        );
        assert!(
            mine.header("cache-control").unwrap().contains("private"),
            "{path}"
        );
        for _ in 0..2 {
            let anonymous = client.get(path).await;
            assert_eq!(anonymous.status, 200);
            assert!(
                !anonymous.text().contains("ann"),
                "{path} leaked the logged-in page"
            );
            assert!(anonymous.header("set-cookie").is_none(), "{path}");
        }
    }
}
