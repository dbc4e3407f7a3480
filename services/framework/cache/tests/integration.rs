//! herd-cache's integration tests, one binary: the low-level API, the two-tier backend, HTTP caching.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod api;
mod http;
mod page_stampede;
mod two_tier;
