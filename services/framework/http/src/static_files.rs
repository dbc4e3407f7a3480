//! Static files served from memory under content-hashed names, as Django's
//! `ManifestStaticFilesStorage` names them (`css/site.css` → `css/site.3f2a9c1b7d4e.css`).
//!
//! A hashed name changes whenever the content does, so it is cached for a year and marked
//! `immutable`; the logical name stays servable with a one-minute lifetime for links that cannot
//! know the hash. Only names known at start-up are ever served, and nothing touches the file
//! system per request, so traversal (`../`, `%2e%2e%2f`, `..%5c`, double encoding) can only ever
//! miss and get 404.

use std::borrow::Cow;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use herd_core::{App, Body, Error, IntoResponse, Request, Response};
use http::{HeaderValue, Method, StatusCode, header};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};
use tower::util::BoxCloneSyncService;

/// The URL prefix static files are served under.
const PREFIX: &str = "/static/";
/// Hex characters of the content hash in a hashed name, as Django's 12.
const HASH_LEN: usize = 12;
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const SHORT_LIVED: &str = "public, max-age=60";
/// Characters escaped when a name becomes a URL path (`/` stays, it separates directories).
const PATH: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// A set of static files held in memory, each servable under its logical and its hashed name.
///
/// Cheap to clone; all clones share the files.
///
/// ```
/// use herd_http::static_files::StaticFiles;
///
/// let files = StaticFiles::new([("css/site.css".to_owned(), b"body {}".as_slice().into())]);
/// let url = files.url("css/site.css").unwrap();
/// assert!(url.starts_with("/static/css/site.") && url.ends_with(".css"));
/// ```
#[derive(Clone)]
pub struct StaticFiles {
    inner: Arc<Inner>,
}

struct Inner {
    files: Vec<File>,
    /// Logical and hashed names to indexes in `files`, with whether the name is the hashed one.
    names: HashMap<String, (usize, bool)>,
}

struct File {
    hashed_name: String,
    content: Bytes,
    content_type: &'static str,
    etag: HeaderValue,
}

// === impl StaticFiles ===

impl StaticFiles {
    /// Holds `files`, given as logical paths (`css/site.css`, no leading slash) and contents.
    ///
    /// A later file with the same logical path replaces an earlier one.
    pub fn new(files: impl IntoIterator<Item = (String, Cow<'static, [u8]>)>) -> Self {
        let mut by_logical: HashMap<String, File> = HashMap::new();
        for (logical, content) in files {
            let content = match content {
                Cow::Borrowed(bytes) => Bytes::from_static(bytes),
                Cow::Owned(bytes) => Bytes::from(bytes),
            };
            let digest = hex::encode(Sha256::digest(&content));
            let hash = &digest[..HASH_LEN];
            let etag = HeaderValue::from_str(&format!("\"{hash}\""))
                .unwrap_or_else(|_| HeaderValue::from_static("\"\""));
            let file = File {
                hashed_name: hashed_name(&logical, hash),
                content_type: content_type(&logical),
                content,
                etag,
            };
            by_logical.insert(logical, file);
        }
        let mut files = Vec::with_capacity(by_logical.len());
        let mut names = HashMap::with_capacity(by_logical.len() * 2);
        for (index, (logical, file)) in by_logical.into_iter().enumerate() {
            names.insert(file.hashed_name.clone(), (index, true));
            names.insert(logical, (index, false));
            files.push(file);
        }
        Self {
            inner: Arc::new(Inner { files, names }),
        }
    }

    /// The URL of a file's hashed name (`/static/css/site.3f2a9c1b7d4e.css`), or `None` for an
    /// unknown logical path.
    pub fn url(&self, logical: &str) -> Option<String> {
        let &(index, hashed) = self.inner.names.get(logical)?;
        if hashed {
            return None;
        }
        let name = &self.inner.files[index].hashed_name;
        Some(format!("{PREFIX}{}", utf8_percent_encode(name, PATH)))
    }

    /// The app serving these files for `GET` and `HEAD` under `/static/<name>`, to be mounted
    /// at `static/<path:name>`; the name is the request path after `/static/`.
    pub fn service(&self) -> App {
        let files = self.clone();
        BoxCloneSyncService::new(tower::service_fn(move |request: Request| {
            std::future::ready(Ok::<_, Infallible>(files.respond(&request)))
        }))
    }

    fn respond(&self, request: &Request) -> Response {
        let method = request.method();
        if method != Method::GET && method != Method::HEAD {
            return Error::method_not_allowed(vec![Method::GET, Method::HEAD]).into_response();
        }
        let Some((file, hashed)) = self.lookup(request.uri().path()) else {
            return Error::not_found().into_response();
        };
        let not_modified = request
            .headers()
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|tag| {
                let tag = tag.trim();
                tag == "*"
                    || tag.strip_prefix("W/").unwrap_or(tag).as_bytes() == file.etag.as_bytes()
            });
        let (status, body) = if not_modified {
            (StatusCode::NOT_MODIFIED, Body::empty())
        } else if method == Method::HEAD {
            (StatusCode::OK, Body::empty())
        } else {
            (StatusCode::OK, Body::from(file.content.clone()))
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(header::ETAG, file.etag.clone());
        let cache_control = if hashed { IMMUTABLE } else { SHORT_LIVED };
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
        if status == StatusCode::OK {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(file.content_type),
            );
            headers.insert(
                header::CONTENT_LENGTH,
                HeaderValue::from(file.content.len()),
            );
        }
        response
    }

    /// The file a request path names, and whether it named the hashed name.
    fn lookup(&self, path: &str) -> Option<(&File, bool)> {
        let start = path.find(PREFIX)? + PREFIX.len();
        // Decoded once only: a name that still holds `%` after that is simply unknown.
        let name = percent_decode_str(&path[start..]).decode_utf8().ok()?;
        let &(index, hashed) = self.inner.names.get(name.as_ref())?;
        Some((&self.inner.files[index], hashed))
    }
}

impl fmt::Debug for StaticFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self
            .inner
            .files
            .iter()
            .map(|file| file.hashed_name.as_str())
            .collect();
        names.sort_unstable();
        f.debug_struct("StaticFiles")
            .field("files", &names)
            .finish()
    }
}

// === private functions ===

/// `dir/name.ext` → `dir/name.<hash>.ext`; a name without extension gets `.<hash>` appended.
fn hashed_name(logical: &str, hash: &str) -> String {
    let file_start = logical.rfind('/').map_or(0, |slash| slash + 1);
    match logical[file_start..].rfind('.') {
        Some(dot) if dot > 0 => {
            let (stem, extension) = logical.split_at(file_start + dot);
            format!("{stem}.{hash}{extension}")
        }
        _ => format!("{logical}.{hash}"),
    }
}

fn content_type(logical: &str) -> &'static str {
    let extension = logical
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase());
    match extension.as_deref() {
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/vnd.microsoft.icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        Some("html" | "htm") => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_put_the_hash_before_the_last_extension() {
        assert_eq!(hashed_name("css/site.css", "abc"), "css/site.abc.css");
        assert_eq!(hashed_name("js/app.min.js", "abc"), "js/app.min.abc.js");
        assert_eq!(hashed_name("LICENSE", "abc"), "LICENSE.abc");
        assert_eq!(hashed_name("v1.2/LICENSE", "abc"), "v1.2/LICENSE.abc");
        assert_eq!(hashed_name(".well-known", "abc"), ".well-known.abc");
    }
}
