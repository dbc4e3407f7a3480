//! Django's password validators (`django.contrib.auth.password_validation`) with Django's
//! messages and codes: [`UserAttributeSimilarityValidator`], [`MinimumLengthValidator`],
//! [`CommonPasswordValidator`] and [`NumericPasswordValidator`].
//!
//! The common-password list is Django's own (`common-passwords.txt.gz` from Django 5.2.19,
//! 19,640 lowercased passwords compiled by Royce Williams), embedded uncompressed.
//!
//! ```
//! use herd_auth::validators::{UserAttribute, default_validators, validate_password};
//!
//! let user = [UserAttribute::new("username", "username", "jdoe")];
//! let errors = validate_password("123456", &user, &default_validators()).unwrap_err();
//! let codes: Vec<_> = errors.iter().map(|e| e.code()).collect();
//! assert_eq!(codes, ["password_too_short", "password_too_common", "password_entirely_numeric"]);
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::LazyLock;

const COMMON_PASSWORDS: &str = include_str!("validators/common-passwords.txt");

static COMMON_PASSWORD_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| COMMON_PASSWORDS.lines().map(str::trim).collect());

/// One attribute of the user whose password is checked, for
/// [`UserAttributeSimilarityValidator`].
#[derive(Clone, Copy, Debug)]
pub struct UserAttribute<'a> {
    /// The field name, e.g. `first_name`.
    pub name: &'a str,
    /// The name used in messages, e.g. `first name` (Django's `verbose_name`).
    pub verbose_name: &'a str,
    /// The user's value.
    pub value: &'a str,
}

/// A failed check: Django's `ValidationError` message and code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationError {
    code: &'static str,
    message: String,
}

/// A password check (Django's validator protocol).
pub trait PasswordValidator: Send + Sync {
    /// Checks `password` for a user with these attributes (empty for no user).
    ///
    /// # Errors
    /// The [`ValidationError`] Django would raise.
    fn validate(&self, password: &str, user: &[UserAttribute<'_>]) -> Result<(), ValidationError>;

    /// Django's `get_help_text`.
    fn help_text(&self) -> String;
}

/// Refuses passwords too similar to the user's attributes (Django's
/// `UserAttributeSimilarityValidator`).
#[derive(Clone, Debug)]
pub struct UserAttributeSimilarityValidator {
    user_attributes: Vec<String>,
    max_similarity: f64,
}

/// Refuses passwords shorter than a minimum (Django's `MinimumLengthValidator`, default 8).
#[derive(Clone, Copy, Debug)]
pub struct MinimumLengthValidator {
    min_length: usize,
}

/// Refuses passwords on Django's list of 19,640 common passwords.
#[derive(Clone, Copy, Debug, Default)]
pub struct CommonPasswordValidator;

/// Refuses passwords made only of digits.
#[derive(Clone, Copy, Debug, Default)]
pub struct NumericPasswordValidator;

// === impl UserAttribute ===

impl<'a> UserAttribute<'a> {
    /// An attribute `name` shown as `verbose_name`, with the user's `value`.
    pub fn new(name: &'a str, verbose_name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            verbose_name,
            value,
        }
    }
}

// === impl ValidationError ===

impl ValidationError {
    fn new(code: &'static str, message: String) -> Self {
        Self { code, message }
    }

    /// Django's error code, e.g. `password_too_short`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The message Django shows.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ValidationError {}

// === impl UserAttributeSimilarityValidator ===

impl UserAttributeSimilarityValidator {
    /// Django's `DEFAULT_USER_ATTRIBUTES`.
    pub const DEFAULT_USER_ATTRIBUTES: [&'static str; 4] =
        ["username", "first_name", "last_name", "email"];

    /// Checks the named attributes; `max_similarity` is Django's quick-ratio threshold.
    ///
    /// # Errors
    /// `max_similarity` below 0.1, which Django refuses too.
    pub fn new(
        user_attributes: impl IntoIterator<Item = impl Into<String>>,
        max_similarity: f64,
    ) -> Result<Self, crate::AuthError> {
        if max_similarity.is_nan() || max_similarity < 0.1 {
            return Err(crate::AuthError::InvalidParams(
                "max_similarity must be at least 0.1",
            ));
        }
        Ok(Self {
            user_attributes: user_attributes.into_iter().map(Into::into).collect(),
            max_similarity,
        })
    }
}

impl Default for UserAttributeSimilarityValidator {
    fn default() -> Self {
        Self {
            user_attributes: Self::DEFAULT_USER_ATTRIBUTES
                .iter()
                .map(|&s| s.to_owned())
                .collect(),
            max_similarity: 0.7,
        }
    }
}

impl PasswordValidator for UserAttributeSimilarityValidator {
    fn validate(&self, password: &str, user: &[UserAttribute<'_>]) -> Result<(), ValidationError> {
        let password: Vec<char> = password.to_lowercase().chars().collect();
        for name in &self.user_attributes {
            let Some(attr) = user.iter().find(|a| a.name == name) else {
                continue;
            };
            if attr.value.is_empty() {
                continue;
            }
            let value = attr.value.to_lowercase();
            let parts = split_non_word(&value);
            for part in parts.into_iter().chain(std::iter::once(value.as_str())) {
                let part: Vec<char> = part.chars().collect();
                if exceeds_maximum_length_ratio(password.len(), self.max_similarity, part.len()) {
                    continue;
                }
                if quick_ratio(&password, &part) >= self.max_similarity {
                    return Err(ValidationError::new(
                        "password_too_similar",
                        format!("The password is too similar to the {}.", attr.verbose_name),
                    ));
                }
            }
        }
        Ok(())
    }

    fn help_text(&self) -> String {
        "Your password can’t be too similar to your other personal information.".to_owned()
    }
}

// === impl MinimumLengthValidator ===

impl MinimumLengthValidator {
    /// Requires at least `min_length` characters.
    pub fn new(min_length: usize) -> Self {
        Self { min_length }
    }
}

impl Default for MinimumLengthValidator {
    fn default() -> Self {
        Self::new(8)
    }
}

impl PasswordValidator for MinimumLengthValidator {
    fn validate(&self, password: &str, _user: &[UserAttribute<'_>]) -> Result<(), ValidationError> {
        if password.chars().count() < self.min_length {
            let n = self.min_length;
            let noun = if n == 1 { "character" } else { "characters" };
            return Err(ValidationError::new(
                "password_too_short",
                format!("This password is too short. It must contain at least {n} {noun}."),
            ));
        }
        Ok(())
    }

    fn help_text(&self) -> String {
        let n = self.min_length;
        let noun = if n == 1 { "character" } else { "characters" };
        format!("Your password must contain at least {n} {noun}.")
    }
}

// === impl CommonPasswordValidator ===

impl PasswordValidator for CommonPasswordValidator {
    fn validate(&self, password: &str, _user: &[UserAttribute<'_>]) -> Result<(), ValidationError> {
        if COMMON_PASSWORD_SET.contains(password.to_lowercase().trim()) {
            return Err(ValidationError::new(
                "password_too_common",
                "This password is too common.".to_owned(),
            ));
        }
        Ok(())
    }

    fn help_text(&self) -> String {
        "Your password can’t be a commonly used password.".to_owned()
    }
}

// === impl NumericPasswordValidator ===

impl PasswordValidator for NumericPasswordValidator {
    fn validate(&self, password: &str, _user: &[UserAttribute<'_>]) -> Result<(), ValidationError> {
        // Python's str.isdigit(): non-empty and every character a digit.
        if !password.is_empty() && password.chars().all(char::is_numeric) {
            return Err(ValidationError::new(
                "password_entirely_numeric",
                "This password is entirely numeric.".to_owned(),
            ));
        }
        Ok(())
    }

    fn help_text(&self) -> String {
        "Your password can’t be entirely numeric.".to_owned()
    }
}

/// The four validators of Django's project template, in its order.
pub fn default_validators() -> Vec<Box<dyn PasswordValidator>> {
    vec![
        Box::new(UserAttributeSimilarityValidator::default()),
        Box::new(MinimumLengthValidator::default()),
        Box::new(CommonPasswordValidator),
        Box::new(NumericPasswordValidator),
    ]
}

/// The attributes of Herd's user that [`UserAttributeSimilarityValidator`] compares a password
/// with: its username and email, with Django's verbose names.
pub fn user_attributes<'a>(username: &'a str, email: &'a str) -> [UserAttribute<'a>; 2] {
    [
        UserAttribute::new("username", "username", username),
        UserAttribute::new("email", "email address", email),
    ]
}

/// Runs every validator (Django's `validate_password`) and returns all failures.
///
/// # Errors
/// Every [`ValidationError`], in validator order.
pub fn validate_password(
    password: &str,
    user: &[UserAttribute<'_>],
    validators: &[Box<dyn PasswordValidator>],
) -> Result<(), Vec<ValidationError>> {
    let errors: Vec<_> = validators
        .iter()
        .filter_map(|v| v.validate(password, user).err())
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Django's `password_validators_help_texts`.
pub fn password_validators_help_texts(validators: &[Box<dyn PasswordValidator>]) -> Vec<String> {
    validators.iter().map(|v| v.help_text()).collect()
}

/// Python's `re.split(r"\W+", s)`: split on runs of non-word characters, keeping the empty
/// parts a leading or trailing run leaves.
fn split_non_word(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut in_separator = false;
    for (i, c) in s.char_indices() {
        let is_word = c.is_alphanumeric() || c == '_';
        if !is_word && !in_separator {
            parts.push(&s[start..i]);
            in_separator = true;
        } else if is_word && in_separator {
            start = i;
            in_separator = false;
        }
    }
    parts.push(if in_separator { "" } else { &s[start..] });
    parts
}

/// Django's `exceeds_maximum_length_ratio`: skip values far shorter than the password.
fn exceeds_maximum_length_ratio(
    password_len: usize,
    max_similarity: f64,
    value_len: usize,
) -> bool {
    #[expect(clippy::cast_precision_loss, reason = "password lengths are small")]
    let length_bound_similarity = max_similarity / 2.0 * password_len as f64;
    #[expect(clippy::cast_precision_loss, reason = "password lengths are small")]
    let below_bound = (value_len as f64) < length_bound_similarity;
    password_len >= 10 * value_len && below_bound
}

/// Python's `SequenceMatcher(a=a, b=b).quick_ratio()`: twice the multiset intersection over the
/// total length.
fn quick_ratio(a: &[char], b: &[char]) -> f64 {
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    let mut avail: HashMap<char, isize> = HashMap::new();
    for &c in b {
        *avail.entry(c).or_default() += 1;
    }
    let mut matches = 0usize;
    for c in a {
        if let Some(n) = avail.get_mut(c) {
            if *n > 0 {
                matches += 1;
            }
            *n -= 1;
        }
    }
    #[expect(clippy::cast_precision_loss, reason = "password lengths are small")]
    let ratio = 2.0 * matches as f64 / total as f64;
    ratio
}

#[cfg(test)]
mod tests;
