//! Route syntax: parsing `employee/<int:year>/` into literal text and parameters, and building
//! the anchored regex Django builds from it.

use std::fmt::Write as _;

use super::error::UrlError;

/// One piece of a route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    /// Text matched as is.
    Literal(String),
    /// A `<converter:name>` parameter.
    Param {
        /// The parameter's name, as views see it.
        name: String,
        /// The converter's registered name (`str` when the route names none).
        converter: String,
    },
}

/// Splits a full route into literal text and parameters, refusing what Django refuses
/// (whitespace in angle brackets, parameter names that are not identifiers) and what could only
/// be a mistake (unmatched brackets, a leading `/`, a parameter named twice).
pub(crate) fn parse(route: &str) -> Result<Vec<Part>, UrlError> {
    let invalid = |reason: String| UrlError::InvalidRoute {
        route: route.to_owned(),
        reason,
    };
    if route.starts_with('/') {
        return Err(invalid(
            "routes must not start with '/' (the leading slash is implied)".to_owned(),
        ));
    }
    let mut parts = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    let mut rest = route;
    while !rest.is_empty() {
        let Some(open) = rest.find('<') else {
            if rest.contains('>') {
                return Err(invalid("unmatched '>'".to_owned()));
            }
            parts.push(Part::Literal(rest.to_owned()));
            break;
        };
        let literal = &rest[..open];
        if literal.contains('>') {
            return Err(invalid("unmatched '>'".to_owned()));
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal.to_owned()));
        }
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            return Err(invalid("unmatched '<'".to_owned()));
        };
        let inner = &after[..close];
        if inner.contains('<') {
            return Err(invalid("unmatched '<'".to_owned()));
        }
        if inner.chars().any(char::is_whitespace) {
            return Err(invalid(format!("whitespace in angle brackets <{inner}>")));
        }
        let (converter, name) = inner.split_once(':').unwrap_or(("str", inner));
        if !is_identifier(name) {
            return Err(invalid(format!(
                "parameter name '{name}' is not a valid identifier"
            )));
        }
        if converter.is_empty() {
            return Err(invalid(format!("empty converter name in <{inner}>")));
        }
        if names.contains(&name) {
            return Err(invalid(format!("parameter '{name}' appears twice")));
        }
        names.push(name);
        parts.push(Part::Param {
            name: name.to_owned(),
            converter: converter.to_owned(),
        });
        rest = &after[close + 1..];
    }
    Ok(parts)
}

/// The regex source for `parts`, anchored at both ends; parameter `i` is the group `p{i}`,
/// since the regex crate allows only ASCII group names while parameters may be any identifier.
pub(crate) fn regex_source<'a>(
    parts: &[Part],
    mut converter_regex: impl FnMut(&str) -> &'a str,
) -> String {
    let mut source = String::from("^");
    let mut index = 0;
    for part in parts {
        match part {
            Part::Literal(text) => source.push_str(&regex::escape(text)),
            Part::Param { converter, .. } => {
                // Writing to a String cannot fail.
                let _ = write!(source, "(?P<p{index}>{})", converter_regex(converter));
                index += 1;
            }
        }
    }
    source.push_str("\\z");
    source
}

/// Python's `str.isidentifier`, which Django requires of parameter names.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first == '_' || first.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}
