//! The URL dispatcher, with Django's semantics: `path()` routes with converters, `include()`
//! with prefixes and namespaces, `reverse()`, and `APPEND_SLASH`.
//!
//! A [`UrlConf`] is an ordered list of [`Pattern`]s. [`Resolver::builder`] compiles it: each
//! route becomes an anchored regex as Django builds it (`employee/<int:year>/` becomes
//! `^employee/(?P<year>[0-9]+)/\z`, matched against the percent-decoded path without its leading
//! slash). Patterns are tried in declaration order and the first full match whose converters
//! accept their values wins; a converter that rejects a value lets the search go on.
//!
//! Matching does not walk every route: routes are indexed by the literal path segments before
//! their first converter (and fully literal routes by their whole text), so a request only tries
//! the routes whose literal prefix it shares, still in declaration order.
//!
//! [`Dispatcher`] is the tower service that sits at the bottom of the middleware stack: it
//! resolves the request, stores [`PathParams`] and [`ResolvedRoute`] in the request's
//! extensions and calls the route's service, or answers with `APPEND_SLASH`'s 301, a 405 or a 404.
//!
//! ```
//! use herd_http::urls::{Resolver, UrlConf, include, path};
//!
//! async fn year_archive(_request: herd_core::Request) -> &'static str {
//!     "archive"
//! }
//!
//! let employees = UrlConf::new([path("<int:year>/", year_archive).name("year_archive")])
//!     .app_name("directory");
//! let resolver = Resolver::builder(UrlConf::new([include("employee/", employees)]))
//!     .build()
//!     .unwrap();
//!
//! let found = resolver.resolve("/employee/0042/").unwrap();
//! assert_eq!(found.params().get("year"), Some("42"));
//! assert_eq!(resolver.reverse("directory:year_archive", &[&2001]).unwrap(), "/employee/2001/");
//! ```

mod converter;
mod dispatcher;
mod error;
mod resolver;
mod route;

use std::convert::Infallible;
use std::future::Future;

use herd_core::{App, IntoResponse, Request, Response};
use http::Method;
use tower::{Layer, Service};

pub use converter::Converter;
pub use dispatcher::Dispatcher;
pub use error::{NoReverseMatch, UrlError};
pub use resolver::{Match, PathParams, ResolvedRoute, Resolver, ResolverBuilder, RouteInfo};

/// One entry of a [`UrlConf`]: a route to a view, or an included `UrlConf` under a prefix.
///
/// Build one with [`path()`], [`path_service`] or [`include()`].
pub struct Pattern {
    kind: PatternKind,
    /// A builder method that does not apply to this kind of pattern; reported by
    /// [`ResolverBuilder::build`] so a misconfiguration is never silently ignored.
    misuse: Option<&'static str>,
}

enum PatternKind {
    Route(RoutePattern),
    Include(IncludePattern),
}

struct RoutePattern {
    route: String,
    service: App,
    name: Option<String>,
    methods: Option<Vec<Method>>,
}

struct IncludePattern {
    prefix: String,
    urls: UrlConf,
    namespace: Option<String>,
}

/// An ordered list of URL patterns, Django's `urlpatterns`, with an optional `app_name`.
pub struct UrlConf {
    patterns: Vec<Pattern>,
    app_name: Option<String>,
}

/// A route to an async view: Django's `path(route, view)`.
///
/// `route` uses Django's syntax (`employee/<int:year>/`, no leading slash). Any method reaches
/// the view unless [`Pattern::methods`] restricts it.
pub fn path<F, Fut, R>(route: &str, view: F) -> Pattern
where
    F: Fn(Request) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = R> + Send + 'static,
    R: IntoResponse,
{
    let service = tower::service_fn(move |request: Request| {
        let response = view(request);
        async move { Ok::<_, Infallible>(response.await.into_response()) }
    });
    path_service(route, App::new(service))
}

/// A route to a ready tower service (an [`App`]), for views that are services already.
pub fn path_service(route: &str, service: App) -> Pattern {
    Pattern {
        kind: PatternKind::Route(RoutePattern {
            route: route.to_owned(),
            service,
            name: None,
            methods: None,
        }),
        misuse: None,
    }
}

/// Includes `urls` under `prefix`: Django's `include()`.
///
/// The prefix is joined to every route of `urls` (`include("employee/", …)` with
/// `<int:year>/` gives `employee/<int:year>/`). Names inside are namespaced by the
/// `UrlConf`'s [`app_name`](UrlConf::app_name), or by [`Pattern::namespace`] when set.
pub fn include(prefix: &str, urls: UrlConf) -> Pattern {
    Pattern {
        kind: PatternKind::Include(IncludePattern {
            prefix: prefix.to_owned(),
            urls,
            namespace: None,
        }),
        misuse: None,
    }
}

// === impl Pattern ===

impl Pattern {
    /// Names a route, for [`Resolver::reverse`]; inside namespaces the full name is `ns:name`.
    ///
    /// Only routes have names: on an [`include()`] it makes the resolver's build fail.
    #[must_use]
    pub fn name(mut self, name: &str) -> Self {
        match &mut self.kind {
            PatternKind::Route(route) => route.name = Some(name.to_owned()),
            PatternKind::Include(_) => {
                self.misuse = Some("name() applies to path(), not include()");
            }
        }
        self
    }

    /// Restricts a route to `methods`; others get 405 with an `Allow` header. `HEAD` is
    /// allowed whenever `GET` is.
    ///
    /// On an [`include()`] it makes the resolver's build fail.
    #[must_use]
    pub fn methods(mut self, methods: &[Method]) -> Self {
        match &mut self.kind {
            PatternKind::Route(route) => {
                let mut allowed = methods.to_vec();
                if allowed.contains(&Method::GET) && !allowed.contains(&Method::HEAD) {
                    allowed.push(Method::HEAD);
                }
                route.methods = Some(allowed);
            }
            PatternKind::Include(_) => {
                self.misuse = Some("methods() applies to path(), not include()");
            }
        }
        self
    }

    /// Wraps this route's service in `layer`: per-view middleware, as Django's decorators
    /// (`cache_page`, `login_required`). Layers added later wrap the earlier ones.
    ///
    /// On an [`include()`] it makes the resolver's build fail.
    #[must_use]
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<App>,
        L::Service: Service<Request, Response = Response, Error = Infallible>
            + Clone
            + Send
            + Sync
            + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        match &mut self.kind {
            PatternKind::Route(route) => {
                let inner = route.service.clone();
                route.service = App::new(layer.layer(inner));
            }
            PatternKind::Include(_) => {
                self.misuse = Some("layer() applies to path(), not include()");
            }
        }
        self
    }

    /// Sets the instance namespace of an [`include()`], overriding the included `app_name`
    /// (Django's `include(…, namespace=…)`).
    ///
    /// On a route, or on an include whose `UrlConf` has no `app_name` (as Django refuses),
    /// it makes the resolver's build fail.
    #[must_use]
    pub fn namespace(mut self, namespace: &str) -> Self {
        match &mut self.kind {
            PatternKind::Include(include) => include.namespace = Some(namespace.to_owned()),
            PatternKind::Route(_) => {
                self.misuse = Some("namespace() applies to include(), not path()");
            }
        }
        self
    }
}

// === impl UrlConf ===

impl UrlConf {
    /// A `UrlConf` of `patterns`, tried in this order.
    pub fn new(patterns: impl IntoIterator<Item = Pattern>) -> Self {
        Self {
            patterns: patterns.into_iter().collect(),
            app_name: None,
        }
    }

    /// Sets the application namespace: names inside become `app_name:name` once included.
    #[must_use]
    pub fn app_name(mut self, app_name: &str) -> Self {
        self.app_name = Some(app_name.to_owned());
        self
    }
}

#[cfg(test)]
mod tests;
