//! Django's own `url_has_allowed_host_and_scheme` cases, and Herd's additions.

use super::*;

const HOST: &str = "testserver";

#[test]
fn django_bad_urls_are_refused() {
    for url in [
        "http://example.com",
        "http:///example.com",
        "https://example.com",
        "ftp://example.com",
        r"\\example.com",
        r"\\\example.com",
        r"/\\/example.com",
        r"\\//example.com",
        r"/\/example.com",
        r"\/example.com",
        r"/\example.com",
        r"http:/\//example.com",
        r"http:\/example.com",
        r"http:/\example.com",
        "javascript:alert(\"XSS\")",
        "\njavascript:alert(x)",
        "\x08//example.com",
        r"http://otherserver\@example.com",
        r"http:\\testserver\@example.com",
        r"http://testserver\me:pass@example.com",
        r"http://testserver\@example.com",
        r"http:\\testserver\confirm\me@example.com",
        "http:999999999",
        "ftp:9999999999",
        "\n",
        "http://[2001:cdba:0000:0000:0000:0000:3257:9652/",
        "http://2001:cdba:0000:0000:0000:0000:3257:9652]/",
        "",
        "   ",
        "///x",
        "https://evil.com/",
        "//evil.com",
        "javascript:alert(1)",
        "\x01/employee/",
        "/\t/evil.com",
    ] {
        assert!(!is_safe_url(url, HOST, false), "{url:?} must be unsafe");
    }
}

#[test]
fn django_good_urls_are_allowed() {
    for url in [
        "/view/?param=http://example.com",
        "/view/?param=https://example.com",
        "/view?param=ftp://example.com",
        "view/?param=//example.com",
        "https://testserver/",
        "HTTPS://testserver/",
        "//testserver/",
        "http://testserver/confirm?email=me@example.com",
        "/url%20with%20spaces/",
        "path/http:2222222222",
        "/employee/",
        "  /employee/  ",
    ] {
        assert!(is_safe_url(url, HOST, false), "{url:?} must be safe");
    }
}

#[test]
fn a_secure_request_refuses_http_but_allows_https_and_paths() {
    assert!(!is_safe_url("http://testserver/", HOST, true));
    assert!(!is_safe_url("//testserver/", HOST, true));
    assert!(is_safe_url("https://testserver/", HOST, true));
    assert!(is_safe_url("/employee/", HOST, true));
}

#[test]
fn the_host_must_match_with_its_port_and_length_is_bounded() {
    assert!(is_safe_url(
        "http://testserver:8000/",
        "testserver:8000",
        false
    ));
    assert!(!is_safe_url("http://testserver:8000/", HOST, false));
    assert!(!is_safe_url("http://testserver/", "testserver:8000", false));
    let long = format!("/{}", "a".repeat(MAX_URL_LENGTH));
    assert!(!is_safe_url(&long, HOST, false));
    assert!(is_safe_url(&long[..MAX_URL_LENGTH], HOST, false));
}
