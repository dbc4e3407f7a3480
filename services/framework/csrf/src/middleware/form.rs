//! Finding the token in a request body: the `csrfmiddlewaretoken` field of a URL-encoded or
//! multipart form (Django's `request.POST`).

use crate::token::FORM_FIELD;

/// The body's `csrfmiddlewaretoken` field for `content_type`, or `None` when the body is not a
/// form or has no such field.
pub(super) fn field(content_type: &str, body: &[u8]) -> Option<String> {
    let (mime, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    let mime = mime.trim().to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).ok()?;
            pairs
                .into_iter()
                .find(|(name, _)| name == FORM_FIELD)
                .map(|(_, value)| value)
        }
        "multipart/form-data" => multipart_field(&boundary(params)?, body),
        _ => None,
    }
}

/// The `boundary` parameter of a multipart content type.
fn boundary(params: &str) -> Option<String> {
    params.split(';').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim().trim_matches('"');
        (!value.is_empty() && value.len() <= 200).then(|| value.to_owned())
    })
}

/// The value of the first non-file part named [`FORM_FIELD`].
fn multipart_field(boundary: &str, body: &[u8]) -> Option<String> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut parts = split(body, delimiter).into_iter().skip(1);
    parts.find_map(|part| {
        // Each part starts with CRLF after its delimiter; the closing delimiter has `--`.
        let part = part.strip_prefix(b"\r\n")?;
        let head_end = find(part, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&part[..head_end]).ok()?;
        let content = &part[head_end + 4..];
        let content = content.strip_suffix(b"\r\n").unwrap_or(content);
        let disposition = head.split("\r\n").find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(value)
        })?;
        let is_field = disposition.split(';').any(|param| {
            param
                .trim()
                .strip_prefix("name=")
                .is_some_and(|name| name.trim_matches('"') == FORM_FIELD)
        });
        let is_file = disposition
            .split(';')
            .any(|param| param.trim().starts_with("filename"));
        (is_field && !is_file).then(|| String::from_utf8_lossy(content).into_owned())
    })
}

fn split<'a>(haystack: &'a [u8], needle: &[u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = haystack;
    while let Some(at) = find(rest, needle) {
        pieces.push(&rest[..at]);
        rest = &rest[at + needle.len()..];
    }
    pieces.push(rest);
    pieces
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urlencoded_field_is_found_among_others() {
        let body = b"name=a%26b&csrfmiddlewaretoken=abc&x=1";
        assert_eq!(
            field("application/x-www-form-urlencoded; charset=utf-8", body).as_deref(),
            Some("abc")
        );
        assert_eq!(field("text/plain", body), None);
    }

    #[test]
    fn multipart_field_skips_files_and_reads_the_value() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"; filename=\"t.txt\"\r\n\r\nfile\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"csrfmiddlewaretoken\"\r\n\r\ntok123\r\n--XyZ--\r\n";
        assert_eq!(
            field("multipart/form-data; boundary=XyZ", body).as_deref(),
            Some("tok123")
        );
        assert_eq!(field("multipart/form-data", body), None);
    }
}
