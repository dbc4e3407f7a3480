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
    let bytes = text.as_bytes();
    let mut last = 0;
    while let Some(index) = find_special(bytes, last) {
        let replacement = match bytes[index] {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            _ => "&#x27;",
        };
        // `index` holds an ASCII byte, so both slices end on character boundaries.
        out.write_str(&text[last..index])?;
        out.write_str(replacement)?;
        last = index + 1;
    }
    out.write_str(&text[last..])
}

/// The characters escaping replaces.
const SPECIAL: [u8; 5] = *b"&<>\"'";

/// The index of the first byte of `bytes[from..]` that escaping replaces.
///
/// Eight bytes at a time (every page prints mostly plain text): a byte of a word equal to
/// `c` is a zero byte of `word ^ [c; 8]`, and `(x - 0x01..01) & !x & 0x80..80` flags zero
/// bytes. A borrow can flag a byte above a true zero but never below one, so the lowest flag,
/// the first byte in memory of a little-endian word, is exact.
fn find_special(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut start = from;
    let mut words = bytes[from..].chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let flags = SPECIAL.iter().fold(0, |flags, &special| {
            let x = word ^ u64::from_ne_bytes([special; 8]);
            flags | (x.wrapping_sub(ONES) & !x & HIGHS)
        });
        if flags != 0 {
            return Some(start + flags.trailing_zeros() as usize / 8);
        }
        start += 8;
    }
    let rest = words.remainder();
    rest.iter()
        .position(|byte| SPECIAL.contains(byte))
        .map(|offset| start + offset)
}

/// Django's `escape(text)`.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + text.len() / 8);
    // Writing into a String cannot fail.
    let _ = write_escaped(&mut escaped, text);
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Escaping one character at a time, as Django's `escape` describes it.
    fn escaped_char_by_char(text: &str) -> String {
        text.chars()
            .map(|ch| match ch {
                '&' => "&amp;".to_owned(),
                '<' => "&lt;".to_owned(),
                '>' => "&gt;".to_owned(),
                '"' => "&quot;".to_owned(),
                '\'' => "&#x27;".to_owned(),
                other => other.to_string(),
            })
            .collect()
    }

    #[test]
    fn every_special_character_is_found_at_every_offset_of_a_word() {
        for length in 0..40 {
            for position in 0..length {
                for special in ['&', '<', '>', '"', '\''] {
                    let mut text: Vec<char> = "aé/b c;d=0~".chars().cycle().take(length).collect();
                    text[position] = special;
                    let text: String = text.into_iter().collect();
                    assert_eq!(escape(&text), escaped_char_by_char(&text), "{text:?}");
                }
            }
        }
    }

    #[test]
    fn runs_of_special_characters_and_multibyte_text_escape_exactly() {
        for text in [
            "",
            "plain text with nothing to escape, longer than a word",
            "&&&&&&&&&&&&&&&&&",
            "<<>>\"\"''&&<>\"'",
            "Chloé O'Neil & Zoë <Smith> — “quoted” 🐑'",
            "\u{80}\u{ff}&\u{7f}'\u{1}\u{0}>",
        ] {
            assert_eq!(escape(text), escaped_char_by_char(text), "{text:?}");
        }
    }
}
