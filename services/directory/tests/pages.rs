//! The site's pages: content, escaping, redirects and bad input.

use chrono::NaiveDate;
use herd::db::Model;
use herd_directory::models::Employee;

use crate::common::TestSite;

async fn hire(site: &TestSite, name: &str, address: &str, date: (i32, u32, u32)) -> Employee {
    let hire_date = NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap();
    let employee = Employee {
        id: 0,
        name: name.to_owned(),
        address: address.to_owned(),
        hire_date,
    };
    Employee::create(site.site.db(), employee).await.unwrap()
}

async fn count_hired_in(site: &TestSite, year: i32) -> usize {
    let client = crate::common::sql(site.db.url()).await;
    let row = client
        .query_one(
            "SELECT COUNT(*) FROM directory_employee WHERE EXTRACT(YEAR FROM hire_date)::int = $1",
            &[&year],
        )
        .await
        .unwrap();
    usize::try_from(row.get::<_, i64>(0)).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_year_archive_lists_exactly_the_employees_hired_that_year() {
    let site = TestSite::new(2_000).await;
    hire(&site, "Last Day", "31 Dec Road", (2010, 12, 31)).await;
    hire(&site, "First Day", "1 Jan Road", (2010, 1, 1)).await;
    hire(&site, "Too Early", "Eve Street", (2009, 12, 31)).await;
    hire(&site, "Too Late", "Dawn Street", (2011, 1, 1)).await;

    let response = site.client.get("/employee/2010/").await;
    assert_eq!(response.status, 200);
    let rows = response.text().matches("<tr><td>").count();
    assert_eq!(rows, count_hired_in(&site, 2010).await);
    assert!(response.text().contains("First Day") && response.text().contains("Last Day"));
    assert!(!response.text().contains("Too Early") && !response.text().contains("Too Late"));
}

#[tokio::test(flavor = "multi_thread")]
async fn names_and_addresses_are_escaped_in_the_year_archive() {
    let site = TestSite::new(0).await;
    hire(
        &site,
        r#"<script>alert("x")</script> O'Neil & Co"#,
        "{{7*7}} <b>Main</b> St",
        (2010, 5, 5),
    )
    .await;
    let page = site.client.get("/employee/2010/").await;
    let html = page.text();
    assert!(
        html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; O&#x27;Neil &amp; Co"),
        "{html}"
    );
    assert!(html.contains("{{7*7}} &lt;b&gt;Main&lt;/b&gt; St"));
    assert!(!html.contains("<script>") && !html.contains("<b>Main"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_year_without_its_slash_redirects_permanently() {
    let site = TestSite::new(0).await;
    let response = site.client.get("/employee/2010?x=1").await;
    assert_eq!(response.status, 301);
    assert_eq!(response.header("location"), Some("/employee/2010/?x=1"));
    assert_eq!(site.client.get("/nothere").await.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_years_are_not_found_and_an_empty_year_is_an_empty_page() {
    let site = TestSite::new(100).await;
    for path in [
        "/employee/abc/",
        "/employee/-1/",
        "/employee/+2001/",
        "/employee/0x7d1/",
        "/employee/2e3/",
        "/employee/2001.0/",
        "/employee/%202001/",
        "/employee/%EF%BC%92%EF%BC%90%EF%BC%90%EF%BC%91/",
        "/employee/99999999999999999999/",
        "/employee/%ff/",
    ] {
        let response = site.client.get(path).await;
        assert_eq!(response.status, 404, "{path}");
        assert!(response.text().contains("<h1>Not Found</h1>"), "{path}");
    }
    let long = format!("/employee/{}/", "9".repeat(5_000));
    assert_eq!(site.client.get(&long).await.status, 404);
    let empty = site.client.get("/employee/1999/").await;
    assert_eq!(empty.status, 200);
    assert!(empty.text().contains("Nobody was hired in 1999."));
    assert_eq!(site.client.get("/employee/%32%30%30%31/").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_pages_by_fifty_and_refuses_pages_that_do_not_exist() {
    let site = TestSite::new(120).await;
    let first = site.client.get("/employee/").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.text().matches("<tr><td>").count(), 50);
    assert!(first.text().contains("rel=\"next\" href=\"?page=2\""));
    let last = site.client.get("/employee/?page=last").await;
    assert_eq!(last.text().matches("<tr><td>").count(), 20);
    for page in ["0", "-1", "x", "4", "99999999999999999999"] {
        assert_eq!(
            site.client
                .get(&format!("/employee/?page={page}"))
                .await
                .status,
            404,
            "{page}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn search_matches_names_literally_and_never_injects() {
    let site = TestSite::new(0).await;
    hire(&site, "Ann O'Neil", "1 Road", (2001, 1, 1)).await;
    hire(&site, "Bob 100% Smith_", "2 Road", (2001, 1, 1)).await;
    let found = site.client.get("/employee/?q=o%27neil").await;
    assert!(found.text().contains("Ann O&#x27;Neil") && !found.text().contains("Bob"));
    for attack in [
        "%27%20OR%201%3D1%20--",
        "%25",
        "_",
        "%5C",
        "%3B%20DROP%20TABLE%20directory_employee%3B%20--",
    ] {
        let response = site.client.get(&format!("/employee/?q={attack}")).await;
        assert_eq!(response.status, 200, "{attack}");
        assert!(!response.text().contains("Ann O"), "{attack}");
    }
    let percent = site.client.get("/employee/?q=100%25").await;
    assert!(percent.text().contains("Bob 100% Smith_"));
    assert_eq!(site.client.get("/employee/?q=%ff").await.status, 200);
    assert_eq!(Employee::objects().count(site.site.db()).await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn detail_pages_show_one_employee_and_404_for_a_missing_id() {
    let site = TestSite::new(0).await;
    let ann = hire(&site, "Ann & Co", "1 Road", (2003, 4, 5)).await;
    let page = site.client.get(&format!("/employee/id/{}/", ann.id)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("Ann &amp; Co") && page.text().contains("href=\"/employee/2003/\"")
    );
    assert_eq!(site.client.get("/employee/id/999999/").await.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn home_and_names_render_with_hashed_static_urls() {
    let site = TestSite::new(300).await;
    let home = site.client.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.text().contains("300 employees"));
    let css = site.site.static_files().url("css/site.css").unwrap();
    assert!(home.text().contains(&css));
    let stylesheet = site.client.get(&css).await;
    assert_eq!(stylesheet.status, 200);
    assert!(
        stylesheet
            .header("cache-control")
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(
        site.client
            .get("/employee/name/")
            .await
            .text()
            .matches("<li>")
            .count(),
        50
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_host_is_a_bad_request() {
    let site = TestSite::new(0).await;
    let evil = site.client.clone().with_host("evil.com");
    assert_eq!(evil.get("/employee/2010/").await.status, 400);
    let localhost = site.client.clone().with_host("LOCALHOST:8000");
    assert_eq!(localhost.get("/employee/2010/").await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_response_carries_the_security_headers() {
    let site = TestSite::new(10).await;
    for path in [
        "/employee/2010/",
        "/employee/2010/",
        "/nothere/",
        "/employee/2010",
    ] {
        let response = site.client.get(path).await;
        assert_eq!(
            response.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(response.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(
            response.header("referrer-policy"),
            Some("same-origin"),
            "{path}"
        );
        assert_eq!(
            response.header("cross-origin-opener-policy"),
            Some("same-origin"),
            "{path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn trace_is_refused_and_a_forged_post_is_forbidden() {
    let site = TestSite::new(0).await;
    let trace = site
        .client
        .send(http::Method::TRACE, "/employee/", herd::core::Body::empty())
        .await;
    assert_eq!(trace.status, 405);
    assert!(trace.header("allow").is_some());
    let forged = site.client.post_form("/employee/", "name=x").await;
    assert_eq!(forged.status, 403);
    assert!(forged.text().contains("403 Forbidden"));
    assert!(forged.header("set-cookie").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_anonymous_page_sets_no_cookie_and_does_not_vary_on_cookie() {
    let site = TestSite::new(20).await;
    for path in ["/", "/employee/", "/employee/2010/", "/employee/id/3/"] {
        let page = site.client.get(path).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(page.header("set-cookie").is_none(), "{path}");
        assert!(
            !page
                .headers
                .get_all("vary")
                .iter()
                .any(|vary| vary.to_str().unwrap().contains("Cookie")),
            "{path}"
        );
    }
    let tampered = http::Request::builder()
        .uri("/employee/2010/")
        .header("cookie", "sessionid=forged:signature; csrftoken=x")
        .body(herd::core::Body::empty())
        .unwrap();
    assert_eq!(site.client.request(tampered).await.status, 200);
}
