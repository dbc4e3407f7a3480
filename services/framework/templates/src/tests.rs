//! `#[derive(TemplateObject)]` and `object_list` against the serde path they stand in for.

use serde::Serialize;

use crate::{TemplateObject, Templates, Value, object_list};

#[derive(Clone, Debug, Serialize, TemplateObject)]
#[template(crate = "crate")]
struct Employee {
    id: i64,
    name: String,
    nickname: Option<String>,
    hire_date: chrono_like::Date,
    #[serde(rename = "postal_address")]
    address: String,
    #[serde(skip)]
    secret: String,
}

/// A field type with its own Serialize, as chrono's dates have.
mod chrono_like {
    #[derive(Clone, Copy, Debug)]
    pub(super) struct Date(pub u16, pub u8, pub u8);

    impl serde::Serialize for Date {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.collect_str(&format_args!("{:04}-{:02}-{:02}", self.0, self.1, self.2))
        }
    }
}

/// Each template prints one view of `e`, or of the list `rows`.
static VIEWS: &[(&str, &str)] = &[
    (
        "fields.html",
        "{{ e.id }}|{{ e.name }}|{{ e.nickname }}|{{ e.hire_date }}|{{ e.postal_address }}|{{ e['name'] }}|[{{ e.address }}][{{ e.secret }}]",
    ),
    ("whole.html", "{{ e }}"),
    ("keys.html", "{% for key in e %}{{ key }},{% endfor %}"),
    (
        "items.html",
        "{% for key, value in e|items %}{{ key }}={{ value }};{% endfor %}",
    ),
    ("json.html", "{{ e|tojson }}"),
    (
        "tests.html",
        "{{ e|length }} {{ e is mapping }} {{ e.nickname is none }} {{ e.id + 1 }} {{ e.name|upper }} {{ 'name' in e }} {{ 'secret' in e }}",
    ),
    (
        "rows.html",
        "{{ rows|length }}{% for r in rows %}<{{ loop.index }}:{{ r.id }}:{{ r.name }}>{% endfor %}{% if not empty %}none{% endif %}",
    ),
    (
        "sequence.html",
        "{{ rows[1].name }}|{{ (rows|first).id }}|{{ (rows|last).id }}|{{ rows|length }}|{% for r in rows|reverse %}{{ r.id }},{% endfor %}|{% for r in rows %}{{ loop.index }}/{{ loop.length }}{{ loop.last }},{% endfor %}|{{ rows|map(attribute='id')|join('+') }}|{{ rows[5] is undefined }}",
    ),
    // Names read as `{{ name.attr }}` and `{{ name }}` from a local go through minijinja's
    // fast path (vendor/minijinja, feature `herd_fast_path`); each is printed beside a form
    // that takes the regular path (`[...]` item access, a filter, a concatenation).
    (
        "locals.html",
        "{% for r in rows %}[{{ r.name }}={{ r['name'] }}][{{ r.missing }}={{ r['missing'] }}][{{ r.id }}={{ r.id|string }}][{{ r.name|upper }}]{{ seen }}{% set seen = r.id %}{% endfor %}{{ seen }}|{% with w = rows|first %}{{ w.name }}={{ w.name ~ '' }}{% endwith %}|{% for n in ['<a>', 'b'] %}{{ n }}={{ n ~ '' }},{% endfor %}|{% macro show(x) %}{{ x.name }}{% endmacro %}{% for r in rows %}{{ show(r) }};{% endfor %}|{% for r in rows %}{{ loop.index }}.{{ loop.index0 }},{% endfor %}",
    ),
];

fn templates() -> Templates {
    Templates::builder()
        .app("test", None, VIEWS)
        .build()
        .unwrap()
}

fn employees() -> Vec<Employee> {
    vec![
        Employee {
            id: 7,
            name: "Ann <O'Neil> & Co".to_owned(),
            nickname: None,
            hire_date: chrono_like::Date(2001, 2, 3),
            address: "1 Oak & Ash Close, a long enough address to be on the heap".to_owned(),
            secret: "hidden".to_owned(),
        },
        Employee {
            id: 8,
            name: "Bo".to_owned(),
            nickname: Some("B".to_owned()),
            hire_date: chrono_like::Date(1999, 12, 31),
            address: "2 Main Street".to_owned(),
            secret: "also hidden".to_owned(),
        },
    ]
}

#[test]
fn an_object_renders_exactly_as_its_serde_copy_would() {
    let templates = templates();
    for employee in employees() {
        for (name, _) in VIEWS
            .iter()
            .filter(|(name, _)| !["rows.html", "sequence.html", "locals.html"].contains(name))
        {
            let through_serde = templates
                .render(
                    name,
                    minijinja::context! { e => Value::from(minijinja::value::Serde(&employee)) },
                )
                .unwrap();
            let as_object = templates
                .render(
                    name,
                    minijinja::context! { e => Value::from_object(employee.clone()) },
                )
                .unwrap();
            assert_eq!(as_object, through_serde, "{name}");
        }
    }
}

#[test]
fn an_object_follows_serde_renames_and_skips() {
    let employee = employees().remove(0);
    let secret = employee.secret.clone();
    let html = templates()
        .render(
            "fields.html",
            minijinja::context! { e => Value::from_object(employee) },
        )
        .unwrap();
    assert!(!html.contains(&secret));
    assert_eq!(
        html,
        "7|Ann &lt;O&#x27;Neil&gt; &amp; Co||2001-02-03|1 Oak &amp; Ash Close, a long enough address to be on the heap|Ann &lt;O&#x27;Neil&gt; &amp; Co|[][]"
    );
}

#[test]
fn an_object_list_renders_as_the_serialized_vec_would() {
    let templates = templates();
    let through_serde = templates
        .render(
            "rows.html",
            minijinja::context! { rows => Value::from(minijinja::value::Serde(employees())), empty => Value::from(minijinja::value::Serde(Vec::<Employee>::new())) },
        )
        .unwrap();
    let as_objects = templates
        .render(
            "rows.html",
            minijinja::context! { rows => object_list(employees()), empty => object_list(Vec::<Employee>::new()) },
        )
        .unwrap();
    assert_eq!(as_objects, through_serde);
    assert_eq!(
        as_objects,
        "2<1:7:Ann &lt;O&#x27;Neil&gt; &amp; Co><2:8:Bo>none"
    );
}

#[test]
fn an_object_list_is_a_sequence_as_the_serialized_vec_is() {
    let templates = templates();
    let through_serde = templates
        .render(
            "sequence.html",
            minijinja::context! { rows => Value::from(minijinja::value::Serde(employees())) },
        )
        .unwrap();
    let as_objects = templates
        .render(
            "sequence.html",
            minijinja::context! { rows => object_list(employees()) },
        )
        .unwrap();
    assert_eq!(as_objects, through_serde);
    assert_eq!(as_objects, "Bo|7|8|2|8,7,|1/2False,2/2True,|7+8|True");
}

#[test]
fn locals_print_as_the_regular_path_prints_them() {
    let html = templates()
        .render(
            "locals.html",
            minijinja::context! { rows => object_list(employees()), seen => "<outer>" },
        )
        .unwrap();
    let ann = "Ann &lt;O&#x27;Neil&gt; &amp; Co";
    assert_eq!(
        html,
        format!(
            "[{ann}={ann}][=][7=7][ANN &lt;O&#x27;NEIL&gt; &amp; CO]&lt;outer&gt;\
             [Bo=Bo][=][8=8][BO]&lt;outer&gt;&lt;outer&gt;|{ann}={ann}|&lt;a&gt;=&lt;a&gt;,b=b,|{ann};Bo;|\
             1.0,2.1,"
        )
    );
}

#[test]
fn an_object_list_passes_through_a_serialized_context() {
    #[derive(Serialize)]
    struct Context {
        rows: Value,
        empty: Value,
    }
    let html = templates()
        .render(
            "rows.html",
            Context {
                rows: object_list(employees()),
                empty: object_list(Vec::<Employee>::new()),
            },
        )
        .unwrap();
    assert_eq!(html, "2<1:7:Ann &lt;O&#x27;Neil&gt; &amp; Co><2:8:Bo>none");
}
