//! The directory's forms.

use chrono::NaiveDate;
use herd::forms::{CleanedData, Form, FormHooks, ValidationError};

/// An employee, as `/employee/new/` and `/employee/id/<pk>/edit/` take it: the model form of
/// [`Employee`](crate::models::Employee).
#[derive(Form, Clone, Debug)]
#[form(crate = "herd::forms", model = "crate::models::Employee")]
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

/// Django's `PasswordChangeForm`: the old password, then the new one twice. The old password
/// and the password validators are checked by the view, which knows the user.
#[derive(Form, Clone, Debug)]
#[form(crate = "herd::forms")]
pub struct PasswordChangeForm {
    /// The password in use now.
    #[form(password)]
    pub old_password: String,
    /// The new password.
    #[form(password, label = "New password")]
    pub new_password1: String,
    /// The new password again, to catch a typo.
    #[form(password, label = "New password confirmation")]
    pub new_password2: String,
}

/// Django's message when the two new passwords differ.
pub const PASSWORD_MISMATCH: &str = "The two password fields didn’t match.";

impl FormHooks for PasswordChangeForm {
    fn clean(cleaned: &mut CleanedData) -> Result<(), ValidationError> {
        let first = cleaned.get("new_password1").and_then(|v| v.as_str());
        let second = cleaned.get("new_password2").and_then(|v| v.as_str());
        match (first, second) {
            (Some(first), Some(second)) if first != second => Err(ValidationError::for_field(
                "new_password2",
                PASSWORD_MISMATCH,
            )),
            _ => Ok(()),
        }
    }
}
