//! Models and a fresh database with their tables for each test.

use chrono::{DateTime, NaiveDate, Utc};
use herd_core::settings::DatabaseSettings;
use herd_db::schema::create_table_sql;
use herd_db::{Database, Executor, ForeignKey, Model, Statement};
use herd_test_support::TestDatabase;
use uuid::Uuid;

#[derive(Model, Clone, Debug, PartialEq)]
#[model(app = "directory", ordering = "name")]
pub(crate) struct Department {
    pub(crate) id: i64,
    #[model(max_length = 50, unique)]
    pub(crate) name: String,
}

#[derive(Model, Clone, Debug, PartialEq)]
#[model(app = "directory", ordering = "name, -id")]
pub(crate) struct Employee {
    pub(crate) id: i64,
    #[model(max_length = 100, index)]
    pub(crate) name: String,
    pub(crate) address: Option<String>,
    pub(crate) hire_date: NaiveDate,
    pub(crate) department: Option<ForeignKey<Department>>,
}

/// A required foreign key (an INNER JOIN for `select_related`).
#[derive(Model, Clone, Debug, PartialEq)]
#[model(app = "directory")]
pub(crate) struct Project {
    pub(crate) id: i64,
    pub(crate) title: String,
    pub(crate) department: ForeignKey<Department>,
}

/// Every column type, in a table and a column whose names need quoting.
#[derive(Model, Clone, Debug, PartialEq)]
#[model(app = "tests", table = "typed \"values\"")]
pub(crate) struct Sample {
    pub(crate) id: i64,
    pub(crate) small: i16,
    pub(crate) int: i32,
    pub(crate) big: Option<i64>,
    pub(crate) ratio: f64,
    pub(crate) flag: bool,
    pub(crate) stamp: DateTime<Utc>,
    pub(crate) key: Uuid,
    pub(crate) data: serde_json::Value,
    #[model(db_column = "select")]
    pub(crate) keyword: String,
}

/// A primary key the application chooses.
#[derive(Model, Clone, Debug, PartialEq)]
#[model(app = "tests")]
pub(crate) struct Badge {
    #[model(primary_key, max_length = 20)]
    pub(crate) code: String,
    pub(crate) label: String,
}

pub(crate) struct Fixture {
    pub(crate) db: Database,
    // Dropped after `db`, so the pool closes before the database goes.
    _test_db: TestDatabase,
}

pub(crate) fn settings() -> DatabaseSettings {
    DatabaseSettings {
        pool_size: 4,
        wait_timeout: 1.0,
        create_timeout: 2.0,
        recycle_timeout: 1.0,
        statement_timeout: 5.0,
    }
}

pub(crate) async fn setup() -> Fixture {
    setup_with(&settings()).await
}

pub(crate) async fn setup_with(settings: &DatabaseSettings) -> Fixture {
    let test_db = TestDatabase::new().await;
    let db = Database::connect(test_db.url(), settings).unwrap();
    let schemas = [
        Department::schema(),
        Employee::schema(),
        Project::schema(),
        Sample::schema(),
        Badge::schema(),
    ];
    for schema in &schemas {
        for sql in create_table_sql(schema) {
            db.execute(&Statement::new(sql)).await.unwrap();
        }
    }
    Fixture {
        db,
        _test_db: test_db,
    }
}

pub(crate) fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

pub(crate) fn employee(name: &str, address: Option<&str>, hire_date: NaiveDate) -> Employee {
    Employee {
        id: 0,
        name: name.to_owned(),
        address: address.map(str::to_owned),
        hire_date,
        department: None,
    }
}

/// Ann, bob, Carl, Dora and Eve, with two NULL addresses and hires in 2000, 2001 and 2002.
pub(crate) async fn staff(db: &Database) -> Vec<Employee> {
    Employee::bulk_create(
        db,
        vec![
            employee("Ann", Some("1 Main St"), date(2000, 1, 1)),
            employee("bob", None, date(2001, 6, 15)),
            employee("Carl", Some("22 Side St"), date(2001, 12, 31)),
            employee("Dora", None, date(2002, 1, 1)),
            employee("Eve", Some("5 Main Rd"), date(2002, 7, 4)),
        ],
    )
    .await
    .unwrap()
}

pub(crate) fn names(employees: &[Employee]) -> Vec<&str> {
    employees.iter().map(|e| e.name.as_str()).collect()
}

/// Employees in hire order, which `staff` makes the same as its listing order (names sort
/// differently under different collations, dates do not).
pub(crate) fn by_hire() -> herd_db::QuerySet<Employee> {
    Employee::objects().order_by(&["hire_date"])
}
