//! Django's HTML escaping, shared by templates and the pages Herd writes itself.
//!
//! Exactly five characters change: `&`, `<`, `>`, `"` and `'` (as `&#x27;`).
//!
//! ```
//! assert_eq!(herd_core::html::escape(r#"<b>O'Neil & "Co"</b> a/b"#), "&lt;b&gt;O&#x27;Neil &amp; &quot;Co&quot;&lt;/b&gt; a/b");
//! ```

use std::fmt;

/// Writes `text` to `out` with Django's HTML escaping, piece by piece.
///
/// # Errors
///
/// Only what `out` returns.
pub fn write_escaped<W: fmt::Write + ?Sized>(out: &mut W, text: &str) -> fmt::Result {
    let mut last = 0;
    for (index, byte) in text.bytes().enumerate() {
        let replacement = match byte {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#x27;",
            _ => continue,
        };
        out.write_str(&text[last..index])?;
        out.write_str(replacement)?;
        last = index + 1;
    }
    out.write_str(&text[last..])
}

/// Django's `escape(text)`.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + text.len() / 8);
    // Writing into a String cannot fail.
    let _ = write_escaped(&mut escaped, text);
    escaped
}
