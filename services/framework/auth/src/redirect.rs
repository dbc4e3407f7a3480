//! Django's `url_has_allowed_host_and_scheme`: whether a `next` parameter may be redirected to.

/// Longer `next` values are refused (Django's `MAX_URL_REDIRECT_LENGTH`).
pub const MAX_URL_LENGTH: usize = 2048;

/// Returns true when redirecting to `url` stays on `host` (the request's host with its port):
/// a relative path, or an absolute `http`/`https` URL naming exactly `host` (`https` only when
/// `secure`). Checked as given and again with every `\` read as `/`, since browsers do so.
///
/// ```
/// use herd_auth::is_safe_url;
///
/// assert!(is_safe_url("/employee/", "testserver", false));
/// assert!(is_safe_url("https://testserver/", "testserver", true));
/// assert!(!is_safe_url("//evil.com", "testserver", false));
/// assert!(!is_safe_url("/\\evil.com", "testserver", false));
/// assert!(!is_safe_url("http://testserver/", "testserver", true));
/// ```
pub fn is_safe_url(url: &str, host: &str, secure: bool) -> bool {
    // Python's `str.strip()`: Unicode whitespace and the separators \x1c-\x1f.
    let url = url.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c));
    if url.is_empty() || url.chars().count() > MAX_URL_LENGTH {
        return false;
    }
    allowed(url, host, secure) && allowed(&url.replace('\\', "/"), host, secure)
}

fn allowed(url: &str, host: &str, secure: bool) -> bool {
    // Browsers read more than two slashes as an absolute URL; `urlsplit` would not.
    if url.starts_with("///") {
        return false;
    }
    let Some((scheme, netloc)) = split(url) else {
        return false;
    };
    // `http:///evil.com`, `javascript:…`: a scheme without a host.
    if netloc.is_empty() && !scheme.is_empty() {
        return false;
    }
    // Browsers skip leading control characters and may then see `//host`.
    if url.chars().next().is_some_and(char::is_control) {
        return false;
    }
    let scheme = if scheme.is_empty() && !netloc.is_empty() {
        "http".to_owned()
    } else {
        scheme
    };
    let scheme_ok = scheme.is_empty() || scheme == "https" || (!secure && scheme == "http");
    (netloc.is_empty() || netloc == host) && scheme_ok
}

/// The scheme (lower case) and netloc of Python's `urlsplit`, or `None` where it raises.
fn split(url: &str) -> Option<(String, String)> {
    // `urlsplit` drops tabs and newlines anywhere and C0 controls and spaces in front.
    let cleaned: String = url
        .chars()
        .filter(|c| !matches!(c, '\t' | '\r' | '\n'))
        .collect();
    let mut rest = cleaned.trim_start_matches(|c: char| c <= ' ');
    let mut scheme = String::new();
    if let Some(colon) = rest.find(':') {
        let candidate = &rest[..colon];
        let valid = candidate
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && candidate
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if valid {
            scheme = candidate.to_ascii_lowercase();
            rest = &rest[colon + 1..];
        }
    }
    let netloc = match rest.strip_prefix("//") {
        Some(after) => {
            let end = after.find(['/', '?', '#']).unwrap_or(after.len());
            &after[..end]
        }
        None => "",
    };
    // `urlsplit` raises on unbalanced IPv6 brackets.
    if netloc.contains('[') != netloc.contains(']') {
        return None;
    }
    Some((scheme, netloc.to_owned()))
}

#[cfg(test)]
mod tests;
