//! `deploy_checks`.

use std::collections::HashMap;

use herd_core::Settings;
use herd_security::{SecurityConfig, deploy_checks};

fn settings(env: &[(&str, &str)]) -> Settings {
    let env: HashMap<String, String> = env
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect();
    Settings::from_env_map(env).unwrap()
}

fn ids(warnings: &[String]) -> Vec<&str> {
    warnings
        .iter()
        .map(|line| {
            line.strip_prefix("(security.")
                .and_then(|rest| rest.split_once(") "))
                .map_or_else(|| panic!("not a check line: {line}"), |(id, _)| id)
        })
        .collect()
}

const STRONG_KEY: &str = "k2J#9vQx!mR4tZp8&Lw6yBn0cHs5dFg7aXe3uVi1oTq@jNb%Pr";

fn secure_config() -> SecurityConfig {
    SecurityConfig {
        hsts_seconds: 31_536_000,
        hsts_include_subdomains: true,
        hsts_preload: true,
        ssl_redirect: true,
        ..SecurityConfig::default()
    }
}

#[test]
fn insecure_settings_get_every_warning() {
    let settings = settings(&[("HERD_DEBUG", "true"), ("HERD_ALLOWED_HOSTS", "*")]);
    let warnings = deploy_checks(&settings, &SecurityConfig::default());
    assert_eq!(ids(&warnings), ["W004", "W008", "W009", "W018", "W020"]);
    assert_eq!(
        warnings[3],
        "(security.W018) You should not have DEBUG set to True in deployment."
    );
    assert!(
        warnings[0].contains("SECURE_HSTS_SECONDS"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[1].contains("SECURE_SSL_REDIRECT"),
        "{}",
        warnings[1]
    );
    assert!(warnings[2].contains("SECRET_KEY"), "{}", warnings[2]);
    assert!(warnings[4].contains("'*'"), "{}", warnings[4]);
}

#[test]
fn secure_settings_pass() {
    let settings = settings(&[
        ("HERD_SECRET_KEY", STRONG_KEY),
        ("HERD_ALLOWED_HOSTS", "example.com,.example.org"),
    ]);
    assert_eq!(
        deploy_checks(&settings, &secure_config()),
        Vec::<String>::new()
    );
}

#[test]
fn short_repetitive_or_development_keys_are_weak() {
    let long_but_repetitive = "ab".repeat(40);
    let development = herd_core::settings::DEVELOPMENT_SECRET_KEY;
    let prefixed = format!("herd-insecure-{STRONG_KEY}");
    for key in [
        "too-short-a-key",
        long_but_repetitive.as_str(),
        development,
        prefixed.as_str(),
    ] {
        let settings = settings(&[("HERD_SECRET_KEY", key)]);
        assert_eq!(
            ids(&deploy_checks(&settings, &secure_config())),
            ["W009"],
            "{key}"
        );
    }
}

#[test]
fn hsts_without_subdomains_or_preload_is_flagged() {
    let settings = settings(&[("HERD_SECRET_KEY", STRONG_KEY)]);
    let config = SecurityConfig {
        hsts_include_subdomains: false,
        hsts_preload: false,
        ..secure_config()
    };
    assert_eq!(ids(&deploy_checks(&settings, &config)), ["W005", "W021"]);
}

#[test]
fn weakened_headers_are_flagged() {
    let settings = settings(&[("HERD_SECRET_KEY", STRONG_KEY)]);
    let config = SecurityConfig {
        content_type_nosniff: false,
        x_frame_options: "SAMEORIGIN".to_owned(),
        referrer_policy: String::new(),
        ..secure_config()
    };
    assert_eq!(
        ids(&deploy_checks(&settings, &config)),
        ["W019", "W006", "W022"]
    );
    let config = SecurityConfig {
        x_frame_options: String::new(),
        ..secure_config()
    };
    assert_eq!(ids(&deploy_checks(&settings, &config)), ["W002"]);
}
