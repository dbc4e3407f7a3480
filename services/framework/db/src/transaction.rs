//! Transactions on one pooled connection, rolled back unless committed.
//!
//! A [`Transaction`] is a cheap handle (clones share the connection), so the closure given to
//! [`Database::transaction`] can own one. When the last handle goes away without a commit, the
//! connection rolls back before it returns to the pool; if that cannot be confirmed (no
//! runtime, the rollback fails or is cancelled) the connection is closed instead, which makes
//! Postgres roll back: a connection never re-enters the pool inside a transaction.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use deadpool_postgres::Object;
use tokio_postgres::Row;

use crate::change::Change;
use crate::database::{Database, run, run_execute};
use crate::error::{Error, Result};
use crate::executor::{Executor, Statement};

/// How long a rollback in the background may take before the connection is closed instead.
const ROLLBACK_TIMEOUT: Duration = Duration::from_secs(5);

const ACTIVE: u8 = 0;
/// A statement failed: Postgres has aborted the transaction, only a rollback is possible.
const FAILED: u8 = 1;
/// Committed or rolled back: the connection is clean.
const FINISHED: u8 = 2;
/// The connection's state is unknown (a commit or rollback failed): close it.
const POISONED: u8 = 3;

/// A database transaction; run ORM calls on it as on a [`Database`].
#[derive(Clone)]
pub struct Transaction {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    client: Option<Object>,
    state: AtomicU8,
    /// Changes to announce once `COMMIT` succeeds.
    changes: Mutex<Vec<Change>>,
}

/// A connection that is closed, not pooled, unless released after a successful rollback.
struct CloseOnDrop(Option<Object>);

// === impl Transaction ===

impl Transaction {
    pub(crate) async fn begin(db: Database, client: Object) -> Result<Self> {
        let deadline = db.deadline();
        let guard = CloseOnDrop(Some(client));
        if let Some(client) = &guard.0 {
            run_execute(client, &Statement::new("BEGIN"), deadline).await?;
        }
        let client = guard.release();
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                client,
                state: AtomicU8::new(ACTIVE),
                changes: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Commits the transaction.
    ///
    /// # Errors
    ///
    /// [`Error::is_transaction_aborted`] when the transaction already ended or one of its
    /// statements failed (Postgres has then rolled everything back); a database error when
    /// `COMMIT` itself fails.
    pub async fn commit(self) -> Result<()> {
        match self.inner.state.load(Ordering::Acquire) {
            ACTIVE => {
                self.finish("COMMIT").await?;
                let changes = std::mem::take(
                    &mut *self
                        .inner
                        .changes
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner),
                );
                self.inner.db.announce(changes).await;
                Ok(())
            }
            FAILED => {
                self.finish("ROLLBACK").await?;
                Err(Error::TransactionAborted(
                    "a statement failed, so it was rolled back".to_owned(),
                ))
            }
            _ => Err(Error::TransactionAborted(
                "the transaction has already ended".to_owned(),
            )),
        }
    }

    /// Rolls the transaction back.
    ///
    /// # Errors
    ///
    /// A database error when `ROLLBACK` fails (the connection is then closed).
    pub async fn rollback(self) -> Result<()> {
        match self.inner.state.load(Ordering::Acquire) {
            ACTIVE | FAILED => self.finish("ROLLBACK").await,
            _ => Ok(()),
        }
    }

    async fn finish(&self, command: &str) -> Result<()> {
        let client = self.client()?;
        let result = run_execute(client, &Statement::new(command), self.inner.db.deadline()).await;
        let state = if result.is_ok() { FINISHED } else { POISONED };
        self.inner.state.store(state, Ordering::Release);
        result.map(drop)
    }

    fn client(&self) -> Result<&Object> {
        self.inner
            .client
            .as_ref()
            .ok_or_else(|| Error::TransactionAborted("the connection is gone".to_owned()))
    }

    fn check_active(&self) -> Result<()> {
        match self.inner.state.load(Ordering::Acquire) {
            ACTIVE => Ok(()),
            FAILED => Err(Error::TransactionAborted(
                "an earlier statement failed; Postgres ignores further statements until rollback"
                    .to_owned(),
            )),
            _ => Err(Error::TransactionAborted(
                "the transaction has already ended".to_owned(),
            )),
        }
    }

    fn note<T>(&self, result: Result<T>) -> Result<T> {
        if result.is_err() {
            let _ = self.inner.state.compare_exchange(
                ACTIVE,
                FAILED,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
        result
    }
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("state", &self.inner.state.load(Ordering::Relaxed))
            .finish()
    }
}

impl Executor for Transaction {
    async fn query(&self, statement: &Statement) -> Result<Vec<Row>> {
        self.check_active()?;
        self.inner.db.count_statement();
        let result = run(self.client()?, statement, self.inner.db.deadline()).await;
        self.note(result)
    }

    async fn execute(&self, statement: &Statement) -> Result<u64> {
        self.check_active()?;
        self.inner.db.count_statement();
        let result = run_execute(self.client()?, statement, self.inner.db.deadline()).await;
        self.note(result)
    }

    async fn changed(&self, change: Change) {
        self.inner
            .changes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(change);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let Some(client) = self.client.take() else {
            return;
        };
        match self.state.load(Ordering::Acquire) {
            FINISHED => drop(client),
            ACTIVE | FAILED => {
                let guard = CloseOnDrop(Some(client));
                // Without a runtime the guard closes the connection right here.
                if let Ok(handle) = tokio::runtime::Handle::try_current() {
                    handle.spawn(guard.rollback());
                }
            }
            _ => drop(CloseOnDrop(Some(client))),
        }
    }
}

// === impl CloseOnDrop ===

impl CloseOnDrop {
    /// Hands the connection back for normal (pooled) use.
    fn release(mut self) -> Option<Object> {
        self.0.take()
    }

    async fn rollback(self) {
        let Some(client) = &self.0 else { return };
        let rollback =
            run_execute(client, &Statement::new("ROLLBACK"), Some(ROLLBACK_TIMEOUT)).await;
        match rollback {
            Ok(_) => drop(self.release()),
            Err(err) => {
                tracing::warn!(error = %err, "rollback of an abandoned transaction failed; closing its connection");
            }
        }
    }
}

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        if let Some(client) = self.0.take() {
            drop(Object::take(client));
        }
    }
}
