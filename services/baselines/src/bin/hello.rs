//! `hello`: a hello-world on plain hyper, the upper bound for serving a cached page.
//!
//! Environment: `HELLO_BIND` (default `127.0.0.1:8101`). Stops on SIGTERM or Ctrl-C.

/// The same allocator as the `herd` binary, so allocation is not what the comparison measures.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Context as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bind = std::env::var("HELLO_BIND").unwrap_or_else(|_| "127.0.0.1:8101".to_owned());
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("HELLO_BIND: cannot listen on {bind}"))?;
    eprintln!("hello listening on http://{bind}");
    herd_baselines::hello::serve(listener, herd_baselines::shutdown_signal()).await?;
    Ok(())
}
