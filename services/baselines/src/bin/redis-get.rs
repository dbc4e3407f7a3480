//! `redis-get`: a page served straight from Redis, one `GET` per request, on plain hyper.
//!
//! Environment: `REDIS_GET_BIND` (default `127.0.0.1:8102`), `REDIS_GET_URL` (default
//! `redis://127.0.0.1:6379/0`), `REDIS_GET_KEY` (default `herd-bench:redis-get:page`) and
//! `REDIS_GET_PAGE_FILE`: when set, the file's bytes are stored under the key (for a day)
//! before the server listens; otherwise it serves whatever the key holds. Stops on SIGTERM or
//! Ctrl-C.

use anyhow::Context as _;
use herd_baselines::redis_get::{self, RedisGet};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bind = std::env::var("REDIS_GET_BIND").unwrap_or_else(|_| "127.0.0.1:8102".to_owned());
    let redis_url =
        std::env::var("REDIS_GET_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".to_owned());
    let key = std::env::var("REDIS_GET_KEY").unwrap_or_else(|_| redis_get::DEFAULT_KEY.to_owned());
    let redis_get = RedisGet::connect(&redis_url, &key)
        .await
        .context("REDIS_GET_URL")?;
    if let Ok(path) = std::env::var("REDIS_GET_PAGE_FILE") {
        let page = tokio::fs::read(&path)
            .await
            .with_context(|| format!("REDIS_GET_PAGE_FILE: cannot read {path}"))?;
        redis_get.store(&page).await?;
        eprintln!("stored {path} ({} bytes) under {key}", page.len());
    }
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("REDIS_GET_BIND: cannot listen on {bind}"))?;
    eprintln!("redis-get listening on http://{bind} (GET {key} per request)");
    redis_get::serve(listener, redis_get, herd_baselines::shutdown_signal()).await?;
    Ok(())
}
