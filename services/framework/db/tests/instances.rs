//! `create`, `save`, `update`, `delete` and `bulk_create`; every column type round-trips.

use chrono::TimeZone;
use herd_db::{Assignment, Model, Q};

use crate::common::{Badge, Employee, Sample, date, employee, names, setup, staff};

pub(crate) fn sample() -> Sample {
    Sample {
        id: 0,
        small: -7,
        int: 42,
        big: Some(i64::MAX),
        ratio: 0.125,
        flag: true,
        stamp: chrono::Utc.with_ymd_and_hms(2001, 2, 3, 4, 5, 6).unwrap()
            + chrono::Duration::microseconds(789),
        key: uuid::Uuid::new_v4(),
        data: serde_json::json!({"tags": ["a", "b"], "n": 1, "text": "'; DROP"}),
        keyword: "select * from x".to_owned(),
    }
}

#[tokio::test]
async fn every_column_type_round_trips() {
    let fx = setup().await;
    let db = &fx.db;
    let created = Sample::create(db, sample()).await.unwrap();
    assert!(created.id > 0);
    let read = Sample::objects()
        .get(db, Sample::id().exact(created.id))
        .await
        .unwrap();
    assert_eq!(read, created);
    let by_uuid = Sample::objects()
        .get(db, Sample::key().exact(created.key))
        .await
        .unwrap();
    assert_eq!(by_uuid.id, created.id);
    assert!(
        Sample::objects()
            .filter(Sample::flag().exact(true) & Sample::small().lt(0))
            .exists(db)
            .await
            .unwrap()
    );
    assert!(
        Sample::objects()
            .filter(Sample::keyword().startswith("select *"))
            .exists(db)
            .await
            .unwrap()
    );

    let mut empty = sample();
    empty.big = None;
    let empty = Sample::create(db, empty).await.unwrap();
    let read = Sample::objects()
        .get(db, Sample::big().isnull(true))
        .await
        .unwrap();
    assert_eq!(read, empty);
}

#[tokio::test]
async fn create_inserts_and_sets_the_primary_key() {
    let fx = setup().await;
    let db = &fx.db;
    let ann = Employee::create(db, employee("Ann", None, date(2001, 1, 1)))
        .await
        .unwrap();
    let bob = Employee::create(db, employee("Bob", None, date(2001, 1, 1)))
        .await
        .unwrap();
    assert!(ann.id > 0);
    assert!(bob.id > ann.id);
    assert_eq!(
        Employee::objects()
            .get(db, Employee::id().exact(ann.id))
            .await
            .unwrap(),
        ann
    );

    // A primary key chosen by the application.
    let badge = Badge::create(
        db,
        Badge {
            code: "A-1".to_owned(),
            label: "first".to_owned(),
        },
    )
    .await
    .unwrap();
    assert_eq!(badge.code, "A-1");
    let duplicate = Badge::create(db, badge.clone()).await.unwrap_err();
    assert!(duplicate.is_unique_violation());
    assert!(herd_core::Error::from(duplicate).is_internal());
}

#[tokio::test]
async fn save_inserts_new_objects_and_updates_saved_ones() {
    let fx = setup().await;
    let db = &fx.db;
    let mut ann = employee("Ann", None, date(2001, 1, 1));
    ann.save(db).await.unwrap();
    assert!(ann.id > 0);
    ann.address = Some("1 Main St".to_owned());
    ann.save(db).await.unwrap();
    assert_eq!(Employee::objects().count(db).await.unwrap(), 1);
    let read = Employee::objects().get(db, Q::all()).await.unwrap();
    assert_eq!(read, ann);

    // With an application-chosen key, save() updates, or inserts when no row has the key.
    let mut badge = Badge {
        code: "B".to_owned(),
        label: "one".to_owned(),
    };
    badge.save(db).await.unwrap();
    badge.label = "two".to_owned();
    badge.save(db).await.unwrap();
    let badges = Badge::objects().all(db).await.unwrap();
    assert_eq!(badges, [badge]);
}

#[tokio::test]
async fn update_and_delete_report_the_rows_they_touched() {
    let fx = setup().await;
    let db = &fx.db;
    let staff = staff(db).await;
    let moved = Employee::objects()
        .filter(Employee::hire_date().year(2001))
        .update(
            db,
            &[
                Employee::address().set(Some("HQ".to_owned())),
                Employee::name().set("Renamed"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(moved, 2);
    assert_eq!(
        Employee::objects()
            .filter(Employee::address().exact("HQ"))
            .count(db)
            .await
            .unwrap(),
        2
    );
    let by_name = Assignment::<Employee>::new("hire_date", "1999-09-09").unwrap();
    assert_eq!(
        Employee::objects()
            .filter(Employee::name().exact("Renamed"))
            .update(db, &[by_name])
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        Employee::objects()
            .filter(Employee::hire_date().year(1999))
            .count(db)
            .await
            .unwrap(),
        2
    );
    assert!(
        Assignment::<Employee>::new("hire_date", "soon")
            .unwrap_err()
            .is_bad_lookup()
    );
    assert!(
        Employee::objects()
            .update(db, &[])
            .await
            .unwrap_err()
            .is_bad_lookup()
    );

    assert_eq!(staff[0].delete(db).await.unwrap(), 1);
    assert_eq!(staff[0].delete(db).await.unwrap(), 0);
    assert!(
        employee("x", None, date(2000, 1, 1))
            .delete(db)
            .await
            .unwrap_err()
            .is_bad_lookup()
    );
    assert_eq!(
        Employee::objects()
            .filter(Employee::address().exact("HQ"))
            .delete(db)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        names(
            &Employee::objects()
                .order_by(&["hire_date"])
                .all(db)
                .await
                .unwrap()
        ),
        ["Dora", "Eve"]
    );
    assert_eq!(Employee::objects().delete(db).await.unwrap(), 2);
    assert_eq!(Employee::objects().count(db).await.unwrap(), 0);
}

#[tokio::test]
async fn bulk_create_inserts_in_one_statement_and_sets_every_key() {
    let fx = setup().await;
    let db = &fx.db;
    let before = db.statements_executed();
    let many: Vec<_> = (0..500)
        .map(|i| employee(&format!("e{i:03}"), None, date(2001, 1, 1)))
        .collect();
    let created = Employee::bulk_create(db, many).await.unwrap();
    assert_eq!(db.statements_executed(), before + 1);
    assert_eq!(created.len(), 500);
    assert!(
        created
            .windows(2)
            .all(|w| w[0].id < w[1].id && w[0].name < w[1].name)
    );
    let read = Employee::objects().order_by(&["id"]).all(db).await.unwrap();
    assert_eq!(read, created);
    assert!(
        Employee::bulk_create(db, Vec::new())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(db.statements_executed(), before + 2);
}
