//! Logging in and out through the site's forms, with CSRF and sessions.

use herd::auth::hashers::make_password;
use herd::auth::models::User;
use herd::core::Body;
use herd::db::Model;
use herd_test_support::TestResponse;

use crate::common::TestSite;

async fn user(site: &TestSite, username: &str, password: &str) {
    let encoded = make_password(password);
    User::create(site.site.db(), User::new(username, encoded))
        .await
        .unwrap();
}

/// The value of cookie `name` set by `response`, if any.
fn set_cookie(response: &TestResponse, name: &str) -> Option<String> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .find_map(|value| {
            let value = value.to_str().ok()?;
            let pair = value.split(';').next()?;
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
}

/// The CSRF token rendered in the page's form.
fn form_token(page: &TestResponse) -> String {
    let marker = "name=\"csrfmiddlewaretoken\" value=\"";
    let start = page.text().find(marker).expect("the page has a CSRF field") + marker.len();
    page.text()[start..start + 64].to_owned()
}

async fn post(site: &TestSite, path: &str, cookies: &str, form: &str) -> TestResponse {
    let request = http::Request::builder()
        .method("POST")
        .uri(path)
        .header("cookie", cookies)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap();
    site.client.request(request).await
}

/// Logs `username` in through the form; returns the session cookie's value.
pub(crate) async fn log_in(
    client: &herd_test_support::TestClient,
    username: &str,
    password: &str,
) -> String {
    let page = client.get("/accounts/login/").await;
    let csrf = set_cookie(&page, "csrftoken").unwrap();
    let token = form_token(&page);
    let request = http::Request::builder()
        .method("POST")
        .uri("/accounts/login/")
        .header("cookie", format!("csrftoken={csrf}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!(
            "csrfmiddlewaretoken={token}&username={username}&password={}",
            password.replace(' ', "+")
        )))
        .unwrap();
    let response = client.request(request).await;
    assert_eq!(response.status, 302, "login failed");
    set_cookie(&response, "sessionid").unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_logs_in_with_the_form_and_out_with_a_post() {
    let site = TestSite::new(0).await;
    user(&site, "ann", "correct horse battery staple").await;

    let page = site
        .client
        .get("/accounts/login/?next=/employee/2010/")
        .await;
    assert_eq!(page.status, 200);
    assert!(page.header("cache-control").unwrap().contains("no-store"));
    let csrf = set_cookie(&page, "csrftoken").expect("the form sets the CSRF cookie");
    let token = form_token(&page);

    let wrong = post(
        &site,
        "/accounts/login/",
        &format!("csrftoken={csrf}"),
        &format!("csrfmiddlewaretoken={token}&username=ann&password=nope&next=/employee/2010/"),
    )
    .await;
    assert_eq!(wrong.status, 200);
    assert!(
        wrong
            .text()
            .contains("Please enter a correct username and password.")
    );
    assert!(set_cookie(&wrong, "sessionid").is_none());

    let forged = post(
        &site,
        "/accounts/login/",
        "",
        "username=ann&password=correct+horse+battery+staple",
    )
    .await;
    assert_eq!(forged.status, 403);

    let ok = post(&site, "/accounts/login/", &format!("csrftoken={csrf}"), &format!(
        "csrfmiddlewaretoken={token}&username=ann&password=correct+horse+battery+staple&next=/employee/2010/"
    ))
    .await;
    assert_eq!(ok.status, 302);
    assert_eq!(ok.header("location"), Some("/employee/2010/"));
    let session = set_cookie(&ok, "sessionid").expect("login sets the session cookie");
    let rotated = set_cookie(&ok, "csrftoken").expect("login rotates the CSRF secret");
    assert_ne!(rotated, csrf);

    let logout_get = site
        .client
        .request(
            http::Request::builder()
                .uri("/accounts/logout/")
                .header("cookie", format!("sessionid={session}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(logout_get.status, 405);

    let page = site.client.get("/accounts/login/").await;
    let token = form_token(&page);
    let csrf = set_cookie(&page, "csrftoken").unwrap();
    let out = post(
        &site,
        "/accounts/logout/",
        &format!("sessionid={session}; csrftoken={csrf}"),
        &format!("csrfmiddlewaretoken={token}"),
    )
    .await;
    assert_eq!(out.status, 302);
    let deleting = out.headers.get_all("set-cookie").iter().any(|value| {
        let value = value.to_str().unwrap();
        value.starts_with("sessionid=\"\"") || value.starts_with("sessionid=;")
    });
    assert!(
        deleting,
        "logout sends the deleting cookie: {:?}",
        out.headers
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsafe_next_falls_back_to_the_home_page() {
    let site = TestSite::new(0).await;
    user(&site, "bea", "another horse battery staple").await;
    for next in [
        "https://evil.com/",
        "//evil.com",
        "/%5Cevil.com",
        "javascript:alert(1)",
    ] {
        let page = site.client.get("/accounts/login/").await;
        let csrf = set_cookie(&page, "csrftoken").unwrap();
        let token = form_token(&page);
        let ok = post(&site, "/accounts/login/", &format!("csrftoken={csrf}"), &format!(
            "csrfmiddlewaretoken={token}&username=bea&password=another+horse+battery+staple&next={next}"
        ))
        .await;
        assert_eq!(ok.status, 302, "{next}");
        assert_eq!(ok.header("location"), Some("/"), "{next}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn adding_an_employee_needs_a_login_and_the_add_permission() {
    let site = TestSite::new(0).await;
    let anonymous = site.client.get("/employee/new/?a=1").await;
    assert_eq!(anonymous.status, 302);
    assert_eq!(
        anonymous.header("location"),
        Some("/accounts/login/?next=/employee/new/%3Fa%3D1")
    );

    user(&site, "clerk", "plain clerk password 1").await;
    let clerk = log_in(&site.client, "clerk", "plain clerk password 1").await;
    let get = |session: String| {
        http::Request::builder()
            .uri("/employee/new/")
            .header("cookie", format!("sessionid={session}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(site.client.request(get(clerk)).await.status, 403);

    let encoded = make_password("boss password with rights");
    let mut boss = User::new("boss", encoded);
    boss.is_superuser = true;
    User::create(site.site.db(), boss).await.unwrap();
    let boss = log_in(&site.client, "boss", "boss password with rights").await;
    let form = site.client.request(get(boss.clone())).await;
    assert_eq!(form.status, 200);
    let csrf = set_cookie(&form, "csrftoken").unwrap();
    let token = form_token(&form);
    let cookies = format!("sessionid={boss}; csrftoken={csrf}");

    let empty = post(
        &site,
        "/employee/new/",
        &cookies,
        &format!("csrfmiddlewaretoken={token}"),
    )
    .await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.text().matches("This field is required.").count(), 3);

    let created = post(&site, "/employee/new/", &cookies, &format!(
        "csrfmiddlewaretoken={token}&name=Zo%C3%AB+%3CNew%3E&address=1+Road&hire_date=2024-02-29"
    ))
    .await;
    assert_eq!(created.status, 302);
    let location = created.header("location").unwrap().to_owned();
    assert!(location.starts_with("/employee/id/"), "{location}");
    let page = site.client.get(&location).await;
    assert!(page.text().contains("Zoë &lt;New&gt;"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sixth_wrong_password_in_a_row_gets_429_on_any_worker() {
    let db = herd_test_support::TestDatabase::new().await;
    let redis = herd_test_support::TestRedis::new().await;
    crate::common::migrate_and_seed(db.url(), redis.url(), 0).await;
    let settings = [
        ("HERD_CACHE__BACKEND", "dummy"),
        ("HERD_CACHE__KEY_PREFIX", redis.prefix()),
    ];
    let (site_a, client_a) = crate::common::worker(db.url(), redis.url(), &settings);
    let (_site_b, client_b) = crate::common::worker(db.url(), redis.url(), &settings);
    User::create(
        site_a.db(),
        User::new("dan", make_password("the right password 42")),
    )
    .await
    .unwrap();

    let attempt = |client: herd_test_support::TestClient, password: &'static str| async move {
        let page = client.get("/accounts/login/").await;
        let csrf = set_cookie(&page, "csrftoken").unwrap();
        let token = form_token(&page);
        let request = http::Request::builder()
            .method("POST")
            .uri("/accounts/login/")
            .header("cookie", format!("csrftoken={csrf}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "csrfmiddlewaretoken={token}&username=dan&password={password}"
            )))
            .unwrap();
        client.request(request).await
    };
    for round in 0..5 {
        let client = if round % 2 == 0 {
            client_a.clone()
        } else {
            client_b.clone()
        };
        assert_eq!(
            attempt(client, "wrong").await.status,
            200,
            "failure {round}"
        );
    }
    let sixth = attempt(client_b.clone(), "the+right+password+42").await;
    assert_eq!(sixth.status, 429, "locked out even with the right password");
    let retry_after: u64 = sixth.header("retry-after").unwrap().parse().unwrap();
    assert!(retry_after > 0 && retry_after <= 15 * 60);
    assert_eq!(attempt(client_a, "the+right+password+42").await.status, 429);
}

/// Grants `codename` of the directory app to `username` directly.
async fn grant(site: &TestSite, username: &str, codename: &str) {
    use herd::auth::models::{Permission, UserPermission};
    use herd::db::ForeignKey;
    let db = site.site.db();
    let user = User::objects()
        .get(db, User::username().exact(username))
        .await
        .unwrap();
    let permission = Permission::objects()
        .get(db, Permission::codename().exact(codename))
        .await
        .unwrap();
    UserPermission::create(
        db,
        UserPermission {
            id: 0,
            user: ForeignKey::from(&user),
            permission: ForeignKey::from(&permission),
        },
    )
    .await
    .unwrap();
}

/// A password change with mistakes: old, new and again, the messages shown and those not.
type Mistake<'a> = (&'a str, &'a str, &'a str, &'a [&'a str], &'a [&'a str]);

/// GETs `path` with the session cookie.
async fn get_as(site: &TestSite, session: &str, path: &str) -> TestResponse {
    let request = http::Request::builder()
        .uri(path)
        .header("cookie", format!("sessionid={session}"))
        .body(Body::empty())
        .unwrap();
    site.client.request(request).await
}

#[tokio::test(flavor = "multi_thread")]
async fn editing_an_employee_needs_the_change_permission_and_saves_through_the_model_form() {
    use herd_directory::models::Employee;
    let site = TestSite::new(0).await;
    let ann = Employee::create(
        site.site.db(),
        Employee {
            id: 0,
            name: "Ann".to_owned(),
            address: "1 Road".to_owned(),
            hire_date: chrono::NaiveDate::from_ymd_opt(2010, 3, 4).unwrap(),
        },
    )
    .await
    .unwrap();
    let edit_path = format!("/employee/id/{}/edit/", ann.id);

    let anonymous = site.client.get(&edit_path).await;
    assert_eq!(anonymous.status, 302);
    user(&site, "clerk", "plain clerk password 1").await;
    grant(&site, "clerk", "add_employee").await;
    let clerk = log_in(&site.client, "clerk", "plain clerk password 1").await;
    assert_eq!(get_as(&site, &clerk, &edit_path).await.status, 403);

    grant(&site, "clerk", "change_employee").await;
    let form = get_as(&site, &clerk, &edit_path).await;
    assert_eq!(form.status, 200);
    assert!(form.text().contains("<h1>Edit Ann</h1>"));
    assert!(form.text().contains(r#"value="1 Road""#));
    assert!(form.text().contains(r#"value="2010-03-04""#));
    assert!(form.text().contains(&format!(r#"action="{edit_path}""#)));
    assert_eq!(
        get_as(&site, &clerk, "/employee/id/999999/edit/")
            .await
            .status,
        404
    );

    let csrf = set_cookie(&form, "csrftoken").unwrap();
    let token = form_token(&form);
    let cookies = format!("sessionid={clerk}; csrftoken={csrf}");
    let invalid = post(
        &site,
        &edit_path,
        &cookies,
        &format!("csrfmiddlewaretoken={token}&name=&address=2+Lane&hire_date=2011-02-30"),
    )
    .await;
    assert_eq!(invalid.status, 200);
    assert!(invalid.text().contains("This field is required."));
    assert!(invalid.text().contains("Enter a valid date."));
    assert!(
        invalid.text().contains(r#"value="2 Lane""#),
        "the input is kept"
    );

    let saved = post(
        &site,
        &edit_path,
        &cookies,
        &format!(
            "csrfmiddlewaretoken={token}&name=Ann+%3CB%3E&address=2+Lane&hire_date=2011-02-28"
        ),
    )
    .await;
    assert_eq!(saved.status, 302);
    assert_eq!(
        saved.header("location"),
        Some(format!("/employee/id/{}/", ann.id).as_str())
    );
    let stored = Employee::objects()
        .get(site.site.db(), Employee::id().exact(ann.id))
        .await
        .unwrap();
    assert_eq!(
        (
            stored.name.as_str(),
            stored.address.as_str(),
            stored.hire_date.to_string()
        ),
        ("Ann <B>", "2 Lane", "2011-02-28".to_owned())
    );
    assert_eq!(Employee::objects().count(site.site.db()).await.unwrap(), 1);
    let page = site.client.get(&format!("/employee/id/{}/", ann.id)).await;
    assert!(page.text().contains("Ann &lt;B&gt;"));
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_password_keeps_this_session_and_ends_the_others() {
    let site = TestSite::new(0).await;
    let old = "correct horse battery staple";
    let new = "a new horse battery staple";
    user(&site, "ann", old).await;
    let anonymous = site.client.get("/accounts/password_change/").await;
    assert_eq!(anonymous.status, 302);
    assert_eq!(
        anonymous.header("location"),
        Some("/accounts/login/?next=/accounts/password_change/")
    );

    let here = log_in(&site.client, "ann", old).await;
    let elsewhere = log_in(&site.client, "ann", old).await;
    let form = get_as(&site, &here, "/accounts/password_change/").await;
    assert_eq!(form.status, 200);
    assert!(
        form.text()
            .contains(r#"type="password" name="old_password""#)
    );
    let csrf = set_cookie(&form, "csrftoken").unwrap();
    let token = form_token(&form);
    let cookies = format!("sessionid={here}; csrftoken={csrf}");
    let change = |old: &str, new1: &str, new2: &str| {
        let body = format!(
            "csrfmiddlewaretoken={token}&old_password={}&new_password1={}&new_password2={}",
            old.replace(' ', "+"),
            new1.replace(' ', "+"),
            new2.replace(' ', "+")
        );
        let cookies = cookies.clone();
        let site = &site;
        async move { post(site, "/accounts/password_change/", &cookies, &body).await }
    };

    // Each mistake gets the form back with Django's messages; no password is ever shown back.
    let wrong_old = "Your old password was entered incorrectly.";
    let mismatch = "The two password fields didn’t match.";
    let too_short = "This password is too short.";
    let numeric = "This password is entirely numeric.";
    let other = "something else entirely";
    let mistakes: [Mistake; 5] = [
        ("not it", new, new, &[wrong_old], &[mismatch]),
        (old, new, other, &[mismatch], &[wrong_old]),
        ("not it", new, other, &[wrong_old, mismatch], &[]),
        ("not it", "12345", "12345", &[wrong_old, too_short], &[]),
        (old, "12345", "12345", &[too_short, numeric], &[wrong_old]),
    ];
    for (given, new1, new2, shown, not_shown) in mistakes {
        let page = change(given, new1, new2).await;
        let case = format!("{given} / {new1} / {new2}");
        assert_eq!(page.status, 200, "{case}");
        for message in shown {
            assert!(page.text().contains(message), "{message} for {case}");
        }
        for message in not_shown {
            assert!(!page.text().contains(message), "{message} for {case}");
        }
        assert!(!page.text().contains("not it"), "{case}");
    }

    let done = change(old, new, new).await;
    assert_eq!(done.status, 302);
    assert_eq!(
        done.header("location"),
        Some("/accounts/password_change/done/")
    );
    let renewed = set_cookie(&done, "sessionid").expect("the session key is cycled");
    assert_ne!(renewed, here);
    let page = get_as(&site, &renewed, "/accounts/password_change/done/").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Signed in as ann"));
    assert_eq!(
        get_as(&site, &elsewhere, "/accounts/password_change/done/")
            .await
            .status,
        302,
        "the other session is over"
    );
    assert_eq!(
        get_as(&site, &here, "/accounts/password_change/done/")
            .await
            .status,
        302,
        "the old key of this session is dead"
    );
    log_in(&site.client, "ann", new).await;
}
