//! `/accounts/login/`, `/accounts/logout/` and `/accounts/password_change/`: Django's
//! `LoginView`, `LogoutView` and `PasswordChangeView`.

use herd::auth::validators::{default_validators, user_attributes, validate_password};
use herd::auth::{
    CurrentUser, authenticate, is_safe_url, login as log_in, logout as log_out, set_password,
    update_session_auth_hash,
};
use herd::csrf::CsrfToken;
use herd::forms::Form;
use herd::prelude::*;
use herd::security::parse_form;
use herd::sessions::Session;
use serde::Serialize;

use crate::forms::PasswordChangeForm;

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
    let hops = site.settings().security.trusted_proxy_hops;
    let ip = request
        .client_ip(hops)
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
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

/// Django's message for a wrong old password.
const OLD_PASSWORD_INCORRECT: &str =
    "Your old password was entered incorrectly. Please enter it again.";

#[derive(Serialize)]
struct PasswordChangeContext {
    form: herd::templates::Value,
    form_csrf: herd::templates::Value,
}

/// `/accounts/password_change/` (login required): the form; a valid POST with the right old
/// password stores the new one, keeps this session (under a new key), ends every other session
/// of the user and redirects to `/accounts/password_change/done/`.
pub async fn password_change(request: Request) -> Result<Response> {
    let site = request.extension::<Site>()?.clone();
    let csrf = request.extension::<CsrfToken>()?.clone();
    let session = Session::from_request(&request)?;
    let Some(mut user) = request.extension::<CurrentUser>()?.0.clone() else {
        // The route's login_required layer lets no anonymous request through.
        return Err(Error::permission_denied());
    };
    let (parts, body) = request.into_parts();
    let mut form = PasswordChangeForm::unbound();
    if parts.method == http::Method::POST {
        let body = body.collect_bytes().await?;
        let pairs = parse_form(&body, herd::security::DATA_UPLOAD_MAX_NUMBER_FIELDS)?;
        form = PasswordChangeForm::bind(&pairs);
        // As Django: the validators run once the two new passwords agree, and the old password
        // is checked whatever else is wrong (it is a field check there).
        if let Some(cleaned) = form.cleaned_data() {
            let attributes = user_attributes(&user.username, &user.email);
            let verdict =
                validate_password(&cleaned.new_password2, &attributes, &default_validators());
            for error in verdict.err().into_iter().flatten() {
                form.add_error(Some("new_password2"), error.message());
            }
        }
        let old_password = form.value("old_password").unwrap_or_default().to_owned();
        if !old_password.is_empty() {
            let old_is_right = site
                .hashing()
                .check_password(old_password, user.password.clone())
                .await?;
            if !old_is_right {
                form.add_error(Some("old_password"), OLD_PASSWORD_INCORRECT);
            }
        }
        if form.is_valid()
            && let Some(cleaned) = form.cleaned_data()
        {
            set_password(site.db(), site.hashing(), &mut user, &cleaned.new_password1).await?;
            let secret_key = site.settings().secret_key();
            update_session_auth_hash(&session, &user, secret_key).await?;
            let done = site.reverse("directory:password_change_done", &[])?;
            return Ok(Redirect::to(&done)?.into_response());
        }
    }
    let request = Request::from_parts(parts, Body::empty());
    let context = PasswordChangeContext {
        form: form.to_template_value(),
        form_csrf: csrf.hidden_input(),
    };
    site.templates()
        .render_response(&request, "registration/password_change_form.html", context)
        .await
}

/// `/accounts/password_change/done/` (login required): Django's `PasswordChangeDoneView`.
pub async fn password_change_done(request: Request) -> Result<Response> {
    let site = request.extension::<Site>()?;
    site.templates()
        .render_response(
            &request,
            "registration/password_change_done.html",
            herd::templates::context! {},
        )
        .await
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
