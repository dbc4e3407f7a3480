//! `ceiling`: the hand-written year archive the benchmark measures Herd against.
//!
//! Environment: `CEILING_BIND` (default `127.0.0.1:8100`) and `DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/herd`). Stops on SIGTERM or Ctrl-C.

use anyhow::Context as _;
use herd_baselines::ceiling::{self, Ceiling};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bind = std::env::var("CEILING_BIND").unwrap_or_else(|_| "127.0.0.1:8100".to_owned());
    let database_url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/herd".to_owned());
    let ceiling = Ceiling::connect(&database_url)?;
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("CEILING_BIND: cannot listen on {bind}"))?;
    eprintln!("ceiling listening on http://{bind}");
    ceiling::serve(listener, ceiling, herd_baselines::shutdown_signal()).await?;
    Ok(())
}
