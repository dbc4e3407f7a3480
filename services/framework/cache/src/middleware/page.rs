//! The stored form of a cached page: status, `ETag`, headers and body in one compact buffer.
//!
//! Layout (integers big-endian): version `2` (u8), status (u16), the end of its freshness in
//! milliseconds since the Unix epoch (i64), `ETag` length (u16) and bytes,
//! header count (u16), then per header its name length (u16), name, value length (u32) and
//! value, and the body as the rest. The `ETag` sits before the headers so a conditional hit is
//! answered from the front of the buffer; bodies are sliced out without copying.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

const VERSION: u8 = 2;

/// A page read back from the cache.
#[derive(Debug)]
pub(crate) struct StoredPage {
    pub(crate) status: StatusCode,
    /// Past this moment (Unix milliseconds, wall-clock so that every worker agrees) the page
    /// is stale: still served within the stale-while-revalidate window, while one refresher
    /// renders it again.
    pub(crate) fresh_until_ms: i64,
    pub(crate) etag: Option<HeaderValue>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

// === impl StoredPage ===

impl StoredPage {
    /// Serializes a page; `None` when a header is too large for the format (such a page is not
    /// stored).
    pub(crate) fn encode(
        status: StatusCode,
        fresh_until_ms: i64,
        etag: Option<&HeaderValue>,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Option<Bytes> {
        let header_bytes: usize = headers
            .iter()
            .map(|(name, value)| 6 + name.as_str().len() + value.len())
            .sum();
        let etag = etag.map_or(&[][..], HeaderValue::as_bytes);
        let mut buffer = BytesMut::with_capacity(15 + etag.len() + header_bytes + body.len());
        buffer.put_u8(VERSION);
        buffer.put_u16(status.as_u16());
        buffer.put_i64(fresh_until_ms);
        buffer.put_u16(u16::try_from(etag.len()).ok()?);
        buffer.put_slice(etag);
        buffer.put_u16(u16::try_from(headers.len()).ok()?);
        for (name, value) in headers {
            buffer.put_u16(u16::try_from(name.as_str().len()).ok()?);
            buffer.put_slice(name.as_str().as_bytes());
            buffer.put_u32(u32::try_from(value.len()).ok()?);
            buffer.put_slice(value.as_bytes());
        }
        buffer.put_slice(body);
        Some(buffer.freeze())
    }

    /// Reads a page back; `None` for anything malformed or from another format version, which
    /// the caller treats as a miss.
    pub(crate) fn decode(mut stored: Bytes) -> Option<Self> {
        if stored.try_get_u8().ok()? != VERSION {
            return None;
        }
        let status = StatusCode::from_u16(stored.try_get_u16().ok()?).ok()?;
        let fresh_until_ms = stored.try_get_i64().ok()?;
        let etag_len = usize::from(stored.try_get_u16().ok()?);
        let etag = take(&mut stored, etag_len)?;
        let etag = if etag.is_empty() {
            None
        } else {
            Some(HeaderValue::from_maybe_shared(etag).ok()?)
        };
        let count = stored.try_get_u16().ok()?;
        let mut headers = HeaderMap::with_capacity(usize::from(count));
        for _ in 0..count {
            let name_len = usize::from(stored.try_get_u16().ok()?);
            let name = HeaderName::from_bytes(&take(&mut stored, name_len)?).ok()?;
            let value_len = usize::try_from(stored.try_get_u32().ok()?).ok()?;
            let value = HeaderValue::from_maybe_shared(take(&mut stored, value_len)?).ok()?;
            headers.append(name, value);
        }
        Some(Self {
            status,
            fresh_until_ms,
            etag,
            headers,
            body: stored,
        })
    }
}

fn take(stored: &mut Bytes, len: usize) -> Option<Bytes> {
    (stored.remaining() >= len).then(|| stored.split_to(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_survives_the_round_trip_with_repeated_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("text/html"));
        headers.append("vary", HeaderValue::from_static("Cookie"));
        headers.append("vary", HeaderValue::from_static("Accept"));
        let etag = HeaderValue::from_static("\"abc\"");
        let body = Bytes::from_static(b"<p>hello</p>");
        let stored = StoredPage::encode(
            StatusCode::OK,
            1_700_000_000_000,
            Some(&etag),
            &headers,
            &body,
        )
        .unwrap();

        let page = StoredPage::decode(stored).unwrap();
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(page.fresh_until_ms, 1_700_000_000_000);
        assert_eq!(page.etag, Some(etag));
        assert_eq!(page.headers, headers);
        assert_eq!(page.body, body);
    }

    #[test]
    fn truncated_or_foreign_bytes_decode_to_nothing() {
        let body = Bytes::from_static(b"x");
        let stored = StoredPage::encode(StatusCode::OK, 0, None, &HeaderMap::new(), &body).unwrap();
        assert!(StoredPage::decode(stored.slice(..3)).is_none());
        assert!(StoredPage::decode(Bytes::from_static(b"\x80\x03]q")).is_none());
        assert!(StoredPage::decode(stored).is_some_and(|page| page.etag.is_none()));
    }
}
