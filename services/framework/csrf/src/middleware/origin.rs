//! The origin checks that come before the token: `Origin`, and on HTTPS `Referer` (Django's
//! `_origin_verified` and `_check_referer`).

use http::header;
use http::uri::Scheme;

use crate::error::CsrfError;
use crate::middleware::Trusted;

/// What the checks need to know about the request.
pub(super) struct Site<'a> {
    /// `https` when the request is secure, else `http`.
    pub(super) scheme: &'a str,
    /// The request's host as sent (with port), when present and allowed.
    pub(super) host: Option<&'a str>,
}

/// Step (1) and (2): `Origin` when present, else `Referer` on HTTPS.
pub(super) fn check(
    headers: &http::HeaderMap,
    site: &Site<'_>,
    trusted: &Trusted,
) -> Result<(), CsrfError> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes());
        if origin_verified(&origin, site, trusted) {
            return Ok(());
        }
        return Err(CsrfError::BadOrigin(origin.into_owned()));
    }
    if site.scheme == Scheme::HTTPS.as_str() {
        return check_referer(headers, site, trusted);
    }
    Ok(())
}

fn origin_verified(origin: &str, site: &Site<'_>, trusted: &Trusted) -> bool {
    if let Some(host) = site.host
        && origin == format!("{}://{host}", site.scheme)
    {
        return true;
    }
    if trusted.exact.iter().any(|exact| exact == origin) {
        return true;
    }
    let Some((scheme, netloc)) = split_url(origin) else {
        return false;
    };
    trusted.subdomains.iter().any(|(trusted_scheme, pattern)| {
        *trusted_scheme == scheme && is_same_domain(netloc, pattern)
    })
}

fn check_referer(
    headers: &http::HeaderMap,
    site: &Site<'_>,
    trusted: &Trusted,
) -> Result<(), CsrfError> {
    let Some(referer) = headers.get(header::REFERER) else {
        return Err(CsrfError::NoReferer);
    };
    let referer = String::from_utf8_lossy(referer.as_bytes());
    let Some((scheme, netloc)) = split_url(&referer) else {
        return Err(CsrfError::MalformedReferer);
    };
    if scheme != Scheme::HTTPS.as_str() {
        return Err(CsrfError::InsecureReferer);
    }
    if trusted
        .hosts
        .iter()
        .any(|host| is_same_domain(netloc, host))
    {
        return Ok(());
    }
    match site.host {
        Some(host) if is_same_domain(netloc, host) => Ok(()),
        _ => Err(CsrfError::BadReferer(referer.into_owned())),
    }
}

/// The lower-cased scheme and the network location of an absolute URL; `None` when either is
/// empty (as Django's `urlsplit` test `"" in (scheme, netloc)`).
pub(super) fn split_url(url: &str) -> Option<(String, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    let valid_scheme = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let netloc = &rest[..end];
    if netloc.is_empty() {
        return None;
    }
    Some((scheme.to_ascii_lowercase(), netloc))
}

/// Django's `is_same_domain`: `pattern` equals `host`, or starts with `.` and `host` is that
/// domain or under it. Compared without case.
pub(super) fn is_same_domain(host: &str, pattern: &str) -> bool {
    let host = host.to_ascii_lowercase();
    let pattern = pattern.to_ascii_lowercase();
    if pattern.is_empty() {
        return false;
    }
    match pattern.strip_prefix('.') {
        Some(parent) => host == parent || host.ends_with(&pattern),
        None => host == pattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_url_needs_a_scheme_and_a_host() {
        assert_eq!(
            split_url("HTTPS://example.com:8443/a?b#c"),
            Some(("https".to_owned(), "example.com:8443"))
        );
        assert_eq!(split_url("null"), None);
        assert_eq!(split_url("https:///path"), None);
        assert_eq!(split_url("//example.com"), None);
    }

    #[test]
    fn same_domain_wildcards_cover_subdomains_only() {
        assert!(is_same_domain("a.example.com", ".example.com"));
        assert!(is_same_domain("example.com", ".example.com"));
        assert!(!is_same_domain("badexample.com", ".example.com"));
        assert!(is_same_domain("EXAMPLE.com:8000", "example.com:8000"));
        assert!(!is_same_domain("example.com", ""));
    }
}
