//! Herd's templates: a minijinja environment with Django's autoescaping, per-app template
//! folders, inheritance, `url()` backed by `reverse`, `static()`, and context processors.
//!
//! Templates are compiled once and kept; with `debug` on they are read from the apps' folders
//! on disk and reloaded on every render, so edits show without a restart. Rendering is CPU
//! work and runs in `spawn_blocking`.
//!
//! ```
//! use herd_templates::Templates;
//!
//! static FILES: &[(&str, &str)] = &[
//!     ("base.html", "<title>{% block title %}{% endblock %}</title>"),
//!     ("hello.html", "{% extends 'base.html' %}{% block title %}Hi {{ name }}{% endblock %}"),
//! ];
//! let templates = Templates::builder().app("demo", None, FILES).build().unwrap();
//! let html = templates.render("hello.html", minijinja::context! { name => "<O'Neil>" }).unwrap();
//! assert_eq!(html, "<title>Hi &lt;O&#x27;Neil&gt;</title>");
//! ```

mod environment;
pub mod escape;
pub mod fragment;

pub use environment::{ContextProcessor, Error, Templates, TemplatesBuilder};
pub use fragment::{FragmentStore, make_template_fragment_key};
pub use minijinja::{Value, context};
