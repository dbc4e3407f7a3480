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

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::Arc;

use md5::{Digest, Md5};
use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Error, ErrorKind, State};

/// Where rendered fragments are kept. Called from the rendering thread, so it is synchronous.
///
/// Pages render on a runtime worker, where waiting would stall every task of that worker
/// (and, once the blocking pool is full, the whole runtime). So a store backed by an async
/// cache answers at once when it can, and otherwise returns [`WouldBlock`] unless
/// [`may_block`] says this thread may wait: the page is then rendered again on the blocking
/// pool, where the store may block on its cache.
pub trait FragmentStore: Send + Sync + 'static {
    /// The stored markup under `key`, if any.
    ///
    /// # Errors
    ///
    /// [`WouldBlock`] when the answer needs waiting and [`may_block`] is false.
    fn get(&self, key: &str) -> Result<Option<String>, WouldBlock>;

    /// Stores `markup` under `key`; `timeout` in seconds, `None` for the store's default;
    /// `tags` name what the fragment shows, so purging a tag drops it. A store that cannot
    /// store at once and may not block stores in the background.
    fn set(&self, key: &str, markup: &str, timeout: Option<u64>, tags: &[String]);

    /// Whether the store keeps nothing (a dummy cache): blocks then render in place, without
    /// a key, a lookup or a copy to store.
    fn keeps_nothing(&self) -> bool {
        false
    }
}

/// A fragment lookup that would have to wait on a thread that must not.
#[derive(Clone, Copy, Debug, thiserror::Error)]
#[error("the fragment cache must wait, which this thread may not")]
pub struct WouldBlock;

thread_local! {
    /// Whether this thread renders where waiting is allowed (the blocking pool).
    static MAY_BLOCK: Cell<bool> = const { Cell::new(false) };
}

/// Whether a [`FragmentStore`] may block this thread to wait for its cache: true while a page
/// renders on the blocking pool, false on a runtime worker.
pub fn may_block() -> bool {
    MAY_BLOCK.get()
}

/// Runs `render` with [`may_block`] true on this thread.
pub(crate) fn blocking_allowed<T>(render: impl FnOnce() -> T) -> T {
    let before = MAY_BLOCK.replace(true);
    let out = render();
    MAY_BLOCK.set(before);
    out
}

/// Whether a rendering error comes from a store's [`WouldBlock`].
pub(crate) fn is_would_block(err: &Error) -> bool {
    let mut source = std::error::Error::source(err);
    while let Some(err) = source {
        if err.is::<WouldBlock>() {
            return true;
        }
        source = err.source();
    }
    false
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
            match store.get(&key) {
                Ok(Some(markup)) => return Ok(Value::from_safe_string(markup)),
                Ok(None) => {}
                Err(would_block) => {
                    return Err(
                        Error::new(ErrorKind::InvalidOperation, "fragment cache lookup")
                            .with_source(would_block),
                    );
                }
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
