//! Herd: a Django-style web framework in Rust, and the shared-nothing stack that runs it.
//!
//! Apps depend on this crate alone: `use herd::prelude::*` brings views, URL patterns, the ORM
//! and templates; [`project::Site`] assembles apps into a served site.
//!
//! ```
//! use herd::prelude::*;
//!
//! async fn hello(_request: Request) -> Result<Response> {
//!     Ok(Html("<h1>Hello</h1>").into_response())
//! }
//!
//! fn urls(_caches: &Caches) -> UrlConf {
//!     UrlConf::new([path("hello/", hello).name("hello")]).app_name("demo")
//! }
//! ```

pub mod pagination;
pub mod project;

pub use herd_auth as auth;
pub use herd_cache as cache;
pub use herd_core as core;
pub use herd_csrf as csrf;
pub use herd_db as db;
pub use herd_forms as forms;
pub use herd_http as http;
pub use herd_security as security;
pub use herd_sessions as sessions;
pub use herd_templates as templates;

/// The names most apps need.
pub mod prelude {
    pub use herd_cache::{Cache, CacheTags, Caches, Timeout};
    pub use herd_core::response::{Html, Redirect};
    pub use herd_core::{App, Body, Error, IntoResponse, Request, Response, Result, Settings};
    pub use herd_db::{Database, Model};
    pub use herd_http::request::RequestExt;
    pub use herd_http::urls::{UrlConf, include, path};
    pub use herd_templates::{TemplateObject, Templates, context};

    pub use crate::project::Site;
}
