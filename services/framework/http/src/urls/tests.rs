//! Tests of the URL dispatcher against DJANGO.md §1 and RELIABILITY.md §8.

use std::future::{Ready, ready};
use std::sync::Arc;

use herd_core::error::bare_page;
use herd_core::{App, Body, Request};
use herd_test_support::TestClient;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use tower_http::set_header::SetResponseHeaderLayer;

use super::route;
use super::*;

/// A view answering `tag` and its path parameters, e.g. `year year=2001`.
fn echo(tag: &'static str) -> impl Fn(Request) -> Ready<String> + Clone + Send + Sync + 'static {
    move |request: Request| {
        let params = request
            .extensions()
            .get::<PathParams>()
            .map_or_else(String::new, |params| {
                params
                    .iter()
                    .map(|(key, value)| format!("{key}={value}"))
                    .collect::<Vec<_>>()
                    .join(",")
            });
        ready(format!("{tag} {params}"))
    }
}

/// The reference site's shape: the year archive before a slug catch-all.
fn directory() -> UrlConf {
    let employee = UrlConf::new([
        path("", echo("list")).name("list"),
        path("name/", echo("names")).name("names"),
        path("<int:year>/", echo("year")).name("year_archive"),
        path("id/<int:pk>/", echo("detail")).name("detail"),
        path("<slug:slug>/", echo("slug")).name("slug"),
    ]);
    UrlConf::new([
        path("", echo("home")).name("home"),
        include("employee/", employee),
        path("s/<str:s>/", echo("str")).name("str"),
        path("sl/<slug:s>/", echo("slug-only")),
        path("u/<uuid:id>/", echo("uuid")).name("uuid"),
        path("f/<path:p>", echo("path")).name("file"),
    ])
}

/// Only the year archive, so nothing else can catch a rejected year.
fn years_only() -> UrlConf {
    UrlConf::new([path("employee/<int:year>/", echo("year")).name("year_archive")])
}

fn resolver(urls: UrlConf) -> Resolver {
    Resolver::new(urls).unwrap()
}

fn client_with(dispatcher: impl FnOnce(Dispatcher) -> Dispatcher, urls: UrlConf) -> TestClient {
    let dispatcher = dispatcher(Dispatcher::new(Arc::new(resolver(urls))));
    TestClient::new(App::new(dispatcher))
}

fn client(urls: UrlConf) -> TestClient {
    client_with(|dispatcher| dispatcher, urls)
}

fn param(resolver: &Resolver, path: &str, name: &str) -> Option<String> {
    resolver
        .resolve(path)?
        .params()
        .get(name)
        .map(str::to_owned)
}

// --- converters (DJANGO.md §1 table) ---

#[test]
fn int_converter_normalises_leading_zeros() {
    assert_eq!(
        param(&resolver(directory()), "/employee/0042/", "year").as_deref(),
        Some("42")
    );
}

#[tokio::test]
async fn a_negative_year_falls_through_to_the_later_slug_view() {
    let response = client(directory()).get("/employee/-5/").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.text(), "slug slug=-5");
    assert_eq!(
        client(directory()).get("/employee/2001/").await.text(),
        "year year=2001"
    );
}

#[test]
fn str_converter_takes_spaces_but_not_slashes() {
    let resolver = resolver(directory());
    assert_eq!(param(&resolver, "/s/a%20b/", "s").as_deref(), Some("a b"));
    assert!(resolver.resolve("/s/a/b/").is_none());
    // Django matches the decoded path, so an encoded slash is a slash.
    assert!(resolver.resolve("/s/a%2Fb/").is_none());
}

#[tokio::test]
async fn slug_converter_refuses_a_dot() {
    let client = client(directory());
    assert_eq!(client.get("/sl/a.b/").await.status, StatusCode::NOT_FOUND);
    assert_eq!(client.get("/sl/a-b_C9/").await.text(), "slug-only s=a-b_C9");
}

#[tokio::test]
async fn uuid_converter_takes_lower_case_only() {
    let client = client(directory());
    let lower = client.get("/u/123e4567-e89b-12d3-a456-426614174000/").await;
    assert_eq!(lower.text(), "uuid id=123e4567-e89b-12d3-a456-426614174000");
    let upper = client.get("/u/123E4567-E89B-12D3-A456-426614174000/").await;
    assert_eq!(upper.status, StatusCode::NOT_FOUND);
    assert_eq!(
        client
            .get("/u/123e4567e89b12d3a456426614174000/")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn path_converter_takes_slashes() {
    let resolver = resolver(directory());
    assert_eq!(
        param(&resolver, "/f/a/b/c.txt", "p").as_deref(),
        Some("a/b/c.txt")
    );
    assert!(resolver.resolve("/f/").is_none());
}

#[test]
fn matching_uses_the_percent_decoded_path() {
    let resolver = resolver(directory());
    assert_eq!(
        param(&resolver, "/employee/%32%30%30%31/", "year").as_deref(),
        Some("2001")
    );
    assert_eq!(
        resolver.resolve("/employee/%6Eame/").unwrap().name(),
        Some("names")
    );
}

#[tokio::test]
async fn malformed_years_are_not_found() {
    let client = client(years_only());
    let twenty = "9".repeat(20);
    let five_thousand = "1".repeat(5000);
    let years = [
        "abc",
        "-1",
        "+2001",
        "0x7d1",
        "2e3",
        "2001.0",
        "%202001",
        "%EF%BC%92%EF%BC%90%EF%BC%90%EF%BC%91", // full-width ２００１
        "%D9%A2%D9%A0%D9%A0%D9%A1",             // Arabic-Indic ٢٠٠١
        &twenty,
        &five_thousand,
    ];
    for year in years {
        let response = client.get(&format!("/employee/{year}/")).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{year}");
        assert_eq!(response.text(), bare_page(StatusCode::NOT_FOUND));
    }
    assert_eq!(
        client.get("/employee/9223372036854775807/").await.status,
        StatusCode::OK
    );
    assert_eq!(client.get("/employee/2001/").await.text(), "year year=2001");
}

#[test]
fn paths_that_are_not_utf8_or_hold_nul_match_nothing() {
    let resolver = resolver(directory());
    for path in ["/s/%ff/", "/s/%c0%af/", "/s/a%00b/", "s/a/", ""] {
        assert!(resolver.resolve(path).is_none(), "{path}");
    }
}

// --- user-defined converters ---

/// Even numbers only, written with four digits.
struct EvenYear;

impl Converter for EvenYear {
    fn regex(&self) -> &'static str {
        "[0-9]{1,4}"
    }

    fn to_python(&self, value: &str) -> Option<String> {
        let year: u32 = value.parse().ok()?;
        year.is_multiple_of(2).then(|| format!("{year:04}"))
    }

    fn to_url(&self, value: &str) -> Option<String> {
        let year: u32 = value.parse().ok()?;
        Some(format!("{year:04}"))
    }
}

fn even_years() -> Resolver {
    let urls = UrlConf::new([
        path("y/<even:year>/", echo("even")).name("year"),
        path("y/<str:year>/", echo("other")).name("other"),
    ]);
    Resolver::builder(urls)
        .converter("even", EvenYear)
        .build()
        .unwrap()
}

#[test]
fn a_converter_that_rejects_a_value_lets_the_search_continue() {
    let resolver = even_years();
    let even = resolver.resolve("/y/42/").unwrap();
    assert_eq!(
        (even.name(), even.params().get("year")),
        (Some("year"), Some("0042"))
    );
    let odd = resolver.resolve("/y/43/").unwrap();
    assert_eq!(
        (odd.name(), odd.params().get("year")),
        (Some("other"), Some("43"))
    );
}

#[test]
fn reverse_uses_a_custom_converters_to_url() {
    let resolver = even_years();
    assert_eq!(resolver.reverse("year", &[&7]).unwrap(), "/y/0007/");
    assert!(resolver.reverse("year", &[&"x"]).is_err());
    assert!(
        resolver.reverse("year", &[&123_456]).is_err(),
        "to_url output must fit the regex"
    );
}

#[test]
fn an_unknown_converter_fails_the_build_naming_the_route() {
    let urls = UrlConf::new([include("a/", UrlConf::new([path("<year:y>/", echo("x"))]))]);
    let err = Resolver::new(urls).unwrap_err();
    assert!(matches!(err, UrlError::UnknownConverter { .. }));
    assert_eq!(
        err.to_string(),
        "URL route 'a/<year:y>/' uses invalid converter 'year'"
    );
}

#[test]
fn bad_route_syntax_fails_the_build_naming_the_route() {
    for route in [
        "a/<int:y/",
        "a/int:y>/",
        "<int: y>/",
        "<int:2y>/",
        "<int:>/",
        "<:y>/",
        "/a/",
        "<y>/<y>/",
    ] {
        let err = Resolver::new(UrlConf::new([path(route, echo("x"))])).unwrap_err();
        assert!(
            matches!(err, UrlError::InvalidRoute { .. }),
            "{route}: {err}"
        );
        assert!(err.to_string().contains(&format!("'{route}'")), "{err}");
    }
}

#[test]
fn a_converter_with_a_bad_regex_fails_the_build() {
    struct Broken;
    impl Converter for Broken {
        fn regex(&self) -> &'static str {
            "[0-9"
        }
        fn to_python(&self, value: &str) -> Option<String> {
            Some(value.to_owned())
        }
        fn to_url(&self, value: &str) -> Option<String> {
            Some(value.to_owned())
        }
    }
    let urls = UrlConf::new([path("b/<broken:x>/", echo("x"))]);
    let err = Resolver::builder(urls)
        .converter("broken", Broken)
        .build()
        .unwrap_err();
    assert!(matches!(err, UrlError::BadRegex { .. }), "{err}");
    assert!(err.to_string().contains("'b/<broken:x>/'"), "{err}");
}

#[test]
fn a_converter_name_can_be_registered_once() {
    let err = Resolver::builder(UrlConf::new([]))
        .converter("int", EvenYear)
        .build()
        .unwrap_err();
    assert_eq!(err.to_string(), "converter 'int' is already registered");
}

#[test]
fn routes_compile_to_djangos_anchored_regex() {
    let parts = route::parse("employee/<int:year>/").unwrap();
    let source = route::regex_source(&parts, |_| "[0-9]+");
    assert_eq!(source, r"^employee/(?P<p0>[0-9]+)/\z");
    let parts = route::parse("a.b/<x>").unwrap();
    assert_eq!(
        route::regex_source(&parts, |_| "[^/]+"),
        r"^a\.b/(?P<p0>[^/]+)\z"
    );
}

// --- reverse ---

#[test]
fn reverse_builds_the_year_archive_path() {
    let resolver = resolver(years_only());
    assert_eq!(
        resolver.reverse("year_archive", &[&2001]).unwrap(),
        "/employee/2001/"
    );
    assert_eq!(
        resolver
            .reverse_kwargs("year_archive", &[("year", &2001)])
            .unwrap(),
        "/employee/2001/"
    );
}

#[test]
fn reverse_percent_encodes_all_but_the_safe_characters() {
    let resolver = resolver(directory());
    assert_eq!(
        resolver.reverse("file", &[&"a b/c?d"]).unwrap(),
        "/f/a%20b/c%3Fd"
    );
    let safe = "AZaz09-._~!$&'()*+,;=:@";
    assert_eq!(
        resolver.reverse("str", &[&safe]).unwrap(),
        format!("/s/{safe}/")
    );
    assert_eq!(
        resolver.reverse("str", &[&"%#\"<>[]é"]).unwrap(),
        "/s/%25%23%22%3C%3E%5B%5D%C3%A9/"
    );
}

#[test]
fn reverse_escapes_a_leading_double_slash() {
    let resolver = resolver(UrlConf::new([path("<path:rest>", echo("any")).name("any")]));
    let url = resolver.reverse("any", &[&"/evil.com"]).unwrap();
    assert_eq!(url, "/%2Fevil.com");
    assert_eq!(param(&resolver, &url, "rest").as_deref(), Some("/evil.com"));
}

#[test]
fn reverse_refuses_values_that_do_not_fit_the_converter() {
    let resolver = resolver(directory());
    let err = resolver.reverse("directory_missing", &[]).unwrap_err();
    assert!(
        err.to_string()
            .contains("not a valid view function or pattern name"),
        "{err}"
    );
    let err = resolver.reverse("year_archive", &[&"abc"]).unwrap_err();
    assert!(err.to_string().contains("not found"), "{err}");
    assert!(resolver.reverse("year_archive", &[&-5]).is_err());
    assert!(resolver.reverse("year_archive", &[]).is_err());
    assert!(resolver.reverse("year_archive", &[&1, &2]).is_err());
    assert!(resolver.reverse("str", &[&"a/b"]).is_err());
    assert!(
        resolver
            .reverse("uuid", &[&"123E4567-E89B-12D3-A456-426614174000"])
            .is_err()
    );
    assert!(resolver.reverse("file", &[&""]).is_err());
}

#[test]
fn reverse_kwargs_needs_exactly_the_routes_parameters() {
    let resolver = resolver(directory());
    assert_eq!(
        resolver.reverse_kwargs("detail", &[("pk", &7)]).unwrap(),
        "/employee/id/7/"
    );
    assert!(resolver.reverse_kwargs("detail", &[("id", &7)]).is_err());
    assert!(
        resolver
            .reverse_kwargs("detail", &[("pk", &7), ("x", &1)])
            .is_err()
    );
    assert!(resolver.reverse_kwargs("detail", &[]).is_err());
}

#[test]
fn reverse_then_resolve_gives_the_same_parameters() {
    let resolver = resolver(directory());
    let cases: [(&str, &str, &str); 6] = [
        ("year_archive", "year", "2001"),
        ("detail", "pk", "7"),
        ("slug", "slug", "o-neil_2"),
        ("str", "s", "café & co; 100%"),
        ("uuid", "id", "123e4567-e89b-12d3-a456-426614174000"),
        ("file", "p", "a b/c?d#e/ü.txt"),
    ];
    for (name, key, value) in cases {
        let url = resolver.reverse(name, &[&value]).unwrap();
        let found = resolver
            .resolve(&url)
            .unwrap_or_else(|| panic!("{url} does not resolve"));
        assert_eq!(found.name(), Some(name), "{url}");
        assert_eq!(found.params().get(key), Some(value), "{url}");
        let by_name = resolver.reverse_kwargs(name, &[(key, &value)]).unwrap();
        assert_eq!(by_name, url);
    }
}

#[test]
fn among_routes_sharing_a_name_the_last_that_fits_wins_as_in_django() {
    let resolver = resolver(UrlConf::new([
        path("a/<slug:x>/", echo("a")).name("n"),
        path("b/<int:x>/", echo("b")).name("n"),
    ]));
    assert_eq!(resolver.reverse("n", &[&5]).unwrap(), "/b/5/");
    assert_eq!(resolver.reverse("n", &[&"x-y"]).unwrap(), "/a/x-y/");
    let err = resolver.reverse("n", &[&"a b"]).unwrap_err();
    assert!(err.to_string().contains("2 pattern(s) tried"), "{err}");
}

// --- include and namespaces ---

#[test]
fn include_joins_prefixes_and_namespaces_names() {
    let resolver = resolver(directory());
    let found = resolver.resolve("/employee/2001/").unwrap();
    assert_eq!(found.route(), "employee/<int:year>/");
    // `directory()` includes without an app_name: names stay in the root namespace.
    assert_eq!(found.name(), Some("year_archive"));

    let staff = UrlConf::new([path("<int:pk>/", echo("member")).name("detail")]).app_name("staff");
    let company = UrlConf::new([include("staff/", staff), path("", echo("c")).name("index")])
        .app_name("company");
    let resolver = self::resolver(UrlConf::new([include("company/", company)]));
    let found = resolver.resolve("/company/staff/7/").unwrap();
    assert_eq!(found.route(), "company/staff/<int:pk>/");
    assert_eq!(found.name(), Some("company:staff:detail"));
    assert_eq!(
        resolver.reverse("company:staff:detail", &[&7]).unwrap(),
        "/company/staff/7/"
    );
    assert_eq!(resolver.reverse("company:index", &[]).unwrap(), "/company/");
    assert!(resolver.reverse("detail", &[&7]).is_err());
    assert!(resolver.reverse("staff:detail", &[&7]).is_err());
    let err = resolver.reverse("company:nope:detail", &[&7]).unwrap_err();
    assert!(
        err.to_string()
            .contains("'nope' is not a registered namespace inside 'company'")
    );
}

#[test]
fn include_prefixes_may_hold_parameters() {
    let inner = UrlConf::new([path("<int:pk>/", echo("x")).name("x")]);
    let resolver = resolver(UrlConf::new([include("org/<slug:org>/", inner)]));
    let found = resolver.resolve("/org/acme/3/").unwrap();
    assert_eq!(
        found.params().iter().collect::<Vec<_>>(),
        [("org", "acme"), ("pk", "3")]
    );
    assert_eq!(
        resolver.reverse("x", &[&"acme", &3]).unwrap(),
        "/org/acme/3/"
    );
}

fn app() -> UrlConf {
    UrlConf::new([path("<int:pk>/", echo("app")).name("detail")]).app_name("people")
}

#[test]
fn an_instance_namespace_overrides_the_app_name() {
    let resolver = resolver(UrlConf::new([
        include("first/", app()).namespace("first"),
        include("second/", app()).namespace("second"),
    ]));
    assert_eq!(
        resolver.reverse("first:detail", &[&1]).unwrap(),
        "/first/1/"
    );
    assert_eq!(
        resolver.reverse("second:detail", &[&1]).unwrap(),
        "/second/1/"
    );
    assert_eq!(
        resolver.resolve("/first/1/").unwrap().name(),
        Some("first:detail")
    );
    // Without a default instance, the application namespace means the last one deployed.
    assert_eq!(
        resolver.reverse("people:detail", &[&1]).unwrap(),
        "/second/1/"
    );

    let resolver = self::resolver(UrlConf::new([
        include("main/", app()),
        include("other/", app()).namespace("other"),
    ]));
    assert_eq!(
        resolver.reverse("people:detail", &[&1]).unwrap(),
        "/main/1/"
    );
}

#[test]
fn misplaced_builder_methods_and_clashing_namespaces_fail_the_build() {
    let cases = [
        UrlConf::new([include("a/", app()).name("x")]),
        UrlConf::new([include("a/", app()).methods(&[Method::GET])]),
        UrlConf::new([
            include("a/", app()).layer(SetResponseHeaderLayer::overriding(
                HeaderName::from_static("x-a"),
                HeaderValue::from_static("1"),
            )),
        ]),
        UrlConf::new([path("a/", echo("a")).namespace("x")]),
        UrlConf::new([include("a/", UrlConf::new([])).namespace("x")]),
        UrlConf::new([include("a/", app()), include("b/", app())]),
        UrlConf::new([path("a/", echo("a")).name("a:b")]),
        UrlConf::new([include("a/", app()).namespace("x:y")]),
    ];
    let errors: Vec<String> = cases
        .into_iter()
        .map(|urls| Resolver::new(urls).unwrap_err().to_string())
        .collect();
    assert!(errors[0].contains("name() applies to path()"), "{errors:?}");
    assert!(errors[4].contains("without an app_name"), "{errors:?}");
    assert_eq!(errors[5], "URL namespace 'people' isn't unique");
}

// --- the dispatcher ---

#[tokio::test]
async fn the_view_sees_its_parameters_and_route_in_extensions() {
    let view = |request: Request| async move {
        let route = request.extensions().get::<ResolvedRoute>().unwrap().clone();
        let resolver = request.extensions().get::<Arc<Resolver>>().unwrap();
        let back = resolver
            .reverse(route.name.as_deref().unwrap(), &[&"x"])
            .unwrap();
        format!("{} {:?} {back}", route.route, route.name)
    };
    let urls = UrlConf::new([include(
        "t/",
        UrlConf::new([path("<slug:s>/", view).name("v")]).app_name("ns"),
    )]);
    assert_eq!(
        client(urls).get("/t/x/").await.text(),
        "t/<slug:s>/ Some(\"ns:v\") /t/x/"
    );
}

#[tokio::test]
async fn append_slash_redirects_to_the_slashed_path_keeping_the_query() {
    let client = client(directory());
    let response = client.get("/employee/2001?x=1&y=%20").await;
    assert_eq!(response.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        response.header("location"),
        Some("/employee/2001/?x=1&y=%20")
    );
    let post = client
        .send(Method::POST, "/employee/2001", Body::empty())
        .await;
    assert_eq!(post.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(post.header("location"), Some("/employee/2001/"));
}

#[tokio::test]
async fn append_slash_only_redirects_when_the_slashed_path_resolves() {
    let client = client(years_only());
    assert_eq!(client.get("/nothere").await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        client.get("/employee/abc").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client.get("/employee/abc/").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        client.get("/employee/2001").await.status,
        StatusCode::MOVED_PERMANENTLY
    );
    let off = client_with(|dispatcher| dispatcher.append_slash(false), years_only());
    assert_eq!(
        off.get("/employee/2001").await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn append_slash_never_redirects_to_another_host() {
    let client = client(UrlConf::new([path("<path:rest>/", echo("any"))]));
    let response = client.get("//evil.com").await;
    assert_eq!(response.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(response.header("location"), Some("/%2Fevil.com/"));
}

#[tokio::test]
async fn append_slash_in_debug_refuses_to_drop_a_post_body() {
    let client = client_with(|dispatcher| dispatcher.debug(true), years_only());
    let post = client
        .send(Method::POST, "/employee/2001", Body::empty())
        .await;
    assert_eq!(post.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(post.text().contains("/employee/2001/"), "{}", post.text());
    assert_eq!(
        client.get("/employee/2001").await.status,
        StatusCode::MOVED_PERMANENTLY
    );
}

#[tokio::test]
async fn restricted_methods_get_405_with_allow() {
    let urls = UrlConf::new([
        path("read/", echo("read")).methods(&[Method::GET]),
        path("write/", echo("write")).methods(&[Method::POST]),
        path("any/", echo("any")),
    ]);
    let client = client(urls);
    let post = client.send(Method::POST, "/read/", Body::empty()).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    assert_eq!(
        client
            .send(Method::HEAD, "/read/", Body::empty())
            .await
            .status,
        StatusCode::OK
    );
    let get = client.get("/write/").await;
    assert_eq!(
        (get.status, get.header("allow")),
        (StatusCode::METHOD_NOT_ALLOWED, Some("POST"))
    );
    assert_eq!(client.post_form("/write/", "").await.text(), "write ");
    let delete = client.send(Method::DELETE, "/any/", Body::empty()).await;
    assert_eq!(delete.text(), "any ");
}

#[tokio::test]
async fn a_layer_wraps_only_its_route() {
    let layer = SetResponseHeaderLayer::overriding(
        HeaderName::from_static("x-cached"),
        HeaderValue::from_static("yes"),
    );
    let client = client(UrlConf::new([
        path("a/", echo("a")).layer(layer),
        path("b/", echo("b")),
    ]));
    assert_eq!(client.get("/a/").await.header("x-cached"), Some("yes"));
    assert_eq!(client.get("/b/").await.header("x-cached"), None);
}

#[tokio::test]
async fn path_service_routes_to_a_ready_service() {
    let service = App::new(tower::service_fn(|_request: Request| async {
        Ok::<_, std::convert::Infallible>(herd_core::response::Html("<p>ready</p>").into_response())
    }));
    let response = client(UrlConf::new([path_service("svc/", service)]))
        .get("/svc/")
        .await;
    assert_eq!(response.text(), "<p>ready</p>");
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=utf-8")
    );
}

#[tokio::test]
async fn not_found_is_the_bare_page_without_debug() {
    let response = client(directory()).get("/nothere/").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.text(), bare_page(StatusCode::NOT_FOUND));
    assert!(!response.text().contains("employee"));
}

#[tokio::test]
async fn the_debug_404_page_lists_the_patterns_escaped() {
    let urls = UrlConf::new([
        path("employee/<int:year>/", echo("year")).name("year_archive"),
        path("a&b/", echo("ab")),
    ]);
    let client = client_with(|dispatcher| dispatcher.debug(true), urls);
    let response = client.get("/%3Cscript%3Ealert(1)%3C/script%3E/").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    let page = response.text();
    assert!(
        page.contains("<li>employee/&lt;int:year&gt;/ [name='year_archive']</li>"),
        "{page}"
    );
    assert!(page.contains("<li>a&amp;b/</li>"), "{page}");
    assert!(
        page.contains("<code>&lt;script&gt;alert(1)&lt;/script&gt;/</code>"),
        "{page}"
    );
    assert!(!page.contains("<script>"), "{page}");
}

#[test]
fn patterns_lists_every_route_in_order() {
    let urls = UrlConf::new([
        path("a/", echo("a")).methods(&[Method::POST]),
        include("n/", app()),
    ]);
    let routes = resolver(urls).patterns();
    assert_eq!(routes.len(), 2);
    assert_eq!(
        (routes[0].route.as_str(), routes[0].name.as_deref()),
        ("a/", None)
    );
    assert_eq!(routes[0].methods, Some(vec![Method::POST]));
    assert_eq!(
        (routes[1].route.as_str(), routes[1].name.as_deref()),
        ("n/<int:pk>/", Some("people:detail"))
    );
    assert_eq!(routes[1].methods, None);
}

// --- indexing ---

#[test]
fn resolving_among_ten_thousand_routes_tries_only_a_handful() {
    let mut patterns: Vec<Pattern> = Vec::new();
    for i in 0..10_000 {
        patterns.push(path(&format!("section{i}/<int:pk>/"), echo("section")));
        patterns.push(path(&format!("page{i}"), echo("page")));
    }
    patterns.push(path("<slug:s>/", echo("catch-all")));
    let resolver = resolver(UrlConf::new(patterns));

    let (found, tried) = resolver.resolve_counted("/section9999/5/");
    assert_eq!(found.unwrap().route(), "section9999/<int:pk>/");
    assert!(tried <= 2, "tried {tried} candidates");

    let (found, tried) = resolver.resolve_counted("/page9999");
    assert_eq!(found.unwrap().route(), "page9999");
    assert!(tried <= 2, "tried {tried} candidates");

    // The section route rejects the value; the catch-all declared after it still answers.
    let (found, tried) = resolver.resolve_counted("/section5/");
    assert_eq!(found.unwrap().route(), "<slug:s>/");
    assert!(tried <= 2, "tried {tried} candidates");

    let (found, tried) = resolver.resolve_counted("/nowhere/at/all/");
    assert!(found.is_none());
    assert!(tried <= 2, "tried {tried} candidates");
}

#[test]
fn the_index_keeps_declaration_order_across_prefixes() {
    let resolver = resolver(UrlConf::new([
        path("<str:any>/x/", echo("first")),
        path("a/<str:s>/", echo("second")),
        path("a/b/", echo("third")),
    ]));
    assert_eq!(resolver.resolve("/a/x/").unwrap().route(), "<str:any>/x/");
    assert_eq!(resolver.resolve("/a/b/").unwrap().route(), "a/<str:s>/");
    assert_eq!(
        resolver
            .resolve("/a/b")
            .map(|found| found.route().to_owned()),
        None
    );
}
