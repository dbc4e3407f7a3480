//! Binding submitted data to a form and running Django's cleaning order.
//!
//! A form is either unbound (no data: not valid, no errors, shows initial values) or bound (any
//! data, even none at all). Binding cleans every field, then calls `clean_field` for each
//! field that cleaned, then the form-wide `clean`; the typed struct exists only when no error
//! was recorded.

use std::collections::BTreeMap;
use std::fmt;

use crate::field::{FieldSpec, FieldValue};

/// The key of form-wide errors in [`BoundForm::errors`], as Django's `NON_FIELD_ERRORS`.
pub const NON_FIELD_ERRORS: &str = "__all__";

/// Implemented by `#[derive(Form)]`: the field table and conversions of a form struct.
pub trait Form: FormHooks + Sized {
    /// The fields, in declaration order.
    fn fields() -> &'static [FieldSpec];

    /// Builds the struct from cleaned values; `None` when a field is missing.
    fn from_cleaned(data: &CleanedData) -> Option<Self>;

    /// The struct's values as input text, to show as a form's initial values.
    fn to_initial(&self) -> Vec<(&'static str, String)>;

    /// A form without data: not valid, no errors.
    fn unbound() -> BoundForm<Self> {
        BoundForm {
            bound: false,
            values: BTreeMap::new(),
            errors: BTreeMap::new(),
            cleaned: None,
        }
    }

    /// An unbound form showing this struct's values, as Django's `initial=` (an edit page).
    fn initial(&self) -> BoundForm<Self> {
        BoundForm {
            bound: false,
            values: self
                .to_initial()
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value))
                .collect(),
            errors: BTreeMap::new(),
            cleaned: None,
        }
    }

    /// Binds submitted pairs (a parsed urlencoded body) and cleans them. A name given twice
    /// takes its last value, as Django's `QueryDict.get`.
    fn bind<K: AsRef<str>, V: AsRef<str>>(data: &[(K, V)]) -> BoundForm<Self> {
        BoundForm::clean(data)
    }
}

/// Per-field and form-wide validation hooks, Django's `clean_<field>` and `clean`. Both
/// default to accepting everything: `impl FormHooks for MyForm {}`.
pub trait FormHooks {
    /// Checks or rewrites one field after it cleaned; called only for fields without errors.
    /// An `Err` becomes that field's error and removes the field from the cleaned data.
    fn clean_field(field: &str, value: &mut FieldValue) -> Result<(), String> {
        let _ = (field, value);
        Ok(())
    }

    /// Checks the form as a whole; `cleaned` lacks the fields that failed. Called even when
    /// fields failed, as Django does.
    fn clean(cleaned: &mut CleanedData) -> Result<(), ValidationError> {
        let _ = cleaned;
        Ok(())
    }
}

/// The values that cleaned, by field name (Django's `cleaned_data` dict).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CleanedData {
    values: BTreeMap<String, FieldValue>,
}

/// Errors from a form's `clean` hook: form-wide ones and ones for named fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationError {
    errors: Vec<(Option<String>, String)>,
}

/// A form with its data, errors and, when valid, the typed struct.
#[derive(Debug)]
pub struct BoundForm<F> {
    bound: bool,
    /// The text shown in each input: submitted data when bound, initial values otherwise.
    values: BTreeMap<String, String>,
    errors: BTreeMap<String, Vec<String>>,
    cleaned: Option<F>,
}

// === impl CleanedData ===

impl CleanedData {
    /// The cleaned value of a field, `None` when it failed.
    pub fn get(&self, field: &str) -> Option<&FieldValue> {
        self.values.get(field)
    }

    /// Replaces a field's value.
    pub fn insert(&mut self, field: impl Into<String>, value: FieldValue) {
        self.values.insert(field.into(), value);
    }

    /// Removes a field's value.
    pub fn remove(&mut self, field: &str) -> Option<FieldValue> {
        self.values.remove(field)
    }

    /// Whether the field cleaned.
    pub fn contains(&self, field: &str) -> bool {
        self.values.contains_key(field)
    }
}

// === impl ValidationError ===

impl ValidationError {
    /// A form-wide error, shown under `__all__`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            errors: vec![(None, message.into())],
        }
    }

    /// An error on one field, as Django's `add_error(field, message)`.
    pub fn for_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            errors: vec![(Some(field.into()), message.into())],
        }
    }

    /// Adds another error to this one.
    #[must_use]
    pub fn and(mut self, other: Self) -> Self {
        self.errors.extend(other.errors);
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let messages: Vec<&str> = self.errors.iter().map(|(_, m)| m.as_str()).collect();
        f.write_str(&messages.join(" "))
    }
}

impl std::error::Error for ValidationError {}

// === impl BoundForm ===

impl<F: Form> BoundForm<F> {
    fn clean<K: AsRef<str>, V: AsRef<str>>(data: &[(K, V)]) -> Self {
        let mut values = BTreeMap::new();
        for (name, value) in data {
            values.insert(name.as_ref().to_owned(), value.as_ref().to_owned());
        }
        let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut cleaned = CleanedData::default();
        for spec in F::fields() {
            let raw = values.get(spec.name).map(String::as_str);
            let result = spec.clean(raw).and_then(|mut value| {
                F::clean_field(spec.name, &mut value)
                    .map(|()| value)
                    .map_err(|message| vec![message])
            });
            match result {
                Ok(value) => cleaned.insert(spec.name, value),
                Err(messages) => {
                    errors.insert(spec.name.to_owned(), messages);
                }
            }
        }
        if let Err(error) = F::clean(&mut cleaned) {
            for (field, message) in error.errors {
                let key = field.unwrap_or_else(|| NON_FIELD_ERRORS.to_owned());
                cleaned.remove(&key);
                errors.entry(key).or_default().push(message);
            }
        }
        let typed = if errors.is_empty() {
            F::from_cleaned(&cleaned)
        } else {
            None
        };
        Self {
            bound: true,
            values,
            errors,
            cleaned: typed,
        }
    }
}

impl<F> BoundForm<F> {
    /// Whether data was given (even empty data).
    pub fn is_bound(&self) -> bool {
        self.bound
    }

    /// Whether the form is bound and has no errors.
    pub fn is_valid(&self) -> bool {
        self.bound && self.errors.is_empty() && self.cleaned.is_some()
    }

    /// Errors by field name; form-wide ones under `__all__`. Empty for an unbound form.
    pub fn errors(&self) -> &BTreeMap<String, Vec<String>> {
        &self.errors
    }

    /// The errors of one field (or `__all__`), empty when it has none.
    pub fn field_errors(&self, field: &str) -> &[String] {
        self.errors.get(field).map_or(&[], Vec::as_slice)
    }

    /// Form-wide errors, Django's `non_field_errors()`.
    pub fn non_field_errors(&self) -> &[String] {
        self.field_errors(NON_FIELD_ERRORS)
    }

    /// The typed struct, only when the form is valid.
    pub fn cleaned_data(&self) -> Option<&F> {
        self.cleaned.as_ref()
    }

    /// Takes the typed struct, only when the form is valid.
    pub fn into_cleaned_data(self) -> Option<F> {
        self.cleaned
    }

    /// Django's `add_error`: records an error found outside the form's own cleaning (a wrong
    /// old password, a failed uniqueness check) on `field`, or form-wide for `None`; the form
    /// is no longer valid.
    pub fn add_error(&mut self, field: Option<&str>, message: impl Into<String>) {
        let key = field.unwrap_or(NON_FIELD_ERRORS).to_owned();
        self.errors.entry(key).or_default().push(message.into());
        self.cleaned = None;
    }

    /// The text shown in a field's input: the submitted or initial value.
    pub fn value(&self, field: &str) -> Option<&str> {
        self.values.get(field).map(String::as_str)
    }
}
