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
//!
//! With a store that keeps nothing (a dummy cache, or no store), a block is compiled as its
//! body: `inline_blocks` turns `{% call cache(args) %}...{% endcall %}` into
//! `{% with __herd_fragment = cache(args) %}...{% endwith %}` before the template is compiled.
//! A call block renders its body into a string of its own, which is then copied into the page
//! twice (as a value, then as output); for a table of hundreds of rows that copying, and the
//! memory it churns, is a tenth of the page's cost. The arguments are still evaluated and
//! checked, so a mistake in them fails with a dummy cache as it would with a real one; an
//! error's source listing then shows the `with` line, on the block's own line number.

use std::borrow::Cow;
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
            let caller: Option<Value> = kwargs.get("caller")?;
            let timeout: Option<u64> = kwargs.get("timeout")?;
            let tags: Option<Vec<String>> = kwargs.get("tags")?;
            kwargs.assert_all_used()?;
            let caller = match caller {
                // A block that `inline_blocks` compiled as its body: the body renders in place.
                None if store.keeps_nothing() => return Ok(Value::UNDEFINED),
                None => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "cache() wraps a block: {% call cache(name, ...) %}...{% endcall %}",
                    ));
                }
                Some(caller) if store.keeps_nothing() => return caller.call(state, &[]),
                Some(caller) => caller,
            };
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

/// Compiles each `{% call cache(...) %}` block of `source` as its body, for a store that keeps
/// nothing (see the module's notes). Whitespace control and line numbers are kept; other call
/// blocks, `{% raw %}` and comments are left alone, and so is a source whose call blocks do not
/// balance (the compiler then reports it as usual).
pub(crate) fn inline_blocks(source: &str) -> Cow<'_, str> {
    const WITH: &str = "with __herd_fragment =";
    let mut edits: Vec<(std::ops::Range<usize>, &str)> = Vec::new();
    // For each open call block, whether it is a cache block.
    let mut open: Vec<bool> = Vec::new();
    let mut in_raw = false;
    let mut rest = 0;
    while let Some(found) = source[rest..].find('{') {
        let start = rest + found;
        let after = &source[start + 1..];
        if after.starts_with('#') {
            let Some(end) = after.find("#}") else { break };
            rest = start + 1 + end + 2;
            continue;
        }
        if !after.starts_with('%') {
            rest = start + 1;
            continue;
        }
        let Some(tag) = Tag::read(source, start) else {
            break;
        };
        rest = tag.end;
        match tag.keyword(source) {
            "endraw" => in_raw = false,
            _ if in_raw => {}
            "raw" => in_raw = true,
            "call" => {
                let is_cache = tag
                    .after_keyword(source)
                    .strip_prefix("cache")
                    .is_some_and(|args| args.trim_start().starts_with('('));
                if is_cache {
                    edits.push((tag.keyword.clone(), WITH));
                }
                open.push(is_cache);
            }
            "endcall" => match open.pop() {
                Some(true) => edits.push((tag.keyword.clone(), "endwith")),
                Some(false) => {}
                None => return Cow::Borrowed(source),
            },
            _ => {}
        }
    }
    if edits.is_empty() || !open.is_empty() || in_raw {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len() + edits.len() * WITH.len());
    let mut copied = 0;
    for (range, replacement) in edits {
        out.push_str(&source[copied..range.start]);
        out.push_str(replacement);
        copied = range.end;
    }
    out.push_str(&source[copied..]);
    Cow::Owned(out)
}

/// One `{% ... %}` tag of a template source.
struct Tag {
    /// Where its keyword (`call`, `endcall`, ...) lies.
    keyword: std::ops::Range<usize>,
    /// Where its body ends, before the closing `%}` and any whitespace-control sign.
    body_end: usize,
    /// Just past its closing `%}`.
    end: usize,
}

impl Tag {
    /// The tag opening at `start` (a `{%`), or `None` when it never closes.
    fn read(source: &str, start: usize) -> Option<Self> {
        let bytes = source.as_bytes();
        let mut at = start + 2;
        if matches!(bytes.get(at), Some(b'-' | b'+')) {
            at += 1;
        }
        while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
            at += 1;
        }
        let keyword_start = at;
        while bytes
            .get(at)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            at += 1;
        }
        let keyword = keyword_start..at;
        // The closing `%}`, skipping string literals, which may hold one.
        let mut quote = None;
        while at + 1 < bytes.len() {
            match (quote, bytes[at]) {
                (Some(_), b'\\') => at += 1,
                (Some(q), b) if b == q => quote = None,
                (None, b'\'' | b'"') => quote = Some(bytes[at]),
                (None, b'%') if bytes[at + 1] == b'}' => {
                    let sign = matches!(bytes[at - 1], b'-' | b'+') && at > keyword.end;
                    return Some(Self {
                        keyword,
                        body_end: if sign { at - 1 } else { at },
                        end: at + 2,
                    });
                }
                _ => {}
            }
            at += 1;
        }
        None
    }

    fn keyword<'s>(&self, source: &'s str) -> &'s str {
        &source[self.keyword.clone()]
    }

    fn after_keyword<'s>(&self, source: &'s str) -> &'s str {
        source[self.keyword.end..self.body_end].trim_start()
    }
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

    #[test]
    fn cache_blocks_become_with_blocks_and_everything_else_stays() {
        let cases = [
            (
                "a{% call cache('t', year, tags=['e']) %}b{% endcall %}c",
                "a{% with __herd_fragment = cache('t', year, tags=['e']) %}b{% endwith %}c",
            ),
            (
                "{%- call cache('t') -%}\n b \n{%- endcall +%}",
                "{%- with __herd_fragment = cache('t') -%}\n b \n{%- endwith +%}",
            ),
            (
                "{% call cache ( 'a %}' ) %}{% call other() %}x{% endcall %}{% endcall %}",
                "{% with __herd_fragment = cache ( 'a %}' ) %}{% call other() %}x{% endcall %}{% endwith %}",
            ),
            (
                "{% call(row) cache('t') %}{% endcall %}{% call cached('t') %}{% endcall %}",
                "{% call(row) cache('t') %}{% endcall %}{% call cached('t') %}{% endcall %}",
            ),
            (
                "{# {% call cache('t') %} #}{% raw %}{% call cache('t') %}{% endraw %}{{ '{%' }}",
                "{# {% call cache('t') %} #}{% raw %}{% call cache('t') %}{% endraw %}{{ '{%' }}",
            ),
        ];
        for (source, expected) in cases {
            assert_eq!(inline_blocks(source), expected, "{source}");
        }
    }

    #[test]
    fn sources_whose_call_blocks_do_not_balance_are_left_for_the_compiler() {
        for source in [
            "{% call cache('t') %}no end",
            "{% endcall %}{% call cache('t') %}{% endcall %}",
            "{% call cache('t') %}{% endcall",
        ] {
            assert!(
                matches!(inline_blocks(source), Cow::Borrowed(_)),
                "{source}"
            );
        }
    }
}
