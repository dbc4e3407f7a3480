//! Django's `Argon2PasswordHasher`: `argon2` followed by a standard PHC string,
//! `argon2$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>` (base64 without padding).

use std::cell::RefCell;

use ::argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;

use super::{Hasher, check_salt, constant_time_eq, must_update_salt};
use crate::AuthError;

/// Memory of new hashes in KiB (19 MiB).
pub const ARGON2_MEMORY_COST: u32 = 19_456;
/// Passes of new hashes.
pub const ARGON2_TIME_COST: u32 = 2;
/// Lanes of new hashes.
pub const ARGON2_PARALLELISM: u32 = 1;
/// Hash length in bytes, as Django (argon2-cffi) writes it.
const HASH_LEN: usize = 32;
/// Stored hashes asking for more memory than this (1 GiB) are refused rather than allocated.
const MAX_MEMORY_COST: u32 = 1 << 20;

/// Argon2 with Herd's parameters ([`ARGON2_MEMORY_COST`], [`ARGON2_TIME_COST`],
/// [`ARGON2_PARALLELISM`]) for new hashes; verifies any Argon2 variant and parameters.
#[derive(Clone, Debug)]
pub struct Argon2Hasher {
    params: Params,
}

struct Decoded {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

// === impl Argon2Hasher ===

impl Argon2Hasher {
    /// Argon2id v19 with `memory_cost` KiB, `time_cost` passes and `parallelism` lanes
    /// (Django's defaults are 102400, 2, 8).
    ///
    /// # Errors
    /// [`AuthError::InvalidParams`] when Argon2 refuses the parameters.
    pub fn new(memory_cost: u32, time_cost: u32, parallelism: u32) -> Result<Self, AuthError> {
        let params = Params::new(memory_cost, time_cost, parallelism, Some(HASH_LEN))
            .map_err(|_| AuthError::InvalidParams("argon2 parameters"))?;
        Ok(Self { params })
    }

    /// Django's own parameters, `m=102400,t=2,p=8` (about 0.37 s per hash on 2 cores).
    pub fn django() -> Self {
        Self::new(102_400, 2, 8).unwrap_or_default()
    }
}

impl Default for Argon2Hasher {
    fn default() -> Self {
        Self {
            params: Params::new(
                ARGON2_MEMORY_COST,
                ARGON2_TIME_COST,
                ARGON2_PARALLELISM,
                Some(HASH_LEN),
            )
            .unwrap_or_default(),
        }
    }
}

impl Hasher for Argon2Hasher {
    fn algorithm(&self) -> &'static str {
        "argon2"
    }

    fn encode(&self, password: &str, salt: &str) -> Result<String, AuthError> {
        check_salt(salt)?;
        let hash = hash(
            Algorithm::Argon2id,
            Version::V0x13,
            self.params.clone(),
            password,
            salt.as_bytes(),
        )?;
        Ok(format!(
            "argon2$argon2id$v=19$m={},t={},p={}${}${}",
            self.params.m_cost(),
            self.params.t_cost(),
            self.params.p_cost(),
            STANDARD_NO_PAD.encode(salt),
            STANDARD_NO_PAD.encode(hash),
        ))
    }

    fn verify(&self, password: &str, encoded: &str) -> bool {
        let Some(d) = decode(encoded) else {
            return false;
        };
        hash(d.algorithm, d.version, d.params, password, &d.salt)
            .is_ok_and(|again| constant_time_eq(&again, &d.hash))
    }

    fn must_update(&self, encoded: &str) -> bool {
        decode(encoded).is_none_or(|d| {
            d.algorithm != Algorithm::Argon2id
                || d.version != Version::V0x13
                || d.hash.len() != HASH_LEN
                || d.params.m_cost() != self.params.m_cost()
                || d.params.t_cost() != self.params.t_cost()
                || d.params.p_cost() != self.params.p_cost()
                // Django reads the salt as latin-1, one character per byte.
                || must_update_salt(d.salt.len())
        })
    }
}

thread_local! {
    /// The memory of this thread's last Argon2 hash, reused by the next one (see [`hash`]).
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Argon2 of `password`. A hash that needs at most Herd's own memory cost runs in the calling
/// thread's kept [`BLOCKS`] (wiped after use): allocating and freeing 19 MiB per hash makes
/// glibc raise its mmap threshold and then keep that memory per thread, which grew a worker
/// under a login load to over 200 MB. Larger foreign hashes (Django's 100 MiB, upgraded at the
/// next login) get memory of their own.
fn hash(
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &str,
    salt: &[u8],
) -> Result<Vec<u8>, AuthError> {
    let mut out = vec![0u8; params.output_len().unwrap_or(HASH_LEN)];
    let needed = params.block_count();
    let argon2 = Argon2::new(algorithm, version, params);
    let hashed = if needed <= ARGON2_MEMORY_COST as usize {
        BLOCKS.with_borrow_mut(|blocks| {
            if blocks.len() < needed {
                blocks.resize(needed, Block::new());
            }
            let memory = &mut blocks[..needed];
            let hashed = argon2.hash_password_into_with_memory(
                password.as_bytes(),
                salt,
                &mut out,
                &mut *memory,
            );
            // Nothing derived from the password stays in memory between hashes.
            memory.fill(Block::new());
            hashed
        })
    } else {
        argon2.hash_password_into(password.as_bytes(), salt, &mut out)
    };
    hashed.map_err(|_| AuthError::InvalidParams("argon2 input"))?;
    Ok(out)
}

/// Parses `argon2$<variant>[$v=<n>]$m=<m>,t=<t>,p=<p>$<salt>$<hash>`; a missing version is
/// Argon2 1.0 (0x10), as argon2-cffi reads it.
fn decode(encoded: &str) -> Option<Decoded> {
    let rest = encoded.strip_prefix("argon2$")?;
    let mut parts: Vec<&str> = rest.split('$').collect();
    let algorithm = match *parts.first()? {
        "argon2id" => Algorithm::Argon2id,
        "argon2i" => Algorithm::Argon2i,
        "argon2d" => Algorithm::Argon2d,
        _ => return None,
    };
    let version = if parts.len() == 5 {
        match parts.remove(1) {
            "v=19" => Version::V0x13,
            "v=16" => Version::V0x10,
            _ => return None,
        }
    } else {
        Version::V0x10
    };
    let [_, params, salt, hash] = parts.as_slice() else {
        return None;
    };
    let (mut m, mut t, mut p) = (None, None, None);
    for pair in params.split(',') {
        let (key, value) = pair.split_once('=')?;
        let value: u32 = value.parse().ok()?;
        let slot = match key {
            "m" => &mut m,
            "t" => &mut t,
            "p" => &mut p,
            _ => return None,
        };
        if slot.replace(value).is_some() {
            return None;
        }
    }
    let m = m?;
    if m > MAX_MEMORY_COST {
        return None;
    }
    let hash = STANDARD_NO_PAD.decode(hash).ok()?;
    let params = Params::new(m, t?, p?, Some(hash.len())).ok()?;
    Some(Decoded {
        algorithm,
        version,
        params,
        salt: STANDARD_NO_PAD.decode(salt).ok()?,
        hash,
    })
}
