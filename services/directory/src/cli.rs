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
    /// Create a superuser (staff, every permission).
    Createsuperuser {
        /// The login name.
        #[arg(long)]
        username: String,
        /// The e-mail address.
        #[arg(long, default_value = "")]
        email: String,
        /// The password; Herd does not prompt, so that no password is typed in clear.
        #[arg(
            long = "password-from-env",
            env = "HERD_SUPERUSER_PASSWORD",
            hide_env_values = true
        )]
        password: Option<String>,
    },
    /// Remove expired sessions (Redis expires them by itself: nothing to do, exits 0).
    Clearsessions,
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
            Command::Createsuperuser {
                username,
                email,
                password,
            } => {
                let Some(password) = password else {
                    anyhow::bail!("set HERD_SUPERUSER_PASSWORD to the new superuser's password");
                };
                create_superuser(settings, &apps, username, email, password).await
            }
            Command::Clearsessions => {
                println!("Sessions live in Redis with a TTL; Redis removes expired ones itself.");
                Ok(ExitCode::SUCCESS)
            }
        }
    }
}

/// Django's `createsuperuser`, with the password validated by Django's four validators.
async fn create_superuser(
    settings: Settings,
    apps: &[herd::project::AppConfig],
    username: String,
    email: String,
    password: String,
) -> anyhow::Result<ExitCode> {
    use herd::auth::models::User;
    use herd::auth::validators::{default_validators, user_attributes, validate_password};
    use herd::db::Model;

    let attributes = user_attributes(&username, &email);
    if let Err(errors) = validate_password(&password, &attributes, &default_validators()) {
        for error in errors {
            eprintln!("herd: {error}");
        }
        return Ok(ExitCode::FAILURE);
    }
    let site = Site::new(settings, apps)?;
    let existing = User::objects()
        .filter(User::username().exact(username.clone()))
        .exists(site.db())
        .await?;
    if existing {
        anyhow::bail!("Error: That username is already taken.");
    }
    let encoded =
        tokio::task::spawn_blocking(move || herd::auth::hashers::make_password(&password)).await?;
    let mut user = User::new(username, encoded);
    user.email = email;
    user.is_staff = true;
    user.is_superuser = true;
    let user = User::create(site.db(), user).await?;
    println!("Superuser {} created successfully.", user.username);
    Ok(ExitCode::SUCCESS)
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
