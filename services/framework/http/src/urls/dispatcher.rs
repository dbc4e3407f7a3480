//! The dispatcher: the tower service that routes a request to its view, or answers with
//! `APPEND_SLASH`'s redirect, a 405 or a 404.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::future::ready;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use herd_core::error::bare_response;
use herd_core::html::escape;
use herd_core::response::Html;
use herd_core::{Body, Error, IntoResponse, Request, Response};
use http::{HeaderValue, Method, StatusCode, header};
use percent_encoding::percent_decode_str;
use tower::{Service, ServiceExt};

use super::resolver::Resolver;

/// Routes each request through a [`Resolver`]: Django's URL resolution plus `CommonMiddleware`'s
/// `APPEND_SLASH`.
///
/// On a match it stores [`PathParams`](super::PathParams), [`ResolvedRoute`](super::ResolvedRoute)
/// and the `Arc<Resolver>` (for `reverse`) in the request's extensions and calls the route's
/// service. A method the route does not accept gets 405 with `Allow`. A path that matches
/// nothing gets, in order: a 301 to the path with a slash appended when that would resolve
/// (and `APPEND_SLASH` is on), else a 404, listing the patterns when `debug` is on.
#[derive(Clone, Debug)]
pub struct Dispatcher {
    resolver: Arc<Resolver>,
    append_slash: bool,
    debug: bool,
}

// === impl Dispatcher ===

impl Dispatcher {
    /// A dispatcher over `resolver`, with `APPEND_SLASH` on and debug pages off.
    pub fn new(resolver: Arc<Resolver>) -> Self {
        Self {
            resolver,
            append_slash: true,
            debug: false,
        }
    }

    /// Sets Django's `APPEND_SLASH` (default on).
    #[must_use]
    pub fn append_slash(mut self, append_slash: bool) -> Self {
        self.append_slash = append_slash;
        self
    }

    /// Shows the technical 404 page listing the URL patterns (default off; never in
    /// production, as it reveals every route).
    #[must_use]
    pub fn debug(mut self, debug: bool) -> Self {
        self.debug = debug;
        self
    }

    /// The resolver requests are routed with.
    pub fn resolver(&self) -> &Arc<Resolver> {
        &self.resolver
    }

    /// The answer for a path that matches no route.
    fn no_match(&self, request: &Request) -> Response {
        let path = request.uri().path();
        if self.append_slash
            && !path.ends_with('/')
            && self.resolver.resolve(&format!("{path}/")).is_some()
        {
            if self.debug && [Method::POST, Method::PUT, Method::PATCH].contains(request.method()) {
                return self.lost_body_page(request);
            }
            if let Some(response) = redirect_with_slash(request) {
                return response;
            }
        }
        if self.debug {
            return self.technical_404(request);
        }
        bare_response(StatusCode::NOT_FOUND)
    }

    /// Django's `technical_404_response`: the patterns tried and the path that matched none.
    fn technical_404(&self, request: &Request) -> Response {
        let path = percent_decode_str(request.uri().path()).decode_utf8_lossy();
        let path = path.strip_prefix('/').unwrap_or(&path);
        let mut page = String::from(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"robots\" content=\"NONE,NOARCHIVE\"><title>Page not found (404)</title>\
             </head><body>\n<h1>Page not found <span>(404)</span></h1>\n",
        );
        let _ = writeln!(
            page,
            "<table><tr><th>Request Method:</th><td>{}</td></tr>\
             <tr><th>Request URL:</th><td>{}</td></tr></table>",
            escape(request.method().as_str()),
            escape(&request.uri().to_string()),
        );
        page.push_str("<p>Herd tried these URL patterns, in this order:</p>\n<ol>\n");
        for route in self.resolver.patterns() {
            let _ = write!(page, "<li>{}", escape(&route.route));
            if let Some(name) = &route.name {
                let _ = write!(page, " [name='{}']", escape(name));
            }
            page.push_str("</li>\n");
        }
        let _ = writeln!(
            page,
            "</ol>\n<p>The current path, <code>{}</code>, didn't match any of these.</p>\n\
             <p>You're seeing this error because you have <code>HERD_DEBUG=true</code>. Change \
             that to <code>false</code>, and Herd will display a standard 404 page.</p>\n\
             </body></html>",
            escape(path),
        );
        (StatusCode::NOT_FOUND, Html(page)).into_response()
    }

    /// Django raises in DEBUG rather than redirect a POST, whose body a client would drop.
    fn lost_body_page(&self, request: &Request) -> Response {
        debug_assert!(self.debug);
        let page = format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>APPEND_SLASH with {method}</title></head><body>\n\
             <h1>APPEND_SLASH would lose the request body</h1>\n<p>You called this URL via \
             {method}, but the URL doesn't end in a slash and APPEND_SLASH is on. Herd can't \
             redirect to the slash URL while keeping {method} data. Change your form to point to \
             <code>{path}/</code> (note the trailing slash), or turn APPEND_SLASH off.</p>\n\
             </body></html>\n",
            method = escape(request.method().as_str()),
            path = escape(request.uri().path()),
        );
        (StatusCode::INTERNAL_SERVER_ERROR, Html(page)).into_response()
    }
}

impl Service<Request> for Dispatcher {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let Some(found) = self.resolver.resolve(request.uri().path()) else {
            return Box::pin(ready(Ok(self.no_match(&request))));
        };
        let route = self.resolver.route(&found);
        if let Some(methods) = &route.methods
            && !methods.contains(request.method())
        {
            let response = Error::method_not_allowed(methods.clone()).into_response();
            return Box::pin(ready(Ok(response)));
        }
        let service = route.service.clone();
        let (resolved, params) = found.into_parts();
        let extensions = request.extensions_mut();
        extensions.insert(params);
        extensions.insert(resolved);
        extensions.insert(Arc::clone(&self.resolver));
        Box::pin(service.oneshot(request))
    }
}

/// 301 to the path plus `/`, query kept; `None` when the result is no valid header.
fn redirect_with_slash(request: &Request) -> Option<Response> {
    let uri = request.uri();
    let mut location = format!("{}/", uri.path());
    if let Some(query) = uri.query() {
        location.push('?');
        location.push_str(query);
    }
    // `//host/` would send the client to another site (Django's `escape_leading_slashes`).
    if let Some(rest) = location.strip_prefix("//") {
        location = format!("/%2F{rest}");
    }
    let location = HeaderValue::from_bytes(location.as_bytes()).ok()?;
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::MOVED_PERMANENTLY;
    response.headers_mut().insert(header::LOCATION, location);
    Some(response)
}
