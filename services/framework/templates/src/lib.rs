//! Herd's templates: a minijinja environment with Django's autoescaping, per-app template
//! folders, inheritance, `url()` backed by `reverse`, `static()`, and context processors.
//!
//! Templates are compiled once and kept; with `debug` on they are read from the apps' folders
//! on disk and reloaded on every render, so edits show without a restart. A request's page
//! renders on the runtime worker that serves it (multi-thread runtime); a page whose fragment
//! cache would have to wait, and every page on a current-thread runtime, renders in
//! `spawn_blocking`, where waiting blocks no other task.
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
pub use fragment::{FragmentStore, WouldBlock, make_template_fragment_key, may_block};
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
    Value::from_object(ObjectList(
        items.into_iter().map(Value::from_object).collect(),
    ))
}

/// What [`object_list`] makes: a sequence that `{% for %}` walks straight off its slice.
///
/// A plain `Vec<Value>` is iterated by index, each step a dynamic `get_value` with the index
/// turned into a value and back: about 45 machine instructions a row more than this slice
/// iterator (cachegrind, the year archive).
#[derive(Debug)]
struct ObjectList(Vec<Value>);

impl minijinja::value::Object for ObjectList {
    fn repr(self: &std::sync::Arc<Self>) -> minijinja::value::ObjectRepr {
        minijinja::value::ObjectRepr::Seq
    }

    fn get_value(self: &std::sync::Arc<Self>, key: &Value) -> Option<Value> {
        self.0.get(key.as_usize()?).cloned()
    }

    fn enumerate(self: &std::sync::Arc<Self>) -> minijinja::value::Enumerator {
        use minijinja::value::ObjectExt;
        self.mapped_enumerator(|list| Box::new(list.0.iter().cloned()))
    }

    fn enumerator_len(self: &std::sync::Arc<Self>) -> Option<usize> {
        Some(self.0.len())
    }
}

/// What `#[derive(TemplateObject)]` expands to refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use minijinja::value::{Enumerator, Object, ObjectRepr, Serde};
    pub use std::sync::Arc;

    use minijinja::Value;

    /// A field of a `TemplateObject`, turned into a template value by [`ViaDirect`] when its
    /// type has a direct conversion, else by [`ViaSerde`] (the derive calls
    /// `(&Field(&value)).to_value()`, and method lookup tries the direct impls first).
    pub struct Field<'a, T>(pub &'a T);

    /// Types whose value is built directly, as serde would build it but without the
    /// serializer (the text and numbers templates read most).
    pub trait ViaDirect {
        /// The template value.
        fn to_value(&self) -> Value;
    }

    /// Every other serializable type: through serde.
    pub trait ViaSerde {
        /// The template value.
        fn to_value(&self) -> Value;
    }

    impl ViaDirect for Field<'_, String> {
        fn to_value(&self) -> Value {
            Value::from(self.0.as_str())
        }
    }

    macro_rules! direct {
        ($($ty:ty),*) => {$(
            impl ViaDirect for Field<'_, $ty> {
                fn to_value(&self) -> Value {
                    Value::from(*self.0)
                }
            }
        )*};
    }
    direct!(bool, i32, i64, u32, u64);

    impl<T: serde::Serialize> ViaSerde for &Field<'_, T> {
        fn to_value(&self) -> Value {
            Value::from(Serde(self.0))
        }
    }
}

#[cfg(test)]
mod tests;
