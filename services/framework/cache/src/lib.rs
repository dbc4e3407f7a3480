//! Django's cache framework for Herd: a low-level API over pluggable backends (dummy, local
//! moka, Redis, and the default two-tier moka L1 in front of Redis with cross-worker
//! invalidation), and the HTTP caching built on it.
//!
//! Caches fail open: a backend error is logged, counted and treated as a miss, never a 500.

pub mod backend;
pub mod dummy;
pub mod local;

pub use backend::{Backend, BackendError, BoxFuture, Expiry};
