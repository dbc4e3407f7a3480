//! Django's `django.core.signing`: [`Signer`], [`TimestampSigner`], [`dumps`] and [`loads`],
//! byte-compatible with Django so values signed by either side verify on the other.
//!
//! A signature is the unpadded URL-safe base64 of HMAC-SHA256 over the value, keyed with
//! `SHA256(salt + "signer" + secret)` (Django's `salted_hmac`). [`Signer`] produces
//! `value:sig`; [`TimestampSigner`] produces `value:ts:sig` with `ts` the Unix time in base62
//! (`0-9A-Za-z`), so [`TimestampSigner::unsign`] can refuse values older than a `max_age`.
//! [`dumps`] serialises to compact JSON (non-ASCII escaped, as Python's `json.dumps`), optionally
//! zlib-compresses it (kept only when at least 2 bytes shorter, marked by a leading `.`), encodes
//! it as unpadded URL-safe base64 and signs it with a [`TimestampSigner`].
//!
//! The zlib stream comes from `flate2` (`miniz_oxide`), so a compressed payload can differ byte for
//! byte from `CPython`'s; both sides still decompress each other's output.
//!
//! ```
//! use herd_core::signing::{Signer, dumps, loads, DUMPS_SALT};
//!
//! let signer = Signer::new("secret", "my.salt");
//! let signed = signer.sign("hello");
//! assert_eq!(signer.unsign(&signed).unwrap(), "hello");
//! assert!(signer.unsign("hello:forged").is_err());
//!
//! let token = dumps(&vec![1, 2, 3], "secret", DUMPS_SALT, false).unwrap();
//! let back: Vec<u32> = loads(&token, "secret", DUMPS_SALT, None).unwrap();
//! assert_eq!(back, [1, 2, 3]);
//! ```

use std::io::{Read, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The salt of [`Signer::with_default_salt`] (Django's `"%s.%s" % (module, class)`).
pub const SIGNER_SALT: &str = "django.core.signing.Signer";
/// The salt of [`TimestampSigner::with_default_salt`].
pub const TIMESTAMP_SIGNER_SALT: &str = "django.core.signing.TimestampSigner";
/// The default salt of Django's `signing.dumps` and `signing.loads`.
pub const DUMPS_SALT: &str = "django.core.signing";

const SEP: char = ':';
const BASE62_ALPHABET: &[u8; 62] =
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Why a signed value was refused.
#[derive(Debug, thiserror::Error)]
pub enum SignatureError {
    /// The separator is missing or the signature does not match (Django's `BadSignature`).
    #[error("bad signature")]
    BadSignature,
    /// The signature is valid but older than `max_age` (Django's `SignatureExpired`).
    #[error("signature age {age:?} > {max_age:?}")]
    Expired {
        /// How old the signature is.
        age: Duration,
        /// The age that was allowed.
        max_age: Duration,
    },
    /// The signed payload is not valid base64, zlib or a base62 timestamp.
    #[error("malformed signed payload")]
    Malformed,
    /// The payload could not be (de)serialised as JSON.
    #[error("signed payload is not the expected JSON")]
    Json(#[from] serde_json::Error),
}

impl SignatureError {
    /// Returns true for a valid signature that has expired.
    pub fn is_expired(&self) -> bool {
        matches!(self, Self::Expired { .. })
    }
}

/// Signs values as `value:signature` (Django's `Signer` with the SHA-256 algorithm).
#[derive(Clone)]
pub struct Signer {
    key: String,
    fallback_keys: Vec<String>,
    salt: String,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keys are secrets; never print them.
        f.debug_struct("Signer")
            .field("salt", &self.salt)
            .finish_non_exhaustive()
    }
}

/// Signs values as `value:timestamp:signature` and checks their age on the way back
/// (Django's `TimestampSigner`).
#[derive(Clone, Debug)]
pub struct TimestampSigner {
    signer: Signer,
}

// === impl Signer ===

impl Signer {
    /// A signer for `key` (Django's `SECRET_KEY`) and `salt`, which namespaces signatures so one
    /// use's values cannot be replayed in another.
    pub fn new(key: impl Into<String>, salt: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            fallback_keys: Vec::new(),
            salt: salt.into(),
        }
    }

    /// A signer with Django's default salt, [`SIGNER_SALT`].
    pub fn with_default_salt(key: impl Into<String>) -> Self {
        Self::new(key, SIGNER_SALT)
    }

    /// Also accepts signatures made with these older keys (Django's `SECRET_KEY_FALLBACKS`);
    /// new signatures always use the main key.
    #[must_use]
    pub fn with_fallback_keys(mut self, keys: impl IntoIterator<Item = String>) -> Self {
        self.fallback_keys = keys.into_iter().collect();
        self
    }

    /// The salt in use.
    pub fn salt(&self) -> &str {
        &self.salt
    }

    /// The signature of `value`: unpadded URL-safe base64 of its salted HMAC-SHA256.
    pub fn signature(&self, value: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(value, &self.key))
    }

    /// Returns `value:signature`.
    pub fn sign(&self, value: &str) -> String {
        format!("{value}{SEP}{}", self.signature(value))
    }

    /// Returns the value of a `value:signature` string if the signature matches, compared in
    /// constant time against the key and then each fallback key.
    pub fn unsign<'a>(&self, signed: &'a str) -> Result<&'a str, SignatureError> {
        let (value, sig) = signed
            .rsplit_once(SEP)
            .ok_or(SignatureError::BadSignature)?;
        let matched =
            std::iter::once(&self.key)
                .chain(&self.fallback_keys)
                .fold(false, |found, key| {
                    let expected = URL_SAFE_NO_PAD.encode(self.mac(value, key));
                    found | bool::from(expected.as_bytes().ct_eq(sig.as_bytes()))
                });
        if matched {
            Ok(value)
        } else {
            Err(SignatureError::BadSignature)
        }
    }

    /// Signs `obj` as URL-safe base64 of compact JSON, zlib-compressed first when `compress` is
    /// set and that saves at least 2 bytes (Django's `sign_object`).
    pub fn sign_object<T: Serialize + ?Sized>(
        &self,
        obj: &T,
        compress: bool,
    ) -> Result<String, SignatureError> {
        Ok(self.sign(&encode_object(obj, compress)?))
    }

    /// Verifies and decodes a value made by [`Signer::sign_object`].
    pub fn unsign_object<T: DeserializeOwned>(&self, signed: &str) -> Result<T, SignatureError> {
        decode_object(self.unsign(signed)?)
    }

    fn mac(&self, value: &str, key: &str) -> [u8; 32] {
        // Django's salted_hmac: the HMAC key is SHA256(key_salt + secret).
        let derived = Sha256::new()
            .chain_update(self.salt.as_bytes())
            .chain_update(b"signer")
            .chain_update(key.as_bytes())
            .finalize();
        #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&derived).expect("HMAC takes any key length");
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

// === impl TimestampSigner ===

impl TimestampSigner {
    /// A timestamp signer for `key` and `salt`.
    pub fn new(key: impl Into<String>, salt: impl Into<String>) -> Self {
        Self {
            signer: Signer::new(key, salt),
        }
    }

    /// A timestamp signer with Django's default salt, [`TIMESTAMP_SIGNER_SALT`].
    pub fn with_default_salt(key: impl Into<String>) -> Self {
        Self::new(key, TIMESTAMP_SIGNER_SALT)
    }

    /// Also accepts signatures made with these older keys.
    #[must_use]
    pub fn with_fallback_keys(mut self, keys: impl IntoIterator<Item = String>) -> Self {
        self.signer = self.signer.with_fallback_keys(keys);
        self
    }

    /// Returns `value:timestamp:signature` stamped with the current time.
    pub fn sign(&self, value: &str) -> String {
        self.sign_at(value, SystemTime::now())
    }

    /// Returns `value:timestamp:signature` stamped with `at` (whole seconds).
    pub fn sign_at(&self, value: &str, at: SystemTime) -> String {
        let ts = b62_encode(unix_seconds(at));
        self.signer.sign(&format!("{value}{SEP}{ts}"))
    }

    /// Returns the value if the signature matches and, when `max_age` is given, the timestamp is
    /// at most that old.
    pub fn unsign<'a>(
        &self,
        signed: &'a str,
        max_age: Option<Duration>,
    ) -> Result<&'a str, SignatureError> {
        self.unsign_at(signed, max_age, SystemTime::now())
    }

    /// [`TimestampSigner::unsign`] as if the current time were `now`.
    pub fn unsign_at<'a>(
        &self,
        signed: &'a str,
        max_age: Option<Duration>,
        now: SystemTime,
    ) -> Result<&'a str, SignatureError> {
        let stamped = self.signer.unsign(signed)?;
        let (value, ts) = stamped
            .rsplit_once(SEP)
            .ok_or(SignatureError::BadSignature)?;
        let ts = b62_decode(ts).ok_or(SignatureError::Malformed)?;
        if let Some(max_age) = max_age {
            // Django compares a float age (time.time() - ts) with max_age.
            #[expect(
                clippy::cast_precision_loss,
                reason = "Unix seconds fit an f64 exactly"
            )]
            let age = unix_seconds_f64(now) - ts as f64;
            if age > max_age.as_secs_f64() {
                return Err(SignatureError::Expired {
                    age: Duration::from_secs_f64(age.max(0.0)),
                    max_age,
                });
            }
        }
        Ok(value)
    }

    /// Signs `obj` like [`Signer::sign_object`], with a timestamp.
    pub fn sign_object<T: Serialize + ?Sized>(
        &self,
        obj: &T,
        compress: bool,
    ) -> Result<String, SignatureError> {
        Ok(self.sign(&encode_object(obj, compress)?))
    }

    /// Verifies (including `max_age`) and decodes a value made by
    /// [`TimestampSigner::sign_object`].
    pub fn unsign_object<T: DeserializeOwned>(
        &self,
        signed: &str,
        max_age: Option<Duration>,
    ) -> Result<T, SignatureError> {
        decode_object(self.unsign(signed, max_age)?)
    }
}

/// Django's `signing.dumps(obj, key, salt, compress=compress)`: a URL-safe, timestamped,
/// signed token carrying `obj` as JSON. Use [`DUMPS_SALT`] for Django's default salt.
pub fn dumps<T: Serialize + ?Sized>(
    obj: &T,
    key: &str,
    salt: &str,
    compress: bool,
) -> Result<String, SignatureError> {
    TimestampSigner::new(key, salt).sign_object(obj, compress)
}

/// Django's `signing.loads(s, key, salt, max_age=max_age)`: verifies a [`dumps`] token and
/// decodes its JSON.
pub fn loads<T: DeserializeOwned>(
    s: &str,
    key: &str,
    salt: &str,
    max_age: Option<Duration>,
) -> Result<T, SignatureError> {
    TimestampSigner::new(key, salt).unsign_object(s, max_age)
}

/// Django's `b62_encode`: base62 over `0-9A-Za-z`, with a leading `-` for negatives.
pub fn b62_encode(n: i64) -> String {
    if n == 0 {
        return "0".to_owned();
    }
    let mut rest = n.unsigned_abs();
    let mut digits = Vec::new();
    while rest > 0 {
        // The remainder is < 62, so the index is in range.
        digits.push(BASE62_ALPHABET[usize::try_from(rest % 62).unwrap_or_default()]);
        rest /= 62;
    }
    if n < 0 {
        digits.push(b'-');
    }
    digits.iter().rev().map(|&b| char::from(b)).collect()
}

/// Django's `b62_decode`; `None` for a character outside the alphabet or an overflow.
pub fn b62_decode(s: &str) -> Option<i64> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut value: i64 = 0;
    for b in digits.bytes() {
        let digit = BASE62_ALPHABET.iter().position(|&c| c == b)?;
        value = value
            .checked_mul(62)?
            .checked_add(i64::try_from(digit).ok()?)?;
    }
    Some(if negative { -value } else { value })
}

fn encode_object<T: Serialize + ?Sized>(obj: &T, compress: bool) -> Result<String, SignatureError> {
    let data = to_ascii_json(obj)?;
    if compress {
        let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
        // Writing into a Vec cannot fail.
        if encoder.write_all(&data).is_ok()
            && let Ok(compressed) = encoder.finish()
            && compressed.len() < data.len().saturating_sub(1)
        {
            return Ok(format!(".{}", URL_SAFE_NO_PAD.encode(compressed)));
        }
    }
    Ok(URL_SAFE_NO_PAD.encode(data))
}

fn decode_object<T: DeserializeOwned>(payload: &str) -> Result<T, SignatureError> {
    let (compressed, b64) = match payload.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, payload),
    };
    let mut data = URL_SAFE_NO_PAD
        .decode(b64.trim_end_matches('='))
        .map_err(|_| SignatureError::Malformed)?;
    if compressed {
        let mut inflated = Vec::new();
        ZlibDecoder::new(data.as_slice())
            .read_to_end(&mut inflated)
            .map_err(|_| SignatureError::Malformed)?;
        data = inflated;
    }
    // Django decodes the JSON bytes as latin-1 before parsing.
    let text: String = data.iter().map(|&b| char::from(b)).collect();
    Ok(serde_json::from_str(&text)?)
}

/// Compact JSON with every character outside printable ASCII escaped as `\uXXXX`, as Python's
/// `json.dumps(obj, separators=(",", ":"))` writes it.
fn to_ascii_json<T: Serialize + ?Sized>(obj: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, AsciiFormatter);
    obj.serialize(&mut ser)?;
    Ok(out)
}

struct AsciiFormatter;

impl serde_json::ser::Formatter for AsciiFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        for c in fragment.chars() {
            if (' '..='~').contains(&c) {
                writer.write_all(&[u8::try_from(c).unwrap_or(b'?')])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

fn unix_seconds(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

fn unix_seconds_f64(at: SystemTime) -> f64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests;
