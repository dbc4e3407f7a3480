//! Runs hashing off the async workers: on a few dedicated threads, at most one hash per core
//! at a time, and a bounded wait for a core (RELIABILITY §1 and §7).
//!
//! Dedicated threads rather than tokio's blocking pool: an Argon2id hash needs 19 MiB, which
//! each hashing thread keeps for its next hash (see the argon2 hasher). One thread per permit
//! bounds that to 19 MiB per core; on whichever blocking thread is free it would not be.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use super::{Hashers, Verification};
use crate::AuthError;

/// How long a request waits for a free core before [`AuthError::Busy`] (answered with 503).
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);

/// Async front of a [`Hashers`] registry; cheap to clone, clones share the permits and the
/// threads, which end when the last clone is dropped.
#[derive(Clone, Debug)]
pub struct HashingPool {
    hashers: Hashers,
    permits: Arc<Semaphore>,
    queue_wait: Duration,
    jobs: mpsc::Sender<Job>,
}

/// A hash to compute on one of the pool's threads.
type Job = Box<dyn FnOnce() + Send>;

// === impl HashingPool ===

impl HashingPool {
    /// A pool with one permit per core (`available_parallelism()`) and the 2 s [`QUEUE_WAIT`].
    pub fn new(hashers: Hashers) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        Self::with_limits(hashers, cores, QUEUE_WAIT)
    }

    /// A pool running at most `permits` hashes at once (at least 1) on as many threads, each
    /// request waiting at most `queue_wait` for its turn.
    pub fn with_limits(hashers: Hashers, permits: usize, queue_wait: Duration) -> Self {
        let permits = permits.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..permits {
            let queue = Arc::clone(&queue);
            let spawned = std::thread::Builder::new()
                .name(format!("herd-hash-{n}"))
                .spawn(move || run_jobs(&queue));
            if let Err(err) = spawned {
                // Fewer threads only queue hashes longer; with none, hashing fails with Task.
                tracing::error!(%err, "could not start a password hashing thread");
            }
        }
        Self {
            hashers,
            permits: Arc::new(Semaphore::new(permits)),
            queue_wait,
            jobs,
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
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            // A panicking hasher must not take the thread (and its permit) down with it.
            let out = catch_unwind(AssertUnwindSafe(work));
            drop(permit);
            // The request may have gone away meanwhile; then nobody wants the result.
            let _ = done.send(out);
        });
        self.jobs.send(job).map_err(|_| AuthError::Task)?;
        match result.await {
            Ok(Ok(out)) => Ok(out),
            // The job panicked, or was dropped unrun with its thread.
            Ok(Err(_)) | Err(_) => Err(AuthError::Task),
        }
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

/// A hashing thread: runs jobs until every [`HashingPool`] clone (every sender) is gone.
fn run_jobs(queue: &Mutex<mpsc::Receiver<Job>>) {
    loop {
        // One thread waits in `recv` while holding the lock; the others wait for the lock.
        let job = match queue.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(mpsc::RecvError) => return,
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashes_run_on_the_pools_own_threads_only() {
        let pool = HashingPool::with_limits(Hashers::default(), 2, QUEUE_WAIT);
        let mut names = std::collections::BTreeSet::new();
        for _ in 0..20 {
            let name = pool
                .run(|| std::thread::current().name().map(str::to_owned))
                .await
                .unwrap();
            names.insert(name.unwrap());
        }
        assert!(names.len() <= 2, "{names:?}");
        assert!(
            names.iter().all(|n| n.starts_with("herd-hash-")),
            "{names:?}"
        );
    }

    #[tokio::test]
    async fn a_panicking_hash_fails_alone_and_the_thread_lives_on() {
        let pool = HashingPool::with_limits(Hashers::default(), 1, QUEUE_WAIT);
        let err = pool.run(|| panic!("a broken hasher")).await.unwrap_err();
        assert!(matches!(err, AuthError::Task), "{err:?}");
        assert_eq!(pool.permits.available_permits(), 1, "the permit came back");
        assert_eq!(pool.run(|| 42).await.unwrap(), 42);
    }
}
