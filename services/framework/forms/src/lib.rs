//! Django-style forms: `#[derive(Form)]` on a struct, bind submitted data, clean it into the
//! typed struct or render it back as HTML with Django's error markup.
//!
//! Field types pick the field: `String` (text, trimmed), `i64`/`i32` (whole number),
//! `chrono::NaiveDate` (date), `bool` (checkbox; a required one must be ticked) and `Option<T>`
//! (not required). Attributes refine them: `#[form(max_length = 100, min_length = 2)]`,
//! `min_value`/`max_value`, `email`, `password` (kept as typed, never rendered back),
//! `choices = "a:Apple,b:Banana"`, `required = false`, `label = "..."`. On the struct,
//! `#[form(crate = "herd::forms")]` names this crate's path and `#[form(model = "Employee")]`
//! makes it Django's `ModelForm` of that model ([`ModelForm`]): its fields edit the model's
//! fields of the same names, and [`ModelForm::save`] writes them.
//!
//! ```
//! use herd_forms::{Form, FormHooks};
//!
//! #[derive(Form)]
//! struct ContactForm {
//!     #[form(max_length = 5)]
//!     name: String,
//!     #[form(email)]
//!     email: String,
//!     age: Option<i64>,
//! }
//!
//! impl FormHooks for ContactForm {}
//!
//! let form = ContactForm::bind(&[("name", " Annabel "), ("email", "ann@example.com")]);
//! assert!(!form.is_valid());
//! assert_eq!(
//!     form.field_errors("name"),
//!     ["Ensure this value has at most 5 characters (it has 7)."]
//! );
//!
//! let form = ContactForm::bind(&[("name", " Ann "), ("email", "ann@example.com")]);
//! let contact = form.into_cleaned_data().unwrap();
//! assert_eq!((contact.name.as_str(), contact.age), ("Ann", None));
//! ```

extern crate self as herd_forms;

mod bound;
mod field;
mod model;
mod render;

pub use bound::{BoundForm, CleanedData, Form, FormHooks, NON_FIELD_ERRORS, ValidationError};
pub use field::{FieldKind, FieldSpec, FieldValue, FormField};
pub use herd_macros::Form;
pub use model::ModelForm;
pub use render::escape;

#[cfg(test)]
mod tests;
