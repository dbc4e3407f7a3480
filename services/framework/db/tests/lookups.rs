//! Every lookup against Postgres, hostile text included.

use herd_db::{Executor, Model, Q, Statement};

use crate::common::{Employee, by_hire, date, employee, names, setup, staff};

#[tokio::test]
async fn each_lookup_selects_the_rows_django_would() {
    let fx = setup().await;
    staff(&fx.db).await;
    let db = &fx.db;
    let run = |q: Q<Employee>| async move {
        names(&by_hire().filter(q).all(db).await.unwrap()).join(",")
    };

    assert_eq!(run(Employee::name().exact("Ann")).await, "Ann");
    assert_eq!(run(Employee::name().exact("ann")).await, "");
    assert_eq!(run(Employee::name().iexact("ANN")).await, "Ann");
    assert_eq!(run(Employee::address().contains("Main")).await, "Ann,Eve");
    assert_eq!(run(Employee::address().contains("main")).await, "");
    assert_eq!(run(Employee::address().icontains("MAIN")).await, "Ann,Eve");
    assert_eq!(run(Employee::name().startswith("B")).await, "");
    assert_eq!(run(Employee::name().istartswith("B")).await, "bob");
    assert_eq!(run(Employee::address().endswith("St")).await, "Ann,Carl");
    assert_eq!(run(Employee::address().iendswith("RD")).await, "Eve");
    assert_eq!(
        run(Employee::hire_date().gt(date(2001, 12, 31))).await,
        "Dora,Eve"
    );
    assert_eq!(
        run(Employee::hire_date().gte(date(2001, 12, 31))).await,
        "Carl,Dora,Eve"
    );
    assert_eq!(
        run(Employee::hire_date().lt(date(2001, 6, 15))).await,
        "Ann"
    );
    assert_eq!(
        run(Employee::hire_date().lte(date(2001, 6, 15))).await,
        "Ann,bob"
    );
    assert_eq!(
        run(Employee::name().in_(["Eve", "Ann", "Zed"])).await,
        "Ann,Eve"
    );
    assert_eq!(run(Employee::name().in_(Vec::<String>::new())).await, "");
    assert_eq!(run(Employee::address().isnull(true)).await, "bob,Dora");
    assert_eq!(run(Employee::address().isnull(false)).await, "Ann,Carl,Eve");
    assert_eq!(run(Employee::address().exact(None)).await, "bob,Dora");
    assert_eq!(
        run(Employee::hire_date().range(date(2001, 6, 15), date(2002, 1, 1))).await,
        "bob,Carl,Dora"
    );
    assert_eq!(run(Employee::hire_date().year(2001)).await, "bob,Carl");
    assert_eq!(run(Employee::hire_date().year(1999)).await, "");
}

#[tokio::test]
async fn hostile_text_is_stored_verbatim_and_matched_literally() {
    let fx = setup().await;
    let db = &fx.db;
    let hostile = [
        "'; DROP TABLE x; --",
        "100% sure",
        "snake_case",
        r"back\slash",
        "plain",
        "it's \"quoted\" <b>&amp;</b>",
    ];
    let created = Employee::bulk_create(
        db,
        hostile
            .iter()
            .map(|name| employee(name, Some(name), date(2001, 1, 1)))
            .collect(),
    )
    .await
    .unwrap();
    assert_eq!(created.len(), hostile.len());

    let read = Employee::objects().order_by(&["id"]).all(db).await.unwrap();
    assert_eq!(names(&read), hostile);
    assert!(
        read.iter()
            .all(|e| e.address.as_deref() == Some(e.name.as_str()))
    );

    let matching = |q: Q<Employee>| async move {
        names(&by_hire().filter(q).order_by(&["id"]).all(db).await.unwrap()).join("|")
    };
    assert_eq!(
        matching(Employee::name().exact(hostile[0])).await,
        hostile[0]
    );
    assert_eq!(matching(Employee::name().contains("%")).await, "100% sure");
    assert_eq!(matching(Employee::name().contains("_")).await, "snake_case");
    assert_eq!(
        matching(Employee::name().contains("\\")).await,
        r"back\slash"
    );
    assert_eq!(
        matching(Employee::name().icontains("% S")).await,
        "100% sure"
    );
    assert_eq!(
        matching(Employee::name().startswith("'; DROP")).await,
        hostile[0]
    );
    assert_eq!(
        matching(Employee::name().endswith("\\slash")).await,
        r"back\slash"
    );
    assert_eq!(
        matching(Employee::name().icontains("' OR 1=1 --")).await,
        ""
    );
    assert_eq!(
        matching(Employee::name().in_([hostile[5]])).await,
        hostile[5]
    );
    assert_eq!(
        matching(Q::lookup("name__icontains", "_CASE").unwrap()).await,
        "snake_case"
    );

    // The table is still there, with every row.
    assert_eq!(Employee::objects().count(db).await.unwrap(), 6);
}

#[tokio::test]
async fn exclude_keeps_rows_whose_column_is_null() {
    let fx = setup().await;
    staff(&fx.db).await;
    let rows = by_hire()
        .exclude(Employee::address().contains("Main"))
        .all(&fx.db)
        .await
        .unwrap();
    assert_eq!(names(&rows), ["bob", "Carl", "Dora"]);
    let rows = by_hire()
        .filter(!Employee::address().endswith("St"))
        .all(&fx.db)
        .await
        .unwrap();
    assert_eq!(names(&rows), ["bob", "Dora", "Eve"]);
}

#[tokio::test]
async fn q_objects_combine_with_and_or_and_not() {
    let fx = setup().await;
    staff(&fx.db).await;
    let db = &fx.db;
    let either = Employee::name().exact("Ann") | Employee::hire_date().year(2002);
    assert_eq!(
        names(&by_hire().filter(either.clone()).all(db).await.unwrap()),
        ["Ann", "Dora", "Eve"]
    );
    let both = either.clone() & Employee::address().isnull(false);
    assert_eq!(
        names(&by_hire().filter(both).all(db).await.unwrap()),
        ["Ann", "Eve"]
    );
    assert_eq!(
        names(&by_hire().filter(!either).all(db).await.unwrap()),
        ["bob", "Carl"]
    );
    // Chained filters are ANDed; an exclude after a filter narrows further.
    let chained = by_hire()
        .filter(Employee::hire_date().gte(date(2001, 1, 1)))
        .filter(Employee::name().in_(["bob", "Carl", "Eve"]))
        .exclude(Employee::name().exact("Carl"));
    assert_eq!(names(&chained.all(db).await.unwrap()), ["bob", "Eve"]);
    assert_eq!(
        Employee::objects()
            .filter(Q::none())
            .count(db)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        Employee::objects()
            .exclude(Q::none())
            .count(db)
            .await
            .unwrap(),
        5
    );
}

#[tokio::test]
async fn string_lookups_parse_their_values_into_the_column_type() {
    let fx = setup().await;
    staff(&fx.db).await;
    let db = &fx.db;
    let run = |path: &str, value: &str| {
        let q = Q::<Employee>::lookup(path, value).unwrap();
        async move { names(&by_hire().filter(q).all(db).await.unwrap()).join(",") }
    };
    assert_eq!(run("hire_date__year", "2001").await, "bob,Carl");
    assert_eq!(run("hire_date__gte", "2002-01-01").await, "Dora,Eve");
    assert_eq!(
        run("hire_date__range", "2000-01-01,2001-06-15").await,
        "Ann,bob"
    );
    assert_eq!(run("address__isnull", "1").await, "bob,Dora");
    assert_eq!(run("name__in", "Ann,Eve").await, "Ann,Eve");
    assert_eq!(run("name", "Carl").await, "Carl");
    assert_eq!(run("address__istartswith", "5 main").await, "Eve");
    let ann = Employee::objects()
        .get(db, Employee::name().exact("Ann"))
        .await
        .unwrap();
    assert_eq!(run("pk", &ann.id.to_string()).await, "Ann");
    assert_eq!(run("id__in", "").await, "");

    for (path, value) in [
        ("hire_date__year", "two thousand"),
        ("hire_date", "' OR 1=1 --"),
        ("nope", "1"),
        ("name__like", "%"),
    ] {
        assert!(
            Q::<Employee>::lookup(path, value)
                .unwrap_err()
                .is_bad_lookup(),
            "{path}"
        );
    }
}

#[tokio::test]
async fn year_on_a_timestamp_covers_the_whole_utc_year() {
    use chrono::TimeZone;
    let fx = setup().await;
    let db = &fx.db;
    let mut sample = crate::instances::sample();
    for (second, stamp) in [
        chrono::Utc
            .with_ymd_and_hms(2000, 12, 31, 23, 59, 59)
            .unwrap(),
        chrono::Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).unwrap(),
        chrono::Utc
            .with_ymd_and_hms(2001, 12, 31, 23, 59, 59)
            .unwrap()
            + chrono::Duration::microseconds(999_999),
        chrono::Utc.with_ymd_and_hms(2002, 1, 1, 0, 0, 0).unwrap(),
    ]
    .into_iter()
    .enumerate()
    {
        sample.id = 0;
        sample.int = i32::try_from(second).unwrap();
        sample.stamp = stamp;
        crate::common::Sample::create(db, sample.clone())
            .await
            .unwrap();
    }
    let in_2001 = crate::common::Sample::objects()
        .filter(crate::common::Sample::stamp().year(2001))
        .order_by(&["int"])
        .all(db)
        .await
        .unwrap();
    assert_eq!(in_2001.iter().map(|s| s.int).collect::<Vec<_>>(), [1, 2]);
    // The raw SQL agrees, so the bounds are not an artefact of the ORM.
    let rows = db
        .query(&Statement::new("SELECT count(*) FROM \"typed \"\"values\"\"\" WHERE extract(year FROM stamp AT TIME ZONE 'UTC') = 2001"))
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), 2);
}
