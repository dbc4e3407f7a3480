//! The template environment: loaders, escaping, global functions and rendering.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use herd_core::response::{Html, IntoResponse};
use herd_core::{Request, Response};
use minijinja::value::{Kwargs, Rest, Serde, Value, merge_maps};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use serde::Serialize;
use tokio::runtime::RuntimeFlavor;

use crate::escape;
use crate::fragment::{self, FragmentStore};

/// Adds variables to every context rendered for a request (Django's context processors).
pub type ContextProcessor = Arc<dyn Fn(&Request) -> Vec<(String, Value)> + Send + Sync>;

type ReverseFn =
    Arc<dyn Fn(&str, &[String], &[(String, String)]) -> Result<String, String> + Send + Sync>;
type StaticFn = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// A template failed to compile or render.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A syntax or rendering error, naming the template and line.
    #[error("template error: {0:#}")]
    Template(#[from] minijinja::Error),
    /// The rendering task was cancelled or panicked.
    #[error("template rendering did not finish: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl From<Error> for herd_core::Error {
    fn from(err: Error) -> Self {
        herd_core::Error::internal(err)
    }
}

/// The compiled templates of every app, cheap to clone.
#[derive(Clone)]
pub struct Templates {
    inner: Arc<Inner>,
}

struct Inner {
    env: Env,
    processors: Vec<ContextProcessor>,
}

enum Env {
    /// Compiled once at start.
    Fixed(Environment<'static>),
    /// Debug: read from disk again on every render.
    Reloading(Mutex<Environment<'static>>),
}

/// Builds [`Templates`]; see [`Templates::builder`].
#[derive(Default)]
pub struct TemplatesBuilder {
    apps: Vec<AppTemplates>,
    debug: bool,
    reverse: Option<ReverseFn>,
    static_url: Option<StaticFn>,
    processors: Vec<ContextProcessor>,
    fragments: Option<Arc<dyn FragmentStore>>,
}

struct AppTemplates {
    dir: Option<PathBuf>,
    embedded: &'static [(&'static str, &'static str)],
}

// === impl TemplatesBuilder ===

impl TemplatesBuilder {
    /// Adds an app's templates: `embedded` (name, source) pairs compiled into the binary, and the
    /// folder they came from, read instead when `debug` is on and it exists. Apps added first win
    /// when two hold the same name, as with Django's `APP_DIRS`.
    #[must_use]
    pub fn app(
        mut self,
        _label: &str,
        dir: Option<PathBuf>,
        embedded: &'static [(&'static str, &'static str)],
    ) -> Self {
        self.apps.push(AppTemplates { dir, embedded });
        self
    }

    /// Reloads templates from disk on each render (when the app folders exist).
    #[must_use]
    pub fn debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// Backs `url(name, *args, **kwargs)` in templates, usually with the URL resolver's reverse.
    #[must_use]
    pub fn reverse(
        mut self,
        reverse: impl Fn(&str, &[String], &[(String, String)]) -> Result<String, String>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        self.reverse = Some(Arc::new(reverse));
        self
    }

    /// Backs `static(path)` in templates, usually with the hashed static file names.
    #[must_use]
    pub fn static_url(
        mut self,
        static_url: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.static_url = Some(Arc::new(static_url));
        self
    }

    /// Backs `{% call cache(name, *vary_on, timeout=None) %}` blocks with `store`. Without a
    /// store the blocks render every time, as with Django's dummy cache.
    #[must_use]
    pub fn fragment_cache(mut self, store: impl FragmentStore) -> Self {
        self.fragments = Some(Arc::new(store));
        self
    }

    /// Adds a context processor.
    #[must_use]
    pub fn context_processor(
        mut self,
        processor: impl Fn(&Request) -> Vec<(String, Value)> + Send + Sync + 'static,
    ) -> Self {
        self.processors.push(Arc::new(processor));
        self
    }

    /// Builds the environment, compiling every embedded template now.
    ///
    /// # Errors
    ///
    /// The first embedded template with a syntax error.
    pub fn build(self) -> Result<Templates, Error> {
        let reload = self.debug
            && self
                .apps
                .iter()
                .any(|app| app.dir.as_ref().is_some_and(|dir| dir.is_dir()));
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(escape::mode_for);
        env.set_formatter(escape::format);
        env.add_filter("escape", escape::escape_filter);
        env.add_filter("e", escape::escape_filter);
        env.add_filter("force_escape", escape::force_escape_filter);
        if let Some(reverse) = self.reverse {
            env.add_function(
                "url",
                move |name: String, args: Rest<Value>, kwargs: Kwargs| {
                    let args: Vec<String> = args.iter().map(ToString::to_string).collect();
                    let mut pairs = Vec::new();
                    for key in kwargs.args() {
                        let value: Value = kwargs.get(key)?;
                        pairs.push((key.to_owned(), value.to_string()));
                    }
                    reverse(&name, &args, &pairs).map_err(|reason| {
                        minijinja::Error::new(
                            ErrorKind::InvalidOperation,
                            format!("url({name:?}): {reason}"),
                        )
                    })
                },
            );
        }
        if let Some(static_url) = self.static_url {
            env.add_function("static", move |path: String| {
                static_url(&path).ok_or_else(|| {
                    minijinja::Error::new(
                        ErrorKind::InvalidOperation,
                        format!("static({path:?}): no such static file"),
                    )
                })
            });
        }
        let fragments = self.fragments.unwrap_or_else(|| Arc::new(NoFragments));
        // Cache blocks compile as their bodies when nothing would be kept (see `fragment`).
        let prepare: fn(&str) -> String = if fragments.keeps_nothing() {
            |source| fragment::inline_blocks(source).into_owned()
        } else {
            str::to_owned
        };
        fragment::register(&mut env, fragments);
        let apps = Arc::new(self.apps);
        let env = if reload {
            let loader_apps = Arc::clone(&apps);
            env.set_loader(move |name| {
                load_from_disk(&loader_apps, name).map(|source| source.as_deref().map(prepare))
            });
            Env::Reloading(Mutex::new(env))
        } else {
            // Later apps first, so that the first app's copy of a name is the one kept.
            for app in apps.iter().rev() {
                for (name, source) in app.embedded {
                    env.add_template_owned((*name).to_owned(), prepare(source))?;
                }
            }
            Env::Fixed(env)
        };
        Ok(Templates {
            inner: Arc::new(Inner {
                env,
                processors: self.processors,
            }),
        })
    }
}

/// Keeps nothing, so cached blocks render every time.
struct NoFragments;

impl FragmentStore for NoFragments {
    fn get(&self, _key: &str) -> Result<Option<String>, fragment::WouldBlock> {
        Ok(None)
    }

    fn set(&self, _key: &str, _markup: &str, _timeout: Option<u64>, _tags: &[String]) {}

    fn keeps_nothing(&self) -> bool {
        true
    }
}

fn load_from_disk(apps: &[AppTemplates], name: &str) -> Result<Option<String>, minijinja::Error> {
    // Names are relative and never climb out of an app's folder.
    if name.split('/').any(|part| part == ".." || part.is_empty()) || name.starts_with('/') {
        return Ok(None);
    }
    for app in apps {
        if let Some(dir) = &app.dir {
            match std::fs::read_to_string(dir.join(name)) {
                Ok(source) => return Ok(Some(source)),
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => {
                    return Err(minijinja::Error::new(
                        ErrorKind::InvalidOperation,
                        "could not read template",
                    )
                    .with_source(err));
                }
            }
        }
        if let Some((_, source)) = app.embedded.iter().find(|(embedded, _)| *embedded == name) {
            return Ok(Some((*source).to_owned()));
        }
    }
    Ok(None)
}

// === impl Templates ===

impl Templates {
    /// Starts building the environment.
    pub fn builder() -> TemplatesBuilder {
        TemplatesBuilder::default()
    }

    /// Renders `name` with `context`, on the calling thread.
    ///
    /// # Errors
    ///
    /// An unknown template, a syntax error, or a failing function such as `url()`.
    pub fn render<S: Serialize>(&self, name: &str, context: S) -> Result<String, Error> {
        let context = Value::from(Serde(context));
        self.render_value(name, &context)
    }

    fn render_value(&self, name: &str, context: &Value) -> Result<String, Error> {
        match &self.inner.env {
            Env::Fixed(env) => Ok(env.get_template(name)?.render(context)?),
            Env::Reloading(env) => {
                let mut env = env
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                env.clear_templates();
                Ok(env.get_template(name)?.render(context)?)
            }
        }
    }

    /// Renders `name` for `request` (context processors apply; the view's context wins over
    /// theirs) as an HTML response: on the calling worker of a multi-thread runtime, on the
    /// blocking pool otherwise.
    ///
    /// # Errors
    ///
    /// As [`Templates::render`]; the error is a 500 when returned from a view.
    pub async fn render_response<S: Serialize>(
        &self,
        request: &Request,
        name: &str,
        context: S,
    ) -> Result<Response, herd_core::Error> {
        let html = self.render_for(request, name, context).await?;
        Ok(Html(html).into_response())
    }

    /// Renders `name` for `request` and returns the text: on the calling worker of a
    /// multi-thread runtime, on the blocking pool otherwise.
    ///
    /// # Errors
    ///
    /// As [`Templates::render`].
    pub async fn render_for<S: Serialize>(
        &self,
        request: &Request,
        name: &str,
        context: S,
    ) -> Result<String, Error> {
        // Later maps win in `merge_maps`: the processors go first so the view can override them.
        let mut maps: Vec<Value> = self
            .inner
            .processors
            .iter()
            .map(|processor| {
                Value::from(processor(request).into_iter().collect::<BTreeMap<_, _>>())
            })
            .collect();
        maps.push(Value::from(Serde(context)));
        let context = merge_maps(maps);
        // On a multi-thread runtime the page renders right here: handing it to the blocking
        // pool cost more (a thread wake-up, cold caches, rows freed on another thread's heap)
        // than the hundreds of microseconds a page takes, and the runtime's other workers keep
        // serving meanwhile. A fragment the cache cannot answer at once must not be waited for
        // here (see `FragmentStore`): that render stops and the page is rendered again on the
        // blocking pool, where waiting is allowed, as every page is on a current-thread runtime.
        if tokio::runtime::Handle::try_current()
            .is_ok_and(|handle| handle.runtime_flavor() == RuntimeFlavor::MultiThread)
        {
            match self.render_value(name, &context) {
                Err(Error::Template(err)) if fragment::is_would_block(&err) => {}
                rendered => return rendered,
            }
        }
        let this = self.clone();
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || {
            fragment::blocking_allowed(|| this.render_value(&name, &context))
        })
        .await?
    }
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.inner.env {
            Env::Fixed(_) => "compiled",
            Env::Reloading(_) => "reloading",
        };
        f.debug_struct("Templates")
            .field("mode", &mode)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
