//! The employee directory end to end, against the real Postgres (and Redis for readiness).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "test code"
)]

mod accounts;
mod caching;
mod commands;
mod common;
mod pages;
