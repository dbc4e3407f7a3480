//! The session records in Redis: `<prefix>session:<key>` holding the session's JSON object,
//! with a TTL of `max_age` seconds. Every call goes through [`RedisBackend`], so it is bounded
//! by its timeouts and skipped while its breaker is open.

use herd_cache::{BackendError, RedisBackend};
use herd_core::Error;
use serde_json::{Map, Value};

use crate::cookie;

/// How many fresh keys to try when one is taken; with 256-bit keys the first always fits.
const CREATE_ATTEMPTS: usize = 3;

/// The session data: a JSON object, as Django's session dictionary.
pub(crate) type Data = Map<String, Value>;

/// Where sessions live.
#[derive(Clone, Debug)]
pub(crate) struct Store {
    redis: RedisBackend,
    prefix: String,
    max_age: u64,
}

/// What saving under an existing key found.
pub(crate) enum Saved {
    Saved,
    /// The record was deleted while the request ran (a logout elsewhere): saving would bring a
    /// revoked session back, so nothing is written (Django's `SessionInterrupted`).
    Interrupted,
}

impl Store {
    pub(crate) fn new(redis: RedisBackend, prefix: String, max_age: u64) -> Self {
        Self {
            redis,
            prefix,
            max_age,
        }
    }

    pub(crate) fn max_age(&self) -> u64 {
        self.max_age
    }

    /// The record under `key`; `None` when there is none or it is not a JSON object (a record
    /// nobody can read is as good as gone).
    pub(crate) async fn load(&self, key: &str) -> Result<Option<Data>, Error> {
        let raw: Option<Vec<u8>> = self
            .redis
            .query(redis::cmd("GET").arg(self.record_key(key)))
            .await
            .map_err(unavailable)?;
        Ok(raw.and_then(|raw| match serde_json::from_slice::<Data>(&raw) {
            Ok(data) => Some(data),
            Err(err) => {
                tracing::warn!(error = %err, "unreadable session record; starting a new session");
                None
            }
        }))
    }

    /// Stores `data` under a fresh key and returns the key.
    pub(crate) async fn create(&self, data: &Data) -> Result<String, Error> {
        let value = encode(data)?;
        for _ in 0..CREATE_ATTEMPTS {
            let key = cookie::new_key().map_err(Error::internal)?;
            let stored: Option<String> = self
                .redis
                .query(
                    redis::cmd("SET")
                        .arg(self.record_key(&key))
                        .arg(&value)
                        .arg("NX")
                        .arg("EX")
                        .arg(self.max_age),
                )
                .await
                .map_err(unavailable)?;
            if stored.is_some() {
                return Ok(key);
            }
        }
        Err(Error::internal(
            "no free session key after several fresh ones",
        ))
    }

    /// Replaces the record under `key`, only if it still exists.
    pub(crate) async fn save(&self, key: &str, data: &Data) -> Result<Saved, Error> {
        let stored: Option<String> = self
            .redis
            .query(
                redis::cmd("SET")
                    .arg(self.record_key(key))
                    .arg(encode(data)?)
                    .arg("XX")
                    .arg("EX")
                    .arg(self.max_age),
            )
            .await
            .map_err(unavailable)?;
        Ok(if stored.is_some() {
            Saved::Saved
        } else {
            Saved::Interrupted
        })
    }

    /// Deletes the record under `key`.
    pub(crate) async fn delete(&self, key: &str) -> Result<(), Error> {
        let _removed: u64 = self
            .redis
            .query(redis::cmd("DEL").arg(self.record_key(key)))
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    fn record_key(&self, key: &str) -> String {
        format!("{}session:{key}", self.prefix)
    }
}

fn encode(data: &Data) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(data).map_err(Error::internal)
}

fn unavailable(err: BackendError) -> Error {
    Error::unavailable("the session store (Redis) is unavailable").with_source(err)
}
