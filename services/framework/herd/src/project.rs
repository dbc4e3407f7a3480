//! Assembles apps into a served site: the composition root, like Django's project settings,
//! `urls.py` and `manage.py runserver` together.
//!
//! A [`Site`] holds what every view shares (settings, the database pool, templates, the URL
//! resolver and static files) and is handed to views as a request extension:
//! `request.extension::<Site>()`. It holds nothing another worker needs, so any number of
//! workers can serve the same site.

use std::borrow::Cow;
use std::fmt::Display;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use herd_auth::hashers::{Hashers, HashingPool};
use herd_auth::throttle::{Limits, LoginThrottle};
use herd_auth::{AuthenticationLayer, CurrentUser};
use herd_cache::{Cache, Caches, FetchFromCacheLayer, RedisBackend, Timeout, UpdateCacheLayer};
use herd_core::{App, Settings};
use herd_csrf::{CsrfConfig, CsrfLayer, CsrfToken};
use herd_db::migrations::AppMigrations;
use herd_db::schema::ModelSchema;
use herd_db::{Change, Database};
use herd_http::middleware::{self, Readiness};
use herd_http::server::Server;
use herd_http::static_files::StaticFiles;
use herd_http::urls::{Dispatcher, Resolver, UrlConf, include, path_service};
use herd_security::{SecurityConfig, SecurityLayer};
use herd_sessions::{SessionConfig, SessionLayer};
use herd_templates::{FragmentStore, Templates, WouldBlock, may_block};
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;
use tower_http::add_extension::AddExtensionLayer;

/// How long a readiness probe of Redis may take to connect or answer.
const REDIS_PROBE_TIMEOUT: Duration = Duration::from_millis(500);

/// One app of a site: its URLs, templates, static files, migrations and models.
pub struct AppConfig {
    /// The app label, e.g. `directory`; also its URL namespace.
    pub label: &'static str,
    /// Builds the app's URL patterns, included at the site root; per-view layers such as
    /// `cache_page` take their cache from `caches`.
    pub urls: fn(&Caches) -> UrlConf,
    /// The app's templates, (name, source), compiled into the binary.
    pub templates: &'static [(&'static str, &'static str)],
    /// Where the templates came from, read instead in debug so edits show at once.
    pub templates_dir: Option<PathBuf>,
    /// The app's static files, (logical path, content).
    pub static_files: &'static [(&'static str, &'static [u8])],
    /// The app's migrations, (file name, JSON), in any order.
    pub migrations: &'static [(&'static str, &'static str)],
    /// Where `makemigrations` writes new migration files.
    pub migrations_dir: Option<PathBuf>,
    /// The current schema of each model, for `makemigrations`.
    pub models: Vec<ModelSchema>,
}

/// A site could not be assembled.
#[derive(Debug, thiserror::Error)]
pub enum ProjectError {
    /// The URL configuration is invalid.
    #[error("invalid URL configuration: {0}")]
    Urls(#[from] herd_http::urls::UrlError),
    /// A template does not compile.
    #[error(transparent)]
    Templates(#[from] herd_templates::Error),
    /// The database settings are unusable.
    #[error("database: {0}")]
    Database(#[from] herd_db::Error),
    /// The Redis URL is unusable.
    #[error("invalid HERD_REDIS_URL: {0}")]
    Redis(#[from] redis::RedisError),
    /// The cache settings are unusable.
    #[error("cache: {0}")]
    Cache(#[from] herd_cache::CacheError),
    /// The security settings are unusable.
    #[error("{0}")]
    Security(String),
    /// Migrations could not be applied or written.
    #[error(transparent)]
    Migrations(#[from] herd_db::migrations::Error),
}

/// What every view shares; cheap to clone.
#[derive(Clone)]
pub struct Site {
    inner: Arc<SiteInner>,
}

struct SiteInner {
    settings: Settings,
    db: Database,
    templates: Templates,
    urls: Arc<Resolver>,
    static_files: StaticFiles,
    redis: redis::Client,
    caches: Caches,
    security: SecurityConfig,
    security_layer: SecurityLayer,
    sessions: SessionLayer,
    hashing: HashingPool,
    login_throttle: LoginThrottle,
}

// === impl Site ===

impl Site {
    /// Assembles the site: compiles templates and URL patterns and creates the (lazy)
    /// connection pool. Nothing here waits for Postgres or Redis.
    ///
    /// # Errors
    ///
    /// An invalid URL pattern, a template that does not compile, or unusable database or
    /// Redis URLs.
    pub fn new(settings: Settings, apps: &[AppConfig]) -> Result<Self, ProjectError> {
        let caches = Caches::from_settings(&settings)?;
        let security = security_config(&settings)?;
        let security_layer = SecurityLayer::new(security.clone())
            .map_err(|err| ProjectError::Security(err.to_string()))?;
        let sessions = SessionLayer::new(SessionConfig {
            cookie_secure: settings.security.secure_cookies,
            key_prefix: settings.cache.key_prefix.clone(),
            ..SessionConfig::new(
                RedisBackend::builder(&settings.redis_url)
                    .key_prefix(&settings.cache.key_prefix)
                    .build()?,
                settings.secret_key(),
            )
        });
        let login_throttle = LoginThrottle::new(
            RedisBackend::builder(&settings.redis_url).build()?,
            &settings.cache.key_prefix,
            Limits::default(),
        );
        let static_files = StaticFiles::new(apps.iter().flat_map(|app| {
            app.static_files
                .iter()
                .map(|(name, bytes)| ((*name).to_owned(), Cow::Borrowed(*bytes)))
        }));
        let mut patterns = Vec::new();
        for app in apps {
            patterns.push(include("", (app.urls)(&caches)));
        }
        patterns.push(path_service("static/<path:name>", static_files.service()));
        let urls = Arc::new(Resolver::new(UrlConf::new(patterns))?);

        let mut templates = Templates::builder().debug(settings.debug);
        for app in apps {
            templates = templates.app(app.label, app.templates_dir.clone(), app.templates);
        }
        let reverse_urls = Arc::clone(&urls);
        let static_urls = static_files.clone();
        let templates = templates
            .reverse(move |name, args, kwargs| reverse_strings(&reverse_urls, name, args, kwargs))
            .static_url(move |path| static_urls.url(path))
            .fragment_cache(CacheFragments(caches.default().clone()))
            .context_processor(user_context)
            .build()?;

        let db = Database::connect(&settings.database_url, &settings.database)?;
        let purger = caches.default().clone();
        db.on_change(move |change| purge_tags_of(purger.clone(), change));
        let redis = redis::Client::open(settings.redis_url.as_str())?;
        Ok(Self {
            inner: Arc::new(SiteInner {
                settings,
                db,
                templates,
                urls,
                static_files,
                redis,
                caches,
                security,
                security_layer,
                sessions,
                hashing: HashingPool::new(Hashers::default()),
                login_throttle,
            }),
        })
    }

    /// The settings the site was built with.
    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// The database connection pool.
    pub fn db(&self) -> &Database {
        &self.inner.db
    }

    /// The templates of every app.
    pub fn templates(&self) -> &Templates {
        &self.inner.templates
    }

    /// The URL resolver, for `reverse` and `herd routes`.
    pub fn urls(&self) -> &Resolver {
        &self.inner.urls
    }

    /// Password hashing on the blocking pool, one hash per core at a time.
    pub fn hashing(&self) -> &HashingPool {
        &self.inner.hashing
    }

    /// Login failures per account and client IP, shared by every worker through Redis.
    pub fn login_throttle(&self) -> &LoginThrottle {
        &self.inner.login_throttle
    }

    /// The caches; `caches().default()` is Django's `cache`.
    pub fn caches(&self) -> &Caches {
        &self.inner.caches
    }

    /// The static files with their hashed names.
    pub fn static_files(&self) -> &StaticFiles {
        &self.inner.static_files
    }

    /// Django's `reverse`: the path of the pattern named `name` (`"directory:year_archive"`).
    ///
    /// # Errors
    ///
    /// No pattern of that name accepts `args`; answered with 500 when returned from a view.
    pub fn reverse(&self, name: &str, args: &[&dyn Display]) -> herd_core::Result<String> {
        self.inner
            .urls
            .reverse(name, args)
            .map_err(herd_core::Error::internal)
    }

    /// The security settings as the security layer and `check --deploy` take them.
    pub fn security(&self) -> &SecurityConfig {
        &self.inner.security
    }

    /// The whole site as one service, in ARCHITECTURE.md's order inside the worker's stack:
    /// security headers (on cache hits too) -> `UpdateCache` (per-site) -> sessions -> CSRF ->
    /// auth -> `FetchFromCache` (per-site) -> URL dispatcher, with the site as a request
    /// extension.
    /// Sessions load lazily, so anonymous pages make no Redis call and stay cacheable; a
    /// response that read the session is never stored by either cache layer.
    pub fn app(&self, readiness: &Readiness) -> App {
        let settings = &self.inner.settings;
        let cache = self.inner.caches.default().clone();
        let dispatcher = Dispatcher::new(Arc::clone(&self.inner.urls)).debug(settings.debug);
        let csrf = CsrfConfig {
            trusted_origins: settings.security.csrf_trusted_origins.clone(),
            allowed_hosts: settings.allowed_hosts.clone(),
            cookie_secure: settings.security.secure_cookies,
            debug: settings.debug,
        };
        let routed = ServiceBuilder::new()
            .layer(AddExtensionLayer::new(self.clone()))
            .layer(self.inner.security_layer.clone())
            .layer(
                UpdateCacheLayer::new(cache.clone())
                    .seconds(Duration::from_secs(settings.cache.middleware_seconds)),
            )
            .layer(self.inner.sessions.clone())
            .layer(CsrfLayer::new(csrf).max_body_bytes(body_limit(settings)))
            .layer(AuthenticationLayer::new(
                self.inner.db.clone(),
                settings.secret_key(),
            ))
            .layer(FetchFromCacheLayer::new(cache))
            .service(dispatcher);
        middleware::stack(
            settings,
            readiness.clone(),
            BoxCloneSyncService::new(routed),
        )
    }

    /// The readiness checks of a worker: Postgres and Redis answer.
    pub fn readiness(&self) -> Readiness {
        let readiness = Readiness::new();
        let db = self.inner.db.clone();
        readiness.add_check("database", move || {
            let db = db.clone();
            async move { db.ping().await.map_err(|err| err.to_string()) }.boxed()
        });
        let redis = RedisProbe::new(self.inner.redis.clone());
        readiness.add_check("redis", move || {
            let redis = redis.clone();
            async move { redis.ping().await }.boxed()
        });
        readiness
    }

    /// Serves the site on `listener` until `shutdown` resolves, then drains and returns.
    ///
    /// # Errors
    ///
    /// The listener has no local address.
    pub async fn serve(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let readiness = self.readiness();
        readiness.start();
        let app = self.app(&readiness);
        Server::new(self.inner.settings.server.clone())
            .serve(listener, app, readiness, shutdown)
            .await
    }
}

impl std::fmt::Debug for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Site")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

/// Django's `auth` context processor: `user` (the username) and, for the logout form,
/// `csrf_input`, only when someone is logged in, so anonymous pages render no CSRF token.
fn user_context(request: &herd_core::Request) -> Vec<(String, herd_templates::Value)> {
    let Some(CurrentUser(Some(user))) = request.extensions().get::<CurrentUser>() else {
        return Vec::new();
    };
    let mut context = vec![(
        "user".to_owned(),
        herd_templates::Value::from(user.username.clone()),
    )];
    if let Some(token) = request.extensions().get::<CsrfToken>() {
        context.push(("csrf_input".to_owned(), token.hidden_input()));
    }
    context
}

/// Django's `SECURE_*` settings from Herd's.
///
/// # Errors
///
/// `HERD_SECURITY__PROXY_SSL_HEADER` is not `Header-Name: value`.
pub fn security_config(settings: &Settings) -> Result<SecurityConfig, ProjectError> {
    let security = &settings.security;
    let proxy_ssl_header = match security.proxy_ssl_header.trim() {
        "" => None,
        header => {
            let parsed = header.split_once(':').and_then(|(name, value)| {
                let name = http::HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
                Some((name, value.trim().to_owned()))
            });
            Some(parsed.ok_or_else(|| {
                ProjectError::Security(format!(
                    "HERD_SECURITY__PROXY_SSL_HEADER must look like `X-Forwarded-Proto: https`, not {header:?}"
                ))
            })?)
        }
    };
    Ok(SecurityConfig {
        hsts_seconds: security.hsts_seconds,
        hsts_include_subdomains: security.hsts_include_subdomains,
        hsts_preload: security.hsts_preload,
        ssl_redirect: security.ssl_redirect,
        secure_proxy_header: proxy_ssl_header,
        ..SecurityConfig::default()
    })
}

fn body_limit(settings: &Settings) -> usize {
    usize::try_from(settings.server.max_body_bytes).unwrap_or(usize::MAX)
}

/// Drops what caches hold about a changed row: everything tagged with its model
/// (`employee`) and with the row (`employee:42`), on every worker.
async fn purge_tags_of(cache: Cache, change: Change) {
    cache.purge_tag(change.model).await;
    if let Some(pk) = change.pk_text() {
        cache.purge_tag(&format!("{}:{pk}", change.model)).await;
    }
}

/// Template fragments (`{% call cache(..) %}`) kept in the default cache.
///
/// A lookup the cache answers at once (an L1 hit, the dummy backend) is used right away; one
/// that must wait for Redis waits only where [`may_block`] allows it (the page is otherwise
/// rendered again on the blocking pool). A store that cannot finish at once and may not wait
/// finishes in a spawned task.
struct CacheFragments(Cache);

impl FragmentStore for CacheFragments {
    fn get(&self, key: &str) -> Result<Option<String>, WouldBlock> {
        let bytes = wait(std::pin::pin!(self.0.get_bytes(key)))?;
        Ok(bytes.and_then(|bytes| String::from_utf8(bytes.to_vec()).ok()))
    }

    fn set(&self, key: &str, markup: &str, timeout: Option<u64>, tags: &[String]) {
        let timeout = timeout.map_or(Timeout::Default, Timeout::Seconds);
        let value = Bytes::copy_from_slice(markup.as_bytes());
        let (cache, key, tags) = (self.0.clone(), key.to_owned(), tags.to_vec());
        // One write, finished here when it can be, else carried on by a task: a write polled
        // once and started again would store (and announce to every worker) twice.
        let mut store =
            Box::pin(async move { cache.set_bytes_tagged(&key, value, timeout, &tags).await });
        if wait(store.as_mut()).is_err() {
            tokio::spawn(store);
        }
    }

    fn keeps_nothing(&self) -> bool {
        self.0.keeps_nothing()
    }
}

/// Waits for `future` from synchronous template code: at once when it is ready, else by
/// blocking this thread where [`may_block`] allows it. A future refused with [`WouldBlock`]
/// has been polled once and may be carried on by its owner.
fn wait<F: Future + Unpin>(mut future: F) -> Result<F::Output, WouldBlock> {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    if let std::task::Poll::Ready(output) = std::pin::Pin::new(&mut future).poll(&mut cx) {
        return Ok(output);
    }
    if !may_block() {
        return Err(WouldBlock);
    }
    Ok(tokio::runtime::Handle::current().block_on(future))
}

fn reverse_strings(
    urls: &Resolver,
    name: &str,
    args: &[String],
    kwargs: &[(String, String)],
) -> Result<String, String> {
    let result = if kwargs.is_empty() {
        let args: Vec<&dyn Display> = args.iter().map(|arg| arg as &dyn Display).collect();
        urls.reverse(name, &args)
    } else if args.is_empty() {
        let kwargs: Vec<(&str, &dyn Display)> = kwargs
            .iter()
            .map(|(key, value)| (key.as_str(), value as &dyn Display))
            .collect();
        urls.reverse_kwargs(name, &kwargs)
    } else {
        return Err("use either positional or keyword arguments, not both".to_owned());
    };
    result.map_err(|err| err.to_string())
}

/// Checks that Redis answers, keeping one connection between probes.
#[derive(Clone)]
struct RedisProbe {
    client: redis::Client,
    connection: Arc<Mutex<Option<redis::aio::MultiplexedConnection>>>,
}

impl RedisProbe {
    fn new(client: redis::Client) -> Self {
        Self {
            client,
            connection: Arc::new(Mutex::new(None)),
        }
    }

    async fn ping(&self) -> Result<(), String> {
        let mut slot = self.connection.lock().await;
        let mut connection = if let Some(connection) = slot.take() {
            connection
        } else {
            let config = redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(REDIS_PROBE_TIMEOUT))
                .set_response_timeout(Some(REDIS_PROBE_TIMEOUT));
            self.client
                .get_multiplexed_async_connection_with_config(&config)
                .await
                .map_err(|err| format!("cannot connect: {err}"))?
        };
        let pong: redis::RedisResult<String> =
            redis::cmd("PING").query_async(&mut connection).await;
        match pong {
            Ok(_) => {
                *slot = Some(connection);
                Ok(())
            }
            Err(err) => Err(format!("no answer: {err}")),
        }
    }
}

/// Herd's auth app (users, groups, permissions): its tables and migrations, no URLs yet.
pub fn auth_app() -> AppConfig {
    AppConfig {
        label: herd_auth::APP_LABEL,
        urls: |_| UrlConf::new([]).app_name(herd_auth::APP_LABEL),
        templates: &[],
        templates_dir: None,
        static_files: &[],
        migrations: herd_auth::migration_files(),
        migrations_dir: None,
        models: herd_auth::models(),
    }
}

/// Applies every app's pending migrations under the advisory lock, then creates the
/// add/change/delete/view permissions of every model, as Django's `migrate` does.
///
/// # Errors
///
/// The database cannot be reached, a migration fails, or an applied one was changed.
pub async fn migrate(
    settings: &Settings,
    apps: &[AppConfig],
) -> Result<herd_db::migrations::MigrateReport, ProjectError> {
    let migrations: Vec<AppMigrations> = apps.iter().map(app_migrations).collect();
    let report = herd_db::migrations::migrate(&settings.database_url, &migrations).await?;
    if apps.iter().any(|app| app.label == herd_auth::APP_LABEL) {
        let db = Database::connect(&settings.database_url, &settings.database)?;
        let targets: Vec<(&str, &str, &str)> = apps
            .iter()
            .flat_map(|app| app.models.iter())
            .map(|model| (model.app.as_str(), model.name.as_str(), model.name.as_str()))
            .collect();
        herd_auth::create_permissions(&db, &targets).await?;
    }
    Ok(report)
}

/// Writes a migration for each app whose models changed; returns the files written.
///
/// # Errors
///
/// A change that cannot be migrated automatically, or a file that cannot be written.
pub fn make_migrations(
    apps: &[AppConfig],
    name: Option<&str>,
) -> Result<Vec<PathBuf>, ProjectError> {
    let mut written = Vec::new();
    for app in apps {
        let Some(dir) = &app.migrations_dir else {
            continue;
        };
        if let Some(file) = herd_db::migrations::make_migrations(&app_migrations(app), dir, name)? {
            written.push(file);
        }
    }
    Ok(written)
}

/// The model changes not yet captured by a migration, per app label (for `herd check`).
///
/// # Errors
///
/// The app's migrations do not load.
pub fn unmigrated_changes(apps: &[AppConfig]) -> Result<Vec<(&'static str, usize)>, ProjectError> {
    let mut changes = Vec::new();
    for app in apps {
        let operations = herd_db::migrations::diff(&app_migrations(app))?;
        if !operations.is_empty() {
            changes.push((app.label, operations.len()));
        }
    }
    Ok(changes)
}

fn app_migrations(app: &AppConfig) -> AppMigrations {
    AppMigrations {
        app: app.label.to_owned(),
        migrations: app
            .migrations
            .iter()
            .map(|(file, text)| {
                (
                    file.trim_end_matches(".json").to_owned(),
                    (*text).to_owned(),
                )
            })
            .collect(),
        models: app.models.clone(),
    }
}
