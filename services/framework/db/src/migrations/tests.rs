//! Unit tests of the parts that need no database.

use super::executor::redact_url;
use super::loader::plan;
use super::*;
use crate::schema::index_name;

fn app(label: &str, files: &[(&str, &str)]) -> AppMigrations {
    AppMigrations {
        app: label.to_owned(),
        migrations: files
            .iter()
            .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
            .collect(),
        models: Vec::new(),
    }
}

fn labels(apps: &[AppMigrations]) -> Vec<String> {
    plan(apps)
        .unwrap()
        .iter()
        .map(|m| format!("{}.{}", m.app, m.name))
        .collect()
}

const EMPTY: &str = r#"{"operations": []}"#;

#[test]
fn index_operations_use_the_shared_index_names() {
    let table = "t".repeat(40);
    let column = "c".repeat(30);
    let add = Operation::AddIndex {
        table: table.clone(),
        column: column.clone(),
        concurrently: true,
    };
    let remove = Operation::RemoveIndex {
        table: table.clone(),
        column: column.clone(),
        concurrently: false,
    };
    let name = index_name(&table, &column);
    assert_eq!(name.len(), 63);
    assert_eq!(
        add.forward_sql(),
        [format!(
            "CREATE INDEX CONCURRENTLY \"{name}\" ON \"{table}\" (\"{column}\")"
        )]
    );
    assert_eq!(remove.forward_sql(), [format!("DROP INDEX \"{name}\"")]);
}

#[test]
fn passwords_are_removed_from_database_urls() {
    assert_eq!(
        redact_url("postgres://u:secret@db:5432/herd"),
        "postgres://u@db:5432/herd"
    );
    assert_eq!(redact_url("postgres://u@db/herd"), "postgres://u@db/herd");
    assert_eq!(
        redact_url("postgres://db/herd?password=x&sslmode=disable"),
        "postgres://db/herd?sslmode=disable"
    );
    assert_eq!(
        redact_url("host=db user=u password=secret dbname=herd"),
        "host=db user=u dbname=herd"
    );
}

#[test]
fn within_an_app_migrations_are_ordered_by_number() {
    let a = app(
        "a",
        &[
            ("0002_two", EMPTY),
            ("0010_ten", EMPTY),
            ("0001_initial", EMPTY),
        ],
    );
    assert_eq!(labels(&[a]), ["a.0001_initial", "a.0002_two", "a.0010_ten"]);
}

#[test]
fn declared_dependencies_order_migrations_across_apps() {
    let later = app(
        "later",
        &[(
            "0001_initial",
            r#"{"dependencies": [["base", "0002_more"]], "operations": []}"#,
        )],
    );
    let base = app("base", &[("0001_initial", EMPTY), ("0002_more", EMPTY)]);
    assert_eq!(
        labels(&[later, base]),
        ["base.0001_initial", "base.0002_more", "later.0001_initial"]
    );
}

#[test]
fn a_missing_dependency_is_an_error() {
    let a = app(
        "a",
        &[(
            "0001_initial",
            r#"{"dependencies": [["b", "0001_initial"]], "operations": []}"#,
        )],
    );
    let err = plan(&[a]).unwrap_err();
    assert!(matches!(err, Error::MissingDependency { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "migration a.0001_initial depends on b.0001_initial, which does not exist"
    );
}

#[test]
fn a_dependency_cycle_is_an_error() {
    let a = app(
        "a",
        &[(
            "0001_initial",
            r#"{"dependencies": [["b", "0001_initial"]], "operations": []}"#,
        )],
    );
    let b = app(
        "b",
        &[(
            "0001_initial",
            r#"{"dependencies": [["a", "0001_initial"]], "operations": []}"#,
        )],
    );
    let err = plan(&[a, b]).unwrap_err();
    let Error::Cycle { migrations } = &err else {
        panic!("expected a cycle, got {err}")
    };
    assert_eq!(migrations, &["a.0001_initial", "b.0001_initial"]);
}

#[test]
fn bad_names_duplicate_numbers_and_unknown_keys_are_refused() {
    assert!(matches!(
        plan(&[app("a", &[("initial", EMPTY)])]),
        Err(Error::InvalidName { .. })
    ));
    assert!(matches!(
        plan(&[app("a", &[("0001_x", EMPTY), ("0001_y", EMPTY)])]),
        Err(Error::InvalidName { .. })
    ));
    assert!(matches!(
        plan(&[app(
            "a",
            &[("0001_x", r#"{"operations": [], "atomik": false}"#)]
        )]),
        Err(Error::InvalidFile { .. })
    ));
    assert!(matches!(
        plan(&[app(
            "a",
            &[(
                "0001_x",
                r#"{"operations": [{"operation": "RunSql", "sql": "", "sqll": ""}]}"#
            )]
        )]),
        Err(Error::InvalidFile { .. })
    ));
}

#[test]
fn concurrent_index_operations_need_a_non_atomic_migration() {
    let op = r#"{"operations": [{"operation": "AddIndex", "table": "t", "column": "c", "concurrently": true}]}"#;
    assert!(matches!(
        plan(&[app("a", &[("0001_x", op)])]),
        Err(Error::InvalidOperation { .. })
    ));
    let non_atomic = op.replacen('{', r#"{"atomic": false, "#, 1);
    assert_eq!(
        plan(&[app("a", &[("0001_x", &non_atomic)])]).unwrap().len(),
        1
    );
}

#[test]
fn operations_serialise_tagged_by_name() {
    let op = Operation::RemoveField {
        table: "t".to_owned(),
        column: "c".to_owned(),
    };
    let json = serde_json::to_string(&op).unwrap();
    assert_eq!(
        json,
        r#"{"operation":"RemoveField","table":"t","column":"c"}"#
    );
    assert_eq!(serde_json::from_str::<Operation>(&json).unwrap(), op);
}

#[test]
fn operations_that_do_not_fit_the_state_are_refused_on_replay() {
    let a = app(
        "a",
        &[(
            "0001_x",
            r#"{"operations": [{"operation": "RemoveField", "table": "t", "column": "c"}]}"#,
        )],
    );
    let err = diff(&a).unwrap_err();
    assert_eq!(
        err.to_string(),
        "migration a.0001_x: RemoveField: no table t"
    );
}
