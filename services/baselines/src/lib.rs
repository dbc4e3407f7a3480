//! Hand-written baseline servers that the benchmark measures Herd against.
//!
//! - [`ceiling`]: the year archive (`GET /employee/<year>/`) written by hand on plain hyper and
//!   deadpool-postgres. It runs the same SQL as Herd's view and writes the same HTML bytes, so
//!   the gap between the two is what the framework costs.
//! - [`hello`]: a hello-world on the same accept loop, its body padded to any size: the upper
//!   bound for pages served from the in-process cache.
//! - [`redis_get`]: one Redis `GET` per request on the same accept loop: the upper bound for
//!   pages served from Redis.
//!
//! ```no_run
//! # async fn start() -> Result<(), herd_baselines::BaselineError> {
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8100").await?;
//! let ceiling = herd_baselines::ceiling::Ceiling::connect("postgres://postgres@127.0.0.1:5432/herd")?;
//! herd_baselines::ceiling::serve(listener, ceiling, herd_baselines::shutdown_signal()).await?;
//! # Ok(())
//! # }
//! ```

pub mod ceiling;
pub mod hello;
pub mod redis_get;
mod serve;

pub use serve::shutdown_signal;

/// Why a baseline server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The database URL could not be parsed or the pool could not be built.
    #[error("bad database settings: {0}")]
    Database(String),
    /// Redis could not be reached, or refused a command.
    #[error("redis: {0}")]
    Redis(String),
    /// Binding or accepting on the socket failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// `Result` with [`BaselineError`].
pub type Result<T, E = BaselineError> = std::result::Result<T, E>;
