//! Laziness, ordering, slicing and the terminal methods.

use herd_db::{Model, Q};

use crate::common::{Employee, names, setup, staff};

#[tokio::test]
async fn chaining_runs_no_sql_and_each_terminal_call_runs_one_statement() {
    let fx = setup().await;
    staff(&fx.db).await;
    let db = &fx.db;
    let before = db.statements_executed();
    let qs = Employee::objects()
        .filter(Employee::name().icontains("a"))
        .exclude(Employee::address().isnull(true))
        .order_by(&["-name"])
        .select_related("department")
        .slice(0..10);
    let _copy = qs.clone().limit(3);
    assert_eq!(db.statements_executed(), before, "chaining ran SQL");

    let rows = qs.all(db).await.unwrap();
    assert_eq!(names(&rows), ["Carl", "Ann"]);
    assert_eq!(db.statements_executed(), before + 1);
    for (n, step) in ["count", "exists", "get", "first", "update", "delete"]
        .into_iter()
        .enumerate()
    {
        let all = Employee::objects();
        match step {
            "count" => assert_eq!(all.count(db).await.unwrap(), 5),
            "exists" => assert!(all.exists(db).await.unwrap()),
            "get" => assert_eq!(
                all.get(db, Employee::name().exact("Eve"))
                    .await
                    .unwrap()
                    .name,
                "Eve"
            ),
            "first" => assert_eq!(all.first(db).await.unwrap().unwrap().name, "Ann"),
            "update" => assert_eq!(
                all.filter(Employee::name().exact("Eve"))
                    .update(db, &[Employee::address().set(None)])
                    .await
                    .unwrap(),
                1
            ),
            _ => assert_eq!(
                all.filter(Employee::name().exact("Eve"))
                    .delete(db)
                    .await
                    .unwrap(),
                1
            ),
        }
        assert_eq!(
            db.statements_executed(),
            before + 2 + n as u64,
            "{step} ran more than one statement"
        );
    }
}

#[tokio::test]
async fn ordering_defaults_to_the_model_and_puts_nulls_where_postgres_does() {
    let fx = setup().await;
    staff(&fx.db).await;
    let db = &fx.db;
    // Default ordering "name, -id": Postgres compares by collation; these names sort the same
    // either way except for case, so check against a byte-order-free expectation.
    let default = names(&Employee::objects().all(db).await.unwrap()).join(",");
    let explicit = names(
        &Employee::objects()
            .order_by(&["name", "-id"])
            .all(db)
            .await
            .unwrap(),
    )
    .join(",");
    assert_eq!(default, explicit);

    let by_date_desc = Employee::objects()
        .order_by(&["-hire_date"])
        .all(db)
        .await
        .unwrap();
    assert_eq!(names(&by_date_desc), ["Eve", "Dora", "Carl", "bob", "Ann"]);

    // Ascending puts NULLs last, descending puts them first.
    let asc = Employee::objects()
        .order_by(&["address", "hire_date"])
        .all(db)
        .await
        .unwrap();
    assert_eq!(names(&asc), ["Ann", "Carl", "Eve", "bob", "Dora"]);
    let desc = Employee::objects()
        .order_by(&["-address", "hire_date"])
        .all(db)
        .await
        .unwrap();
    assert_eq!(names(&desc), ["bob", "Dora", "Eve", "Carl", "Ann"]);

    // `pk` names the primary key; an empty order_by still returns every row.
    let by_pk = Employee::objects()
        .order_by(&["-pk"])
        .all(db)
        .await
        .unwrap();
    assert_eq!(names(&by_pk), ["Eve", "Dora", "Carl", "bob", "Ann"]);
    assert_eq!(
        Employee::objects()
            .order_by(&[])
            .all(db)
            .await
            .unwrap()
            .len(),
        5
    );
}

#[tokio::test]
async fn slices_are_offset_and_limit_and_refuse_misuse() {
    let fx = setup().await;
    staff(&fx.db).await;
    let db = &fx.db;
    let by_date = Employee::objects().order_by(&["hire_date"]);
    assert_eq!(
        names(&by_date.slice(1..3).all(db).await.unwrap()),
        ["bob", "Carl"]
    );
    assert_eq!(
        names(&by_date.slice(3..).all(db).await.unwrap()),
        ["Dora", "Eve"]
    );
    assert_eq!(
        names(&by_date.limit(2).all(db).await.unwrap()),
        ["Ann", "bob"]
    );
    assert_eq!(
        names(&by_date.offset(1).limit(1).all(db).await.unwrap()),
        ["bob"]
    );
    assert_eq!(
        names(&by_date.slice(1..4).slice(1..10).all(db).await.unwrap()),
        ["Carl", "Dora"]
    );
    let (high, low) = (1, 3);
    assert!(by_date.slice(low..high).all(db).await.unwrap().is_empty());
    assert!(by_date.slice(10..20).all(db).await.unwrap().is_empty());
    assert_eq!(by_date.slice(1..3).count(db).await.unwrap(), 2);
    assert_eq!(by_date.slice(4..).count(db).await.unwrap(), 1);
    assert!(by_date.slice(4..).exists(db).await.unwrap());
    assert!(!by_date.slice(5..).exists(db).await.unwrap());

    let before = db.statements_executed();
    for refused in [
        by_date.slice(-1..2).all(db).await.unwrap_err(),
        by_date.limit(-5).all(db).await.unwrap_err(),
        by_date
            .slice(0..2)
            .filter(Employee::name().exact("Ann"))
            .all(db)
            .await
            .unwrap_err(),
        by_date
            .slice(0..2)
            .exclude(Q::none())
            .count(db)
            .await
            .unwrap_err(),
        by_date
            .slice(0..2)
            .order_by(&["name"])
            .all(db)
            .await
            .unwrap_err(),
        by_date.slice(0..2).delete(db).await.unwrap_err(),
        by_date
            .slice(0..2)
            .update(db, &[Employee::name().set("x")])
            .await
            .unwrap_err(),
        Employee::objects()
            .order_by(&["salary"])
            .all(db)
            .await
            .unwrap_err(),
    ] {
        assert!(refused.is_bad_lookup(), "{refused}");
    }
    assert_eq!(
        db.statements_executed(),
        before,
        "a refused query reached the database"
    );
    assert_eq!(Employee::objects().count(db).await.unwrap(), 5);
}

#[tokio::test]
async fn count_exists_get_and_first() {
    let fx = setup().await;
    let db = &fx.db;
    assert_eq!(Employee::objects().count(db).await.unwrap(), 0);
    assert!(!Employee::objects().exists(db).await.unwrap());
    assert!(Employee::objects().first(db).await.unwrap().is_none());
    let missing = Employee::objects()
        .get(db, Employee::id().exact(1))
        .await
        .unwrap_err();
    assert!(missing.is_does_not_exist());
    assert_eq!(
        missing.to_string(),
        "Employee matching query does not exist"
    );
    assert!(herd_core::Error::from(missing).is_not_found());

    staff(db).await;
    assert_eq!(Employee::objects().count(db).await.unwrap(), 5);
    assert_eq!(
        Employee::objects()
            .filter(Employee::hire_date().year(2001))
            .count(db)
            .await
            .unwrap(),
        2
    );
    assert!(
        Employee::objects()
            .filter(Employee::name().exact("Dora"))
            .exists(db)
            .await
            .unwrap()
    );
    let dora = Employee::objects()
        .get(db, Employee::name().exact("Dora"))
        .await
        .unwrap();
    assert_eq!(dora.address, None);
    assert_eq!(
        Employee::objects()
            .filter(Employee::name().exact("Dora"))
            .get(db, Q::all())
            .await
            .unwrap(),
        dora
    );

    let many = Employee::objects()
        .get(db, Employee::hire_date().year(2001))
        .await
        .unwrap_err();
    assert!(many.is_multiple_objects_returned());
    assert!(herd_core::Error::from(many).is_internal());

    // first() follows the ordering, and the primary key when there is none.
    assert_eq!(
        Employee::objects()
            .order_by(&["-hire_date"])
            .first(db)
            .await
            .unwrap()
            .unwrap()
            .name,
        "Eve"
    );
    let first_by_pk = Employee::objects()
        .order_by(&[])
        .first(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first_by_pk.name, "Ann");
    assert!(
        Employee::objects()
            .filter(Employee::name().exact("Zed"))
            .first(db)
            .await
            .unwrap()
            .is_none()
    );
}
