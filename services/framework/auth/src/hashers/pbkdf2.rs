//! `pbkdf2_sha256` (Django's default) and the verify-only `pbkdf2_sha1`:
//! `algorithm$iterations$salt$base64(hash)`, the salt used as its ASCII bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::Sha1;
use sha2::Sha256;

use super::{Hasher, check_salt, constant_time_eq, must_update_salt};
use crate::AuthError;

/// Django 6.1's `PBKDF2PasswordHasher.iterations`.
pub const PBKDF2_ITERATIONS: u32 = 1_500_000;

/// Django's `PBKDF2PasswordHasher`: PBKDF2-HMAC-SHA256, 32-byte output.
#[derive(Clone, Copy, Debug)]
pub struct Pbkdf2Sha256Hasher {
    iterations: u32,
}

/// Django's `PBKDF2SHA1PasswordHasher`: PBKDF2-HMAC-SHA1, 20-byte output; kept to verify old
/// hashes.
#[derive(Clone, Copy, Debug)]
pub struct Pbkdf2Sha1Hasher {
    iterations: u32,
}

#[derive(Clone, Copy)]
enum Prf {
    Sha256,
    Sha1,
}

struct Decoded<'a> {
    iterations: u32,
    salt: &'a str,
}

// === impl Pbkdf2Sha256Hasher ===

impl Pbkdf2Sha256Hasher {
    /// A hasher that encodes with `iterations` rounds (at least 1).
    ///
    /// # Errors
    /// [`AuthError::InvalidParams`] for zero iterations.
    pub fn new(iterations: u32) -> Result<Self, AuthError> {
        if iterations == 0 {
            return Err(AuthError::InvalidParams("iterations must be at least 1"));
        }
        Ok(Self { iterations })
    }

    /// The iteration count new hashes get.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }
}

impl Default for Pbkdf2Sha256Hasher {
    fn default() -> Self {
        Self {
            iterations: PBKDF2_ITERATIONS,
        }
    }
}

impl Hasher for Pbkdf2Sha256Hasher {
    fn algorithm(&self) -> &'static str {
        "pbkdf2_sha256"
    }

    fn encode(&self, password: &str, salt: &str) -> Result<String, AuthError> {
        encode(
            Prf::Sha256,
            self.algorithm(),
            password,
            salt,
            self.iterations,
        )
    }

    fn verify(&self, password: &str, encoded: &str) -> bool {
        verify(Prf::Sha256, self.algorithm(), password, encoded)
    }

    fn must_update(&self, encoded: &str) -> bool {
        must_update(self.algorithm(), self.iterations, encoded)
    }

    fn harden_runtime(&self, password: &str, encoded: &str) {
        harden_runtime(
            Prf::Sha256,
            self.algorithm(),
            self.iterations,
            password,
            encoded,
        );
    }
}

// === impl Pbkdf2Sha1Hasher ===

impl Default for Pbkdf2Sha1Hasher {
    fn default() -> Self {
        Self {
            iterations: PBKDF2_ITERATIONS,
        }
    }
}

impl Hasher for Pbkdf2Sha1Hasher {
    fn algorithm(&self) -> &'static str {
        "pbkdf2_sha1"
    }

    fn encode(&self, password: &str, salt: &str) -> Result<String, AuthError> {
        encode(Prf::Sha1, self.algorithm(), password, salt, self.iterations)
    }

    fn verify(&self, password: &str, encoded: &str) -> bool {
        verify(Prf::Sha1, self.algorithm(), password, encoded)
    }

    fn must_update(&self, encoded: &str) -> bool {
        must_update(self.algorithm(), self.iterations, encoded)
    }

    fn harden_runtime(&self, password: &str, encoded: &str) {
        harden_runtime(
            Prf::Sha1,
            self.algorithm(),
            self.iterations,
            password,
            encoded,
        );
    }
}

fn derive(prf: Prf, password: &str, salt: &str, iterations: u32) -> Vec<u8> {
    match prf {
        Prf::Sha256 => {
            let mut out = [0u8; 32];
            pbkdf2::pbkdf2_hmac::<Sha256>(
                password.as_bytes(),
                salt.as_bytes(),
                iterations,
                &mut out,
            );
            out.to_vec()
        }
        Prf::Sha1 => {
            let mut out = [0u8; 20];
            pbkdf2::pbkdf2_hmac::<Sha1>(password.as_bytes(), salt.as_bytes(), iterations, &mut out);
            out.to_vec()
        }
    }
}

fn encode(
    prf: Prf,
    algorithm: &str,
    password: &str,
    salt: &str,
    iterations: u32,
) -> Result<String, AuthError> {
    check_salt(salt)?;
    if iterations == 0 {
        return Err(AuthError::InvalidParams("iterations must be at least 1"));
    }
    let hash = STANDARD.encode(derive(prf, password, salt, iterations));
    Ok(format!("{algorithm}${iterations}${salt}${hash}"))
}

fn decode<'a>(algorithm: &str, encoded: &'a str) -> Option<Decoded<'a>> {
    let mut parts = encoded.splitn(4, '$');
    if parts.next()? != algorithm {
        return None;
    }
    let iterations = parts.next()?.parse().ok()?;
    let salt = parts.next()?;
    parts.next()?;
    Some(Decoded { iterations, salt })
}

fn verify(prf: Prf, algorithm: &str, password: &str, encoded: &str) -> bool {
    let Some(decoded) = decode(algorithm, encoded) else {
        return false;
    };
    // As Django: re-encode and compare whole strings, so any non-canonical form fails.
    encode(prf, algorithm, password, decoded.salt, decoded.iterations)
        .is_ok_and(|again| constant_time_eq(encoded.as_bytes(), again.as_bytes()))
}

fn must_update(algorithm: &str, iterations: u32, encoded: &str) -> bool {
    decode(algorithm, encoded).is_none_or(|decoded| {
        decoded.iterations != iterations || must_update_salt(decoded.salt.chars().count())
    })
}

fn harden_runtime(prf: Prf, algorithm: &str, iterations: u32, password: &str, encoded: &str) {
    if let Some(decoded) = decode(algorithm, encoded) {
        let extra = iterations.saturating_sub(decoded.iterations);
        if extra > 0 {
            std::hint::black_box(derive(prf, password, decoded.salt, extra));
        }
    }
}
