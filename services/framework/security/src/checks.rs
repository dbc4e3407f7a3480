//! `herd check --deploy`: the items of Django's deployment checklist (`security.W0NN`) that
//! apply to Herd, worded as Django words them.

use std::collections::HashSet;

use herd_core::Settings;
use herd_core::settings::DEVELOPMENT_SECRET_KEY;

use crate::security::SecurityConfig;

/// Django's `SECRET_KEY_MIN_LENGTH`.
const SECRET_KEY_MIN_LENGTH: usize = 50;
/// Django's `SECRET_KEY_MIN_UNIQUE_CHARACTERS`.
const SECRET_KEY_MIN_UNIQUE_CHARACTERS: usize = 5;
/// The prefix of keys that are not meant for production, Django's `django-insecure-`.
const SECRET_KEY_INSECURE_PREFIX: &str = "herd-insecure-";

/// The deployment warnings for `settings` and `security`, one line each, such as
/// `(security.W018) You should not have DEBUG set to True in deployment.`; empty when the
/// deployment passes.
///
/// Covers W002/W019 (`X-Frame-Options`), W004/W005/W021 (HSTS), W006 (`nosniff`), W008 (SSL
/// redirect), W009 (secret key), W018 (DEBUG), W020 (`ALLOWED_HOSTS`) and W022
/// (`Referrer-Policy`).
pub fn deploy_checks(settings: &Settings, security: &SecurityConfig) -> Vec<String> {
    let mut warnings = Vec::new();
    header_checks(security, &mut |id, message| {
        warnings.push(format!("(security.{id}) {message}"));
    });
    settings_checks(settings, security, &mut |id, message| {
        warnings.push(format!("(security.{id}) {message}"));
    });
    warnings
}

// === private functions ===

/// W002/W019, W004/W005/W021 and W006: the headers the security layer sends.
fn header_checks(security: &SecurityConfig, warn: &mut impl FnMut(&str, &str)) {
    let x_frame_options = security.x_frame_options.trim();
    if x_frame_options.is_empty() {
        warn(
            "W002",
            "You do not have X_FRAME_OPTIONS set, so your pages will not be served with an \
             'x-frame-options' header. Unless there is a good reason for your site to be served \
             in a frame, you should consider enabling this header to help prevent clickjacking \
             attacks.",
        );
    } else if !x_frame_options.eq_ignore_ascii_case("DENY") {
        warn(
            "W019",
            "X_FRAME_OPTIONS is not set to 'DENY'. Unless there is a good reason for your site \
             to serve other parts of itself in a frame, you should change it to 'DENY'.",
        );
    }
    if security.hsts_seconds == 0 {
        warn(
            "W004",
            "You have not set a value for the SECURE_HSTS_SECONDS setting. If your entire site \
             is served only over SSL, you may want to consider setting a value and enabling HTTP \
             Strict Transport Security. Be sure to read the documentation first; enabling HSTS \
             carelessly can cause serious, irreversible problems.",
        );
    } else {
        if !security.hsts_include_subdomains {
            warn(
                "W005",
                "You have not set the SECURE_HSTS_INCLUDE_SUBDOMAINS setting to True. Without \
                 this, your site is potentially vulnerable to attack via an insecure connection \
                 to a subdomain. Only set this to True if you are certain that all subdomains of \
                 your domain should be served exclusively via SSL.",
            );
        }
        if !security.hsts_preload {
            warn(
                "W021",
                "You have not set the SECURE_HSTS_PRELOAD setting to True. Without this, your \
                 site cannot be submitted to the browser preload list.",
            );
        }
    }
    if !security.content_type_nosniff {
        warn(
            "W006",
            "Your SECURE_CONTENT_TYPE_NOSNIFF setting is not set to True, so your pages will not \
             be served with an 'X-Content-Type-Options: nosniff' header. You should consider \
             enabling this header to prevent the browser from identifying content types \
             incorrectly.",
        );
    }
}

/// W008, W009, W018, W020 and W022: the redirect, the worker's settings and the referrer policy.
fn settings_checks(
    settings: &Settings,
    security: &SecurityConfig,
    warn: &mut impl FnMut(&str, &str),
) {
    if !security.ssl_redirect {
        warn(
            "W008",
            "Your SECURE_SSL_REDIRECT setting is not set to True. Unless your site should be \
             available over both SSL and non-SSL connections, you may want to either set this \
             setting True or configure a load balancer or reverse-proxy server to redirect all \
             connections to HTTPS.",
        );
    }
    if is_weak_secret_key(settings.secret_key()) {
        warn(
            "W009",
            &format!(
                "Your SECRET_KEY has less than {SECRET_KEY_MIN_LENGTH} characters, less than \
                 {SECRET_KEY_MIN_UNIQUE_CHARACTERS} unique characters, or it's prefixed with \
                 '{SECRET_KEY_INSECURE_PREFIX}' indicating that it is Herd's development key. \
                 Please generate a long and random value, otherwise many of Herd's \
                 security-critical features will be vulnerable to attack."
            ),
        );
    }
    if settings.debug {
        warn(
            "W018",
            "You should not have DEBUG set to True in deployment.",
        );
    }
    if settings
        .allowed_hosts
        .iter()
        .all(|host| host.trim().is_empty())
    {
        warn("W020", "ALLOWED_HOSTS must not be empty in deployment.");
    } else if settings.allowed_hosts.iter().any(|host| host.trim() == "*") {
        warn(
            "W020",
            "ALLOWED_HOSTS must not contain '*' in deployment: any Host header would be \
             accepted, which enables cache poisoning and password-reset link forgery.",
        );
    }
    if security.referrer_policy.trim().is_empty() {
        warn(
            "W022",
            "You have not set the SECURE_REFERRER_POLICY setting. Without this, your site will \
             not send a Referrer-Policy header. You should consider enabling this header to \
             protect user privacy.",
        );
    }
}

/// Django's `_check_secret_key`, with Herd's development key standing for `django-insecure-`.
fn is_weak_secret_key(key: &str) -> bool {
    let unique: HashSet<char> = key.chars().collect();
    key == DEVELOPMENT_SECRET_KEY
        || key.starts_with(SECRET_KEY_INSECURE_PREFIX)
        || key.chars().count() < SECRET_KEY_MIN_LENGTH
        || unique.len() < SECRET_KEY_MIN_UNIQUE_CHARACTERS
}
