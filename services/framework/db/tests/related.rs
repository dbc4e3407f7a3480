//! `ForeignKey` columns and `select_related`.

use herd_db::{ForeignKey, Model};

use crate::common::{Department, Employee, Project, date, employee, setup};

#[tokio::test]
async fn select_related_reads_the_referenced_object_in_the_same_query() {
    let fx = setup().await;
    let db = &fx.db;
    let sales = Department::create(
        db,
        Department {
            id: 0,
            name: "Sales".to_owned(),
        },
    )
    .await
    .unwrap();
    let mut ann = employee("Ann", None, date(2001, 1, 1));
    ann.department = Some(ForeignKey::from(&sales));
    Employee::create(db, ann).await.unwrap();
    Employee::create(db, employee("Bob", None, date(2002, 1, 1)))
        .await
        .unwrap();

    // Without select_related only the id is there.
    let plain = Employee::objects()
        .order_by(&["hire_date"])
        .all(db)
        .await
        .unwrap();
    let key = plain[0].department.as_ref().unwrap();
    assert_eq!(key.id(), sales.id);
    assert!(key.get().is_none());
    let before = db.statements_executed();
    assert_eq!(key.fetch(db).await.unwrap(), sales);
    assert_eq!(db.statements_executed(), before + 1);

    // With it, a LEFT JOIN loads the department and keeps the employee without one.
    let before = db.statements_executed();
    let joined = Employee::objects()
        .select_related("department")
        .order_by(&["hire_date"])
        .all(db)
        .await
        .unwrap();
    assert_eq!(db.statements_executed(), before + 1);
    assert_eq!(joined.len(), 2);
    let key = joined[0].department.as_ref().unwrap();
    assert_eq!(key.get(), Some(&sales));
    assert_eq!(key.fetch(db).await.unwrap(), sales);
    assert_eq!(
        db.statements_executed(),
        before + 1,
        "fetch after select_related queried again"
    );
    assert!(joined[1].department.is_none());

    // Lookups on a foreign key compare the related id.
    let in_sales = Employee::objects()
        .filter(Employee::department().exact(sales.id))
        .all(db)
        .await
        .unwrap();
    assert_eq!(in_sales.len(), 1);
    assert_eq!(
        Employee::objects()
            .filter(Employee::department().isnull(true))
            .count(db)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn a_required_foreign_key_joins_and_cascades() {
    let fx = setup().await;
    let db = &fx.db;
    let sales = Department::create(
        db,
        Department {
            id: 0,
            name: "Sales".to_owned(),
        },
    )
    .await
    .unwrap();
    let ops = Department::create(
        db,
        Department {
            id: 0,
            name: "Ops".to_owned(),
        },
    )
    .await
    .unwrap();
    Project::bulk_create(
        db,
        vec![
            Project {
                id: 0,
                title: "Alpha".to_owned(),
                department: ForeignKey::from(&sales),
            },
            Project {
                id: 0,
                title: "Beta".to_owned(),
                department: ForeignKey::new(ops.id),
            },
        ],
    )
    .await
    .unwrap();
    let projects = Project::objects()
        .select_related("department")
        .order_by(&["title"])
        .all(db)
        .await
        .unwrap();
    let departments: Vec<_> = projects
        .iter()
        .map(|p| p.department.get().unwrap().name.as_str())
        .collect();
    assert_eq!(departments, ["Sales", "Ops"]);

    // A dangling reference is refused (at commit: Django's constraints are deferred).
    let dangling = Project::create(
        db,
        Project {
            id: 0,
            title: "Gamma".to_owned(),
            department: ForeignKey::new(999),
        },
    );
    assert!(dangling.await.unwrap_err().is_database());

    assert_eq!(sales.delete(db).await.unwrap(), 1);
    assert_eq!(
        names_of(&Project::objects().all(db).await.unwrap()),
        ["Beta"]
    );
}

fn names_of(projects: &[Project]) -> Vec<&str> {
    projects.iter().map(|p| p.title.as_str()).collect()
}
