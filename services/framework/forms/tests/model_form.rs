//! `#[form(model = ...)]` against a real Postgres: the form reads an instance and saves onto it.
#![allow(clippy::unwrap_used, reason = "test code")]

use chrono::NaiveDate;
use herd_core::settings::DatabaseSettings;
use herd_db::schema::create_table_sql;
use herd_db::{Database, Executor, Model, Statement};
use herd_forms::{Form, FormHooks, ModelForm};
use herd_test_support::TestDatabase;

#[derive(Model, Clone, Debug, Default, PartialEq)]
#[model(app = "directory")]
struct Employee {
    id: i64,
    #[model(max_length = 100)]
    name: String,
    #[model(max_length = 200)]
    address: String,
    hire_date: NaiveDate,
}

/// Edits two of the model's three data fields: the address is not the form's business.
#[derive(Form, Debug)]
#[form(model = "Employee")]
struct EmployeeForm {
    #[form(max_length = 100)]
    name: String,
    hire_date: NaiveDate,
}

impl FormHooks for EmployeeForm {}

async fn database() -> (Database, TestDatabase) {
    let test_db = TestDatabase::new().await;
    let settings = DatabaseSettings {
        pool_size: 2,
        wait_timeout: 1.0,
        create_timeout: 2.0,
        recycle_timeout: 1.0,
        statement_timeout: 5.0,
    };
    let db = Database::connect(test_db.url(), &settings).unwrap();
    for sql in create_table_sql(&Employee::schema()) {
        db.execute(&Statement::new(sql)).await.unwrap();
    }
    (db, test_db)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn the_edit_form_shows_the_instances_values() {
    let ann = Employee {
        id: 7,
        name: "Ann <Smith>".to_owned(),
        address: "1 Main St".to_owned(),
        hire_date: date(2010, 3, 4),
    };
    let form = EmployeeForm::for_instance(&ann);
    assert!(!form.is_bound());
    assert_eq!(form.value("name"), Some("Ann <Smith>"));
    assert_eq!(form.value("hire_date"), Some("2010-03-04"));
    assert!(form.as_div().contains(r#"value="Ann &lt;Smith&gt;""#));
}

#[tokio::test]
async fn saving_a_new_instance_inserts_it_and_an_existing_one_updates_only_the_forms_fields() {
    let (db, _test_db) = database().await;
    let form = EmployeeForm::bind(&[("name", " Ann "), ("hire_date", "2010-03-04")]);
    let cleaned = form.cleaned_data().unwrap();
    let created = cleaned.save(&db, Employee::default()).await.unwrap();
    assert!(created.id > 0);
    assert_eq!(created.name, "Ann");

    let mut stored = Employee::objects()
        .get(&db, Employee::id().exact(created.id))
        .await
        .unwrap();
    assert_eq!(stored, created);
    stored.address = "1 Main St".to_owned();
    stored.save(&db).await.unwrap();

    let edit = EmployeeForm::bind(&[("name", "Ann Smith"), ("hire_date", "2011-05-06")]);
    let saved = edit
        .cleaned_data()
        .unwrap()
        .save(&db, stored.clone())
        .await
        .unwrap();
    assert_eq!(saved.id, created.id, "the same row");
    let reread = Employee::objects()
        .get(&db, Employee::id().exact(created.id))
        .await
        .unwrap();
    assert_eq!(
        reread,
        Employee {
            id: created.id,
            name: "Ann Smith".to_owned(),
            address: "1 Main St".to_owned(),
            hire_date: date(2011, 5, 6),
        },
        "the address, which the form lacks, is kept"
    );
    assert_eq!(Employee::objects().count(&db).await.unwrap(), 1);
}

#[test]
fn an_invalid_model_form_has_nothing_to_save() {
    let form = EmployeeForm::bind(&[("name", "Ann"), ("hire_date", "not a date")]);
    assert!(form.cleaned_data().is_none());
    assert_eq!(form.field_errors("hire_date"), ["Enter a valid date."]);
}
