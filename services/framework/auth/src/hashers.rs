//! Django's `django.contrib.auth.hashers`: password hashes stored as `algorithm$…` strings that
//! Django and Herd both read and write.
//!
//! [`Hashers`] is Django's `PASSWORD_HASHERS`: the first hasher is preferred and makes new hashes,
//! the others only have to recognise old ones. Herd's default order is [`Argon2Hasher`],
//! [`Pbkdf2Sha256Hasher`], [`Pbkdf2Sha1Hasher`], [`ScryptHasher`] (the last two are kept for
//! verification only).
//!
//! New Argon2id hashes use `m=19456,t=2,p=1` (19 MiB, the OWASP minimum): one hash took 57 ms
//! in release on the shared 2-core machine at load average 7 (Django's `m=102400,t=2,p=8`:
//! 382 ms, `pbkdf2_sha256` at 1,500,000 iterations: 242 ms, in the same run; measure with
//! `cargo run --release -p herd-auth --example hash_timing`). With one lane, argon2's `parallel`
//! feature cannot help, so it stays off. Django's parameters and any others in a stored string
//! still verify;
//! [`must_update`] then asks for a re-hash with Herd's parameters.
//!
//! Hashing is CPU work measured in tens to hundreds of milliseconds: async code calls it through
//! [`HashingPool`], which runs it on tokio's blocking pool, at most one hash per core at a time,
//! and gives up with [`AuthError::Busy`] (503) after waiting 2 s for a core.
//!
//! ```
//! use herd_auth::hashers::{check_password, is_password_usable, make_password, must_update};
//!
//! let encoded = make_password("s3cret");
//! assert!(encoded.starts_with("argon2$argon2id$v=19$m=19456,t=2,p=1$"));
//! assert!(check_password("s3cret", &encoded));
//! assert!(!check_password("wrong", &encoded));
//! assert!(!must_update(&encoded));
//! assert!(is_password_usable(&encoded));
//! ```

mod argon2;
mod pbkdf2;
mod pool;
mod scrypt;

use std::fmt;
use std::sync::{Arc, LazyLock};

use subtle::ConstantTimeEq;

pub use self::argon2::{ARGON2_MEMORY_COST, ARGON2_PARALLELISM, ARGON2_TIME_COST, Argon2Hasher};
pub use self::pbkdf2::{PBKDF2_ITERATIONS, Pbkdf2Sha1Hasher, Pbkdf2Sha256Hasher};
pub use self::pool::{HashingPool, QUEUE_WAIT};
pub use self::scrypt::ScryptHasher;
use crate::AuthError;

/// Django's `UNUSABLE_PASSWORD_PREFIX`: a stored value starting with it never matches.
pub const UNUSABLE_PASSWORD_PREFIX: &str = "!";
/// Django's `UNUSABLE_PASSWORD_SUFFIX_LENGTH`.
pub const UNUSABLE_PASSWORD_SUFFIX_LENGTH: usize = 40;
/// Django's `RANDOM_STRING_CHARS`, the salt alphabet.
pub const RANDOM_STRING_CHARS: &[u8; 62] =
    b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// Django's `salt_entropy`: salts shorter than this many bits are upgraded.
pub const SALT_ENTROPY_BITS: f64 = 128.0;

/// One password hashing algorithm (Django's `BasePasswordHasher`).
pub trait Hasher: Send + Sync + fmt::Debug {
    /// The prefix before the first `$`, e.g. `pbkdf2_sha256`.
    fn algorithm(&self) -> &'static str;

    /// A fresh random salt with at least [`SALT_ENTROPY_BITS`] bits (22 characters).
    fn salt(&self) -> String {
        get_random_string(salt_char_count())
    }

    /// Hashes `password` with `salt` and this hasher's current parameters.
    fn encode(&self, password: &str, salt: &str) -> Result<String, AuthError>;

    /// Returns true when `password` matches `encoded`; any malformed `encoded` is false.
    fn verify(&self, password: &str, encoded: &str) -> bool;

    /// Returns true when `encoded` (of this algorithm) uses other parameters than this hasher
    /// would now choose, or a short salt.
    fn must_update(&self, _encoded: &str) -> bool {
        false
    }

    /// Spends the work that `encoded` is missing compared with this hasher's parameters, so a
    /// failed check of a weak hash takes as long as one of a current hash.
    fn harden_runtime(&self, _password: &str, _encoded: &str) {}
}

/// Django's `PASSWORD_HASHERS`: the first hasher is preferred, every one is recognised.
#[derive(Clone, Debug)]
pub struct Hashers {
    hashers: Arc<[Arc<dyn Hasher>]>,
}

/// The outcome of [`Hashers::verify_password`] (Django's `verify_password`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verification {
    /// The password matches.
    pub is_correct: bool,
    /// The stored hash should be replaced by a fresh [`Hashers::make_password`] (only act on it
    /// when `is_correct`).
    pub must_update: bool,
}

// === impl Hashers ===

impl Hashers {
    /// A registry; the first hasher is the preferred one.
    ///
    /// # Errors
    /// [`AuthError::NoHashers`] when `hashers` is empty.
    pub fn new(hashers: Vec<Arc<dyn Hasher>>) -> Result<Self, AuthError> {
        if hashers.is_empty() {
            return Err(AuthError::NoHashers);
        }
        Ok(Self {
            hashers: hashers.into(),
        })
    }

    /// Django's own default order (`pbkdf2_sha256` preferred at 1,500,000 iterations), then
    /// Argon2, `pbkdf2_sha1` and scrypt.
    pub fn django_default() -> Self {
        Self {
            hashers: Arc::new([
                Arc::new(Pbkdf2Sha256Hasher::default()) as Arc<dyn Hasher>,
                Arc::new(Pbkdf2Sha1Hasher::default()),
                Arc::new(Argon2Hasher::default()),
                Arc::new(ScryptHasher::default()),
            ]),
        }
    }

    /// The preferred hasher, which makes new hashes.
    pub fn preferred(&self) -> &dyn Hasher {
        // `new` refuses an empty list and the constructors above are never empty.
        &*self.hashers[0]
    }

    /// The hasher registered for `algorithm`.
    pub fn get(&self, algorithm: &str) -> Option<&dyn Hasher> {
        self.hashers
            .iter()
            .find(|h| h.algorithm() == algorithm)
            .map(|h| &**h)
    }

    /// The hasher that made `encoded` (Django's `identify_hasher`), if it is registered.
    pub fn identify(&self, encoded: &str) -> Option<&dyn Hasher> {
        let (algorithm, _) = encoded.split_once('$')?;
        self.get(algorithm)
    }

    /// Hashes `password` with the preferred hasher and a fresh salt.
    ///
    /// # Panics
    /// If the preferred hasher cannot encode with its own salt, which the built-in hashers
    /// always can.
    pub fn make_password(&self, password: &str) -> String {
        let hasher = self.preferred();
        #[expect(
            clippy::expect_used,
            reason = "built-in hashers validate their parameters at construction"
        )]
        hasher
            .encode(password, &hasher.salt())
            .expect("the preferred hasher encodes with its own salt")
    }

    /// Django's `verify_password`: whether `password` matches and whether the hash should be
    /// upgraded. Unusable or unrecognised hashes cost one preferred hash and never match.
    pub fn verify_password(&self, password: &str, encoded: &str) -> Verification {
        let hasher = if is_password_usable(encoded) {
            self.identify(encoded)
        } else {
            None
        };
        let Some(hasher) = hasher else {
            // Same cost as a real check, so unusable and unknown hashes cannot be told apart
            // by timing.
            let _ = self.make_password(&get_random_string(UNUSABLE_PASSWORD_SUFFIX_LENGTH));
            return Verification {
                is_correct: false,
                must_update: false,
            };
        };
        let preferred = self.preferred();
        let hasher_changed = hasher.algorithm() != preferred.algorithm();
        let must_update = hasher_changed || preferred.must_update(encoded);
        let is_correct = hasher.verify(password, encoded);
        if !is_correct && !hasher_changed && must_update {
            hasher.harden_runtime(password, encoded);
        }
        Verification {
            is_correct,
            must_update,
        }
    }

    /// Returns true when `password` matches `encoded`.
    pub fn check_password(&self, password: &str, encoded: &str) -> bool {
        self.verify_password(password, encoded).is_correct
    }

    /// Returns true when a correct login with `encoded` should store a fresh hash: another
    /// algorithm than the preferred one, other iterations or parameters, or a short salt.
    /// Unusable and unrecognised hashes are false (they never log in).
    pub fn must_update(&self, encoded: &str) -> bool {
        if !is_password_usable(encoded) {
            return false;
        }
        let Some(hasher) = self.identify(encoded) else {
            return false;
        };
        let preferred = self.preferred();
        hasher.algorithm() != preferred.algorithm() || preferred.must_update(encoded)
    }
}

impl Default for Hashers {
    /// Herd's order: Argon2id preferred, then `pbkdf2_sha256`, `pbkdf2_sha1` and scrypt.
    fn default() -> Self {
        Self {
            hashers: Arc::new([
                Arc::new(Argon2Hasher::default()) as Arc<dyn Hasher>,
                Arc::new(Pbkdf2Sha256Hasher::default()),
                Arc::new(Pbkdf2Sha1Hasher::default()),
                Arc::new(ScryptHasher::default()),
            ]),
        }
    }
}

static DEFAULT_HASHERS: LazyLock<Hashers> = LazyLock::new(Hashers::default);

/// Hashes `password` with the default registry's preferred hasher (Argon2id).
///
/// Blocks for tens of milliseconds: from async code use [`HashingPool::make_password`].
pub fn make_password(password: &str) -> String {
    DEFAULT_HASHERS.make_password(password)
}

/// Returns true when `password` matches `encoded`, with the default registry.
///
/// Blocks for up to a few hundred milliseconds: from async code use
/// [`HashingPool::check_password`].
pub fn check_password(password: &str, encoded: &str) -> bool {
    DEFAULT_HASHERS.check_password(password, encoded)
}

/// Returns true when `encoded` should be re-hashed after a correct login, with the default
/// registry (see [`Hashers::must_update`]).
pub fn must_update(encoded: &str) -> bool {
    DEFAULT_HASHERS.must_update(encoded)
}

/// Returns false for a value made by [`make_unusable_password`] (anything starting with `!`).
pub fn is_password_usable(encoded: &str) -> bool {
    !encoded.starts_with(UNUSABLE_PASSWORD_PREFIX)
}

/// A stored value that no password matches: `!` and 40 random characters.
pub fn make_unusable_password() -> String {
    format!(
        "{UNUSABLE_PASSWORD_PREFIX}{}",
        get_random_string(UNUSABLE_PASSWORD_SUFFIX_LENGTH)
    )
}

/// Django's `get_random_string`: `length` characters of [`RANDOM_STRING_CHARS`] from a CSPRNG.
pub fn get_random_string(length: usize) -> String {
    (0..length)
        .map(|_| char::from(RANDOM_STRING_CHARS[rand::random_range(0..RANDOM_STRING_CHARS.len())]))
        .collect()
}

/// Django's `must_update_salt`: fewer than [`SALT_ENTROPY_BITS`] bits of salt.
pub(crate) fn must_update_salt(salt_chars: usize) -> bool {
    #[expect(clippy::cast_precision_loss, reason = "salt lengths are small")]
    let bits = salt_chars as f64 * alphabet_bits();
    bits < SALT_ENTROPY_BITS
}

/// Constant-time equality of two byte strings (Django's `constant_time_compare`).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Django's `_check_encode_args`: a salt must be present and free of `$`.
pub(crate) fn check_salt(salt: &str) -> Result<(), AuthError> {
    if salt.is_empty() || salt.contains('$') {
        Err(AuthError::InvalidSalt)
    } else {
        Ok(())
    }
}

fn alphabet_bits() -> f64 {
    62f64.log2()
}

fn salt_char_count() -> usize {
    let count = (SALT_ENTROPY_BITS / alphabet_bits()).ceil();
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "128 / log2(62) rounds up to 22"
    )]
    let count = count as usize;
    count
}

#[cfg(test)]
mod tests;
