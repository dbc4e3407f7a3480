//! Path converters: Django's `int`, `str`, `slug`, `uuid` and `path`, and the trait for
//! user-defined ones.

use std::collections::HashMap;
use std::sync::Arc;

/// A path converter: the regex a route parameter must match, and the conversions between the
/// matched text and the value a view sees.
///
/// Register one with [`ResolverBuilder::converter`](super::ResolverBuilder::converter).
pub trait Converter: Send + Sync + 'static {
    /// The regex (unanchored) a parameter must match, e.g. `[0-9]+`.
    fn regex(&self) -> &str;

    /// Normalises a matched value for the view; `None` rejects it, and the resolver then tries
    /// the next pattern (Django's `ValueError` from `to_python`).
    fn to_python(&self, value: &str) -> Option<String>;

    /// Turns a value given to `reverse` into URL text; `None` rejects it. The result must still
    /// match [`regex`](Converter::regex).
    fn to_url(&self, value: &str) -> Option<String>;
}

/// `int`: ASCII digits, no sign. The value is normalised (`0042` is `42`), and an integer that
/// does not fit an `i64` does not match at all.
struct IntConverter;

/// `str`, the default: any non-empty text without `/`.
struct StringConverter;

/// `slug`: ASCII letters, digits, hyphens and underscores.
struct SlugConverter;

/// `uuid`: a lower-case hyphenated UUID.
struct UuidConverter;

/// `path`: any non-empty text, `/` included.
struct PathConverter;

/// The built-in converters by name.
pub(crate) fn builtins() -> HashMap<String, Arc<dyn Converter>> {
    let builtins: [(&str, Arc<dyn Converter>); 5] = [
        ("int", Arc::new(IntConverter)),
        ("str", Arc::new(StringConverter)),
        ("slug", Arc::new(SlugConverter)),
        ("uuid", Arc::new(UuidConverter)),
        ("path", Arc::new(PathConverter)),
    ];
    builtins
        .into_iter()
        .map(|(name, converter)| (name.to_owned(), converter))
        .collect()
}

// === impl IntConverter ===

impl Converter for IntConverter {
    fn regex(&self) -> &'static str {
        "[0-9]+"
    }

    fn to_python(&self, value: &str) -> Option<String> {
        // The regex already restricts the value to ASCII digits; parsing normalises leading
        // zeros and turns an overflow into "no match" (a view could not use the value).
        value.parse::<i64>().ok().map(|number| number.to_string())
    }

    fn to_url(&self, value: &str) -> Option<String> {
        Some(value.to_owned())
    }
}

impl Converter for StringConverter {
    fn regex(&self) -> &'static str {
        "[^/]+"
    }

    fn to_python(&self, value: &str) -> Option<String> {
        Some(value.to_owned())
    }

    fn to_url(&self, value: &str) -> Option<String> {
        Some(value.to_owned())
    }
}

impl Converter for SlugConverter {
    fn regex(&self) -> &'static str {
        "[-a-zA-Z0-9_]+"
    }

    fn to_python(&self, value: &str) -> Option<String> {
        Some(value.to_owned())
    }

    fn to_url(&self, value: &str) -> Option<String> {
        Some(value.to_owned())
    }
}

impl Converter for UuidConverter {
    fn regex(&self) -> &'static str {
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    }

    fn to_python(&self, value: &str) -> Option<String> {
        Some(value.to_owned())
    }

    fn to_url(&self, value: &str) -> Option<String> {
        Some(value.to_owned())
    }
}

impl Converter for PathConverter {
    fn regex(&self) -> &'static str {
        ".+"
    }

    fn to_python(&self, value: &str) -> Option<String> {
        Some(value.to_owned())
    }

    fn to_url(&self, value: &str) -> Option<String> {
        Some(value.to_owned())
    }
}
