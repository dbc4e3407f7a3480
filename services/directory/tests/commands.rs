//! The `herd` binary: settings errors, concurrent migrations and graceful shutdown.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use herd_test_support::{TestDatabase, TestRedis};

const SECRET: &str = "test-secret-key-that-is-long-enough-for-the-checks-0123456789";

fn herd(db: &TestDatabase, redis: &TestRedis) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_herd"));
    command
        .env_clear()
        .env("HERD_DATABASE_URL", db.url())
        .env("HERD_REDIS_URL", redis.url())
        .env("HERD_SECRET_KEY", SECRET)
        .env("HERD_LOG", "warn");
    command
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_bad_setting_exits_64_with_one_line_naming_the_key() {
    let output = Command::new(env!("CARGO_BIN_EXE_herd"))
        .arg("check")
        .env_clear()
        .env("HERD_DEBUG", "true")
        .env("HERD_CACHE__TIMEOUT", "soon")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("HERD_CACHE__TIMEOUT"), "{stderr}");
}

#[test]
fn a_production_start_without_a_secret_key_exits_64() {
    let output = Command::new(env!("CARGO_BIN_EXE_herd"))
        .arg("serve")
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&output.stderr).contains("HERD_SECRET_KEY"));
}

#[test]
fn every_command_has_help() {
    for command in [
        "serve",
        "migrate",
        "makemigrations",
        "seed",
        "routes",
        "check",
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_herd"))
            .args([command, "--help"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{command}");
        assert!(stdout(&output).contains("Usage: herd"), "{command}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_migrates_at_the_same_moment_apply_once_and_both_succeed() {
    let db = TestDatabase::new().await;
    let redis = TestRedis::new().await;
    let first = herd(&db, &redis)
        .arg("migrate")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let second = herd(&db, &redis)
        .arg("migrate")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let outputs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    assert!(outputs.iter().all(|output| output.status.success()));
    let texts: Vec<String> = outputs.iter().map(stdout).collect();
    assert_eq!(
        texts
            .iter()
            .filter(|text| text.contains("Applied directory.0001_initial"))
            .count(),
        1,
        "{texts:?}"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|text| text.contains("Applied auth.0001_initial"))
            .count(),
        1,
        "{texts:?}"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|text| text.contains("No migrations to apply."))
            .count(),
        1,
        "{texts:?}"
    );
    let again = herd(&db, &redis).arg("migrate").output().unwrap();
    assert!(stdout(&again).contains("No migrations to apply."));

    // As Django's migrate, it creates each model's permissions, once.
    let client = crate::common::sql(db.url()).await;
    let rows = client
        .query("SELECT name FROM auth_permission WHERE app_label = 'directory' AND codename = 'change_employee'", &[])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, String>(0), "Can change employee");
}

#[tokio::test(flavor = "multi_thread")]
async fn seeding_twice_adds_nothing_the_second_time() {
    let db = TestDatabase::new().await;
    let redis = TestRedis::new().await;
    assert!(
        herd(&db, &redis)
            .arg("migrate")
            .output()
            .unwrap()
            .status
            .success()
    );
    let first = herd(&db, &redis)
        .args(["seed", "--count", "1500"])
        .output()
        .unwrap();
    assert!(
        stdout(&first).contains("Seeded 1500 employees"),
        "{first:?}"
    );
    let second = herd(&db, &redis)
        .args(["seed", "--count", "1500"])
        .output()
        .unwrap();
    assert!(stdout(&second).contains("Seeded 0 employees"), "{second:?}");
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// One HTTP/1.1 GET on a fresh connection; returns the status code, or None if refused.
fn status_of(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split(' ').nth(1)?.parse().ok()
}

fn wait_until_ready(server: &mut Child, addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while status_of(addr, "/readyz") != Some(200) {
        assert!(
            server.try_wait().unwrap().is_none(),
            "herd serve exited early"
        );
        assert!(Instant::now() < deadline, "/readyz did not answer 200");
        std::thread::yield_now();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_in_flight_during_sigterm_completes_and_the_server_exits_0() {
    let db = TestDatabase::new().await;
    let redis = TestRedis::new().await;
    assert!(
        herd(&db, &redis)
            .arg("migrate")
            .output()
            .unwrap()
            .status
            .success()
    );
    let addr = free_port();
    let mut server = herd(&db, &redis)
        .arg("serve")
        .env("HERD_BIND", addr.to_string())
        .env("HERD_SERVER__DRAIN_DELAY", "1")
        .spawn()
        .unwrap();
    wait_until_ready(&mut server, addr);

    // Half a request is in flight when the signal arrives; the rest follows after it.
    let mut in_flight = TcpStream::connect(addr).unwrap();
    in_flight
        .write_all(b"GET /employee/2010/ HTTP/1.1\r\nHost: localhost\r\n")
        .unwrap();
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    while status_of(addr, "/readyz") != Some(503) {
        assert!(
            Instant::now() < deadline,
            "/readyz did not turn 503 after SIGTERM"
        );
        std::thread::yield_now();
    }
    in_flight.write_all(b"Connection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    in_flight.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("Hired in 2010"));

    let status = server.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn createsuperuser_validates_the_password_and_refuses_a_taken_name() {
    let db = TestDatabase::new().await;
    let redis = TestRedis::new().await;
    assert!(
        herd(&db, &redis)
            .arg("migrate")
            .output()
            .unwrap()
            .status
            .success()
    );
    let weak = herd(&db, &redis)
        .args(["createsuperuser", "--username", "ann"])
        .env("HERD_SUPERUSER_PASSWORD", "12345678")
        .output()
        .unwrap();
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("This password is entirely numeric."));
    let missing = herd(&db, &redis)
        .args(["createsuperuser", "--username", "ann"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("HERD_SUPERUSER_PASSWORD"));

    let created = herd(&db, &redis)
        .args([
            "createsuperuser",
            "--username",
            "ann",
            "--email",
            "ann@example.com",
        ])
        .env("HERD_SUPERUSER_PASSWORD", "correct horse battery staple")
        .output()
        .unwrap();
    assert!(
        stdout(&created).contains("Superuser ann created successfully."),
        "{created:?}"
    );
    let again = herd(&db, &redis)
        .args(["createsuperuser", "--username", "ann"])
        .env("HERD_SUPERUSER_PASSWORD", "correct horse battery staple")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stderr).contains("That username is already taken."));

    let client = crate::common::sql(db.url()).await;
    let row = client
        .query_one(
            "SELECT is_superuser, is_staff, password FROM auth_user WHERE username = 'ann'",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0) && row.get::<_, bool>(1));
    assert!(row.get::<_, String>(2).starts_with("argon2$argon2id$"));
    assert!(
        herd(&db, &redis)
            .arg("clearsessions")
            .output()
            .unwrap()
            .status
            .success()
    );
}
