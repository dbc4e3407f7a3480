//! `/accounts/login/` and `/accounts/logout/`: Django's `LoginView` and `LogoutView`.

use herd::auth::{authenticate, is_safe_url, login as log_in, logout as log_out};
use herd::csrf::CsrfToken;
use herd::prelude::*;
use herd::security::parse_form;
use herd::sessions::Session;
use serde::Serialize;

/// Where a login without a safe `next` goes (Django's `LOGIN_REDIRECT_URL`).
const LOGIN_REDIRECT_URL: &str = "/";

/// Django's message for a failed login.
const INVALID_LOGIN: &str =
    "Please enter a correct username and password. Note that both fields may be case-sensitive.";

#[derive(Serialize)]
struct LoginContext {
    username: String,
    next: String,
    error: Option<&'static str>,
    csrf_input: herd::templates::Value,
}

/// `GET` shows the form; `POST` logs in and redirects to a safe `next`, else `/`.
pub async fn login(request: Request) -> Result<Response> {
    let site = request.extension::<Site>()?.clone();
    let csrf = request.extension::<CsrfToken>()?.clone();
    let session = Session::from_request(&request)?;
    let secure = request.uri().scheme_str() == Some("https");
    let ip = client_ip(&request);
    let host = request
        .headers()
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let mut next = request.query_param("next").unwrap_or_default();
    if request.method() != http::Method::POST {
        return render_login(&site, String::new(), next, None, &csrf);
    }
    let body = request.into_body().collect_bytes().await?;
    let form = parse_form(&body, herd::security::DATA_UPLOAD_MAX_NUMBER_FIELDS)?;
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    let username = field("username").unwrap_or_default();
    let password = field("password").unwrap_or_default();
    if let Some(posted) = field("next") {
        next = posted;
    }
    let throttle = site.login_throttle();
    if let Some(retry_after) = throttle.blocked(&username, &ip).await {
        return Ok(too_many_attempts(retry_after));
    }
    let Some(mut user) = authenticate(site.db(), site.hashing(), &username, &password).await?
    else {
        throttle.failed(&username, &ip).await;
        return render_login(&site, username, next, Some(INVALID_LOGIN), &csrf);
    };
    throttle.succeeded(&username).await;
    log_in(site.db(), &session, &mut user, site.settings().secret_key()).await?;
    csrf.rotate();
    let target = if is_safe_url(&next, &host, secure) {
        next.trim()
    } else {
        LOGIN_REDIRECT_URL
    };
    Ok(Redirect::to(target)?.into_response())
}

/// The login form, never cached.
fn render_login(
    site: &Site,
    username: String,
    next: String,
    error: Option<&'static str>,
    csrf: &CsrfToken,
) -> Result<Response> {
    let context = LoginContext {
        username,
        next,
        error,
        csrf_input: csrf.hidden_input(),
    };
    let html = site
        .templates()
        .render("registration/login.html", context)?;
    let mut response = Html(html).into_response();
    herd::cache::headers::add_never_cache_headers(response.headers_mut());
    Ok(response)
}

/// `POST` only (405 otherwise, as Django 5): ends the session, then back to `/`.
pub async fn logout(request: Request) -> Result<Response> {
    let session = Session::from_request(&request)?;
    log_out(&session).await?;
    Ok(Redirect::to(LOGIN_REDIRECT_URL)?.into_response())
}

/// 429 with `Retry-After` for a login over its failure limit.
fn too_many_attempts(retry_after: std::time::Duration) -> Response {
    let page = "<!doctype html>\n<html lang=\"en\"><head><title>Too many attempts</title></head><body>\
                <h1>Too many failed logins</h1><p>Wait a while, then try again.</p></body></html>\n";
    let mut response = (http::StatusCode::TOO_MANY_REQUESTS, Html(page)).into_response();
    if let Ok(value) = http::HeaderValue::from_str(&retry_after.as_secs().max(1).to_string()) {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, value);
    }
    response
}

/// The client's IP: the address the nearest proxy appended to `X-Forwarded-For` (one trusted
/// hop, `herd-router`), else the TCP peer.
fn client_ip(request: &Request) -> String {
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .rfind(|hop| !hop.is_empty());
    match (
        forwarded,
        request.extensions().get::<herd::http::server::ClientAddr>(),
    ) {
        (Some(hop), _) => hop.to_owned(),
        (None, Some(peer)) => peer.0.ip().to_string(),
        (None, None) => "unknown".to_owned(),
    }
}
