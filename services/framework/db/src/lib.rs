//! Herd's ORM on deadpool-postgres: `#[derive(Model)]`, lazy QuerySets with Django's lookups,
//! transactions, and migrations applied under a Postgres advisory lock.

pub mod schema;
