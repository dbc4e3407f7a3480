//! The directory's URL patterns (namespace `directory`).

use std::time::Duration;

use herd::auth::{LoginRequiredLayer, PermissionRequiredLayer};
use herd::cache::CachePageLayer;
use herd::prelude::*;
use http::Method;

use crate::{accounts, views};

/// How long the year archive is cached per view (Django's `cache_page(60 * 5)`).
const YEAR_ARCHIVE_SECONDS: Duration = Duration::from_mins(5);

/// The directory's URL patterns; the year archive is cached in `caches.default()`.
pub fn urls(caches: &Caches) -> UrlConf {
    UrlConf::new([
        path("", views::home).name("home"),
        path("employee/", views::employee_list).name("employee_list"),
        path("employee/name/", views::employee_names).name("employee_names"),
        path("employee/<int:year>/", views::year_archive)
            .name("year_archive")
            .layer(
                CachePageLayer::new(caches.default().clone(), YEAR_ARCHIVE_SECONDS)
                    .key_prefix("year_archive"),
            ),
        path("employee/id/<int:pk>/", views::employee_detail).name("employee_detail"),
        path("employee/new/", views::employee_new)
            .name("employee_new")
            .methods(&[Method::GET, Method::POST])
            .layer(PermissionRequiredLayer::new("directory.add_employee")),
        path("employee/id/<int:pk>/edit/", views::employee_edit)
            .name("employee_edit")
            .methods(&[Method::GET, Method::POST])
            .layer(PermissionRequiredLayer::new("directory.change_employee")),
        path("accounts/login/", accounts::login)
            .name("login")
            .methods(&[Method::GET, Method::POST]),
        path("accounts/logout/", accounts::logout)
            .name("logout")
            .methods(&[Method::POST]),
        path("accounts/password_change/", accounts::password_change)
            .name("password_change")
            .methods(&[Method::GET, Method::POST])
            .layer(LoginRequiredLayer::new()),
        path(
            "accounts/password_change/done/",
            accounts::password_change_done,
        )
        .name("password_change_done")
        .layer(LoginRequiredLayer::new()),
    ])
    .app_name("directory")
}
