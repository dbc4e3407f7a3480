//! The connection pool ([`Database`]): deadpool-postgres with every timeout set.
//!
//! Each ORM statement borrows a connection only for itself, so a view never holds one across
//! rendering or cache calls. A saturated pool answers within its wait timeout with an
//! "unavailable" error (503) instead of queueing forever; `RecyclingMethod::Fast` discards a
//! connection whose socket has closed before reuse, so a Postgres restart costs at most one
//! failed request per pooled connection; `statement_timeout` is set on every connection and a
//! client-side deadline just above it covers a server that stops answering altogether.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use herd_core::settings::DatabaseSettings;
use tokio_postgres::{NoTls, Row};

use crate::change::{Change, Listener};
use crate::error::{Error, Result};
use crate::executor::{Executor, Statement};
use crate::transaction::Transaction;

/// How much longer than `statement_timeout` the client waits before giving up on the server.
const CLIENT_DEADLINE_MARGIN: Duration = Duration::from_secs(1);

/// A pool of Postgres connections; cheap to clone (all clones share the pool and counter).
#[derive(Clone)]
pub struct Database {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    statements: AtomicU64,
    deadline: Option<Duration>,
    listeners: RwLock<Vec<Listener>>,
}

// === impl Database ===

impl Database {
    /// Builds the pool for `url` with the sizes and timeouts of `settings`. No connection is
    /// opened yet: the first statement opens one, so a worker starts while Postgres is down.
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a malformed URL.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(settings: herd_core::Settings) -> herd_db::Result<()> {
    /// let db = herd_db::Database::connect(&settings.database_url, &settings.database)?;
    /// db.ping().await?;
    /// # Ok(()) }
    /// ```
    pub fn connect(url: &str, settings: &DatabaseSettings) -> Result<Self> {
        let [wait, create, recycle, statement] = settings.timeouts();
        let mut config: tokio_postgres::Config = url.parse().map_err(|_| {
            Error::Config("HERD_DATABASE_URL is not a valid Postgres URL".to_owned())
        })?;
        let timeout_option = format!("-c statement_timeout={}", statement.as_millis());
        let options = match config.get_options() {
            Some(existing) if !existing.is_empty() => format!("{existing} {timeout_option}"),
            _ => timeout_option,
        };
        config.options(options);
        config.connect_timeout(create);
        if config.get_application_name().is_none() {
            config.application_name("herd");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            // `Verified` would send a test query on every checkout: one more round trip per
            // request. `Fast` discards connections whose socket has closed, which is what a
            // Postgres restart does to them, so a restart still costs at most one failed
            // statement per pooled connection (the one that finds it dead).
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(settings.pool_size)
            .wait_timeout(Some(wait))
            .create_timeout(Some(create))
            .recycle_timeout(Some(recycle))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|err| Error::Config(err.to_string()))?;
        let deadline = (!statement.is_zero()).then(|| statement + CLIENT_DEADLINE_MARGIN);
        Ok(Self::with_deadline(pool, deadline))
    }

    /// Wraps an existing pool (its timeouts are the caller's business).
    pub fn from_pool(pool: Pool) -> Self {
        Self::with_deadline(pool, None)
    }

    fn with_deadline(pool: Pool, deadline: Option<Duration>) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                statements: AtomicU64::new(0),
                deadline,
                listeners: RwLock::new(Vec::new()),
            }),
        }
    }

    /// The underlying pool, for raw access (migrations hold one connection for their lock).
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Runs `SELECT 1` on a pooled connection, for `/readyz`; not counted as an ORM statement.
    ///
    /// # Errors
    ///
    /// [`Error::is_unavailable`] when no connection can be had or the server does not answer.
    pub async fn ping(&self) -> Result<()> {
        let client = self.client().await?;
        run(&client, &Statement::new("SELECT 1"), self.inner.deadline)
            .await
            .map(drop)
    }

    /// How many statements the ORM has run through this pool (and its transactions) so far.
    pub fn statements_executed(&self) -> u64 {
        self.inner.statements.load(Ordering::Relaxed)
    }

    /// Starts a transaction on one pooled connection. It commits only with
    /// [`Transaction::commit`]; dropped or failed, it rolls back.
    ///
    /// # Errors
    ///
    /// [`Error::is_unavailable`] when no connection can be had.
    pub async fn begin(&self) -> Result<Transaction> {
        let client = self.client().await?;
        Transaction::begin(self.clone(), client).await
    }

    /// Runs `f` in a transaction: commits when it returns `Ok`, rolls back when it returns
    /// `Err` (or panics, or is cancelled).
    ///
    /// # Errors
    ///
    /// The closure's error, or the ORM's when the transaction cannot begin or commit.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn example(db: &herd_db::Database) -> herd_db::Result<()> {
    /// use herd_db::Executor;
    /// db.transaction(|tx| async move {
    ///     tx.execute(&herd_db::Statement::new("DELETE FROM directory_employee")).await?;
    ///     Ok::<_, herd_db::Error>(())
    /// })
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction<T, E, F, Fut>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(Transaction) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: From<Error>,
    {
        let tx = self.begin().await?;
        match f(tx.clone()).await {
            Ok(value) => {
                tx.commit().await?;
                Ok(value)
            }
            Err(err) => {
                // The closure's error is the one worth reporting; a failed rollback discards
                // the connection anyway.
                if let Err(rollback) = tx.rollback().await {
                    tracing::warn!(error = %rollback, "rollback failed");
                }
                Err(err)
            }
        }
    }

    /// Calls `listener` after every change the ORM makes through this database (after `COMMIT`
    /// for changes made in a transaction).
    pub fn on_change<F, Fut>(&self, listener: F)
    where
        F: Fn(Change) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener: Listener = Arc::new(move |change| Box::pin(listener(change)));
        self.inner
            .listeners
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(listener);
    }

    /// Tells every listener about `changes`, in order.
    pub(crate) async fn announce(&self, changes: Vec<Change>) {
        let listeners = self
            .inner
            .listeners
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for change in changes {
            for listener in &listeners {
                listener(change.clone()).await;
            }
        }
    }

    /// A pooled connection, with pool errors mapped to "unavailable".
    pub(crate) async fn client(&self) -> Result<Object> {
        self.inner.pool.get().await.map_err(Error::from_pool)
    }

    pub(crate) fn count_statement(&self) {
        self.inner.statements.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn deadline(&self) -> Option<Duration> {
        self.inner.deadline
    }
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("pool", &self.inner.pool.status())
            .field("statements", &self.statements_executed())
            .finish()
    }
}

impl Executor for Database {
    async fn query(&self, statement: &Statement) -> Result<Vec<Row>> {
        self.count_statement();
        let client = self.client().await?;
        run(&client, statement, self.inner.deadline).await
    }

    async fn execute(&self, statement: &Statement) -> Result<u64> {
        self.count_statement();
        let client = self.client().await?;
        run_execute(&client, statement, self.inner.deadline).await
    }

    async fn changed(&self, change: Change) {
        self.announce(vec![change]).await;
    }
}

/// Runs a statement that returns rows, bounded by `deadline`.
///
/// Statements are prepared once per connection and cached by their text and parameter types,
/// so Postgres parses and plans each query shape once instead of on every request.
pub(crate) async fn run(
    client: &deadpool_postgres::ClientWrapper,
    statement: &Statement,
    deadline: Option<Duration>,
) -> Result<Vec<Row>> {
    tracing::debug!(
        sql = statement.sql(),
        params = statement.params().len(),
        "query"
    );
    let prepared = prepare(client, statement, deadline).await?;
    let params = statement.params_for_prepared();
    bounded(deadline, client.query(&prepared, &params)).await
}

/// Runs a statement and returns the number of rows it affected, bounded by `deadline`.
pub(crate) async fn run_execute(
    client: &deadpool_postgres::ClientWrapper,
    statement: &Statement,
    deadline: Option<Duration>,
) -> Result<u64> {
    tracing::debug!(
        sql = statement.sql(),
        params = statement.params().len(),
        "execute"
    );
    let prepared = prepare(client, statement, deadline).await?;
    let params = statement.params_for_prepared();
    bounded(deadline, client.execute(&prepared, &params)).await
}

async fn prepare(
    client: &deadpool_postgres::ClientWrapper,
    statement: &Statement,
    deadline: Option<Duration>,
) -> Result<tokio_postgres::Statement> {
    let types = statement.param_types();
    bounded(
        deadline,
        client.prepare_typed_cached(statement.sql(), &types),
    )
    .await
}

async fn bounded<T>(
    deadline: Option<Duration>,
    fut: impl Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T> {
    let result = match deadline {
        Some(deadline) => tokio::time::timeout(deadline, fut)
            .await
            .map_err(|_| Error::unavailable("the database did not answer in time", None))?,
        None => fut.await,
    };
    result.map_err(Error::from_postgres)
}
