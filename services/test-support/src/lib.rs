//! Test support: [`TestClient`] (in process, or over a real port), [`TestDatabase`] (a database
//! of its own per test, dropped afterwards), [`TestRedis`] (a key prefix of its own) and
//! [`eventually`] (waiting with a deadline).
//!
//! Tests talk to the real Postgres and Redis, never to stand-ins: `make test` starts them when
//! they do not answer. Their addresses come from `HERD_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and `HERD_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379/0`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    reason = "test code"
)]

mod client;
mod database;
mod redis_prefix;
mod wait;

pub use client::{TestClient, TestResponse};
pub use database::TestDatabase;
pub use redis_prefix::TestRedis;
pub use wait::eventually;
