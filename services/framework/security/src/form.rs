//! URL-encoded form bodies with Django's field limit (`DATA_UPLOAD_MAX_NUMBER_FIELDS`).
//!
//! Fields are counted before anything is decoded, as Python's `parse_qsl(max_num_fields=…)`
//! does (one more than the number of `&`), so a body of a million empty fields costs one scan.
//! Unlike a query string, which views decode lossily, a form must be valid UTF-8 after
//! percent-decoding: anything else is a 400 (RELIABILITY.md §8), never a silently mangled value.

use herd_core::Error;
use percent_encoding::percent_decode;

/// Django's default `DATA_UPLOAD_MAX_NUMBER_FIELDS`.
pub const DATA_UPLOAD_MAX_NUMBER_FIELDS: usize = 1000;

/// A form parser allowing at most a given number of fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldCountLimit {
    max_fields: usize,
}

// === impl FieldCountLimit ===

impl FieldCountLimit {
    /// Allows at most `max_fields` fields.
    pub fn new(max_fields: usize) -> Self {
        Self { max_fields }
    }

    /// The number of fields allowed.
    pub fn max_fields(&self) -> usize {
        self.max_fields
    }

    /// Parses `body` as [`parse_form`] does with this limit.
    ///
    /// # Errors
    ///
    /// A bad request (400) for too many fields or invalid UTF-8.
    pub fn parse(&self, body: &[u8]) -> Result<Vec<(String, String)>, Error> {
        parse_form(body, self.max_fields)
    }
}

impl Default for FieldCountLimit {
    /// [`DATA_UPLOAD_MAX_NUMBER_FIELDS`] fields.
    fn default() -> Self {
        Self::new(DATA_UPLOAD_MAX_NUMBER_FIELDS)
    }
}

/// Parses an `application/x-www-form-urlencoded` body into its fields, in order.
///
/// Blank values are kept (`a=&b` gives `("a", "")` and `("b", "")`), empty pieces (`a=1&&b=2`)
/// skipped, `+` is a space, and repeated names stay repeated.
///
/// ```
/// let fields = herd_security::parse_form(b"name=Ann+Lee&tag=a%26b&tag=", 1000)?;
/// assert_eq!(fields, [("name".into(), "Ann Lee".into()), ("tag".into(), "a&b".into()), ("tag".into(), "".into())]);
/// assert!(herd_security::parse_form(b"a=1&b=2", 1).is_err());
/// # Ok::<(), herd_core::Error>(())
/// ```
///
/// # Errors
///
/// A bad request (400) when the body has more than `max_fields` fields ("too many fields") or
/// is not UTF-8 once decoded.
pub fn parse_form(body: &[u8], max_fields: usize) -> Result<Vec<(String, String)>, Error> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    let fields = body.split(|&byte| byte == b'&').count();
    if fields > max_fields {
        return Err(Error::bad_request(format!(
            "too many fields: {fields} sent, at most {max_fields} allowed"
        )));
    }
    body.split(|&byte| byte == b'&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = match piece.iter().position(|&byte| byte == b'=') {
                Some(at) => (&piece[..at], &piece[at + 1..]),
                None => (piece, &[][..]),
            };
            Ok((decode(name)?, decode(value)?))
        })
        .collect()
}

// === private functions ===

/// Decodes one name or value: `+` to space, then percent-escapes, then strict UTF-8.
fn decode(raw: &[u8]) -> Result<String, Error> {
    let spaced: Vec<u8> = raw
        .iter()
        .map(|&byte| if byte == b'+' { b' ' } else { byte })
        .collect();
    let bytes: Vec<u8> = percent_decode(&spaced).collect();
    String::from_utf8(bytes)
        .map_err(|err| Error::bad_request("form field is not valid UTF-8").with_source(err))
}
