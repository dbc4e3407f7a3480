//! Herd's ORM on deadpool-postgres: `#[derive(Model)]`, lazy querysets with Django's lookups,
//! transactions, and migrations applied under a Postgres advisory lock.
//!
//! ```no_run
//! use herd_db::{Database, ForeignKey, Model, Q};
//!
//! #[derive(Model, Clone, Debug)]
//! #[model(app = "directory")]
//! struct Department {
//!     id: i64,
//!     #[model(max_length = 50, unique)]
//!     name: String,
//! }
//!
//! #[derive(Model, Clone, Debug)]
//! #[model(app = "directory", ordering = "name, -id")]
//! struct Employee {
//!     id: i64,
//!     #[model(max_length = 100, index)]
//!     name: String,
//!     address: Option<String>,
//!     hire_date: chrono::NaiveDate,
//!     department: ForeignKey<Department>,
//! }
//!
//! # async fn example(settings: herd_core::Settings) -> herd_db::Result<()> {
//! let db = Database::connect(&settings.database_url, &settings.database)?;
//! let sales = Department::create(&db, Department { id: 0, name: "Sales".into() }).await?;
//! Employee::create(&db, Employee {
//!     id: 0,
//!     name: "Ann".into(),
//!     address: None,
//!     hire_date: chrono::NaiveDate::from_ymd_opt(2001, 5, 1).unwrap(),
//!     department: ForeignKey::from(&sales),
//! })
//! .await?;
//! let hired = Employee::objects()
//!     .filter(Employee::hire_date().year(2001) | Employee::name().istartswith("a"))
//!     .select_related("department")
//!     .slice(0..50)
//!     .all(&db)
//!     .await?;
//! assert_eq!(hired[0].department.get().map(|d| d.name.as_str()), Some("Sales"));
//! # Ok(()) }
//! ```

// Lets `#[derive(Model)]`'s `::herd_db::...` paths resolve inside this crate's own tests.
extern crate self as herd_db;

mod change;
mod database;
mod error;
mod executor;
mod lookup;
pub mod migrations;
mod model;
mod queryset;
pub mod schema;
mod transaction;
mod value;

pub use change::Change;
pub use database::Database;
pub use error::{Error, Result};
pub use executor::{Executor, Statement};
pub use herd_macros::Model;
pub use lookup::{Assignment, Column, Exact, IntoField, Operand, Q, Temporal};
pub use model::{FieldMeta, ForeignKey, Model, ModelMeta};
pub use queryset::QuerySet;
pub use tokio_postgres::Row;
pub use transaction::Transaction;
pub use value::{FieldType, Scalar, Value};
