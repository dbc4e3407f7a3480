//! Migrations against a real Postgres: applying, the advisory lock under concurrent runs,
//! checksums, rollback, ordering across apps, and `make_migrations` round trips.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use herd_db::migrations::{
    ADVISORY_LOCK_KEY, AppMigrations, Error, MigrateReport, MigrationFile, MigrationName,
    Operation, diff, make_migrations, migrate, show_migrations,
};
use herd_db::schema::{FieldSchema, ModelSchema, SqlType};
use herd_test_support::TestDatabase;
use tokio_postgres::{Client, NoTls};

const INITIAL: &str = r#"{
  "dependencies": [],
  "atomic": true,
  "operations": [
    { "operation": "CreateModel", "schema": {
        "app": "directory", "name": "department", "table": "directory_department",
        "fields": [
          { "column": "id", "sql_type": { "type": "big_auto" }, "primary_key": true },
          { "column": "name", "sql_type": { "type": "varchar", "max_length": 50 }, "unique": true }
        ] } },
    { "operation": "CreateModel", "schema": {
        "app": "directory", "name": "employee", "table": "directory_employee",
        "fields": [
          { "column": "id", "sql_type": { "type": "big_auto" }, "primary_key": true },
          { "column": "name", "sql_type": { "type": "varchar", "max_length": 100 }, "index": true },
          { "column": "department_id", "sql_type": { "type": "big_int" }, "nullable": true,
            "references": "directory_department" }
        ] } }
  ]
}"#;

const ADDRESS: &str = r#"{
  "dependencies": [["directory", "0001_initial"]],
  "operations": [
    { "operation": "AddField", "table": "directory_employee",
      "field": { "column": "address", "sql_type": { "type": "text" }, "nullable": true } },
    { "operation": "RunSql", "sql": "INSERT INTO directory_department (name) VALUES ('Sales')",
      "reverse_sql": "DELETE FROM directory_department WHERE name = 'Sales'" }
  ]
}"#;

fn directory() -> AppMigrations {
    AppMigrations {
        app: "directory".to_owned(),
        migrations: vec![
            ("0001_initial".to_owned(), INITIAL.to_owned()),
            ("0002_employee_address".to_owned(), ADDRESS.to_owned()),
        ],
        models: Vec::new(),
    }
}

fn names(report: &MigrateReport) -> Vec<String> {
    report
        .applied
        .iter()
        .map(MigrationName::to_string)
        .collect()
}

async fn connect(db: &TestDatabase) -> Client {
    let (client, connection) = tokio_postgres::connect(db.url(), NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

/// `(app.name, row count)` of every recorded migration, in the order they were applied.
async fn recorded(client: &Client) -> Vec<(String, i64)> {
    client
        .query(
            "SELECT app || '.' || name, count(*) OVER (PARTITION BY app, name) FROM herd_migrations ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// `(column, data type, nullable)` of a table, in column order.
async fn columns(client: &Client, table: &str) -> Vec<(String, String, bool)> {
    client
        .query(
            "SELECT column_name::text, data_type::text, is_nullable = 'YES' FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
            &[&table],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

async fn indexes(client: &Client, table: &str) -> Vec<String> {
    client
        .query(
            "SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1 ORDER BY 1",
            &[&table],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// The error and all its sources, as anyhow's `{:#}` prints them.
fn error_chain(err: &Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn table_exists(client: &Client, table: &str) -> bool {
    client
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn migrate_creates_tables_and_indexes_and_records_each_migration() {
    let db = TestDatabase::new().await;
    let report = migrate(db.url(), &[directory()]).await.unwrap();
    assert_eq!(
        names(&report),
        ["directory.0001_initial", "directory.0002_employee_address"]
    );

    let client = connect(&db).await;
    assert_eq!(
        columns(&client, "directory_employee").await,
        [
            ("id".to_owned(), "bigint".to_owned(), false),
            ("name".to_owned(), "character varying".to_owned(), false),
            ("department_id".to_owned(), "bigint".to_owned(), true),
            ("address".to_owned(), "text".to_owned(), true),
        ]
    );
    assert_eq!(
        indexes(&client, "directory_employee").await,
        ["directory_employee_name_idx", "directory_employee_pkey"]
    );
    assert_eq!(
        indexes(&client, "directory_department").await,
        ["directory_department_name_key", "directory_department_pkey"]
    );
    assert_eq!(
        recorded(&client).await,
        [
            ("directory.0001_initial".to_owned(), 1),
            ("directory.0002_employee_address".to_owned(), 1)
        ]
    );
    let row = client
        .query_one(
            "SELECT checksum, applied <= now() FROM herd_migrations WHERE name = '0001_initial'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        row.get::<_, String>(0),
        herd_db::migrations::checksum(INITIAL)
    );
    assert!(row.get::<_, bool>(1));
    let sales: i64 = client
        .query_one("SELECT count(*) FROM directory_department", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sales, 1, "the RunSql ran once");
}

#[tokio::test]
async fn a_second_run_applies_nothing_and_is_fast() {
    let db = TestDatabase::new().await;
    migrate(db.url(), &[directory()]).await.unwrap();
    let started = Instant::now();
    let again = migrate(db.url(), &[directory()]).await.unwrap();
    assert!(again.is_empty(), "{again:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    let client = connect(&db).await;
    assert_eq!(recorded(&client).await.len(), 2);
    let sales: i64 = client
        .query_one("SELECT count(*) FROM directory_department", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sales, 1);
}

async fn simultaneous_runs_apply_each_migration_once(runs: usize) {
    let db = TestDatabase::new().await;
    let url = db.url().to_owned();
    let handles: Vec<_> = (0..runs)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { migrate(&url, &[directory()]).await })
        })
        .collect();
    let reports: Vec<MigrateReport> = futures_util::future::join_all(handles)
        .await
        .into_iter()
        .map(|joined| joined.unwrap().unwrap())
        .collect();

    let applying: Vec<&MigrateReport> = reports.iter().filter(|r| !r.is_empty()).collect();
    assert_eq!(applying.len(), 1, "exactly one run applies: {reports:?}");
    assert_eq!(
        names(applying[0]),
        ["directory.0001_initial", "directory.0002_employee_address"]
    );
    let client = connect(&db).await;
    assert_eq!(
        recorded(&client).await,
        [
            ("directory.0001_initial".to_owned(), 1),
            ("directory.0002_employee_address".to_owned(), 1)
        ]
    );
    let sales: i64 = client
        .query_one("SELECT count(*) FROM directory_department", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(sales, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_simultaneous_runs_apply_each_migration_exactly_once() {
    simultaneous_runs_apply_each_migration_once(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_simultaneous_runs_apply_each_migration_exactly_once() {
    simultaneous_runs_apply_each_migration_once(8).await;
}

#[tokio::test]
async fn a_run_waits_while_another_holds_the_lock() {
    let db = TestDatabase::new().await;
    let holder = connect(&db).await;
    holder
        .execute("SELECT pg_advisory_lock($1)", &[&ADVISORY_LOCK_KEY])
        .await
        .unwrap();
    let blocked = tokio::time::timeout(
        Duration::from_millis(500),
        migrate(db.url(), &[directory()]),
    )
    .await;
    assert!(
        blocked.is_err(),
        "migrate ran although the lock was held: {blocked:?}"
    );
    assert!(!table_exists(&holder, "herd_migrations").await);

    holder
        .execute("SELECT pg_advisory_unlock($1)", &[&ADVISORY_LOCK_KEY])
        .await
        .unwrap();
    assert_eq!(
        migrate(db.url(), &[directory()])
            .await
            .unwrap()
            .applied
            .len(),
        2
    );
}

#[tokio::test]
async fn a_changed_checksum_is_refused_and_nothing_runs() {
    let db = TestDatabase::new().await;
    let mut app = directory();
    app.migrations.truncate(1);
    migrate(db.url(), &[app.clone()]).await.unwrap();

    // Edit the applied file and add a pending one: neither may run.
    app.migrations[0].1 = INITIAL.replace("\"max_length\": 100", "\"max_length\": 200");
    app.migrations
        .push(("0002_employee_address".to_owned(), ADDRESS.to_owned()));
    let err = migrate(db.url(), &[app.clone()]).await.unwrap_err();
    let Error::ChecksumMismatch {
        app: label,
        name,
        recorded: was,
        current,
    } = &err
    else {
        panic!("expected a checksum error, got {err}");
    };
    assert_eq!(
        (label.as_str(), name.as_str()),
        ("directory", "0001_initial")
    );
    assert_eq!(was, &herd_db::migrations::checksum(INITIAL));
    assert_ne!(was, current);
    assert!(err.to_string().contains("directory.0001_initial"), "{err}");

    let client = connect(&db).await;
    assert_eq!(recorded(&client).await.len(), 1);
    assert!(
        !columns(&client, "directory_employee")
            .await
            .iter()
            .any(|c| c.0 == "address")
    );
    let status = show_migrations(db.url(), &[app]).await.unwrap();
    assert_eq!(status[0].changed, ["0001_initial"]);
    assert_eq!(status[0].pending, ["0002_employee_address"]);
}

#[tokio::test]
async fn a_failing_migration_rolls_back_and_releases_the_lock() {
    let db = TestDatabase::new().await;
    let broken = r#"{ "operations": [
        { "operation": "CreateModel", "schema": { "app": "directory", "name": "broken",
          "table": "directory_broken", "fields": [ { "column": "id", "sql_type": { "type": "big_auto" }, "primary_key": true } ] } },
        { "operation": "RunSql", "sql": "SELECT 1 / 0" }
    ] }"#;
    let mut app = directory();
    app.migrations[1].1 = broken.to_owned();

    let err = migrate(db.url(), &[app]).await.unwrap_err();
    assert!(matches!(err, Error::Database { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "applying migration directory.0002_employee_address failed"
    );
    let chain = error_chain(&err);
    assert!(chain.contains("division by zero"), "{chain}");

    let client = connect(&db).await;
    assert!(!table_exists(&client, "directory_broken").await);
    assert_eq!(
        recorded(&client).await,
        [("directory.0001_initial".to_owned(), 1)]
    );
    let free: bool = client
        .query_one("SELECT pg_try_advisory_lock($1)", &[&ADVISORY_LOCK_KEY])
        .await
        .unwrap()
        .get(0);
    assert!(free, "the lock was released");
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&ADVISORY_LOCK_KEY])
        .await
        .unwrap();

    let fixed = migrate(db.url(), &[directory()]).await.unwrap();
    assert_eq!(names(&fixed), ["directory.0002_employee_address"]);
}

#[tokio::test]
async fn ddl_that_cannot_get_its_lock_is_retried_then_fails() {
    let db = TestDatabase::new().await;
    let mut app = directory();
    app.migrations.truncate(1);
    migrate(db.url(), &[app.clone()]).await.unwrap();

    // An open transaction that read the table blocks ALTER TABLE (it needs ACCESS EXCLUSIVE).
    let mut reader = connect(&db).await;
    let open = reader.transaction().await.unwrap();
    open.execute("SELECT count(*) FROM directory_employee", &[])
        .await
        .unwrap();

    app.migrations
        .push(("0002_employee_address".to_owned(), ADDRESS.to_owned()));
    let started = Instant::now();
    let err = migrate(db.url(), &[app.clone()]).await.unwrap_err();
    let waited = started.elapsed();
    let chain = error_chain(&err);
    assert!(chain.contains("lock timeout"), "{chain}");
    // Four attempts of 5 s each: the first one plus three retries.
    assert!(
        waited >= Duration::from_secs(20),
        "gave up after {waited:?}"
    );
    assert!(waited < Duration::from_secs(30), "took {waited:?}");
    open.rollback().await.unwrap();

    let client = connect(&db).await;
    assert_eq!(recorded(&client).await.len(), 1);
    assert_eq!(
        names(&migrate(db.url(), &[app]).await.unwrap()),
        ["directory.0002_employee_address"]
    );
}

#[tokio::test]
async fn migrations_of_two_apps_run_in_dependency_order() {
    let db = TestDatabase::new().await;
    // `payroll` references a table `directory` creates in its second migration; listing payroll
    // first must not matter.
    let payroll = AppMigrations {
        app: "payroll".to_owned(),
        migrations: vec![(
            "0001_initial".to_owned(),
            r#"{ "dependencies": [["directory", "0002_employee_address"]], "operations": [
                { "operation": "RunSql", "sql": "CREATE TABLE payroll_salary (employee_id bigint REFERENCES directory_employee (id), amount bigint)" }
            ] }"#
                .to_owned(),
        )],
        models: Vec::new(),
    };
    let report = migrate(db.url(), &[payroll.clone(), directory()])
        .await
        .unwrap();
    assert_eq!(
        names(&report),
        [
            "directory.0001_initial",
            "directory.0002_employee_address",
            "payroll.0001_initial"
        ]
    );
    let client = connect(&db).await;
    let order: Vec<String> = recorded(&client)
        .await
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(order, names(&report));
    assert!(table_exists(&client, "payroll_salary").await);

    let status = show_migrations(db.url(), &[payroll, directory()])
        .await
        .unwrap();
    assert_eq!(status[0].app, "payroll");
    assert_eq!(status[0].applied, ["0001_initial"]);
    assert!(
        status
            .iter()
            .all(|s| s.pending.is_empty() && s.changed.is_empty())
    );
}

#[tokio::test]
async fn a_non_atomic_migration_creates_an_index_concurrently() {
    let db = TestDatabase::new().await;
    let mut app = directory();
    app.migrations.push((
        "0003_address_index".to_owned(),
        r#"{ "atomic": false, "operations": [
            { "operation": "AddIndex", "table": "directory_employee", "column": "address", "concurrently": true }
        ] }"#
            .to_owned(),
    ));
    let report = migrate(db.url(), &[app]).await.unwrap();
    assert_eq!(report.applied.len(), 3);
    let client = connect(&db).await;
    assert!(
        indexes(&client, "directory_employee")
            .await
            .contains(&"directory_employee_address_idx".to_owned())
    );
    assert_eq!(recorded(&client).await.len(), 3);
}

#[tokio::test]
async fn show_migrations_lists_everything_pending_on_an_empty_database() {
    let db = TestDatabase::new().await;
    let status = show_migrations(db.url(), &[directory()]).await.unwrap();
    assert_eq!(status[0].pending, ["0001_initial", "0002_employee_address"]);
    assert!(status[0].applied.is_empty());
    let client = connect(&db).await;
    assert!(
        !table_exists(&client, "herd_migrations").await,
        "listing changes nothing"
    );
}

#[tokio::test]
async fn connection_failures_name_the_url_without_its_password() {
    let err = migrate("postgres://herd:s3cret@127.0.0.1:1/herd", &[directory()])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    assert_eq!(
        err.to_string(),
        "could not connect to the database at postgres://herd@127.0.0.1:1/herd"
    );
}

// === make_migrations ===

fn field(column: &str, sql_type: SqlType) -> FieldSchema {
    FieldSchema {
        column: column.to_owned(),
        sql_type,
        nullable: false,
        primary_key: false,
        unique: false,
        index: false,
        references: None,
    }
}

fn employee_model(fields: Vec<FieldSchema>) -> ModelSchema {
    let mut all = vec![FieldSchema {
        primary_key: true,
        ..field("id", SqlType::BigAuto)
    }];
    all.extend(fields);
    ModelSchema {
        app: "staff".to_owned(),
        name: "employee".to_owned(),
        table: "staff_employee".to_owned(),
        fields: all,
    }
}

/// A folder of its own under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        Self(
            std::env::temp_dir().join(format!("herd-migrations-{}", uuid::Uuid::new_v4().simple())),
        )
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What an app's build script would embed: every `NNNN_*.json` of `dir`, by name.
fn embedded(app: &str, dir: &std::path::Path, models: Vec<ModelSchema>) -> AppMigrations {
    let mut migrations: Vec<(String, String)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .map(|p| {
                    let name = p.file_stem().unwrap().to_string_lossy().into_owned();
                    (name, std::fs::read_to_string(&p).unwrap())
                })
                .collect()
        })
        .unwrap_or_default();
    migrations.sort();
    AppMigrations {
        app: app.to_owned(),
        migrations,
        models,
    }
}

fn operations(path: &std::path::Path) -> MigrationFile {
    MigrationFile::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn name_field() -> FieldSchema {
    field("name", SqlType::Varchar(100))
}

fn nickname_field() -> FieldSchema {
    FieldSchema {
        nullable: true,
        ..field("nickname", SqlType::Text)
    }
}

/// Employee with a required name and a nullable age.
fn v1() -> Vec<ModelSchema> {
    let age = FieldSchema {
        nullable: true,
        ..field("age", SqlType::Integer)
    };
    vec![employee_model(vec![name_field(), age])]
}

/// v1 with the name nullable and indexed, a new nickname, and the age gone.
fn v2() -> Vec<ModelSchema> {
    let name = FieldSchema {
        index: true,
        nullable: true,
        ..name_field()
    };
    vec![employee_model(vec![name, nickname_field()])]
}

/// v2 with the name required again and no longer indexed.
fn v3() -> Vec<ModelSchema> {
    vec![employee_model(vec![name_field(), nickname_field()])]
}

/// Makes the next migration for `models` into `dir`, then applies it; returns its path.
async fn make_and_apply(
    db: &TestDatabase,
    dir: &TempDir,
    models: Vec<ModelSchema>,
    name: Option<&str>,
) -> PathBuf {
    let path = make_migrations(&embedded("staff", &dir.0, models.clone()), &dir.0, name)
        .unwrap()
        .unwrap();
    let report = migrate(db.url(), &[embedded("staff", &dir.0, models)])
        .await
        .unwrap();
    let stem = path.file_stem().unwrap().to_string_lossy();
    assert_eq!(names(&report), [format!("staff.{stem}")]);
    path
}

#[tokio::test]
async fn make_migrations_starts_with_an_initial_create_model() {
    let dir = TempDir::new();
    let db = TestDatabase::new().await;
    let path = make_and_apply(&db, &dir, v1(), None).await;
    assert_eq!(path.file_name().unwrap(), "0001_initial.json");
    let file = operations(&path);
    assert!(file.dependencies.is_empty());
    assert!(file.atomic);
    assert_eq!(
        file.operations,
        [Operation::CreateModel {
            schema: v1()[0].clone()
        }]
    );
    assert_eq!(
        make_migrations(&embedded("staff", &dir.0, v1()), &dir.0, None).unwrap(),
        None
    );

    let client = connect(&db).await;
    assert_eq!(
        columns(&client, "staff_employee").await,
        [
            ("id".to_owned(), "bigint".to_owned(), false),
            ("name".to_owned(), "character varying".to_owned(), false),
            ("age".to_owned(), "integer".to_owned(), true),
        ]
    );
}

#[tokio::test]
async fn make_migrations_writes_added_fields_indexes_nullability_and_removed_fields() {
    let dir = TempDir::new();
    let db = TestDatabase::new().await;
    make_and_apply(&db, &dir, v1(), None).await;

    let table = || "staff_employee".to_owned();
    let expected = [
        Operation::AlterNullability {
            table: table(),
            column: "name".to_owned(),
            nullable: true,
        },
        Operation::AddIndex {
            table: table(),
            column: "name".to_owned(),
            concurrently: false,
        },
        Operation::AddField {
            table: table(),
            field: nickname_field(),
        },
        Operation::RemoveField {
            table: table(),
            column: "age".to_owned(),
        },
    ];
    assert_eq!(diff(&embedded("staff", &dir.0, v2())).unwrap(), expected);
    let path = make_and_apply(&db, &dir, v2(), Some("rework")).await;
    assert_eq!(path.file_name().unwrap(), "0002_rework.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let file = MigrationFile::parse(&text).unwrap();
    assert_eq!(
        file.dependencies,
        [("staff".to_owned(), "0001_initial".to_owned())]
    );
    assert_eq!(file.operations, expected);
    assert_eq!(
        file.to_json().unwrap(),
        text,
        "the file is written exactly as it re-serialises"
    );

    let client = connect(&db).await;
    assert_eq!(
        columns(&client, "staff_employee").await,
        [
            ("id".to_owned(), "bigint".to_owned(), false),
            ("name".to_owned(), "character varying".to_owned(), true),
            ("nickname".to_owned(), "text".to_owned(), true),
        ]
    );
    assert_eq!(
        indexes(&client, "staff_employee").await,
        ["staff_employee_name_idx", "staff_employee_pkey"]
    );
    assert_eq!(
        make_migrations(&embedded("staff", &dir.0, v2()), &dir.0, None).unwrap(),
        None
    );
}

#[tokio::test]
async fn make_migrations_writes_dropped_indexes_and_models() {
    let dir = TempDir::new();
    let db = TestDatabase::new().await;
    make_and_apply(&db, &dir, v1(), None).await;
    make_and_apply(&db, &dir, v2(), None).await;

    // Two operations make a name longer than Django's 52 characters, hence `auto`.
    let path = make_and_apply(&db, &dir, v3(), None).await;
    assert_eq!(path.file_name().unwrap(), "0003_auto.json");
    let table = || "staff_employee".to_owned();
    assert_eq!(
        operations(&path).operations,
        [
            Operation::AlterNullability {
                table: table(),
                column: "name".to_owned(),
                nullable: false
            },
            Operation::RemoveIndex {
                table: table(),
                column: "name".to_owned(),
                concurrently: false
            },
        ]
    );
    let client = connect(&db).await;
    assert_eq!(
        indexes(&client, "staff_employee").await,
        ["staff_employee_pkey"]
    );
    assert!(!columns(&client, "staff_employee").await[1].2);

    let path = make_and_apply(&db, &dir, Vec::new(), None).await;
    assert_eq!(path.file_name().unwrap(), "0004_delete_staff_employee.json");
    assert_eq!(
        operations(&path).operations,
        [Operation::DeleteModel { table: table() }]
    );
    assert!(!table_exists(&client, "staff_employee").await);
    assert_eq!(recorded(&client).await.len(), 4);
}

#[test]
fn make_migrations_refuses_a_new_not_null_column_on_an_existing_table() {
    let dir = TempDir::new();
    let v1 = vec![employee_model(vec![field("name", SqlType::Text)])];
    make_migrations(&embedded("staff", &dir.0, v1), &dir.0, None)
        .unwrap()
        .unwrap();

    let v2 = vec![employee_model(vec![
        field("name", SqlType::Text),
        field("badge", SqlType::Integer),
    ])];
    let err = make_migrations(&embedded("staff", &dir.0, v2), &dir.0, None).unwrap_err();
    assert!(matches!(err, Error::NotNullWithoutDefault { .. }), "{err}");
    assert!(err.to_string().contains("make the field nullable"), "{err}");
    assert_eq!(
        std::fs::read_dir(&dir.0).unwrap().count(),
        1,
        "no file was written"
    );
}

#[test]
fn make_migrations_refuses_a_type_change() {
    let dir = TempDir::new();
    make_migrations(
        &embedded(
            "staff",
            &dir.0,
            vec![employee_model(vec![field("name", SqlType::Text)])],
        ),
        &dir.0,
        None,
    )
    .unwrap()
    .unwrap();
    let changed = embedded(
        "staff",
        &dir.0,
        vec![employee_model(vec![field("name", SqlType::Varchar(10))])],
    );
    let err = make_migrations(&changed, &dir.0, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "changing the type (text -> varchar(10)) of staff_employee.name is not supported yet; write a RunSql migration"
    );
}

#[test]
fn make_migrations_refuses_files_the_app_was_not_built_with() {
    let dir = TempDir::new();
    let models = vec![employee_model(Vec::new())];
    let stale = embedded("staff", &dir.0, models.clone());
    make_migrations(&stale, &dir.0, None).unwrap().unwrap();
    let err = make_migrations(&stale, &dir.0, None).unwrap_err();
    assert!(
        matches!(err, Error::UnknownMigrationFiles { ref files, .. } if files == &["0001_initial.json"]),
        "{err}"
    );
}
