//! Herd's templates: a minijinja environment with Django's autoescaping, per-app template
//! folders, inheritance, `url()` backed by `reverse`, `static()`, and context processors.
//!
//! Templates are compiled once and kept; with `debug` on they are read from the apps' folders
//! on disk and reloaded on every render, so edits show without a restart. A request's page
//! renders on the runtime worker that serves it (multi-thread runtime), or in `spawn_blocking`
//! on a current-thread runtime, where a waiting fragment store could not block in place.
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
pub use herd_macros::TemplateObject;
pub use minijinja::{Value, context};

/// A sequence of template objects for a context, moving each item in (no copy of its fields):
/// `object_list(employees)` for rows whose type derives [`TemplateObject`].
///
/// ```
/// use herd_templates::{Templates, TemplateObject, object_list};
///
/// #[derive(Debug, TemplateObject)]
/// struct Row {
///     id: i64,
///     name: String,
/// }
///
/// static FILES: &[(&str, &str)] = &[("rows.html", "{% for r in rows %}{{ r.id }}:{{ r.name }} {% endfor %}")];
/// let templates = Templates::builder().app("demo", None, FILES).build().unwrap();
/// let rows = object_list(vec![Row { id: 1, name: "<Ann>".into() }, Row { id: 2, name: "Bo".into() }]);
/// let html = templates.render("rows.html", minijinja::context! { rows }).unwrap();
/// assert_eq!(html, "1:&lt;Ann&gt; 2:Bo ");
/// ```
pub fn object_list<T, I>(items: I) -> Value
where
    T: minijinja::value::Object + Send + Sync + 'static,
    I: IntoIterator<Item = T>,
{
    items.into_iter().map(Value::from_object).collect()
}

/// What `#[derive(TemplateObject)]` expands to refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use minijinja::value::{Enumerator, Object, ObjectRepr, Serde};
    pub use std::sync::Arc;
}

#[cfg(test)]
mod tests;
