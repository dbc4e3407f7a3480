//! Field descriptions and Django's per-field cleaning (`to_python`, `validate`, validators).

use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::Regex;

/// Django's `forms.EmailField` default `max_length`.
const EMAIL_MAX_LENGTH: usize = 320;

/// Django's default `DATE_INPUT_FORMATS`, tried in order.
const DATE_INPUT_FORMATS: [&str; 11] = [
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%b %d %Y",
    "%b %d, %Y",
    "%d %b %Y",
    "%d %b, %Y",
    "%B %d %Y",
    "%B %d, %Y",
    "%d %B %Y",
    "%d %B, %Y",
];

const REQUIRED: &str = "This field is required.";

/// What a field holds, which picks its cleaning and its HTML input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// Trimmed text (`CharField`), `<input type="text">`.
    Char,
    /// A whole number within the Rust type's range (`IntegerField`), `<input type="number">`.
    Integer {
        /// The smallest value the Rust type holds.
        min: i64,
        /// The largest value the Rust type holds.
        max: i64,
    },
    /// A date (`DateField`), `<input type="date">`.
    Date,
    /// Trimmed text that must be an email address (`EmailField`), `<input type="email">`.
    Email,
    /// A password (`CharField(strip=False, widget=PasswordInput)`): kept exactly as typed,
    /// `<input type="password">` that never shows a value back.
    Password,
    /// One of `(value, label)` pairs (`ChoiceField`), a `<select>`.
    Choice(&'static [(&'static str, &'static str)]),
    /// A checkbox (`BooleanField`): absent means false.
    Boolean,
}

/// One form field as the derive describes it.
#[derive(Clone, Copy, Debug)]
pub struct FieldSpec {
    /// The field (and input) name.
    pub name: &'static str,
    /// The label text, `Hire date` for `hire_date` unless `label = "..."` is given.
    pub label: &'static str,
    /// What the field holds.
    pub kind: FieldKind,
    /// Whether an empty value (or an unticked checkbox) is an error.
    pub required: bool,
    /// Longest text allowed, in characters.
    pub max_length: Option<usize>,
    /// Shortest non-empty text allowed, in characters.
    pub min_length: Option<usize>,
    /// Smallest number allowed.
    pub min_value: Option<i64>,
    /// Largest number allowed.
    pub max_value: Option<i64>,
}

/// A cleaned field value, as the `clean` hooks see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldValue {
    /// Text from a char, email or choice field; `""` when an optional field was left empty.
    Text(String),
    /// A whole number.
    Integer(i64),
    /// A date.
    Date(NaiveDate),
    /// A checkbox.
    Boolean(bool),
    /// An optional non-text field left empty.
    Null,
}

/// A Rust type a form field can hold; implemented for `String`, integers, `NaiveDate`, `bool`
/// and `Option<T>` of those.
pub trait FormField: Sized {
    /// The kind of field this type becomes unless the attributes say otherwise.
    const KIND: FieldKind;
    /// Whether the field is required unless `required = ...` is given.
    const REQUIRED: bool = true;
    /// Whether an empty submission has a value of this type, so `required = false` is allowed.
    const ALLOWS_EMPTY: bool = false;

    /// Converts a cleaned value; `None` when the value has another type.
    fn from_value(value: &FieldValue) -> Option<Self>;

    /// The value as it is shown in an input, `None` for "nothing".
    fn to_raw(&self) -> Option<String>;
}

// === impl FieldSpec ===

impl FieldSpec {
    /// The `max_length` in force: email fields default to Django's 320.
    pub fn effective_max_length(&self) -> Option<usize> {
        match (self.max_length, self.kind) {
            (None, FieldKind::Email) => Some(EMAIL_MAX_LENGTH),
            (max, _) => max,
        }
    }

    /// The HTML `id` attribute, `id_<name>`.
    pub fn id(&self) -> String {
        format!("id_{}", self.name)
    }

    /// Cleans one submitted value (`None` when the name was absent) as Django's field does.
    pub(crate) fn clean(&self, raw: Option<&str>) -> Result<FieldValue, Vec<String>> {
        match self.kind {
            FieldKind::Char => self.clean_text(raw.map(str::trim)),
            FieldKind::Password => self.clean_text(raw),
            FieldKind::Email => {
                let value = self.clean_text(raw.map(str::trim))?;
                match &value {
                    FieldValue::Text(text) if !text.is_empty() && !is_email(text) => {
                        Err(vec!["Enter a valid email address.".to_owned()])
                    }
                    _ => Ok(value),
                }
            }
            FieldKind::Integer { min, max } => self.clean_integer(raw, min, max),
            FieldKind::Date => self.clean_date(raw),
            FieldKind::Choice(choices) => self.clean_choice(raw, choices),
            FieldKind::Boolean => {
                let checked = raw.is_some_and(is_checked);
                if self.required && !checked {
                    Err(vec![REQUIRED.to_owned()])
                } else {
                    Ok(FieldValue::Boolean(checked))
                }
            }
        }
    }

    /// Django's `CharField.clean` of text already stripped (or not, for a password).
    fn clean_text(&self, raw: Option<&str>) -> Result<FieldValue, Vec<String>> {
        let text = raw.unwrap_or("");
        if text.is_empty() {
            return self.empty(FieldValue::Text(String::new()));
        }
        let length = text.chars().count();
        let mut errors = Vec::new();
        if let Some(max) = self.effective_max_length()
            && length > max
        {
            errors.push(format!(
                "Ensure this value has at most {max} {} (it has {length}).",
                characters(max)
            ));
        }
        if let Some(min) = self.min_length
            && length < min
        {
            errors.push(format!(
                "Ensure this value has at least {min} {} (it has {length}).",
                characters(min)
            ));
        }
        if errors.is_empty() {
            Ok(FieldValue::Text(text.to_owned()))
        } else {
            Err(errors)
        }
    }

    fn clean_integer(
        &self,
        raw: Option<&str>,
        type_min: i64,
        type_max: i64,
    ) -> Result<FieldValue, Vec<String>> {
        let text = raw.unwrap_or("").trim();
        if text.is_empty() {
            return self.empty(FieldValue::Null);
        }
        // Django drops a trailing `.0` (`re_decimal`) before `int()`.
        let digits = text.trim_end_matches('0').strip_suffix('.').unwrap_or(text);
        let Ok(number) = digits.parse::<i64>() else {
            return Err(vec!["Enter a whole number.".to_owned()]);
        };
        let min = self.min_value.map_or(type_min, |m| m.max(type_min));
        let max = self.max_value.map_or(type_max, |m| m.min(type_max));
        let mut errors = Vec::new();
        if number > max {
            errors.push(format!("Ensure this value is less than or equal to {max}."));
        }
        if number < min {
            errors.push(format!(
                "Ensure this value is greater than or equal to {min}."
            ));
        }
        if errors.is_empty() {
            Ok(FieldValue::Integer(number))
        } else {
            Err(errors)
        }
    }

    fn clean_date(&self, raw: Option<&str>) -> Result<FieldValue, Vec<String>> {
        let text = raw.unwrap_or("").trim();
        if text.is_empty() {
            return self.empty(FieldValue::Null);
        }
        DATE_INPUT_FORMATS
            .iter()
            .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
            .map(FieldValue::Date)
            .ok_or_else(|| vec!["Enter a valid date.".to_owned()])
    }

    fn clean_choice(
        &self,
        raw: Option<&str>,
        choices: &[(&str, &str)],
    ) -> Result<FieldValue, Vec<String>> {
        // Django's ChoiceField does not strip.
        let value = raw.unwrap_or("");
        if value.is_empty() {
            return self.empty(FieldValue::Text(String::new()));
        }
        if choices.iter().any(|(choice, _)| *choice == value) {
            Ok(FieldValue::Text(value.to_owned()))
        } else {
            Err(vec![format!(
                "Select a valid choice. {value} is not one of the available choices."
            )])
        }
    }

    fn empty(&self, value: FieldValue) -> Result<FieldValue, Vec<String>> {
        if self.required {
            Err(vec![REQUIRED.to_owned()])
        } else {
            Ok(value)
        }
    }
}

// === impl FormField ===

impl FormField for String {
    const KIND: FieldKind = FieldKind::Char;
    const ALLOWS_EMPTY: bool = true;

    fn from_value(value: &FieldValue) -> Option<Self> {
        match value {
            FieldValue::Text(text) => Some(text.clone()),
            _ => None,
        }
    }

    fn to_raw(&self) -> Option<String> {
        Some(self.clone())
    }
}

macro_rules! integer_field {
    ($($ty:ty),*) => {$(
        impl FormField for $ty {
            const KIND: FieldKind = FieldKind::Integer {
                min: <$ty>::MIN as i64,
                max: <$ty>::MAX as i64,
            };

            fn from_value(value: &FieldValue) -> Option<Self> {
                match value {
                    FieldValue::Integer(n) => <$ty>::try_from(*n).ok(),
                    _ => None,
                }
            }

            fn to_raw(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}

integer_field!(i16, i32, i64, u16, u32);

impl FormField for NaiveDate {
    const KIND: FieldKind = FieldKind::Date;

    fn from_value(value: &FieldValue) -> Option<Self> {
        match value {
            FieldValue::Date(date) => Some(*date),
            _ => None,
        }
    }

    fn to_raw(&self) -> Option<String> {
        Some(self.format("%Y-%m-%d").to_string())
    }
}

impl FormField for bool {
    const KIND: FieldKind = FieldKind::Boolean;
    const ALLOWS_EMPTY: bool = true;

    fn from_value(value: &FieldValue) -> Option<Self> {
        match value {
            FieldValue::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    fn to_raw(&self) -> Option<String> {
        self.then(|| "on".to_owned())
    }
}

impl<T: FormField> FormField for Option<T> {
    const KIND: FieldKind = T::KIND;
    const REQUIRED: bool = false;
    const ALLOWS_EMPTY: bool = true;

    fn from_value(value: &FieldValue) -> Option<Self> {
        match value {
            FieldValue::Null => Some(None),
            FieldValue::Text(text) if text.is_empty() => Some(None),
            other => T::from_value(other).map(Some),
        }
    }

    fn to_raw(&self) -> Option<String> {
        self.as_ref().and_then(T::to_raw)
    }
}

// === impl FieldValue ===

impl FieldValue {
    /// The text of a char, email or choice field.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The number of an integer field.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Self::Integer(n) => Some(*n),
            _ => None,
        }
    }

    /// The date of a date field.
    pub fn as_date(&self) -> Option<NaiveDate> {
        match self {
            Self::Date(date) => Some(*date),
            _ => None,
        }
    }

    /// The state of a checkbox.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Boolean(b) => Some(*b),
            _ => None,
        }
    }
}

/// Django's `CheckboxInput.value_from_datadict`: `"false"` (any case) and `""` are unticked.
pub(crate) fn is_checked(raw: &str) -> bool {
    !raw.is_empty() && !raw.eq_ignore_ascii_case("false")
}

fn characters(n: usize) -> &'static str {
    if n == 1 { "character" } else { "characters" }
}

/// Django's `EmailValidator` for ASCII addresses (no IDNA conversion of the domain).
fn is_email(value: &str) -> bool {
    static USER: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(
            r#"(?i)^(?:[-!#$%&'*+/=?^_`{}|~0-9A-Z]+(?:\.[-!#$%&'*+/=?^_`{}|~0-9A-Z]+)*|"(?:[\x01-\x08\x0b\x0c\x0e-\x1f!#-\[\]-\x7f]|\\[\x01-\x09\x0b\x0c\x0e-\x7f])*")$"#,
        )
        .ok()
    });
    static DOMAIN: LazyLock<Option<Regex>> = LazyLock::new(|| {
        Regex::new(r"(?i)^(?:[A-Z0-9](?:[A-Z0-9-]{0,61}[A-Z0-9])?\.)+[A-Z0-9-]{2,63}$").ok()
    });
    let Some((user, domain)) = value.rsplit_once('@') else {
        return false;
    };
    let (Some(user_re), Some(domain_re)) = (USER.as_ref(), DOMAIN.as_ref()) else {
        return false;
    };
    user_re.is_match(user)
        && (domain.eq_ignore_ascii_case("localhost")
            || (domain_re.is_match(domain) && !domain.ends_with('-'))
            || is_ip_literal(domain))
}

/// `[192.0.2.1]` or `[IPv6:2001:db8::1]`.
fn is_ip_literal(domain: &str) -> bool {
    let Some(inner) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) else {
        return false;
    };
    match inner.get(..5) {
        Some(prefix) if prefix.eq_ignore_ascii_case("ipv6:") => {
            inner[5..].parse::<std::net::Ipv6Addr>().is_ok()
        }
        _ => inner.parse::<std::net::Ipv4Addr>().is_ok(),
    }
}
