//! Unit tests of key making, timeouts, key warnings and the warning limiter.

use super::*;
use crate::dummy::DummyBackend;

fn cache() -> CacheBuilder {
    Cache::builder(Arc::new(DummyBackend))
}

#[test]
fn make_key_without_prefix_starts_with_a_colon() {
    assert_eq!(cache().build().make_key("foo"), ":1:foo");
}

#[test]
fn make_key_joins_prefix_version_and_key() {
    let cache = cache().key_prefix("site").version(3).build();
    assert_eq!(cache.make_key("foo"), "site:3:foo");
    assert_eq!(cache.with_version(7).make_key("foo"), "site:7:foo");
    assert_eq!(cache.version(), 3, "with_version leaves the original alone");
}

#[test]
fn timeouts_resolve_as_django_does() {
    let default = Duration::from_mins(5);
    assert_eq!(
        Timeout::Default.resolve(default),
        Some(Expiry::After(default))
    );
    assert_eq!(Timeout::Never.resolve(default), Some(Expiry::Never));
    assert_eq!(
        Timeout::Seconds(5).resolve(default),
        Some(Expiry::After(Duration::from_secs(5)))
    );
    assert_eq!(Timeout::Seconds(0).resolve(default), None);
    assert_eq!(
        Timeout::Default.resolve(Duration::ZERO),
        None,
        "a default of 0 stores nothing"
    );
}

#[test]
fn key_warnings_match_djangos_memcached_rules() {
    assert!(memcache_key_warnings(":1:fine-key_0123").is_empty());
    let long = format!(":1:{}", "a".repeat(247));
    assert_eq!(long.len(), 250);
    assert!(
        memcache_key_warnings(&long).is_empty(),
        "250 characters is still fine"
    );
    let too_long = format!("{long}a");
    let warnings = memcache_key_warnings(&too_long);
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with("Cache key will cause errors if used with memcached: "),
        "{warnings:?}"
    );
    assert!(warnings[0].ends_with("(longer than 250)"), "{warnings:?}");
    for bad in [
        ":1:key with spaces",
        ":1:tab\there",
        ":1:nul\0",
        ":1:del\x7f",
        ":1:new\nline",
    ] {
        let warnings = memcache_key_warnings(bad);
        assert_eq!(warnings.len(), 1, "{bad:?}");
        assert!(
            warnings[0].starts_with("Cache key contains characters that will cause errors"),
            "{warnings:?}"
        );
    }
    // Django counts characters, not bytes: 250 non-ASCII characters pass.
    assert!(memcache_key_warnings(&"é".repeat(250)).is_empty());
}

#[test]
fn warn_limiter_lets_one_through_per_interval() {
    let limiter = WarnLimiter::new(Duration::from_hours(1));
    assert_eq!(limiter.check(), Some(0));
    assert_eq!(limiter.check(), None);
    assert_eq!(limiter.check(), None);
    let zero = WarnLimiter::new(Duration::ZERO);
    assert_eq!(zero.check(), Some(0));
    assert_eq!(zero.check(), Some(0));
}

#[test]
fn cache_errors_keep_their_kind() {
    let err = CacheError::from(BackendError::KeyNotFound(":1:k".into()));
    assert!(err.is_key_not_found() && !err.is_unavailable());
    assert_eq!(err.to_string(), "key \":1:k\" not found");
    let err = CacheError::from(BackendError::Unavailable("down".into()));
    assert!(err.is_unavailable());
    assert!(std::error::Error::source(&err).is_some());
    assert!(CacheError::config("bad", None).is_config());
}
