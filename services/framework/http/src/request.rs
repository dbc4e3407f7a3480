//! What views read from a request: path parameters, the query string, shared state and the
//! client address.

use std::any::type_name;
use std::net::IpAddr;
use std::str::FromStr;

use herd_core::{Error, Request};
use percent_encoding::percent_decode;

use crate::server::ClientAddr;
use crate::urls::PathParams;

/// Accessors views use on a [`Request`].
///
/// ```
/// use herd_http::request::RequestExt;
///
/// let request = http::Request::builder()
///     .uri("/employee/?q=O%27Neil+%26+Co&page=2")
///     .body(herd_core::Body::empty())
///     .unwrap();
/// assert_eq!(request.query_param("q").as_deref(), Some("O'Neil & Co"));
/// assert_eq!(request.query_param("page").as_deref(), Some("2"));
/// ```
pub trait RequestExt {
    /// The path parameter `name` captured by the URL dispatcher, parsed as `T`.
    ///
    /// # Errors
    ///
    /// Not found (404) when the parameter is missing or does not parse, as Django's views
    /// answer a bad lookup value.
    fn path_param<T: FromStr>(&self, name: &str) -> Result<T, Error>;

    /// The first value of query parameter `name`, percent-decoded with `+` as a space; bytes
    /// that are not UTF-8 become U+FFFD.
    fn query_param(&self, name: &str) -> Option<String>;

    /// Every query parameter in order, decoded as [`query_param`](Self::query_param) does.
    fn query_pairs(&self) -> Vec<(String, String)>;

    /// A value stored in the request's extensions: shared state added by tower-http's
    /// `AddExtension` layer, or what a middleware put there.
    ///
    /// # Errors
    ///
    /// An internal error (500) naming the type when it is missing: the app was assembled
    /// without the layer that provides it.
    fn extension<T: Send + Sync + 'static>(&self) -> Result<&T, Error>;

    /// The client's IP address, given how many proxies in front of the worker append to
    /// `X-Forwarded-For` (`HERD_SECURITY__TRUSTED_PROXY_HOPS`): the entry the outermost
    /// trusted proxy appended, counted from the right, as entries further left are whatever
    /// the client sent. With `0` hops, or when the header has fewer entries than hops or that
    /// entry is not an address, the TCP peer ([`ClientAddr`]); `None` without one either.
    fn client_ip(&self, trusted_proxy_hops: usize) -> Option<IpAddr>;
}

impl<B> RequestExt for Request<B> {
    fn path_param<T: FromStr>(&self, name: &str) -> Result<T, Error> {
        self.extensions()
            .get::<PathParams>()
            .and_then(|params| params.get(name))
            .and_then(|value| value.parse().ok())
            .ok_or_else(Error::not_found)
    }

    fn client_ip(&self, trusted_proxy_hops: usize) -> Option<IpAddr> {
        let forwarded = trusted_proxy_hops.checked_sub(1).and_then(|skip| {
            let hops: Vec<&str> = self
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .filter_map(|value| value.to_str().ok())
                .flat_map(|value| value.split(','))
                .map(str::trim)
                .collect();
            hops.iter().rev().nth(skip)?.parse::<IpAddr>().ok()
        });
        forwarded.or_else(|| {
            self.extensions()
                .get::<ClientAddr>()
                .map(|peer| peer.0.ip())
        })
    }

    fn query_param(&self, name: &str) -> Option<String> {
        let query = self.uri().query()?;
        query_pieces(query)
            .find(|(key, _)| decode(key) == name)
            .map(|(_, value)| decode(value))
    }

    fn query_pairs(&self) -> Vec<(String, String)> {
        self.uri()
            .query()
            .map(|query| {
                query_pieces(query)
                    .map(|(key, value)| (decode(key), decode(value)))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn extension<T: Send + Sync + 'static>(&self) -> Result<&T, Error> {
        self.extensions().get::<T>().ok_or_else(|| {
            Error::internal(format!("request extension {} is missing", type_name::<T>()))
        })
    }
}

/// The raw `key=value` pieces of a query; a piece without `=` has an empty value.
fn query_pieces(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| piece.split_once('=').unwrap_or((piece, "")))
}

/// `application/x-www-form-urlencoded` decoding, lossy as Django's `QueryDict`.
fn decode(text: &str) -> String {
    let bytes: Vec<u8> = text
        .bytes()
        .map(|byte| if byte == b'+' { b' ' } else { byte })
        .collect();
    percent_decode(&bytes).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use herd_core::Body;

    fn request(uri: &str) -> Request {
        http::Request::builder()
            .uri(uri)
            .body(Body::empty())
            .unwrap()
    }

    #[test]
    fn query_param_takes_the_first_value() {
        assert_eq!(request("/?a=1&a=2").query_param("a").as_deref(), Some("1"));
    }

    #[test]
    fn query_param_decodes_plus_and_percent_but_keeps_an_encoded_plus() {
        let request = request("/?q=a+b%2Bc%20d");
        assert_eq!(request.query_param("q").as_deref(), Some("a b+c d"));
    }

    #[test]
    fn query_param_decodes_invalid_utf8_lossily() {
        assert_eq!(
            request("/?q=%ff").query_param("q").as_deref(),
            Some("\u{fffd}")
        );
    }

    #[test]
    fn query_param_matches_encoded_keys_and_misses_absent_ones() {
        let request = request("/?first%20name=Ann&flag");
        assert_eq!(request.query_param("first name").as_deref(), Some("Ann"));
        assert_eq!(request.query_param("flag").as_deref(), Some(""));
        assert_eq!(request.query_param("missing"), None);
        assert_eq!(self::request("/plain").query_param("q"), None);
    }

    #[test]
    fn query_pairs_keeps_order_and_duplicates_and_skips_empty_pieces() {
        let pairs = request("/?b=2&&a=1&b=3").query_pairs();
        let expected = [("b", "2"), ("a", "1"), ("b", "3")]
            .map(|(key, value)| (key.to_owned(), value.to_owned()));
        assert_eq!(pairs, expected);
        assert!(request("/").query_pairs().is_empty());
    }

    #[test]
    fn path_param_parses_or_is_not_found() {
        let mut request = request("/employee/2001/");
        assert!(
            request
                .path_param::<i64>("year")
                .unwrap_err()
                .is_not_found()
        );
        request
            .extensions_mut()
            .insert(PathParams::from_pairs([("year", "2001"), ("s", "x")]));
        assert_eq!(request.path_param::<i64>("year").unwrap(), 2001);
        assert!(request.path_param::<i64>("s").unwrap_err().is_not_found());
        assert!(
            request
                .path_param::<String>("other")
                .unwrap_err()
                .is_not_found()
        );
    }

    #[test]
    fn extension_returns_shared_state_or_an_internal_error_naming_the_type() {
        #[derive(Clone, Debug, PartialEq)]
        struct Pool(u32);
        let mut request = request("/");
        let err = request.extension::<Pool>().unwrap_err();
        assert!(err.is_internal());
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert!(source.contains("Pool"), "{source}");
        request.extensions_mut().insert(Pool(7));
        assert_eq!(request.extension::<Pool>().unwrap(), &Pool(7));
    }

    fn forwarded(headers: &[&str]) -> Request {
        let mut builder = http::Request::builder().uri("/");
        for value in headers {
            builder = builder.header("x-forwarded-for", *value);
        }
        let mut request = builder.body(Body::empty()).unwrap();
        let peer: std::net::SocketAddr = "10.0.0.9:41000".parse().unwrap();
        request.extensions_mut().insert(ClientAddr(peer));
        request
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn without_trusted_hops_the_client_is_the_tcp_peer_whatever_the_header_says() {
        let request = forwarded(&["203.0.113.7"]);
        assert_eq!(request.client_ip(0), Some(ip("10.0.0.9")));
    }

    #[test]
    fn the_client_is_the_entry_the_outermost_trusted_proxy_appended() {
        // The client forged the first entry; the router appended the real address.
        let request = forwarded(&["1.2.3.4, 203.0.113.7"]);
        assert_eq!(request.client_ip(1), Some(ip("203.0.113.7")));
        // Two proxies: a load balancer appended the client, then the router the balancer.
        let request = forwarded(&["1.2.3.4, 203.0.113.7", "10.0.0.2"]);
        assert_eq!(request.client_ip(2), Some(ip("203.0.113.7")));
        assert_eq!(request.client_ip(1), Some(ip("10.0.0.2")));
    }

    #[test]
    fn too_few_entries_or_junk_fall_back_to_the_peer() {
        assert_eq!(
            forwarded(&["203.0.113.7"]).client_ip(2),
            Some(ip("10.0.0.9"))
        );
        assert_eq!(forwarded(&[]).client_ip(1), Some(ip("10.0.0.9")));
        assert_eq!(forwarded(&["not-an-ip"]).client_ip(1), Some(ip("10.0.0.9")));
        assert_eq!(
            forwarded(&["2001:db8::1"]).client_ip(1),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(request("/").client_ip(1), None);
    }
}
