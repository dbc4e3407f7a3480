//! Baseline servers.
