use super::*;

fn headers_with(name: http::HeaderName, value: Option<&'static str>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(value) = value {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
}

fn request(uri: &str, pairs: &[(&'static str, &'static str)]) -> http::Request<()> {
    let mut builder = http::Request::builder().uri(uri).header(HOST, "localhost");
    for (name, value) in pairs {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

#[test]
fn patch_vary_headers_merges_as_django() {
    // Django's `CacheUtils.test_patch_vary_headers` table.
    let cases: [(Option<&'static str>, &[&str], &str); 11] = [
        (None, &["Accept-Encoding"], "Accept-Encoding"),
        (
            Some("Accept-Encoding"),
            &["accept-encoding"],
            "Accept-Encoding",
        ),
        (
            Some("Accept-Encoding"),
            &["ACCEPT-ENCODING"],
            "Accept-Encoding",
        ),
        (
            Some("Cookie"),
            &["Accept-Encoding"],
            "Cookie, Accept-Encoding",
        ),
        (
            Some("Cookie, Accept-Encoding"),
            &["Accept-Encoding"],
            "Cookie, Accept-Encoding",
        ),
        (
            Some("Cookie, Accept-Encoding"),
            &["Accept-Encoding", "cookie"],
            "Cookie, Accept-Encoding",
        ),
        (
            None,
            &["Accept-Encoding", "COOKIE"],
            "Accept-Encoding, COOKIE",
        ),
        (
            Some("Cookie,     Accept-Encoding"),
            &["Accept-Encoding", "cookie"],
            "Cookie, Accept-Encoding",
        ),
        (
            Some("Cookie    ,     Accept-Encoding"),
            &["Accept-Encoding", "cookie"],
            "Cookie, Accept-Encoding",
        ),
        (Some("*"), &["Accept-Language", "Cookie"], "*"),
        (Some("Accept-Language, Cookie"), &["*"], "*"),
    ];
    for (initial, new, expected) in cases {
        let mut headers = headers_with(VARY, initial);
        patch_vary_headers(&mut headers, new);
        assert_eq!(headers[VARY], expected, "{initial:?} + {new:?}");
    }
}

#[test]
fn patch_cache_control_follows_django() {
    // Django's `CacheUtils.test_patch_cache_control` table, in Herd's builder form.
    let cases: [(Option<&'static str>, CacheControl, &str); 16] = [
        (None, CacheControl::new().private(), "private"),
        (Some(""), CacheControl::new().private(), "private"),
        (
            Some(""),
            CacheControl::new().directive("no_cache", Some("Set-Cookie")),
            "no-cache=Set-Cookie",
        ),
        (
            Some("no-cache=Set-Cookie"),
            CacheControl::new().no_cache(),
            "no-cache",
        ),
        (
            Some("no-cache=Set-Cookie,no-cache=Link"),
            CacheControl::new().no_cache(),
            "no-cache",
        ),
        (
            Some("no-cache=Set-Cookie"),
            CacheControl::new().directive("no-cache", Some("Link")),
            "no-cache=Set-Cookie, no-cache=Link",
        ),
        (
            Some("no-cache=Set-Cookie,no-cache=Link"),
            CacheControl::new().directive("no-cache", Some("Custom")),
            "no-cache=Set-Cookie, no-cache=Link, no-cache=Custom",
        ),
        (Some("private"), CacheControl::new().private(), "private"),
        (Some("private"), CacheControl::new().public(), "public"),
        (Some("public"), CacheControl::new().public(), "public"),
        (Some("public"), CacheControl::new().private(), "private"),
        (
            Some("must-revalidate,max-age=60,private"),
            CacheControl::new().public(),
            "must-revalidate, max-age=60, public",
        ),
        (
            Some("must-revalidate,max-age=60,public"),
            CacheControl::new().private(),
            "must-revalidate, max-age=60, private",
        ),
        (
            Some("must-revalidate,max-age=60"),
            CacheControl::new().public(),
            "must-revalidate, max-age=60, public",
        ),
        (
            Some("max-age=30"),
            CacheControl::new().max_age(60),
            "max-age=30",
        ),
        (
            Some("Max-Age=90, public"),
            CacheControl::new().max_age(60),
            "max-age=60, public",
        ),
    ];
    for (initial, directives, expected) in cases {
        let mut headers = headers_with(CACHE_CONTROL, initial);
        patch_cache_control(&mut headers, &directives);
        assert_eq!(
            headers[CACHE_CONTROL], expected,
            "{initial:?} + {directives:?}"
        );
    }
}

#[test]
fn cache_control_keeps_the_order_given() {
    let mut headers = HeaderMap::new();
    patch_cache_control(&mut headers, &CacheControl::new().max_age(60).public());
    assert_eq!(headers[CACHE_CONTROL], "max-age=60, public");
}

#[test]
fn get_max_age_reads_only_integers() {
    assert_eq!(
        get_max_age(&headers_with(CACHE_CONTROL, Some("public, max-age=3600"))),
        Some(3600)
    );
    assert_eq!(
        get_max_age(&headers_with(CACHE_CONTROL, Some("max-age=nono"))),
        None
    );
    assert_eq!(
        get_max_age(&headers_with(CACHE_CONTROL, Some("max-age"))),
        None
    );
    assert_eq!(
        get_max_age(&headers_with(CACHE_CONTROL, Some("public"))),
        None
    );
    assert_eq!(get_max_age(&HeaderMap::new()), None);
}

#[test]
fn never_cache_sets_exactly_django_headers() {
    let mut headers = headers_with(CACHE_CONTROL, Some("max-age=600, public"));
    add_never_cache_headers(&mut headers);
    assert_eq!(
        headers[CACHE_CONTROL],
        "max-age=0, no-cache, no-store, must-revalidate, private"
    );
    let expires = parse_http_date(headers[EXPIRES].to_str().unwrap()).unwrap();
    assert!((expires - now_timestamp()).abs() <= 1);
}

#[test]
fn patch_response_headers_keeps_an_existing_expires() {
    let mut headers = headers_with(EXPIRES, Some("Sun, 06 Nov 1994 08:49:37 GMT"));
    patch_response_headers(&mut headers, 30);
    assert_eq!(headers[EXPIRES], "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(headers[CACHE_CONTROL], "max-age=30");
}

#[test]
fn http_dates_parse_in_all_three_formats() {
    for date in [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
    ] {
        assert_eq!(parse_http_date(date), Some(784_111_777), "{date}");
    }
    assert_eq!(http_date(784_111_777), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(parse_http_date("yesterday"), None);
}

#[test]
fn absolute_uri_has_scheme_host_path_and_query() {
    assert_eq!(
        build_absolute_uri(&request("/a/?x=1", &[])),
        "http://localhost/a/?x=1"
    );
    assert_eq!(
        build_absolute_uri(&request("/a/?", &[])),
        "http://localhost/a/"
    );
    let mut secure = request("/a/", &[]);
    secure.extensions_mut().insert(Scheme::HTTPS);
    assert_eq!(build_absolute_uri(&secure), "https://localhost/a/");
}

#[test]
fn page_key_has_django_structure() {
    let url_hash = md5_hex(b"http://localhost/a/?x=1");
    let none = generate_cache_key(&request("/a/?x=1", &[]), &Method::GET, &[], "site");
    assert_eq!(
        none,
        format!(
            "views.decorators.cache.cache_page.site.GET.{url_hash}.d41d8cd98f00b204e9800998ecf8427e"
        )
    );
    let list = ["accept-language".to_owned(), "cookie".to_owned()];
    let keyed = generate_cache_key(
        &request("/a/?x=1", &[("accept-language", "en")]),
        &Method::HEAD,
        &list,
        "site",
    );
    assert_eq!(
        keyed,
        format!(
            "views.decorators.cache.cache_page.site.HEAD.{url_hash}.{}",
            md5_hex(b"2:en,-,")
        )
    );
    assert_eq!(
        cache_header_key("site", &request("/a/?x=1", &[])),
        format!("views.decorators.cache.cache_header.site.{url_hash}")
    );
}

#[test]
fn the_key_of_a_page_varying_on_nothing_ends_in_the_md5_of_no_bytes() {
    let key = generate_cache_key(&request("/", &[]), &Method::GET, &[], "");
    assert!(key.ends_with(&format!(".{}", md5_hex(b""))), "{key}");
}

#[test]
fn absent_and_empty_headers_give_different_keys() {
    let list = ["accept-language".to_owned()];
    let absent = generate_cache_key(&request("/", &[]), &Method::GET, &list, "");
    let empty = generate_cache_key(
        &request("/", &[("accept-language", "")]),
        &Method::GET,
        &list,
        "",
    );
    assert_ne!(absent, empty);
}
