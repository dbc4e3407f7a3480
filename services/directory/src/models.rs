//! The directory's models.

use chrono::NaiveDate;
use herd::db::Model;
use herd::templates::TemplateObject;
use serde::Serialize;

/// A person on the payroll. Templates read an employee's fields in place when it is passed as
/// an object (`object_list`), or from a serde copy when it is part of a serialized context.
#[derive(Model, TemplateObject, Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[model(crate = "herd::db", app = "directory", ordering = "name, id")]
#[template(crate = "herd::templates")]
pub struct Employee {
    /// The primary key.
    pub id: i64,
    /// Full name, as it should be shown.
    #[model(max_length = 100, index)]
    pub name: String,
    /// Postal address on one line.
    #[model(max_length = 200)]
    pub address: String,
    /// The day the employee started.
    #[model(index)]
    pub hire_date: NaiveDate,
}
