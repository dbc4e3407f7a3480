//! The directory's forms.

use chrono::NaiveDate;
use herd::forms::{Form, FormHooks};

/// A new employee, as `/employee/new/` takes it.
#[derive(Form, Clone, Debug)]
#[form(crate = "herd::forms")]
pub struct EmployeeForm {
    /// Full name.
    #[form(max_length = 100)]
    pub name: String,
    /// Postal address on one line.
    #[form(max_length = 200)]
    pub address: String,
    /// The day the employee started.
    pub hire_date: NaiveDate,
}

impl FormHooks for EmployeeForm {}
