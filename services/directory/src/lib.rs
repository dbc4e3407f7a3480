//! Herd's reference site: an employee directory with a year archive, and the `herd` command
//! that serves it and manages it (Django's `manage.py` and server in one).

pub mod accounts;
pub mod cli;
pub mod forms;
pub mod models;
pub mod seed;
pub mod urls;
pub mod views;

use std::path::PathBuf;

use herd::db::Model;
use herd::project::AppConfig;

/// The app's templates, static files and migrations, embedded by `build.rs`.
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The directory app, ready to be assembled into a site.
pub fn app() -> AppConfig {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    AppConfig {
        label: "directory",
        urls: urls::urls,
        templates: embedded::TEMPLATES,
        templates_dir: Some(source.join("templates")),
        static_files: embedded::STATIC_FILES,
        migrations: embedded::MIGRATIONS,
        migrations_dir: Some(source.join("migrations")),
        models: vec![models::Employee::schema()],
    }
}

/// Every app of the site, in template lookup order: the directory, then Herd's auth app.
pub fn apps() -> Vec<AppConfig> {
    vec![app(), herd::project::auth_app()]
}
