use chrono::NaiveDate;

use super::*;
use crate::ForeignKey;

#[derive(crate::Model, Clone, Debug)]
#[model(app = "directory")]
struct Department {
    id: i64,
    name: String,
}

#[derive(crate::Model, Clone, Debug)]
#[model(app = "directory", ordering = "name, -id")]
struct Employee {
    id: i64,
    #[model(max_length = 100, index)]
    name: String,
    address: Option<String>,
    hire_date: NaiveDate,
    department: Option<ForeignKey<Department>>,
}

fn sql<M: Model>(qs: &QuerySet<M>) -> (String, Vec<Value>) {
    let select = qs.compile_select().unwrap();
    (
        select.statement.sql().to_owned(),
        select.statement.params().to_vec(),
    )
}

const COLUMNS: &str = "\"t0\".\"id\", \"t0\".\"name\", \"t0\".\"address\", \"t0\".\"hire_date\", \"t0\".\"department_id\"";

#[test]
fn the_derive_describes_the_table() {
    let meta = Employee::meta();
    assert_eq!(meta.table, "directory_employee");
    assert_eq!(meta.object_name, "Employee");
    assert_eq!(
        Employee::columns(),
        ["id", "name", "address", "hire_date", "department_id"]
    );
    assert_eq!(Employee::ordering(), ["name", "-id"]);
    let schema = Employee::schema();
    assert_eq!(schema.fields[0].sql_type, crate::schema::SqlType::BigAuto);
    assert_eq!(
        schema.fields[1].sql_type,
        crate::schema::SqlType::Varchar(100)
    );
    assert!(schema.fields[2].nullable);
    assert_eq!(
        schema.fields[4].references.as_deref(),
        Some("directory_department")
    );
    assert!(schema.fields[4].index);
}

#[test]
fn default_ordering_applies_and_order_by_nothing_clears_it() {
    let (text, params) = sql(&Employee::objects());
    assert_eq!(
        text,
        format!(
            "SELECT {COLUMNS} FROM \"directory_employee\" AS \"t0\" ORDER BY \"t0\".\"name\" ASC, \"t0\".\"id\" DESC"
        )
    );
    assert!(params.is_empty());
    let (text, _) = sql(&Employee::objects().order_by(&[]));
    assert_eq!(
        text,
        format!("SELECT {COLUMNS} FROM \"directory_employee\" AS \"t0\"")
    );
}

#[test]
fn values_are_bound_and_wildcards_escaped() {
    let qs = Employee::objects()
        .filter(Employee::name().icontains("50%_\\'; DROP TABLE x; --"))
        .order_by(&[]);
    let (text, params) = sql(&qs);
    assert_eq!(
        text,
        format!(
            "SELECT {COLUMNS} FROM \"directory_employee\" AS \"t0\" WHERE (UPPER(\"t0\".\"name\") LIKE UPPER($1))"
        )
    );
    assert_eq!(
        params,
        [Value::Text("%50\\%\\_\\\\'; DROP TABLE x; --%".to_owned())]
    );
}

#[test]
fn conditions_on_nullable_columns_keep_null_rows_out_of_negation() {
    let qs = Employee::objects()
        .exclude(Employee::address().contains("x"))
        .order_by(&[]);
    let (text, _) = sql(&qs);
    assert!(
        text.ends_with(
            "WHERE NOT ((\"t0\".\"address\" LIKE $1 AND \"t0\".\"address\" IS NOT NULL))"
        )
    );
    let (text, params) = sql(&Employee::objects()
        .filter(Employee::address().exact(None))
        .order_by(&[]));
    assert!(text.ends_with("WHERE (\"t0\".\"address\" IS NULL)"));
    assert!(params.is_empty());
}

#[test]
fn year_is_an_indexable_range() {
    let (text, params) = sql(&Employee::objects()
        .filter(Employee::hire_date().year(2001))
        .order_by(&[]));
    assert!(text.ends_with("WHERE (\"t0\".\"hire_date\" BETWEEN $1 AND $2)"));
    assert_eq!(
        params,
        [
            Value::Date(NaiveDate::from_ymd_opt(2001, 1, 1).unwrap()),
            Value::Date(NaiveDate::from_ymd_opt(2001, 12, 31).unwrap())
        ]
    );
}

#[test]
fn slices_compose_like_django() {
    let qs = Employee::objects()
        .order_by(&[])
        .slice(10..30)
        .slice(5..100);
    let (text, params) = sql(&qs);
    assert!(text.ends_with(" LIMIT $1 OFFSET $2"));
    assert_eq!(params, [Value::BigInt(15), Value::BigInt(15)]);
    let (_, params) = sql(&Employee::objects().order_by(&[]).offset(3).limit(2));
    assert_eq!(params, [Value::BigInt(2), Value::BigInt(3)]);
}

#[test]
fn mistakes_made_while_chaining_surface_when_compiled() {
    let negative = Employee::objects().slice(-1..3);
    assert!(negative.compile_select().err().unwrap().is_bad_lookup());
    let filtered_after_slice = Employee::objects().slice(0..3).filter(Q::all());
    assert!(
        filtered_after_slice
            .compile_select()
            .err()
            .unwrap()
            .is_bad_lookup()
    );
    let unknown = Employee::objects().order_by(&["salary"]);
    assert!(unknown.compile_select().err().unwrap().is_bad_lookup());
    let not_a_key = Employee::objects().select_related("name");
    assert!(not_a_key.compile_select().err().unwrap().is_bad_lookup());
}

#[test]
fn select_related_joins_the_referenced_table() {
    let (text, _) = sql(&Employee::objects()
        .select_related("department")
        .order_by(&[]));
    assert_eq!(
        text,
        format!(
            "SELECT {COLUMNS}, \"t1\".\"id\", \"t1\".\"name\" FROM \"directory_employee\" AS \"t0\" \
             LEFT OUTER JOIN \"directory_department\" AS \"t1\" ON \"t1\".\"id\" = \"t0\".\"department_id\""
        )
    );
}

#[test]
fn string_lookups_are_validated_against_the_model() {
    assert!(Q::<Employee>::lookup("hire_date__year", "2001").is_ok());
    assert!(Q::<Employee>::lookup("department_id", 3).is_ok());
    assert!(
        Q::<Employee>::lookup("salary__gt", 3)
            .unwrap_err()
            .is_bad_lookup()
    );
    assert!(
        Q::<Employee>::lookup("name__regex", "x")
            .unwrap_err()
            .is_bad_lookup()
    );
    assert!(
        Q::<Employee>::lookup("name__year", 2001)
            .unwrap_err()
            .is_bad_lookup()
    );
    assert!(
        Q::<Employee>::lookup("hire_date__icontains", "x")
            .unwrap_err()
            .is_bad_lookup()
    );
    assert!(
        Q::<Employee>::lookup("hire_date", "' OR 1=1 --")
            .unwrap_err()
            .is_bad_lookup()
    );
}

#[test]
fn insert_omits_an_unset_auto_key() {
    let employee = Employee {
        id: 0,
        name: "Ann".to_owned(),
        address: None,
        hire_date: NaiveDate::from_ymd_opt(2001, 1, 1).unwrap(),
        department: None,
    };
    let statement =
        insert_statement::<Employee>(vec![employee.to_values(), employee.to_values()], false);
    assert_eq!(
        statement.sql(),
        "INSERT INTO \"directory_employee\" (\"name\", \"address\", \"hire_date\", \"department_id\") \
         VALUES ($1, $2, $3, $4), ($5, $6, $7, $8) RETURNING \"id\""
    );
    assert_eq!(statement.params()[1], Value::Null);
}
