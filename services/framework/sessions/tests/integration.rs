//! The session middleware end to end, through the in-process test client and a real Redis.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

#[path = "integration/common.rs"]
mod common;
#[path = "integration/sessions.rs"]
mod sessions;
