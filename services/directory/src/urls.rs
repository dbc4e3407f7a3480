//! The directory's URL patterns (namespace `directory`).

use herd::prelude::*;

use crate::views;

/// The directory's URL patterns.
pub fn urls() -> UrlConf {
    UrlConf::new([
        path("", views::home).name("home"),
        path("employee/", views::employee_list).name("employee_list"),
        path("employee/name/", views::employee_names).name("employee_names"),
        path("employee/<int:year>/", views::year_archive).name("year_archive"),
        path("employee/id/<int:pk>/", views::employee_detail).name("employee_detail"),
    ])
    .app_name("directory")
}
