//! `herd`: the employee directory's server and management commands.

use std::process::ExitCode;

use clap::Parser;
use herd::core::Settings;
use herd_directory::cli::Cli;

/// Threads of the blocking pool: pages whose fragment cache must wait for Redis render there
/// (never on a runtime worker, so a full pool only queues them). More than a few per core only
/// add context switches and allocator heaps: with tokio's default of 512, a loaded worker grew
/// by a thread per in-flight request and tripled its resident memory.
const MAX_BLOCKING_THREADS: usize = 8;

/// jemalloc rather than glibc's allocator: a rendered page allocates a few small objects per
/// row and frees them at once, where glibc spent about a sixth of an uncached request in
/// malloc, free and the consolidation its large page buffers trigger (measured with `perf` on
/// the year archive); jemalloc's per-thread caches take less and keep less memory.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// `EX_USAGE`: the exit code for a bad setting.
const EXIT_BAD_SETTINGS: u8 = 64;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(settings) => settings,
        Err(err) => {
            eprintln!("herd: {err}");
            return ExitCode::from(EXIT_BAD_SETTINGS);
        }
    };
    // Colours only for a terminal: a log file or collector gets plain text, and every
    // request's span is formatted without the escape codes.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&settings.log))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("herd: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.run(settings)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("herd: {err:#}");
            ExitCode::FAILURE
        }
    }
}
