//! Reading the `sessionid` cookie from a request and writing the `Set-Cookie` headers, with
//! attributes in the order Django's `SimpleCookie` prints them.

use std::time::Duration;

use herd_core::signing::Signer;
use http::HeaderMap;
use http::header::COOKIE;

use crate::COOKIE_NAME;

/// Bytes of a session key (256 bits).
const KEY_BYTES: usize = 32;

/// What the request's cookie said about the session.
#[derive(Debug, Default)]
pub(crate) struct Incoming {
    /// A `sessionid` cookie arrived, valid or not (Django's `name in request.COOKIES`), so an
    /// empty session must revoke it.
    pub(crate) present: bool,
    /// The key it carried when the signature and the format are right; whether a record
    /// exists under it is only known once the session is loaded.
    pub(crate) key: Option<String>,
}

/// The `sessionid` cookie of `headers`, verified with `signer`.
pub(crate) fn incoming(headers: &HeaderMap, signer: &Signer) -> Incoming {
    let Some(value) = cookie_value(headers) else {
        return Incoming::default();
    };
    let key = signer
        .unsign(value)
        .ok()
        .filter(|key| is_valid_key(key))
        .map(str::to_owned);
    Incoming { present: true, key }
}

/// A fresh session key: 256 bits from the OS CSPRNG as 64 lowercase hex digits.
pub(crate) fn new_key() -> Result<String, rand::rngs::SysError> {
    use rand::TryRng;

    let mut bytes = [0u8; KEY_BYTES];
    rand::rngs::SysRng.try_fill_bytes(&mut bytes)?;
    Ok(hex::encode(bytes))
}

/// Whether `key` has the shape [`new_key`] gives; anything else is never looked up.
pub(crate) fn is_valid_key(key: &str) -> bool {
    key.len() == KEY_BYTES * 2
        && key
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `sessionid=<signed>; expires=…; HttpOnly; Max-Age=…; Path=/; SameSite=Lax[; Secure]`.
pub(crate) fn set_cookie(signed: &str, max_age: u64, secure: bool) -> String {
    let expires = chrono::Utc::now()
        + chrono::Duration::from_std(Duration::from_secs(max_age)).unwrap_or(chrono::Duration::MAX);
    let mut cookie = format!(
        "{COOKIE_NAME}={signed}; expires={}; HttpOnly; Max-Age={max_age}; Path=/; SameSite=Lax",
        expires.format("%a, %d %b %Y %H:%M:%S GMT"),
    );
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

/// The cookie that makes the browser forget the session (Django's `delete_cookie`).
pub(crate) fn deleting_cookie() -> String {
    format!(
        "{COOKIE_NAME}=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax"
    )
}

/// The first `sessionid` value among the `Cookie` headers, without surrounding quotes.
fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| name.trim() == COOKIE_NAME)
        .map(|(_, value)| {
            let value = value.trim();
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value)
        })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    #[test]
    fn new_keys_are_256_bit_hex_and_differ() {
        let a = new_key().unwrap();
        let b = new_key().unwrap();
        assert!(is_valid_key(&a) && is_valid_key(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn a_signed_key_is_read_among_other_cookies() {
        let signer = Signer::new("secret", crate::COOKIE_SALT);
        let key = new_key().unwrap();
        let cookie_value = signer.sign(&key);
        let found = incoming(
            &headers(&format!("a=1; sessionid={cookie_value}; b=2")),
            &signer,
        );
        assert!(found.present);
        assert_eq!(found.key.as_deref(), Some(key.as_str()));
    }

    #[test]
    fn a_badly_signed_or_shaped_key_is_present_but_not_adopted() {
        let signer = Signer::new("secret", crate::COOKIE_SALT);
        let other = Signer::new("other secret", crate::COOKIE_SALT);
        let key = new_key().unwrap();
        for cookie in [
            format!("sessionid={}", other.sign(&key)),
            format!("sessionid={key}"),
            format!("sessionid={}", signer.sign("short")),
            format!("sessionid={}", signer.sign(&key.to_uppercase())),
            "sessionid=\"\"".to_owned(),
        ] {
            let found = incoming(&headers(&cookie), &signer);
            assert!(found.present, "{cookie}");
            assert_eq!(found.key, None, "{cookie}");
        }
        assert!(!incoming(&headers("csrftoken=x"), &signer).present);
    }

    #[test]
    fn the_set_cookie_header_has_django_attributes() {
        let cookie = set_cookie("k:sig", 1_209_600, true);
        assert!(cookie.starts_with("sessionid=k:sig; expires="), "{cookie}");
        assert!(
            cookie.ends_with(" GMT; HttpOnly; Max-Age=1209600; Path=/; SameSite=Lax; Secure"),
            "{cookie}"
        );
        assert!(!set_cookie("k:sig", 60, false).contains("Secure"));
    }
}
