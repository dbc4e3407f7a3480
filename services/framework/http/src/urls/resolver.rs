//! The compiled URL configuration: resolving a path to a route, and reversing a name to a path.

use std::collections::HashMap;
use std::fmt::{self, Display};
use std::sync::Arc;

use herd_core::App;
use http::Method;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use regex::Regex;

use super::converter::{self, Converter};
use super::error::{NoReverseMatch, UrlError};
use super::route::{self, Part};
use super::{IncludePattern, PatternKind, RoutePattern, UrlConf};

/// Characters `reverse` leaves unencoded besides ASCII letters and digits: RFC 3986's
/// unreserved `-._~`, its sub-delimiters and `/:@`, as Django's `quote(…, safe=…)`.
const REVERSE_SAFE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b'/')
    .remove(b':')
    .remove(b'@');

/// A compiled `UrlConf`: resolves request paths and reverses route names.
///
/// Build one with [`Resolver::builder`]; share it behind an `Arc`.
pub struct Resolver {
    routes: Vec<CompiledRoute>,
    index: Index,
    names: NamespaceNode,
}

/// Compiles a [`UrlConf`] into a [`Resolver`], with user-defined converters.
pub struct ResolverBuilder {
    urls: UrlConf,
    converters: HashMap<String, Arc<dyn Converter>>,
    error: Option<UrlError>,
}

/// A resolved request path: the route it matched and its converted parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    index: usize,
    resolved: ResolvedRoute,
    params: PathParams,
}

/// The parameters captured from the path, by name, after their converters' `to_python`
/// (`<int:year>` on `0042` gives `"42"`). The dispatcher stores them in the request's
/// extensions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathParams(Vec<(String, String)>);

/// Which route a request matched, stored in the request's extensions by the dispatcher (for
/// logs, metrics and templates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedRoute {
    /// The full route, include prefixes joined, e.g. `employee/<int:year>/`.
    pub route: String,
    /// The full name with namespaces, e.g. `directory:year_archive`.
    pub name: Option<String>,
}

/// One route as `herd routes` and the debug 404 page list it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteInfo {
    /// The full route, include prefixes joined, e.g. `employee/<int:year>/`.
    pub route: String,
    /// The full name with namespaces, if the route has one.
    pub name: Option<String>,
    /// The methods the route accepts, or `None` for any.
    pub methods: Option<Vec<Method>>,
}

pub(crate) struct CompiledRoute {
    resolved: ResolvedRoute,
    pub(crate) methods: Option<Vec<Method>>,
    pub(crate) service: App,
    regex: Regex,
    params: Vec<Param>,
    parts: Vec<Part>,
    /// No parameters: the route matches exactly its own text, and is indexed by it.
    is_literal: bool,
}

struct Param {
    name: String,
    converter: Arc<dyn Converter>,
    /// The capture group holding the parameter's text.
    group: usize,
    /// The converter's regex anchored at both ends, checked by `reverse`.
    anchored: Arc<Regex>,
}

/// Narrows the routes a path can match: fully literal routes by their text, the others by the
/// literal path segments before their first parameter.
#[derive(Default)]
struct Index {
    exact: HashMap<String, Vec<usize>>,
    root: TrieNode,
}

#[derive(Default)]
struct TrieNode {
    children: HashMap<String, TrieNode>,
    /// Routes whose whole literal segments end at this node, in declaration order.
    routes: Vec<usize>,
}

/// Route names at one namespace level.
#[derive(Default)]
struct NamespaceNode {
    /// Route name to route indexes, in declaration order.
    names: HashMap<String, Vec<usize>>,
    /// Instance namespace to its names.
    children: HashMap<String, NamespaceNode>,
    /// Application namespace to its instance namespaces, in declaration order.
    apps: HashMap<String, Vec<String>>,
}

struct Compiler {
    converters: HashMap<String, Arc<dyn Converter>>,
    anchored: HashMap<String, Arc<Regex>>,
    routes: Vec<CompiledRoute>,
    index: Index,
}

// === impl Resolver ===

impl Resolver {
    /// Starts compiling `urls`; add converters, then [`build`](ResolverBuilder::build).
    pub fn builder(urls: UrlConf) -> ResolverBuilder {
        ResolverBuilder {
            urls,
            converters: converter::builtins(),
            error: None,
        }
    }

    /// Compiles `urls` with the built-in converters only.
    pub fn new(urls: UrlConf) -> Result<Self, UrlError> {
        Self::builder(urls).build()
    }

    /// Resolves a request path (percent-encoded, with its leading `/`, without the query).
    ///
    /// The path is percent-decoded first; one that is not UTF-8 after decoding, holds a NUL or
    /// lacks the leading `/` matches nothing.
    pub fn resolve(&self, path: &str) -> Option<Match> {
        self.resolve_counted(path).0
    }

    /// [`resolve`](Self::resolve), also returning how many candidate routes were tried.
    pub(crate) fn resolve_counted(&self, path: &str) -> (Option<Match>, usize) {
        let Some(path) = decode_path(path) else {
            return (None, 0);
        };
        let mut tried = 0;
        for index in self.index.candidates(&path) {
            tried += 1;
            let route = &self.routes[index];
            if let Some(params) = route.match_path(&path) {
                let found = Match {
                    index,
                    resolved: route.resolved.clone(),
                    params,
                };
                return (Some(found), tried);
            }
        }
        (None, tried)
    }

    /// Django's `reverse(name, args=…)`: the path of the route called `name` (`ns:name` inside
    /// namespaces) with `args` as its parameters, in order.
    ///
    /// Each value goes through its converter's `to_url` and must match the converter's regex.
    /// The path is percent-encoded except for letters, digits, `-._~`, `!$&'()*+,;=` and `/:@`.
    /// Among several routes with one name, the last declared that fits wins, as in Django.
    ///
    /// # Errors
    ///
    /// [`NoReverseMatch`] when the name or a namespace is unknown, or no route of that name
    /// accepts the values.
    pub fn reverse(&self, name: &str, args: &[&dyn Display]) -> Result<String, NoReverseMatch> {
        let values: Vec<String> = args.iter().map(ToString::to_string).collect();
        self.reverse_with(name, |route| {
            (route.params.len() == values.len()).then(|| values.clone())
        })
        .map_err(|tried| {
            NoReverseMatch::new(format!(
                "Reverse for '{name}' with arguments '{values:?}' not found. {tried}"
            ))
        })
    }

    /// Django's `reverse(name, kwargs=…)`: as [`reverse`](Self::reverse), with parameters by
    /// name. The names given must be exactly the route's parameters.
    ///
    /// # Errors
    ///
    /// [`NoReverseMatch`] as for [`reverse`](Self::reverse).
    pub fn reverse_kwargs(
        &self,
        name: &str,
        kwargs: &[(&str, &dyn Display)],
    ) -> Result<String, NoReverseMatch> {
        let values: Vec<(&str, String)> = kwargs
            .iter()
            .map(|(key, value)| (*key, value.to_string()))
            .collect();
        self.reverse_with(name, |route| {
            if route.params.len() != values.len() {
                return None;
            }
            route
                .params
                .iter()
                .map(|param| {
                    let mut given = values.iter().filter(|(key, _)| *key == param.name);
                    match (given.next(), given.next()) {
                        (Some((_, value)), None) => Some(value.clone()),
                        _ => None,
                    }
                })
                .collect()
        })
        .map_err(|tried| {
            NoReverseMatch::new(format!(
                "Reverse for '{name}' with keyword arguments '{values:?}' not found. {tried}"
            ))
        })
    }

    /// Every route in declaration order, for `herd routes` and the debug 404 page.
    pub fn patterns(&self) -> Vec<RouteInfo> {
        self.routes
            .iter()
            .map(|route| RouteInfo {
                route: route.resolved.route.clone(),
                name: route.resolved.name.clone(),
                methods: route.methods.clone(),
            })
            .collect()
    }

    pub(crate) fn route(&self, found: &Match) -> &CompiledRoute {
        &self.routes[found.index]
    }

    /// Tries the routes called `name`, last declared first (Django's order), giving each the
    /// values `values_for` picks for it; the error lists the routes tried.
    fn reverse_with(
        &self,
        name: &str,
        values_for: impl Fn(&CompiledRoute) -> Option<Vec<String>>,
    ) -> Result<String, String> {
        let indexes = self.names.lookup(name)?;
        for &index in indexes.iter().rev() {
            let route = &self.routes[index];
            if let Some(path) = values_for(route).and_then(|values| route.reverse(&values)) {
                return Ok(path);
            }
        }
        let tried: Vec<&str> = indexes
            .iter()
            .map(|&index| self.routes[index].resolved.route.as_str())
            .collect();
        Err(format!("{} pattern(s) tried: {tried:?}", tried.len()))
    }
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("routes", &self.patterns())
            .finish_non_exhaustive()
    }
}

// === impl ResolverBuilder ===

impl ResolverBuilder {
    /// Registers a converter for routes to use as `<name:param>`, Django's
    /// `register_converter`. A name that is already taken (built-ins included) fails the build.
    #[must_use]
    pub fn converter(mut self, name: &str, converter: impl Converter) -> Self {
        if self.converters.contains_key(name) {
            self.error
                .get_or_insert(UrlError::DuplicateConverter(name.to_owned()));
        } else {
            self.converters.insert(name.to_owned(), Arc::new(converter));
        }
        self
    }

    /// Compiles every route.
    ///
    /// # Errors
    ///
    /// A [`UrlError`] naming the route at fault: bad route syntax, an unknown converter, a
    /// converter regex that does not compile, a misplaced builder method, or namespaces that
    /// clash.
    pub fn build(self) -> Result<Resolver, UrlError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let mut compiler = Compiler {
            converters: self.converters,
            anchored: HashMap::new(),
            routes: Vec::new(),
            index: Index::default(),
        };
        let mut names = NamespaceNode::default();
        compiler.add_conf(self.urls, "", &[], &mut names)?;
        Ok(Resolver {
            routes: compiler.routes,
            index: compiler.index,
            names,
        })
    }
}

// === impl Match ===

impl Match {
    /// The full route matched, e.g. `employee/<int:year>/`.
    pub fn route(&self) -> &str {
        &self.resolved.route
    }

    /// The route's full name with namespaces, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.resolved.name.as_deref()
    }

    /// The converted parameters.
    pub fn params(&self) -> &PathParams {
        &self.params
    }

    pub(crate) fn into_parts(self) -> (ResolvedRoute, PathParams) {
        (self.resolved, self.params)
    }
}

// === impl PathParams ===

impl PathParams {
    /// Parameters from `(name, value)` pairs, for building requests in tests.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(key, value)| (key.into(), value.into()))
                .collect(),
        )
    }

    /// The value of parameter `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The parameters in route order, as `(name, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// How many parameters the route has.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for a route without parameters.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

// === impl CompiledRoute ===

impl CompiledRoute {
    /// The converted parameters if the decoded `path` (no leading slash) matches.
    fn match_path(&self, path: &str) -> Option<PathParams> {
        if self.is_literal {
            // Only reached through the exact index, so the text is already equal.
            return (self.resolved.route == path).then(PathParams::default);
        }
        let captures = self.regex.captures(path)?;
        let mut params = Vec::with_capacity(self.params.len());
        for param in &self.params {
            let raw = captures.get(param.group)?.as_str();
            params.push((param.name.clone(), param.converter.to_python(raw)?));
        }
        Some(PathParams(params))
    }

    /// The encoded path for `values` (one per parameter, in order), if each fits its converter.
    fn reverse(&self, values: &[String]) -> Option<String> {
        let mut text = String::from("/");
        let mut values = values.iter();
        let mut params = self.params.iter();
        for part in &self.parts {
            match part {
                Part::Literal(literal) => text.push_str(literal),
                Part::Param { .. } => {
                    let (param, value) = (params.next()?, values.next()?);
                    let url = param.converter.to_url(value)?;
                    if !param.anchored.is_match(&url) {
                        return None;
                    }
                    text.push_str(&url);
                }
            }
        }
        let encoded = utf8_percent_encode(&text, REVERSE_SAFE).to_string();
        // A path starting with `//` would be read as a scheme-relative URL to another host.
        Some(match encoded.strip_prefix("//") {
            Some(rest) => format!("/%2F{rest}"),
            None => encoded,
        })
    }
}

// === impl Index ===

impl Index {
    fn insert(&mut self, route: &CompiledRoute, index: usize) {
        if route.is_literal {
            self.exact
                .entry(route.resolved.route.clone())
                .or_default()
                .push(index);
            return;
        }
        let literal = match route.parts.first() {
            Some(Part::Literal(text)) => text.as_str(),
            _ => "",
        };
        let mut node = &mut self.root;
        for segment in literal.split_inclusive('/') {
            let Some(segment) = segment.strip_suffix('/') else {
                break;
            };
            node = node.children.entry(segment.to_owned()).or_default();
        }
        node.routes.push(index);
    }

    /// The routes that can match `path`, in declaration order.
    fn candidates(&self, path: &str) -> Vec<usize> {
        let mut found = self.exact.get(path).cloned().unwrap_or_default();
        let mut node = &self.root;
        found.extend_from_slice(&node.routes);
        for segment in path.split_inclusive('/') {
            let Some(segment) = segment.strip_suffix('/') else {
                break;
            };
            let Some(child) = node.children.get(segment) else {
                break;
            };
            node = child;
            found.extend_from_slice(&node.routes);
        }
        found.sort_unstable();
        found
    }
}

// === impl NamespaceNode ===

impl NamespaceNode {
    /// The routes called `name` (`ns:…:name`); an application namespace stands for its
    /// default instance (the one named like it), else the last one deployed, as in Django.
    fn lookup(&self, name: &str) -> Result<&[usize], String> {
        let mut node = self;
        let mut path: Vec<&str> = name.split(':').collect();
        let view = path.pop().unwrap_or_default();
        let mut seen = Vec::new();
        for namespace in path {
            let child = node.children.get(namespace).or_else(|| {
                let instance = node.apps.get(namespace)?.last()?;
                node.children.get(instance)
            });
            node = child.ok_or_else(|| {
                if seen.is_empty() {
                    format!("'{namespace}' is not a registered namespace")
                } else {
                    format!(
                        "'{namespace}' is not a registered namespace inside '{}'",
                        seen.join(":")
                    )
                }
            })?;
            seen.push(namespace);
        }
        node.names.get(view).map(Vec::as_slice).ok_or_else(|| {
            format!("Reverse for '{view}' not found. '{view}' is not a valid view function or pattern name.")
        })
    }
}

// === impl Compiler ===

impl Compiler {
    fn add_conf(
        &mut self,
        urls: UrlConf,
        prefix: &str,
        namespaces: &[String],
        names: &mut NamespaceNode,
    ) -> Result<(), UrlError> {
        for pattern in urls.patterns {
            match pattern.kind {
                PatternKind::Route(route) => {
                    let full = format!("{prefix}{}", route.route);
                    if let Some(reason) = pattern.misuse {
                        return Err(UrlError::Misuse {
                            route: full,
                            reason,
                        });
                    }
                    self.add_route(route, full, namespaces, names)?;
                }
                PatternKind::Include(include) => {
                    let full = format!("{prefix}{}", include.prefix);
                    if let Some(reason) = pattern.misuse {
                        return Err(UrlError::Misuse {
                            route: full,
                            reason,
                        });
                    }
                    self.add_include(include, full, namespaces, names)?;
                }
            }
        }
        Ok(())
    }

    fn add_route(
        &mut self,
        route: RoutePattern,
        full: String,
        namespaces: &[String],
        names: &mut NamespaceNode,
    ) -> Result<(), UrlError> {
        let parts = route::parse(&full)?;
        let mut params = Vec::new();
        for part in &parts {
            if let Part::Param { name, converter } = part {
                let Some(found) = self.converters.get(converter) else {
                    return Err(UrlError::UnknownConverter {
                        route: full,
                        converter: converter.clone(),
                    });
                };
                let found = Arc::clone(found);
                let anchored = self.anchored(converter, &found, &full)?;
                params.push(Param {
                    name: name.clone(),
                    converter: found,
                    group: 0,
                    anchored,
                });
            }
        }
        let source = route::regex_source(&parts, |name| {
            self.converters
                .get(name)
                .map_or("", |converter| converter.regex())
        });
        let regex = Regex::new(&source).map_err(|err| UrlError::BadRegex {
            route: full.clone(),
            source: Box::new(err),
        })?;
        for (index, param) in params.iter_mut().enumerate() {
            let group = format!("p{index}");
            param.group = regex
                .capture_names()
                .position(|name| name == Some(group.as_str()))
                .ok_or_else(|| UrlError::InvalidRoute {
                    route: full.clone(),
                    reason: format!("the converter of '{}' hides its capture group", param.name),
                })?;
        }
        let full_name = match &route.name {
            Some(name) if name.contains(':') => return Err(UrlError::ColonInName(name.clone())),
            Some(name) if namespaces.is_empty() => Some(name.clone()),
            Some(name) => Some(format!("{}:{name}", namespaces.join(":"))),
            None => None,
        };
        let index = self.routes.len();
        let compiled = CompiledRoute {
            resolved: ResolvedRoute {
                route: full,
                name: full_name,
            },
            methods: route.methods,
            service: route.service,
            regex,
            is_literal: params.is_empty(),
            params,
            parts,
        };
        self.index.insert(&compiled, index);
        self.routes.push(compiled);
        if let Some(name) = route.name {
            names.names.entry(name).or_default().push(index);
        }
        Ok(())
    }

    fn add_include(
        &mut self,
        include: IncludePattern,
        full: String,
        namespaces: &[String],
        names: &mut NamespaceNode,
    ) -> Result<(), UrlError> {
        let app_name = include.urls.app_name.clone();
        if let (Some(namespace), None) = (&include.namespace, &app_name) {
            return Err(UrlError::NamespaceWithoutAppName {
                prefix: full,
                namespace: namespace.clone(),
            });
        }
        let Some(instance) = include.namespace.or_else(|| app_name.clone()) else {
            return self.add_conf(include.urls, &full, namespaces, names);
        };
        if instance.contains(':') {
            return Err(UrlError::ColonInName(instance));
        }
        if names.children.contains_key(&instance) {
            return Err(UrlError::DuplicateNamespace(instance));
        }
        let mut inner = namespaces.to_vec();
        inner.push(instance.clone());
        let mut child = NamespaceNode::default();
        self.add_conf(include.urls, &full, &inner, &mut child)?;
        names.children.insert(instance.clone(), child);
        if let Some(app_name) = app_name {
            names.apps.entry(app_name).or_default().push(instance);
        }
        Ok(())
    }

    /// The converter's regex anchored at both ends, compiled once per converter.
    fn anchored(
        &mut self,
        name: &str,
        converter: &Arc<dyn Converter>,
        route: &str,
    ) -> Result<Arc<Regex>, UrlError> {
        if let Some(regex) = self.anchored.get(name) {
            return Ok(Arc::clone(regex));
        }
        let regex = Regex::new(&format!("^(?:{})\\z", converter.regex())).map_err(|err| {
            UrlError::BadRegex {
                route: route.to_owned(),
                source: Box::new(err),
            }
        })?;
        let regex = Arc::new(regex);
        self.anchored.insert(name.to_owned(), Arc::clone(&regex));
        Ok(regex)
    }
}

/// The percent-decoded path without its leading slash, if it can match at all.
fn decode_path(path: &str) -> Option<String> {
    let path = path.strip_prefix('/')?;
    let decoded = percent_decode_str(path).decode_utf8().ok()?;
    if decoded.contains('\0') {
        return None;
    }
    Some(decoded.into_owned())
}
