//! Escaping exactly as Django does it.
//!
//! HTML: `&`, `<`, `>`, `"` and `'` only. minijinja's own HTML escaping also turns `/` into
//! `&#x2f;`, which Django does not, so Herd installs its own formatter and `escape` filters.
//! XML: `&`, `<`, `>` and `"`; `'` is left as is.

use minijinja::value::{Value, ValueKind};
use minijinja::{AutoEscape, Error, Output, State};

/// The auto-escape mode name used for `.xml` templates.
pub(crate) const XML: &str = "xml";

pub use herd_core::html::write_escaped as write_html_escaped;

/// Appends `text` to `out` with Django's HTML escaping.
pub fn escape_html_into(out: &mut String, text: &str) {
    // Writing into a String cannot fail.
    let _ = write_html_escaped(out, text);
}

/// Django's HTML escaping of `text`.
pub fn escape_html(text: &str) -> String {
    herd_core::html::escape(text)
}

/// XML escaping of `text`: `&`, `<`, `>` and `"`.
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(ch),
        }
    }
    out
}

/// The output formatter: undefined and none render as nothing, safe values pass untouched,
/// everything else is escaped for the template's mode, straight into the output.
pub(crate) fn format(
    out: &mut Output<'_>,
    state: &mut State<'_, '_>,
    value: &Value,
) -> Result<(), Error> {
    if value.is_undefined() || value.is_none() {
        return Ok(());
    }
    let mode = state.auto_escape();
    if value.is_safe() || matches!(*mode, AutoEscape::None) {
        return write!(out, "{value}").map_err(Error::from);
    }
    if matches!(mode, AutoEscape::Custom(name) if name == XML) {
        return out
            .write_str(&escape_xml(&value.to_string()))
            .map_err(Error::from);
    }
    let written = match value.as_str() {
        Some(text) => write_html_escaped(out, text),
        // Numbers and booleans have nothing to escape. Integers (ids in every row of a table)
        // skip `fmt` machinery; floats and the other numbers keep their Display.
        None if value.is_integer()
            && let Some(number) = value.as_i64() =>
        {
            write_integer(out, number)
        }
        None if matches!(value.kind(), ValueKind::Number | ValueKind::Bool) => {
            write!(out, "{value}")
        }
        None => write_html_escaped(out, &value.to_string()),
    };
    written.map_err(Error::from)
}

/// Writes `number` in decimal, as its `Display` does.
fn write_integer(out: &mut Output<'_>, number: i64) -> std::fmt::Result {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = number.unsigned_abs();
    loop {
        start -= 1;
        // `rest % 10` is a single digit.
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if number < 0 {
        out.write_str("-")?;
    }
    out.write_str(std::str::from_utf8(&digits[start..]).unwrap_or_default())
}

fn escape_for(mode: &AutoEscape, text: &str) -> String {
    match mode {
        AutoEscape::Custom(name) if name == XML => escape_xml(text),
        _ => escape_html(text),
    }
}

/// `|escape` and `|e`: escapes unless already safe, so it never double-escapes.
pub(crate) fn escape_filter(state: &State<'_, '_>, value: &Value) -> Value {
    if value.is_safe() {
        return value.clone();
    }
    Value::from_safe_string(escape_for(state.auto_escape(), &value.to_string()))
}

/// `|force_escape`: always escapes, even a safe value.
pub(crate) fn force_escape_filter(state: &State<'_, '_>, value: &Value) -> Value {
    Value::from_safe_string(escape_for(state.auto_escape(), &value.to_string()))
}

/// The auto-escape mode for a template name: XML for `.xml`, HTML for everything else.
pub(crate) fn mode_for(name: &str) -> AutoEscape {
    let is_xml = std::path::Path::new(name)
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("xml"));
    if is_xml {
        AutoEscape::Custom(XML.into())
    } else {
        AutoEscape::Html
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escaping_changes_exactly_five_characters() {
        assert_eq!(
            escape_html(r#"<b>O'Neil & "Co"</b>"#),
            "&lt;b&gt;O&#x27;Neil &amp; &quot;Co&quot;&lt;/b&gt;"
        );
        assert_eq!(escape_html("a/b = c;"), "a/b = c;");
    }

    #[test]
    fn xml_escaping_leaves_apostrophes() {
        assert_eq!(
            escape_xml(r#"<a href="x">O'Neil & co</a>"#),
            "&lt;a href=&quot;x&quot;&gt;O'Neil &amp; co&lt;/a&gt;"
        );
    }
}
