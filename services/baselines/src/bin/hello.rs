//! `hello`: a hello-world on plain hyper, the upper bound for serving a cached page.
//!
//! Environment: `HELLO_BIND` (default `127.0.0.1:8101`) and `HELLO_BODY_BYTES` (default 13, the
//! bare `Hello, world!`; the benchmark sets the size of a year-archive page). Stops on SIGTERM
//! or Ctrl-C.

use anyhow::Context as _;
use herd_baselines::hello;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bind = std::env::var("HELLO_BIND").unwrap_or_else(|_| "127.0.0.1:8101".to_owned());
    let size = match std::env::var("HELLO_BODY_BYTES") {
        Ok(size) => size
            .trim()
            .parse()
            .with_context(|| format!("HELLO_BODY_BYTES: {size:?} is not a number of bytes"))?,
        Err(_) => hello::BODY.len(),
    };
    let listener = tokio::net::TcpListener::bind(&bind)
        .await
        .with_context(|| format!("HELLO_BIND: cannot listen on {bind}"))?;
    eprintln!("hello listening on http://{bind} ({size}-byte body)");
    hello::serve_body(
        listener,
        hello::body_of_size(size),
        herd_baselines::shutdown_signal(),
    )
    .await?;
    Ok(())
}
