//! The CSRF middleware end to end, through the in-process test client.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "integration/checks.rs"]
mod checks;
#[path = "integration/common.rs"]
mod common;
#[path = "integration/cookies.rs"]
mod cookies;
#[path = "integration/tokens.rs"]
mod tokens;
