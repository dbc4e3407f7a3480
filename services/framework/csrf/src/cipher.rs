//! Django's token functions (`django.middleware.csrf`): the 32-character secret kept in the
//! cookie, and the 64-character masked token rendered into pages.
//!
//! A masked token is a fresh 32-character mask followed by the secret enciphered with it,
//! character by character in the alphabet `a–z A–Z 0–9`:
//! `cipher[i] = A[(A.index(secret[i]) + A.index(mask[i])) % 62]`. A new mask per render keeps
//! the page's bytes different each time (BREACH), while every token still unmasks to the secret.

use subtle::ConstantTimeEq;

use crate::error::InvalidFormat;

/// Django's `CSRF_ALLOWED_CHARS`, in Django's order (the order is part of the cipher).
pub const CSRF_ALLOWED_CHARS: &[u8; 62] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Length of a secret (`CSRF_SECRET_LENGTH`).
pub const CSRF_SECRET_LENGTH: usize = 32;

/// Length of a masked token (`CSRF_TOKEN_LENGTH`).
pub const CSRF_TOKEN_LENGTH: usize = 2 * CSRF_SECRET_LENGTH;

/// A new random secret: 32 characters of [`CSRF_ALLOWED_CHARS`] from the thread's CSPRNG.
pub fn get_random_secret() -> String {
    random_string(CSRF_SECRET_LENGTH)
}

/// Masks `secret` with a new random mask (Django's `_mask_cipher_secret`): 64 characters, the
/// mask then the cipher.
///
/// `secret` is expected to be 32 characters of the alphabet; any other character counts as `a`,
/// so a malformed secret yields a token that never matches rather than a panic.
pub fn mask_cipher_secret(secret: &str) -> String {
    let mask = random_string(CSRF_SECRET_LENGTH);
    let cipher: String = secret
        .bytes()
        .zip(mask.bytes())
        .map(|(s, m)| char::from(CSRF_ALLOWED_CHARS[(index(s) + index(m)) % 62]))
        .collect();
    mask + &cipher
}

/// Recovers the secret from a 64-character masked token (Django's `_unmask_cipher_token`).
///
/// Characters outside the alphabet count as `a`; callers check the format first with
/// [`check_token_format`].
pub fn unmask_cipher_token(token: &str) -> String {
    let bytes = token.as_bytes();
    let half = bytes.len().min(CSRF_TOKEN_LENGTH) / 2;
    let (mask, cipher) = (&bytes[..half], &bytes[half..2 * half]);
    cipher
        .iter()
        .zip(mask)
        .map(|(&c, &m)| char::from(CSRF_ALLOWED_CHARS[(index(c) + 62 - index(m)) % 62]))
        .collect()
}

/// Django's `_check_token_format`: 32 or 64 characters, all from the alphabet.
///
/// # Errors
///
/// [`InvalidFormat::Length`] or [`InvalidFormat::Characters`], in that order of precedence.
pub fn check_token_format(token: &str) -> Result<(), InvalidFormat> {
    if token.len() != CSRF_SECRET_LENGTH && token.len() != CSRF_TOKEN_LENGTH {
        return Err(InvalidFormat::Length);
    }
    if !token.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
        return Err(InvalidFormat::Characters);
    }
    Ok(())
}

/// Django's `_does_token_match`: unmasks a 64-character `token` and compares it with `secret`
/// in constant time. `token` must already have passed [`check_token_format`].
pub fn does_token_match(token: &str, secret: &str) -> bool {
    let token = if token.len() == CSRF_TOKEN_LENGTH {
        unmask_cipher_token(token)
    } else {
        token.to_owned()
    };
    token.len() == secret.len() && bool::from(token.as_bytes().ct_eq(secret.as_bytes()))
}

// === private functions ===

fn random_string(len: usize) -> String {
    (0..len)
        .map(|_| char::from(CSRF_ALLOWED_CHARS[rand::random_range(0..CSRF_ALLOWED_CHARS.len())]))
        .collect()
}

/// Position of `byte` in the alphabet; 0 for anything else.
fn index(byte: u8) -> usize {
    match byte {
        b'a'..=b'z' => usize::from(byte - b'a'),
        b'A'..=b'Z' => usize::from(byte - b'A') + 26,
        b'0'..=b'9' => usize::from(byte - b'0') + 52,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_follows_the_alphabet() {
        for (position, &byte) in CSRF_ALLOWED_CHARS.iter().enumerate() {
            assert_eq!(index(byte), position);
        }
    }

    #[test]
    fn masking_round_trips() {
        let secret = get_random_secret();
        assert_eq!(secret.len(), CSRF_SECRET_LENGTH);
        let token = mask_cipher_secret(&secret);
        assert_eq!(token.len(), CSRF_TOKEN_LENGTH);
        assert!(check_token_format(&token).is_ok());
        assert_eq!(unmask_cipher_token(&token), secret);
        assert!(does_token_match(&token, &secret));
        assert!(does_token_match(&secret, &secret));
    }

    #[test]
    fn format_check_reports_length_before_characters() {
        assert_eq!(check_token_format("abc"), Err(InvalidFormat::Length));
        assert_eq!(
            check_token_format(&"é".repeat(16)),
            Err(InvalidFormat::Characters)
        );
        assert_eq!(
            check_token_format(&"-".repeat(32)),
            Err(InvalidFormat::Characters)
        );
    }
}
