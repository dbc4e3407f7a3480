//! The L2 baseline: a page served straight from Redis, with nothing between hyper and `GET`.
//!
//! Every request, whatever its method and path, sends one `GET` of [`RedisGet::key`] over a
//! shared redis-rs [`ConnectionManager`] (one multiplexed connection, as Herd's Redis backend
//! uses) and answers the bytes as `text/html`. There is no local copy, no key building, no
//! header handling and no middleware: what Herd adds on top of this when it serves a page from
//! its Redis cache is the framework's cost. A missing key is a 404, a Redis error a 500.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::net::TcpListener;

use crate::{BaselineError, Result};

/// The key the `redis-get` binary reads when `REDIS_GET_KEY` is not set.
pub const DEFAULT_KEY: &str = "herd-bench:redis-get:page";

/// How long a page stored by [`RedisGet::store`] lives, so that a forgotten one leaves Redis.
pub const STORE_TTL: Duration = Duration::from_hours(24);

/// The Redis response timeout: Herd's (`herd_cache::redis::RESPONSE_TIMEOUT`), so that both
/// sides wait on Redis under the same rule.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_millis(200);

/// The Redis connection timeout, Herd's as well.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_millis(500);

/// Connection attempts retried before giving up, Herd's as well.
pub const CONNECTION_RETRIES: usize = 2;

const HTML: &str = "text/html; charset=utf-8";

/// The `redis-get` server's state: one connection manager and the key it reads.
#[derive(Clone)]
pub struct RedisGet {
    manager: ConnectionManager,
    key: Arc<str>,
}

impl std::fmt::Debug for RedisGet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisGet")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

// === impl RedisGet ===

impl RedisGet {
    /// Connects to `redis_url` (at once, so that a wrong URL fails at start) to serve `key`.
    ///
    /// # Errors
    ///
    /// A malformed URL, or Redis does not answer.
    pub async fn connect(redis_url: &str, key: &str) -> Result<Self> {
        let client = redis::Client::open(redis_url)
            .map_err(|err| BaselineError::Redis(format!("{redis_url}: {err}")))?;
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_number_of_retries(CONNECTION_RETRIES);
        let manager = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|err| BaselineError::Redis(format!("{redis_url}: {err}")))?;
        Ok(Self {
            manager,
            key: Arc::from(key),
        })
    }

    /// The key every request reads.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Stores `page` under [`RedisGet::key`] for [`STORE_TTL`].
    ///
    /// # Errors
    ///
    /// Redis refused or did not answer.
    pub async fn store(&self, page: &[u8]) -> Result<()> {
        let mut connection = self.manager.clone();
        redis::cmd("SET")
            .arg(&*self.key)
            .arg(page)
            .arg("EX")
            .arg(STORE_TTL.as_secs())
            .query_async::<()>(&mut connection)
            .await
            .map_err(|err| BaselineError::Redis(format!("SET {}: {err}", self.key)))
    }

    /// The page stored under [`RedisGet::key`], `None` when there is none: one `GET`.
    ///
    /// # Errors
    ///
    /// Redis failed or did not answer within [`RESPONSE_TIMEOUT`].
    pub async fn page(&self) -> Result<Option<Bytes>> {
        let mut connection = self.manager.clone();
        let page: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&*self.key)
            .query_async(&mut connection)
            .await
            .map_err(|err| BaselineError::Redis(format!("GET {}: {err}", self.key)))?;
        Ok(page.map(Bytes::from))
    }

    async fn respond(&self) -> Response<Full<Bytes>> {
        let (status, body) = match self.page().await {
            Ok(Some(page)) => (StatusCode::OK, page),
            Ok(None) => (
                StatusCode::NOT_FOUND,
                Bytes::from_static(
                    b"<h1>Not Found</h1><p>The requested resource was not found on this server.</p>",
                ),
            ),
            Err(err) => {
                eprintln!("{err}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Bytes::from_static(b"<h1>Server Error (500)</h1>"),
                )
            }
        };
        let mut response = Response::new(Full::new(body));
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(HTML));
        response
    }
}

/// Serves the page under `redis_get`'s key on `listener` until `shutdown` resolves.
///
/// # Errors
///
/// Socket errors.
pub async fn serve(
    listener: TcpListener,
    redis_get: RedisGet,
    shutdown: impl Future<Output = ()>,
) -> Result<()> {
    let redis_get = Arc::new(redis_get);
    let service = service_fn(move |_request: Request<Incoming>| {
        let redis_get = Arc::clone(&redis_get);
        async move { Ok::<_, Infallible>(redis_get.respond().await) }
    });
    crate::serve::serve(listener, service, shutdown).await
}
