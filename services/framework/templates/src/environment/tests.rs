use super::*;
use crate::fragment::WouldBlock;

static BASIC: &[(&str, &str)] = &[
    (
        "base.html",
        "<html><title>{% block title %}Herd{% endblock %}</title><body>{% block body %}base body{% endblock %}</body></html>",
    ),
    (
        "section.html",
        "{% extends 'base.html' %}{% block title %}Section · {{ super() }}{% endblock %}",
    ),
    (
        "page.html",
        "{% extends 'section.html' %}{% block body %}<p>{{ name }}</p>{% endblock %}",
    ),
    ("echo.html", "{{ value }}"),
    ("echo.xml", "<name attr=\"{{ value }}\">{{ value }}</name>"),
    (
        "safe.html",
        "{{ value|safe }}|{{ value|escape|escape }}|{{ value|force_escape }}|{% autoescape false %}{{ value }}{% endautoescape %}",
    ),
    (
        "undefined.html",
        "[{{ missing }}][{{ nothing }}][{{ missing.attr }}]",
    ),
    (
        "links.html",
        "{{ url('directory:year_archive', 2001) }} {{ url('detail', pk=7) }} {{ static('css/site.css') }}",
    ),
    ("processor.html", "{{ path }} {{ shadowed }}"),
];

fn templates() -> Templates {
    Templates::builder()
        .app("test", None, BASIC)
        .reverse(|name, args, kwargs| match (name, args, kwargs) {
            ("directory:year_archive", [year], []) => Ok(format!("/employee/{year}/")),
            ("detail", [], [(key, pk)]) if key == "pk" => Ok(format!("/employee/id/{pk}/")),
            _ => Err("no reverse match".to_owned()),
        })
        .static_url(|path| {
            (path == "css/site.css").then(|| "/static/css/site.0123456789ab.css".to_owned())
        })
        .context_processor(|request| {
            vec![
                ("path".to_owned(), Value::from(request.uri().path())),
                ("shadowed".to_owned(), Value::from("from processor")),
            ]
        })
        .build()
        .unwrap()
}

#[test]
fn html_output_is_escaped_like_django() {
    let html = templates()
        .render(
            "echo.html",
            minijinja::context! { value => r#"<b>O'Neil & "Co"</b> a/b"# },
        )
        .unwrap();
    assert_eq!(
        html,
        "&lt;b&gt;O&#x27;Neil &amp; &quot;Co&quot;&lt;/b&gt; a/b"
    );
}

#[test]
fn template_syntax_stays_literal_in_values() {
    let html = templates()
        .render("echo.html", minijinja::context! { value => "{{7*7}}" })
        .unwrap();
    assert_eq!(html, "{{7*7}}");
}

#[test]
fn xml_output_escapes_quotes_but_not_apostrophes() {
    let xml = templates()
        .render(
            "echo.xml",
            minijinja::context! { value => r#"O'Neil & "Co" <x>"# },
        )
        .unwrap();
    assert_eq!(
        xml,
        "<name attr=\"O'Neil &amp; &quot;Co&quot; &lt;x&gt;\">O'Neil &amp; &quot;Co&quot; &lt;x&gt;</name>"
    );
}

#[test]
fn safe_escape_force_escape_and_autoescape_off_behave_as_in_django() {
    let html = templates()
        .render("safe.html", minijinja::context! { value => "<i>&amp;</i>" })
        .unwrap();
    assert_eq!(
        html,
        "<i>&amp;</i>|&lt;i&gt;&amp;amp;&lt;/i&gt;|&lt;i&gt;&amp;amp;&lt;/i&gt;|<i>&amp;</i>"
    );
}

#[test]
fn undefined_and_none_render_as_nothing() {
    let html = templates()
        .render("undefined.html", minijinja::context! { nothing => () })
        .unwrap();
    assert_eq!(html, "[][][]");
}

#[test]
fn a_three_level_inheritance_chain_renders_each_block() {
    let html = templates()
        .render("page.html", minijinja::context! { name => "Ann & Bob" })
        .unwrap();
    insta::assert_snapshot!(html, @"<html><title>Section · Herd</title><body><p>Ann &amp; Bob</p></body></html>");
}

#[test]
fn url_and_static_resolve_through_the_given_functions() {
    let html = templates().render("links.html", ()).unwrap();
    assert_eq!(
        html,
        "/employee/2001/ /employee/id/7/ /static/css/site.0123456789ab.css"
    );
}

#[test]
fn a_failed_reverse_is_a_render_error() {
    static BAD: &[(&str, &str)] = &[("bad.html", "{{ url('nowhere') }}")];
    let templates = Templates::builder()
        .app("t", None, BAD)
        .reverse(|_, _, _| Err("no match".to_owned()))
        .build()
        .unwrap();
    let err = templates.render("bad.html", ()).unwrap_err();
    assert!(err.to_string().contains("nowhere"), "{err}");
}

#[test]
fn a_syntax_error_fails_the_build() {
    static BROKEN: &[(&str, &str)] = &[("broken.html", "{% if %}")];
    assert!(Templates::builder().app("t", None, BROKEN).build().is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn context_processors_add_variables_but_the_view_wins() {
    let request = http::Request::builder()
        .uri("/employee/?q=x")
        .body(herd_core::Body::empty())
        .unwrap();
    let html = templates()
        .render_for(
            &request,
            "processor.html",
            minijinja::context! { shadowed => "from view" },
        )
        .await
        .unwrap();
    assert_eq!(html, "/employee/ from view");
}

#[test]
fn debug_mode_reloads_a_changed_template_from_disk() {
    let dir = std::env::temp_dir().join(format!("herd-templates-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("live.html"), "one {{ x }}").unwrap();
    let templates = Templates::builder()
        .app("t", Some(dir.clone()), &[])
        .debug(true)
        .build()
        .unwrap();
    assert_eq!(
        templates
            .render("live.html", minijinja::context! { x => 1 })
            .unwrap(),
        "one 1"
    );
    std::fs::write(dir.join("live.html"), "two {{ x }}").unwrap();
    assert_eq!(
        templates
            .render("live.html", minijinja::context! { x => 2 })
            .unwrap(),
        "two 2"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_first_app_wins_when_two_hold_the_same_name() {
    static FIRST: &[(&str, &str)] = &[("x.html", "first")];
    static SECOND: &[(&str, &str)] = &[("x.html", "second")];
    let templates = Templates::builder()
        .app("a", None, FIRST)
        .app("b", None, SECOND)
        .build()
        .unwrap();
    assert_eq!(templates.render("x.html", ()).unwrap(), "first");
}

/// Markup and timeout by key.
type Stored = std::collections::HashMap<String, (String, Option<u64>, Vec<String>)>;

/// A fragment store in a map, keeping what it was given.
#[derive(Clone, Default)]
struct MapStore(Arc<Mutex<Stored>>);

impl FragmentStore for MapStore {
    fn get(&self, key: &str) -> Result<Option<String>, WouldBlock> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .get(key)
            .map(|(markup, _, _)| markup.clone()))
    }

    fn set(&self, key: &str, markup: &str, timeout: Option<u64>, tags: &[String]) {
        self.0
            .lock()
            .unwrap()
            .insert(key.to_owned(), (markup.to_owned(), timeout, tags.to_vec()));
    }
}

#[test]
fn a_cached_fragment_renders_once_and_is_not_escaped_twice() {
    static FRAGMENTS: &[(&str, &str)] = &[(
        "table.html",
        "{% call cache('employee_table', year, timeout=60, tags=['employee']) %}<td>{{ name }}</td>{% endcall %}",
    )];
    let store = MapStore::default();
    let templates = Templates::builder()
        .app("t", None, FRAGMENTS)
        .fragment_cache(store.clone())
        .build()
        .unwrap();
    let first = templates
        .render(
            "table.html",
            minijinja::context! { year => 2001, name => "A & B" },
        )
        .unwrap();
    let second = templates
        .render(
            "table.html",
            minijinja::context! { year => 2001, name => "changed" },
        )
        .unwrap();
    let other_year = templates
        .render(
            "table.html",
            minijinja::context! { year => 2002, name => "C" },
        )
        .unwrap();
    assert_eq!(first, "<td>A &amp; B</td>");
    assert_eq!(second, first);
    assert_eq!(other_year, "<td>C</td>");
    let stored = store.0.lock().unwrap();
    let (markup, timeout, tags) =
        &stored["template.cache.employee_table.32a840f9eaf7a95ce2aef67e7f36eb28"];
    assert_eq!(tags, &["employee"]);
    assert_eq!(
        (markup.as_str(), *timeout),
        ("<td>A &amp; B</td>", Some(60))
    );
}

#[test]
fn without_a_store_cached_blocks_render_every_time() {
    static FRAGMENTS: &[(&str, &str)] = &[("t.html", "{% call cache('x') %}{{ n }}{% endcall %}")];
    let templates = Templates::builder()
        .app("t", None, FRAGMENTS)
        .build()
        .unwrap();
    assert_eq!(
        templates
            .render("t.html", minijinja::context! { n => 1 })
            .unwrap(),
        "1"
    );
    assert_eq!(
        templates
            .render("t.html", minijinja::context! { n => 2 })
            .unwrap(),
        "2"
    );
}

/// A store that keeps nothing, as a dummy cache; it fails the test if it is asked anything.
struct NothingStore;

impl FragmentStore for NothingStore {
    fn get(&self, key: &str) -> Result<Option<String>, WouldBlock> {
        panic!("a store that keeps nothing was asked for {key}");
    }

    fn set(&self, key: &str, _markup: &str, _timeout: Option<u64>, _tags: &[String]) {
        panic!("a store that keeps nothing was given {key}");
    }

    fn keeps_nothing(&self) -> bool {
        true
    }
}

#[test]
fn a_store_that_keeps_nothing_is_not_asked_and_blocks_render_in_place() {
    static FRAGMENTS: &[(&str, &str)] = &[(
        "t.html",
        "<p>{% call cache('x', n, tags=['t']) %}{{ n }} &amp; {{ s }}{% endcall %}</p>",
    )];
    let templates = Templates::builder()
        .app("t", None, FRAGMENTS)
        .fragment_cache(NothingStore)
        .build()
        .unwrap();
    for n in [1, 2] {
        assert_eq!(
            templates
                .render("t.html", minijinja::context! { n => n, s => "<b>" })
                .unwrap(),
            format!("<p>{n} &amp; &lt;b&gt;</p>")
        );
    }
}

#[test]
fn with_a_store_that_keeps_nothing_blocks_keep_their_scope_and_check_their_arguments() {
    static FRAGMENTS: &[(&str, &str)] = &[
        (
            "scope.html",
            "{% set n = 1 %}{% call cache('x', tags=['t']) %}{% set n = 2 %}{{ n }}{% endcall %}{{ n }}",
        ),
        (
            "bad_timeout.html",
            "{% call cache('x', timeout='soon') %}x{% endcall %}",
        ),
        (
            "bad_argument.html",
            "{% call cache('x', colour=1) %}x{% endcall %}",
        ),
        ("not_a_block.html", "{{ cache('x') }}"),
        (
            "lines.html",
            "{% call cache('x') %}\n{% endcall %}\n{{ missing() }}",
        ),
    ];
    let nothing = Templates::builder()
        .app("t", None, FRAGMENTS)
        .fragment_cache(NothingStore)
        .build()
        .unwrap();
    let stored = Templates::builder()
        .app("t", None, FRAGMENTS)
        .fragment_cache(MapStore::default())
        .build()
        .unwrap();
    for templates in [&nothing, &stored] {
        assert_eq!(templates.render("scope.html", ()).unwrap(), "21");
        for name in ["bad_timeout.html", "bad_argument.html"] {
            assert!(templates.render(name, ()).is_err(), "{name}");
        }
        let err = templates.render("lines.html", ()).unwrap_err().to_string();
        assert!(err.contains("lines.html:3"), "{err}");
    }
    // Only a store that keeps nothing lets a bare call through (it is what a block becomes).
    assert_eq!(nothing.render("not_a_block.html", ()).unwrap(), "");
    let err = stored
        .render("not_a_block.html", ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("{% call cache(name, ...) %}"), "{err}");
}

/// A fragment store that must wait for its cache, as one backed by Redis does: the answer
/// comes from a task on the runtime, so waiting for it needs the runtime's workers free.
#[derive(Clone, Default)]
struct WaitingStore {
    refused: Arc<std::sync::atomic::AtomicUsize>,
}

impl FragmentStore for WaitingStore {
    fn get(&self, _key: &str) -> Result<Option<String>, WouldBlock> {
        if !crate::may_block() {
            self.refused
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            return Err(WouldBlock);
        }
        let handle = tokio::runtime::Handle::current();
        let (answer, answered) = tokio::sync::oneshot::channel();
        handle.spawn(async move { answer.send(()) });
        let _ = handle.block_on(answered);
        Ok(None)
    }

    fn set(&self, _key: &str, _markup: &str, _timeout: Option<u64>, _tags: &[String]) {}
}

fn waiting_templates(store: WaitingStore) -> Templates {
    static FILES: &[(&str, &str)] = &[(
        "block.html",
        "{% call cache('block', 1) %}<b>{{ name }}</b>{% endcall %}",
    )];
    Templates::builder()
        .app("t", None, FILES)
        .fragment_cache(store)
        .build()
        .unwrap()
}

async fn render_waiting(templates: &Templates) -> String {
    let request = http::Request::builder()
        .uri("/")
        .body(herd_core::Body::empty())
        .unwrap();
    templates
        .render_for(
            &request,
            "block.html",
            minijinja::context! { name => "<x>" },
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fragment_that_must_wait_renders_the_page_again_on_the_blocking_pool() {
    let store = WaitingStore::default();
    let templates = waiting_templates(store.clone());
    assert_eq!(render_waiting(&templates).await, "<b>&lt;x&gt;</b>");
    assert_eq!(
        store.refused.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "refused once on the worker, then answered on the pool"
    );
}

#[tokio::test]
async fn a_waiting_fragment_store_works_on_a_current_thread_runtime() {
    let templates = waiting_templates(WaitingStore::default());
    assert_eq!(render_waiting(&templates).await, "<b>&lt;x&gt;</b>");
}

#[test]
fn many_pages_waiting_for_fragments_at_once_never_stall_the_runtime() {
    // Two workers and two blocking threads, sixty-four pages at once: waiting on the workers
    // (`block_in_place`) would need a blocking thread per waiting page to keep the runtime
    // going, and with none left, nothing would answer the lookups any more.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let templates = waiting_templates(WaitingStore::default());
    let pages = runtime.block_on(async move {
        let renders = (0..64).map(|_| {
            let templates = templates.clone();
            tokio::spawn(async move { render_waiting(&templates).await })
        });
        tokio::time::timeout(
            std::time::Duration::from_secs(20),
            futures_util::future::join_all(renders),
        )
        .await
        .expect("every page renders")
    });
    assert!(
        pages
            .into_iter()
            .all(|page| page.unwrap() == "<b>&lt;x&gt;</b>")
    );
}

#[test]
fn numbers_render_as_their_display() {
    let templates = templates();
    for value in [
        Value::from(0),
        Value::from(7),
        Value::from(-42),
        Value::from(i64::MIN),
        Value::from(i64::MAX),
        Value::from(u64::MAX),
        Value::from(i128::MIN),
        Value::from(3.0),
        Value::from(-0.5),
        Value::from(true),
    ] {
        let html = templates
            .render("echo.html", minijinja::context! { value => value.clone() })
            .unwrap();
        assert_eq!(html, value.to_string());
    }
}
