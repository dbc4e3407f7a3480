//! Django's `ScryptPasswordHasher`, kept to verify old hashes:
//! `scrypt$work_factor$salt$block_size$parallelism$base64(64-byte hash)`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::{Hasher, check_salt, constant_time_eq, must_update_salt};
use crate::AuthError;

/// OpenSSL's default `maxmem` (Django passes 0, meaning this): larger parameters are refused.
const MAX_MEMORY: u128 = 32 * 1024 * 1024;
const DKLEN: usize = 64;

/// Django's `ScryptPasswordHasher` (N = 2^14, r = 8, p = 5).
#[derive(Clone, Copy, Debug)]
pub struct ScryptHasher {
    work_factor: u64,
    block_size: u32,
    parallelism: u32,
}

struct Decoded<'a> {
    work_factor: u64,
    salt: &'a str,
    block_size: u32,
    parallelism: u32,
}

// === impl ScryptHasher ===

impl Default for ScryptHasher {
    fn default() -> Self {
        Self {
            work_factor: 1 << 14,
            block_size: 8,
            parallelism: 5,
        }
    }
}

impl Hasher for ScryptHasher {
    fn algorithm(&self) -> &'static str {
        "scrypt"
    }

    fn encode(&self, password: &str, salt: &str) -> Result<String, AuthError> {
        encode(
            password,
            salt,
            self.work_factor,
            self.block_size,
            self.parallelism,
        )
    }

    fn verify(&self, password: &str, encoded: &str) -> bool {
        let Some(d) = decode(encoded) else {
            return false;
        };
        encode(password, d.salt, d.work_factor, d.block_size, d.parallelism)
            .is_ok_and(|again| constant_time_eq(encoded.as_bytes(), again.as_bytes()))
    }

    fn must_update(&self, encoded: &str) -> bool {
        decode(encoded).is_none_or(|d| {
            d.work_factor != self.work_factor
                || d.block_size != self.block_size
                || d.parallelism != self.parallelism
                || must_update_salt(d.salt.chars().count())
        })
    }
}

fn decode(encoded: &str) -> Option<Decoded<'_>> {
    let mut parts = encoded.splitn(6, '$');
    if parts.next()? != "scrypt" {
        return None;
    }
    let work_factor = parts.next()?.parse().ok()?;
    let salt = parts.next()?;
    let block_size = parts.next()?.parse().ok()?;
    let parallelism = parts.next()?.parse().ok()?;
    parts.next()?;
    Some(Decoded {
        work_factor,
        salt,
        block_size,
        parallelism,
    })
}

fn encode(
    password: &str,
    salt: &str,
    work_factor: u64,
    block_size: u32,
    parallelism: u32,
) -> Result<String, AuthError> {
    check_salt(salt)?;
    if !work_factor.is_power_of_two() || work_factor < 2 {
        return Err(AuthError::InvalidParams(
            "scrypt work factor must be a power of two",
        ));
    }
    // OpenSSL's limit, as Django's hashlib.scrypt(maxmem=0) applies it.
    let memory =
        128 * u128::from(block_size) * (u128::from(work_factor) + u128::from(parallelism) + 2);
    if memory > MAX_MEMORY {
        return Err(AuthError::InvalidParams("scrypt parameters exceed 32 MiB"));
    }
    let log_n = u8::try_from(work_factor.trailing_zeros())
        .map_err(|_| AuthError::InvalidParams("scrypt work factor"))?;
    let params = ::scrypt::Params::new(log_n, block_size, parallelism)
        .map_err(|_| AuthError::InvalidParams("scrypt parameters"))?;
    let mut out = [0u8; DKLEN];
    ::scrypt::scrypt(password.as_bytes(), salt.as_bytes(), &params, &mut out)
        .map_err(|_| AuthError::InvalidParams("scrypt output length"))?;
    Ok(format!(
        "scrypt${work_factor}${salt}${block_size}${parallelism}${}",
        STANDARD.encode(out)
    ))
}
