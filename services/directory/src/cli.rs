//! The `herd` command line: serve, migrate, makemigrations, seed, routes and check.

use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use herd::core::Settings;
use herd::project::{self, Site};

/// Herd's employee directory: the server and its management commands.
///
/// Settings come from `HERD_*` environment variables and the optional TOML file named by
/// `HERD_CONFIG`; see the README for the table.
#[derive(Debug, Parser)]
#[command(name = "herd", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP on `HERD_BIND` (default 127.0.0.1:8000) until SIGTERM or Ctrl-C, then drain.
    Serve,
    /// Apply pending migrations under a Postgres advisory lock (safe from many replicas at once).
    Migrate,
    /// Write a migration for each app whose models changed since its last migration.
    Makemigrations {
        /// The new migration's name (the part after its number).
        #[arg(long)]
        name: Option<String>,
        /// Write nothing; exit 1 when a migration is missing (for CI).
        #[arg(long)]
        check: bool,
    },
    /// Insert deterministic employees; idempotent (rows already there are kept).
    Seed {
        /// How many employees the table should hold.
        #[arg(long, default_value_t = 10_000)]
        count: u64,
    },
    /// List the URL patterns with their names.
    Routes,
    /// Run the system checks.
    Check {
        /// Also run the deployment checklist (secret key, DEBUG, allowed hosts).
        #[arg(long)]
        deploy: bool,
    },
}

impl Cli {
    /// Runs the command with the loaded settings.
    ///
    /// # Errors
    ///
    /// Whatever stopped the command; `main` prints it.
    pub async fn run(self, settings: Settings) -> anyhow::Result<ExitCode> {
        let apps = crate::apps();
        match self.command {
            Command::Serve => {
                let site = Site::new(settings, &apps)?;
                let bind = site.settings().bind;
                let listener = tokio::net::TcpListener::bind(bind)
                    .await
                    .with_context(|| format!("cannot listen on {bind} (HERD_BIND)"))?;
                site.serve(listener, herd::http::server::shutdown_signal())
                    .await?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Migrate => {
                let report = project::migrate(&settings, &apps).await?;
                if report.applied.is_empty() {
                    println!("No migrations to apply.");
                }
                for migration in &report.applied {
                    println!("Applied {migration}");
                }
                Ok(ExitCode::SUCCESS)
            }
            Command::Makemigrations { name, check } => {
                if check {
                    let changes = project::unmigrated_changes(&apps)?;
                    for (app, count) in &changes {
                        println!(
                            "{app}: {count} model change(s) have no migration; run `herd makemigrations`"
                        );
                    }
                    return Ok(if changes.is_empty() {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::FAILURE
                    });
                }
                let written = project::make_migrations(&apps, name.as_deref())?;
                if written.is_empty() {
                    println!("No changes detected.");
                }
                for file in written {
                    println!("Wrote {}", file.display());
                }
                Ok(ExitCode::SUCCESS)
            }
            Command::Seed { count } => {
                let site = Site::new(settings, &apps)?;
                let added = crate::seed::seed(site.db(), count)
                    .await
                    .context("seeding failed; did `herd migrate` run?")?;
                println!("Seeded {added} employees ({count} wanted).");
                Ok(ExitCode::SUCCESS)
            }
            Command::Routes => {
                let site = Site::new(settings, &apps)?;
                for route in site.urls().patterns() {
                    println!(
                        "/{:<40} {}",
                        route.route,
                        route.name.as_deref().unwrap_or("-")
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            Command::Check { deploy } => check(settings, &apps, deploy),
        }
    }
}

/// Django's `check`: builds everything a worker builds and reports problems.
fn check(
    settings: Settings,
    apps: &[herd::project::AppConfig],
    deploy: bool,
) -> anyhow::Result<ExitCode> {
    let mut issues = Vec::new();
    for (app, count) in project::unmigrated_changes(apps)? {
        issues.push(format!(
            "{app}: {count} model change(s) have no migration; run `herd makemigrations`"
        ));
    }
    if deploy {
        issues.extend(herd::security::deploy_checks(
            &settings,
            &project::security_config(&settings)?,
        ));
    }
    // Compiles every template and URL pattern, as a worker would at start.
    Site::new(settings, apps)?;
    for issue in &issues {
        println!("?: {issue}");
    }
    println!(
        "System check identified {} issue(s) (0 silenced).",
        issues.len()
    );
    Ok(if issues.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
