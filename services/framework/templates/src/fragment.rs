//! Template fragment caching: Django's `{% cache %}` tag, as a `{% call cache(...) %}` block.
//!
//! ```jinja
//! {% call cache("employee_table", year) %}<table>...</table>{% endcall %}
//! {% call cache("sidebar", timeout=600, tags=["employee"]) %}...{% endcall %}
//! ```
//!
//! minijinja has no custom tags, so the block's body arrives as `caller`; it renders only on a
//! miss. Keys are Django's (`template.cache.<name>.<md5>`), so [`make_template_fragment_key`]
//! names an entry for invalidation exactly as Django's function of that name does.

use std::fmt::Write as _;
use std::sync::Arc;

use md5::{Digest, Md5};
use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Error, State};

/// Where rendered fragments are kept. Called from the rendering thread, so it is synchronous;
/// a store backed by an async cache bridges with `block_in_place` and `Handle::block_on`
/// (rendering runs on a multi-thread runtime's worker, or on the blocking pool).
pub trait FragmentStore: Send + Sync + 'static {
    /// The stored markup under `key`, if any.
    fn get(&self, key: &str) -> Option<String>;

    /// Stores `markup` under `key`; `timeout` in seconds, `None` for the store's default;
    /// `tags` name what the fragment shows, so purging a tag drops it.
    fn set(&self, key: &str, markup: &str, timeout: Option<u64>, tags: &[String]);

    /// Whether the store keeps nothing (a dummy cache): blocks then render in place, without
    /// a key, a lookup or a copy to store.
    fn keeps_nothing(&self) -> bool {
        false
    }
}

/// Django's `make_template_fragment_key(fragment_name, vary_on)`.
///
/// ```
/// use herd_templates::fragment::make_template_fragment_key;
///
/// assert_eq!(
///     make_template_fragment_key("employee_table", &["2001"]),
///     "template.cache.employee_table.32a840f9eaf7a95ce2aef67e7f36eb28"
/// );
/// ```
pub fn make_template_fragment_key<S: AsRef<str>>(name: &str, vary_on: &[S]) -> String {
    let mut hasher = Md5::new();
    for value in vary_on {
        let value = value.as_ref();
        let mut part = String::with_capacity(value.len() + 8);
        let _ = write!(part, "{}:{value},", value.len());
        hasher.update(part.as_bytes());
    }
    format!("template.cache.{name}.{}", hex::encode(hasher.finalize()))
}

/// Registers the `cache` function on `env`, backed by `store`.
pub(crate) fn register(env: &mut minijinja::Environment<'static>, store: Arc<dyn FragmentStore>) {
    env.add_function(
        "cache",
        move |state: &mut State<'_, '_>,
              name: String,
              vary: Rest<Value>,
              kwargs: Kwargs|
              -> Result<Value, Error> {
            let caller: Value = kwargs.get("caller")?;
            let timeout: Option<u64> = kwargs.get("timeout")?;
            let tags: Option<Vec<String>> = kwargs.get("tags")?;
            kwargs.assert_all_used()?;
            if store.keeps_nothing() {
                return caller.call(state, &[]);
            }
            let vary: Vec<String> = vary.iter().map(ToString::to_string).collect();
            let key = make_template_fragment_key(&name, &vary);
            if let Some(markup) = store.get(&key) {
                return Ok(Value::from_safe_string(markup));
            }
            let markup = caller.call(state, &[])?;
            let tags = tags.as_deref().unwrap_or_default();
            // A call block renders to a safe string: store and return it as it is, since a
            // large block (a table of hundreds of rows) would otherwise be copied twice more.
            if markup.is_safe()
                && let Some(text) = markup.as_str()
            {
                store.set(&key, text, timeout, tags);
                return Ok(markup);
            }
            let markup = markup.to_string();
            store.set(&key, &markup, timeout, tags);
            Ok(Value::from_safe_string(markup))
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragment_keys_match_django() {
        assert_eq!(
            make_template_fragment_key("employee_table", &["2001"]),
            "template.cache.employee_table.32a840f9eaf7a95ce2aef67e7f36eb28"
        );
        assert_eq!(
            make_template_fragment_key::<&str>("sidebar", &[]),
            "template.cache.sidebar.d41d8cd98f00b204e9800998ecf8427e"
        );
    }
}
