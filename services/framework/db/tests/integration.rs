//! The ORM against a real Postgres: one fresh database per test.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

mod changes;
mod common;
mod instances;
mod lookups;
mod migrations;
mod pool;
mod queryset;
mod related;
mod transactions;
