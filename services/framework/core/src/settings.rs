//! Settings, loaded once at start with the `config` crate.
//!
//! Sources, later ones winning: built-in defaults, the TOML file named by `HERD_CONFIG`
//! (optional), then environment variables `HERD_<KEY>` with `__` between nested keys
//! (`HERD_CACHE__TIMEOUT=600`). Nothing reads the environment after start-up; tests build
//! settings from a map with [`Settings::from_env_map`].

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use config::{Config, ConfigError, Environment, File, FileFormat};
use serde::{Deserialize, Deserializer};

/// The secret key used when `HERD_DEBUG=true` and none is set; refused otherwise.
pub const DEVELOPMENT_SECRET_KEY: &str = "herd-insecure-development-key-do-not-use-in-production";

/// Environment variables with the `HERD_` prefix that are not settings of a worker.
const NOT_SETTINGS: &[&str] = &["HERD_CONFIG", "HERD_SUPERUSER_PASSWORD"];
const NOT_SETTINGS_PREFIXES: &[&str] = &["HERD_TEST_", "HERD_ROUTER_"];

/// All of a worker's settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// `HERD_DATABASE_URL`: the Postgres URL. Default `postgres://postgres@127.0.0.1:5432/herd`.
    pub database_url: String,
    /// `HERD_REDIS_URL`: the Redis URL. Default `redis://127.0.0.1:6379/0`.
    pub redis_url: String,
    /// `HERD_SECRET_KEY`: the signing key. Required unless `HERD_DEBUG=true`.
    #[serde(default)]
    secret_key: Option<SecretKey>,
    /// `HERD_DEBUG`: debug pages and template reloading. Default `false`.
    pub debug: bool,
    /// `HERD_ALLOWED_HOSTS`: comma-separated host names; others get 400.
    /// Default `127.0.0.1,localhost,[::1]`.
    #[serde(deserialize_with = "comma_separated")]
    pub allowed_hosts: Vec<String>,
    /// `HERD_BIND`: the worker's listen address. Default `127.0.0.1:8000`.
    pub bind: SocketAddr,
    /// `HERD_LOG`: what to log, as a `tracing` filter (`info`, `herd_http=debug,warn`).
    /// Default `info,tokio_postgres=warn`.
    pub log: String,
    /// `HERD_CACHE__*`: caching.
    pub cache: CacheSettings,
    /// `HERD_SERVER__*`: limits and timeouts of the HTTP server.
    pub server: ServerSettings,
    /// `HERD_DATABASE__*`: the connection pool.
    pub database: DatabaseSettings,
    /// `HERD_SECURITY__*`: HTTPS, security headers and CSRF.
    pub security: SecuritySettings,
}

/// `HERD_CACHE__*`: the cache framework.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheSettings {
    /// `HERD_CACHE__BACKEND`: `two-tier`, `redis`, `local` or `dummy`. Default `two-tier`.
    pub backend: CacheBackend,
    /// `HERD_CACHE__TIMEOUT`: default timeout in seconds. Default `300`.
    pub timeout: u64,
    /// `HERD_CACHE__KEY_PREFIX`: prepended to every key, so sites can share a Redis.
    /// Default empty.
    pub key_prefix: String,
    /// `HERD_CACHE__MIDDLEWARE_SECONDS`: how long the per-site cache keeps a page that does not
    /// say (Django's `CACHE_MIDDLEWARE_SECONDS`). Default `600`.
    pub middleware_seconds: u64,
}

/// Which cache backend serves the default cache.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum CacheBackend {
    /// moka in front of Redis, kept coherent by pub/sub invalidation.
    TwoTier,
    /// Redis only.
    Redis,
    /// moka only, per worker.
    Local,
    /// Caches nothing.
    Dummy,
}

/// `HERD_SERVER__*`: limits and timeouts of the HTTP server (RELIABILITY.md §1).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// `HERD_SERVER__HEADER_READ_TIMEOUT`: seconds to read a request head. Default `10`.
    pub header_read_timeout: f64,
    /// `HERD_SERVER__KEEP_ALIVE_TIMEOUT`: seconds an idle keep-alive connection stays. Default `75`.
    pub keep_alive_timeout: f64,
    /// `HERD_SERVER__MAX_BODY_BYTES`: the request body limit. Default `2621440` (2.5 MiB).
    pub max_body_bytes: u64,
    /// `HERD_SERVER__BODY_READ_TIMEOUT`: seconds to receive a whole request body, which the
    /// server reads before the view runs (so the handler timeout starts after it); 408 after.
    /// `0` waits for ever. Default `15`.
    pub body_read_timeout: f64,
    /// `HERD_SERVER__HANDLER_TIMEOUT`: seconds a view may take before 503. Default `10`.
    pub handler_timeout: f64,
    /// `HERD_SERVER__MAX_IN_FLIGHT`: requests served at once per worker before 503. Default `256`.
    pub max_in_flight: usize,
    /// `HERD_SERVER__DRAIN_DELAY`: seconds to keep serving after SIGTERM while /readyz is 503. Default `5`.
    pub drain_delay: f64,
    /// `HERD_SERVER__DRAIN_DEADLINE`: seconds to wait for in-flight requests after that. Default `15`.
    pub drain_deadline: f64,
}

/// `HERD_DATABASE__*`: the Postgres connection pool (RELIABILITY.md §1).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `HERD_DATABASE__POOL_SIZE`: connections per worker. Default `16`.
    pub pool_size: usize,
    /// `HERD_DATABASE__WAIT_TIMEOUT`: seconds to wait for a free connection. Default `1`.
    pub wait_timeout: f64,
    /// `HERD_DATABASE__CREATE_TIMEOUT`: seconds to open a connection. Default `2`.
    pub create_timeout: f64,
    /// `HERD_DATABASE__RECYCLE_TIMEOUT`: seconds to check a pooled connection. Default `1`.
    pub recycle_timeout: f64,
    /// `HERD_DATABASE__STATEMENT_TIMEOUT`: seconds a statement may run. Default `5`.
    pub statement_timeout: f64,
}

/// `HERD_SECURITY__*`: HTTPS, security headers and CSRF (Django's `SECURE_*` and `CSRF_*`).
// Each flag is one of Django's independent settings; an enum would not make them clearer.
#[allow(clippy::struct_excessive_bools)]
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettings {
    /// `HERD_SECURITY__HSTS_SECONDS`: `Strict-Transport-Security` max-age on HTTPS responses;
    /// `0` sends none. Default `0`.
    pub hsts_seconds: u64,
    /// `HERD_SECURITY__HSTS_INCLUDE_SUBDOMAINS`: adds `includeSubDomains`. Default `false`.
    pub hsts_include_subdomains: bool,
    /// `HERD_SECURITY__HSTS_PRELOAD`: adds `preload`. Default `false`.
    pub hsts_preload: bool,
    /// `HERD_SECURITY__SSL_REDIRECT`: redirects plain HTTP to HTTPS (301). Default `false`.
    pub ssl_redirect: bool,
    /// `HERD_SECURITY__PROXY_SSL_HEADER`: `Header-Name: value` a trusted proxy sets on HTTPS
    /// requests, e.g. `X-Forwarded-Proto: https`; empty trusts no header. Default empty.
    pub proxy_ssl_header: String,
    /// `HERD_SECURITY__CSRF_TRUSTED_ORIGINS`: comma-separated origins allowed to POST besides
    /// the site's own (`https://*.example.com` matches subdomains). Default empty.
    #[serde(deserialize_with = "comma_separated")]
    pub csrf_trusted_origins: Vec<String>,
    /// `HERD_SECURITY__SECURE_COOKIES`: sends the CSRF (and session) cookies with `Secure`.
    /// Default `false`.
    pub secure_cookies: bool,
    /// `HERD_SECURITY__TRUSTED_PROXY_HOPS`: how many proxies in front of the workers append to
    /// `X-Forwarded-For` (1 behind `herd-router`); the client is the address the outermost of
    /// them appended. `0` trusts no header and takes the TCP peer, so that a client reaching a
    /// worker directly cannot pick its own address. Default `0`.
    pub trusted_proxy_hops: usize,
}

/// A secret whose `Debug` output does not show it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
struct SecretKey(String);

/// A setting that could not be loaded; its `Display` is one line naming the key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(String);

// === impl Settings ===

impl Settings {
    /// Loads the settings from `HERD_CONFIG` (if set) and the process environment.
    ///
    /// # Errors
    ///
    /// A missing file, a malformed value or an unknown `HERD_*` key, naming it.
    pub fn load() -> Result<Self, SettingsError> {
        Self::from_env_map(std::env::vars().collect())
    }

    /// Loads the settings from the given environment, as [`Settings::load`] does from the
    /// process's own.
    ///
    /// # Errors
    ///
    /// A missing file, a malformed value or an unknown `HERD_*` key, naming it.
    pub fn from_env_map(env: HashMap<String, String>) -> Result<Self, SettingsError> {
        let file = env.get("HERD_CONFIG").map(PathBuf::from);
        let env: HashMap<String, String> = env
            .into_iter()
            .filter(|(key, _)| {
                key.starts_with("HERD_")
                    && !NOT_SETTINGS.contains(&key.as_str())
                    && !NOT_SETTINGS_PREFIXES
                        .iter()
                        .any(|prefix| key.starts_with(prefix))
            })
            .collect();
        let mut builder = Config::builder().add_source(File::from_str(DEFAULTS, FileFormat::Toml));
        if let Some(file) = &file {
            builder = builder.add_source(File::from(file.clone()).format(FileFormat::Toml));
        }
        let config = builder
            .add_source(
                Environment::with_prefix("HERD")
                    .prefix_separator("_")
                    .separator("__")
                    .source(Some(env)),
            )
            .build()
            .map_err(|err| describe(&err))?;
        let settings: Self = config.try_deserialize().map_err(|err| describe(&err))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), SettingsError> {
        if !self.debug && self.secret_key.is_none() {
            return Err(SettingsError(
                "HERD_SECRET_KEY is required when HERD_DEBUG is false: set it to a long random string".to_owned(),
            ));
        }
        if self.secret_key.as_ref().is_some_and(|key| key.0.is_empty()) {
            return Err(SettingsError(
                "HERD_SECRET_KEY must not be empty".to_owned(),
            ));
        }
        if self.allowed_hosts.is_empty() {
            return Err(SettingsError(
                "HERD_ALLOWED_HOSTS must name at least one host".to_owned(),
            ));
        }
        if self.database.pool_size == 0 {
            return Err(SettingsError(
                "HERD_DATABASE__POOL_SIZE must be at least 1".to_owned(),
            ));
        }
        if self.server.max_in_flight == 0 {
            return Err(SettingsError(
                "HERD_SERVER__MAX_IN_FLIGHT must be at least 1".to_owned(),
            ));
        }
        let durations = [
            (
                "HERD_SERVER__HEADER_READ_TIMEOUT",
                self.server.header_read_timeout,
            ),
            (
                "HERD_SERVER__KEEP_ALIVE_TIMEOUT",
                self.server.keep_alive_timeout,
            ),
            (
                "HERD_SERVER__BODY_READ_TIMEOUT",
                self.server.body_read_timeout,
            ),
            ("HERD_SERVER__HANDLER_TIMEOUT", self.server.handler_timeout),
            ("HERD_SERVER__DRAIN_DELAY", self.server.drain_delay),
            ("HERD_SERVER__DRAIN_DEADLINE", self.server.drain_deadline),
            ("HERD_DATABASE__WAIT_TIMEOUT", self.database.wait_timeout),
            (
                "HERD_DATABASE__CREATE_TIMEOUT",
                self.database.create_timeout,
            ),
            (
                "HERD_DATABASE__RECYCLE_TIMEOUT",
                self.database.recycle_timeout,
            ),
            (
                "HERD_DATABASE__STATEMENT_TIMEOUT",
                self.database.statement_timeout,
            ),
        ];
        for (key, seconds) in durations {
            if !(0.0..=86_400.0).contains(&seconds) {
                return Err(SettingsError(format!(
                    "{key} must be a number of seconds between 0 and 86400, not {seconds}"
                )));
            }
        }
        Ok(())
    }

    /// The signing key: `HERD_SECRET_KEY`, or in debug a fixed development key.
    pub fn secret_key(&self) -> &str {
        self.secret_key
            .as_ref()
            .map_or(DEVELOPMENT_SECRET_KEY, |key| key.0.as_str())
    }
}

impl ServerSettings {
    /// `header_read_timeout` as a [`Duration`].
    pub fn header_read_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.header_read_timeout)
    }
}

impl DatabaseSettings {
    /// The pool's wait, create and recycle timeouts, and the statement timeout.
    pub fn timeouts(&self) -> [Duration; 4] {
        [
            self.wait_timeout,
            self.create_timeout,
            self.recycle_timeout,
            self.statement_timeout,
        ]
        .map(Duration::from_secs_f64)
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

const DEFAULTS: &str = r#"
database_url = "postgres://postgres@127.0.0.1:5432/herd"
redis_url = "redis://127.0.0.1:6379/0"
debug = false
allowed_hosts = "127.0.0.1,localhost,[::1]"
bind = "127.0.0.1:8000"
log = "info,tokio_postgres=warn"

[cache]
backend = "two-tier"
timeout = 300
key_prefix = ""
middleware_seconds = 600

[server]
header_read_timeout = 10
keep_alive_timeout = 75
max_body_bytes = 2621440
body_read_timeout = 15
handler_timeout = 10
max_in_flight = 256
drain_delay = 5
drain_deadline = 15

[security]
hsts_seconds = 0
hsts_include_subdomains = false
hsts_preload = false
ssl_redirect = false
proxy_ssl_header = ""
csrf_trusted_origins = ""
secure_cookies = false
trusted_proxy_hops = 0

[database]
pool_size = 16
wait_timeout = 1
create_timeout = 2
recycle_timeout = 1
statement_timeout = 5
"#;

/// Names the environment variable behind a `config` key path (`cache.timeout` →
/// `HERD_CACHE__TIMEOUT`).
fn env_name(key: &str) -> String {
    format!("HERD_{}", key.replace('.', "__").to_uppercase())
}

fn describe(err: &ConfigError) -> SettingsError {
    let text = err.to_string().replace('\n', " ");
    // `config` names the key as "for key `cache.timeout`"; serde names unknown ones as
    // "unknown field `foo`". Either way, say which environment variable to fix.
    let key = between(&text, "key `", "`").or_else(|| between(&text, "unknown field `", "`"));
    match key {
        Some(key) => SettingsError(format!("invalid setting {} ({key}): {text}", env_name(key))),
        None => SettingsError(format!("invalid settings: {text}")),
    }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

fn comma_separated<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Hosts {
        Text(String),
        List(Vec<String>),
    }
    let hosts = match Hosts::deserialize(deserializer)? {
        Hosts::Text(text) => text.split(',').map(str::to_owned).collect(),
        Hosts::List(list) => list,
    };
    Ok(hosts
        .into_iter()
        .map(|host| host.trim().to_ascii_lowercase())
        .filter(|host| !host.is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::from_env_map(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn defaults_apply_when_nothing_is_set_in_debug() {
        let settings = load(&[("HERD_DEBUG", "true")]).unwrap();
        assert_eq!(settings.bind, "127.0.0.1:8000".parse().unwrap());
        assert_eq!(settings.allowed_hosts, ["127.0.0.1", "localhost", "[::1]"]);
        assert_eq!(settings.cache.backend, CacheBackend::TwoTier);
        assert_eq!(settings.cache.timeout, 300);
        assert_eq!(settings.server.max_body_bytes, 2_621_440);
        assert_eq!(settings.secret_key(), DEVELOPMENT_SECRET_KEY);
    }

    #[test]
    fn nested_keys_come_from_double_underscore_variables() {
        let settings = load(&[
            ("HERD_SECRET_KEY", "k"),
            ("HERD_CACHE__TIMEOUT", "600"),
            ("HERD_CACHE__BACKEND", "dummy"),
            ("HERD_ALLOWED_HOSTS", "Example.com, .example.org"),
        ])
        .unwrap();
        assert_eq!(settings.cache.timeout, 600);
        assert_eq!(settings.cache.backend, CacheBackend::Dummy);
        assert_eq!(settings.allowed_hosts, ["example.com", ".example.org"]);
    }

    #[test]
    fn a_bad_value_names_its_environment_variable() {
        let err = load(&[("HERD_DEBUG", "true"), ("HERD_CACHE__TIMEOUT", "soon")]).unwrap_err();
        let line = err.to_string();
        assert!(line.contains("HERD_CACHE__TIMEOUT"), "{line}");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn an_unknown_backend_is_refused() {
        let err =
            load(&[("HERD_DEBUG", "true"), ("HERD_CACHE__BACKEND", "memcached")]).unwrap_err();
        assert!(err.to_string().contains("HERD_CACHE__BACKEND"), "{err}");
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        let err = load(&[("HERD_DEBUG", "true"), ("HERD_CACHE__TIMEOUTS", "1")]).unwrap_err();
        assert!(err.to_string().contains("timeouts"), "{err}");
    }

    #[test]
    fn a_bad_bind_address_names_the_key() {
        let err = load(&[("HERD_DEBUG", "true"), ("HERD_BIND", "nowhere")]).unwrap_err();
        assert!(err.to_string().contains("HERD_BIND"), "{err}");
    }

    #[test]
    fn production_requires_a_secret_key() {
        let err = load(&[]).unwrap_err();
        assert!(
            err.to_string().starts_with("HERD_SECRET_KEY is required"),
            "{err}"
        );
        assert!(load(&[("HERD_SECRET_KEY", "")]).is_err());
    }

    #[test]
    fn router_and_test_variables_are_not_worker_settings() {
        load(&[
            ("HERD_DEBUG", "true"),
            ("HERD_ROUTER_BIND", "127.0.0.1:8080"),
            ("HERD_TEST_DATABASE_URL", "postgres://x"),
            ("HERD_SUPERUSER_PASSWORD", "pw"),
        ])
        .unwrap();
    }

    #[test]
    fn the_secret_key_is_not_shown_by_debug() {
        let settings = load(&[("HERD_SECRET_KEY", "hunter2hunter2")]).unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
