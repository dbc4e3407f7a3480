//! Runs hashing off the async workers: on tokio's blocking pool, at most one hash per core at
//! a time, and a bounded wait for a core (RELIABILITY §1 and §7).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{Hashers, Verification};
use crate::AuthError;

/// How long a request waits for a free core before [`AuthError::Busy`] (answered with 503).
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// Async front of a [`Hashers`] registry; cheap to clone, clones share the permits.
#[derive(Clone, Debug)]
pub struct HashingPool {
    hashers: Hashers,
    permits: Arc<Semaphore>,
    queue_wait: Duration,
}

// === impl HashingPool ===

impl HashingPool {
    /// A pool with one permit per core (`available_parallelism()`) and the 2 s [`QUEUE_WAIT`].
    pub fn new(hashers: Hashers) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::with_limits(hashers, cores, QUEUE_WAIT)
    }

    /// A pool running at most `permits` hashes at once (at least 1), each request waiting at most
    /// `queue_wait` for its turn.
    pub fn with_limits(hashers: Hashers, permits: usize, queue_wait: Duration) -> Self {
        Self {
            hashers,
            permits: Arc::new(Semaphore::new(permits.max(1))),
            queue_wait,
        }
    }

    /// The registry this pool hashes with.
    pub fn hashers(&self) -> &Hashers {
        &self.hashers
    }

    /// [`Hashers::make_password`] on the blocking pool.
    ///
    /// # Errors
    /// [`AuthError::Busy`] when no core frees up within the queue wait; [`AuthError::Task`] if
    /// the hashing task panicked.
    pub async fn make_password(&self, password: String) -> Result<String, AuthError> {
        let hashers = self.hashers.clone();
        self.run(move || hashers.make_password(&password)).await
    }

    /// [`Hashers::check_password`] on the blocking pool.
    ///
    /// # Errors
    /// As [`HashingPool::make_password`].
    pub async fn check_password(
        &self,
        password: String,
        encoded: String,
    ) -> Result<bool, AuthError> {
        Ok(self.verify_password(password, encoded).await?.is_correct)
    }

    /// [`Hashers::verify_password`] on the blocking pool: whether the password matches and
    /// whether to store a fresh hash.
    ///
    /// # Errors
    /// As [`HashingPool::make_password`].
    pub async fn verify_password(
        &self,
        password: String,
        encoded: String,
    ) -> Result<Verification, AuthError> {
        let hashers = self.hashers.clone();
        self.run(move || hashers.verify_password(&password, &encoded))
            .await
    }

    async fn run<T, F>(&self, work: F) -> Result<T, AuthError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let permit = self.acquire().await?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(AuthError::Task)
    }

    async fn acquire(&self) -> Result<OwnedSemaphorePermit, AuthError> {
        match tokio::time::timeout(self.queue_wait, Arc::clone(&self.permits).acquire_owned()).await
        {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; treat it like a full queue all the same.
            Ok(Err(_)) | Err(_) => Err(AuthError::Busy),
        }
    }
}

impl Default for HashingPool {
    fn default() -> Self {
        Self::new(Hashers::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_queue_answers_busy_after_the_wait() {
        let pool = HashingPool::with_limits(Hashers::default(), 1, Duration::from_millis(50));
        let held = pool.acquire().await.unwrap();
        let err = pool.make_password("pw".to_owned()).await.unwrap_err();
        assert!(err.is_busy(), "{err:?}");
        let status = herd_core::IntoResponse::into_response(herd_core::Error::from(err)).status();
        assert_eq!(status, 503);
        drop(held);
        let encoded = pool.make_password("pw".to_owned()).await.unwrap();
        assert!(pool.check_password("pw".to_owned(), encoded).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_hashes_never_exceed_the_permits() {
        let pool = HashingPool::with_limits(Hashers::default(), 2, QUEUE_WAIT);
        let tasks: Vec<_> = (0..6)
            .map(|i| {
                let pool = pool.clone();
                tokio::spawn(async move { pool.make_password(format!("pw{i}")).await })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap().is_ok());
        }
        assert_eq!(pool.permits.available_permits(), 2);
    }
}
