//! Transactions commit only when asked, and leave nothing behind otherwise.

use herd_db::{Executor, Model, Statement};

use crate::common::{Employee, date, employee, settings, setup, setup_with};

#[tokio::test]
async fn a_closure_that_fails_rolls_everything_back() {
    let fx = setup().await;
    let db = &fx.db;
    let result: Result<(), herd_db::Error> = db
        .transaction(|tx| async move {
            Employee::create(&tx, employee("Ann", None, date(2001, 1, 1))).await?;
            Employee::objects()
                .update(&tx, &[Employee::name().set("Changed")])
                .await?;
            assert_eq!(Employee::objects().count(&tx).await?, 1);
            Employee::objects()
                .get(&tx, Employee::name().exact("nobody"))
                .await?;
            Ok(())
        })
        .await;
    assert!(result.unwrap_err().is_does_not_exist());
    assert_eq!(Employee::objects().count(db).await.unwrap(), 0);
}

#[tokio::test]
async fn a_closure_that_succeeds_commits() {
    let fx = setup().await;
    let db = &fx.db;
    let created = db
        .transaction(|tx| async move {
            let ann = Employee::create(&tx, employee("Ann", None, date(2001, 1, 1))).await?;
            Employee::create(&tx, employee("Bob", None, date(2001, 1, 1))).await?;
            Ok::<_, herd_db::Error>(ann)
        })
        .await
        .unwrap();
    assert_eq!(Employee::objects().count(db).await.unwrap(), 2);
    assert_eq!(
        Employee::objects()
            .get(db, Employee::id().exact(created.id))
            .await
            .unwrap()
            .name,
        "Ann"
    );
}

#[tokio::test]
async fn an_explicit_transaction_is_invisible_until_commit_and_rolls_back_on_drop() {
    // One connection: a dropped transaction must give it back, clean, for the next query.
    let mut one = settings();
    one.pool_size = 1;
    let fx = setup_with(&one).await;
    let db = &fx.db;

    let tx = db.begin().await.unwrap();
    Employee::create(&tx, employee("Ann", None, date(2001, 1, 1)))
        .await
        .unwrap();
    assert_eq!(Employee::objects().count(&tx).await.unwrap(), 1);
    drop(tx);
    assert_eq!(Employee::objects().count(db).await.unwrap(), 0);
    // The pooled connection is outside the dropped transaction, which had a transaction id
    // (it inserted); a statement on its own has none.
    let outside = "SELECT txid_current_if_assigned() IS NULL";
    let rows = db.query(&Statement::new(outside)).await.unwrap();
    assert!(rows[0].get::<_, bool>(0));

    let tx = db.begin().await.unwrap();
    Employee::create(&tx, employee("Bob", None, date(2001, 1, 1)))
        .await
        .unwrap();
    tx.clone().rollback().await.unwrap();
    assert!(
        Employee::objects()
            .count(&tx)
            .await
            .unwrap_err()
            .is_transaction_aborted()
    );
    drop(tx);
    assert_eq!(Employee::objects().count(db).await.unwrap(), 0);

    let tx = db.begin().await.unwrap();
    Employee::create(&tx, employee("Carl", None, date(2001, 1, 1)))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(Employee::objects().count(db).await.unwrap(), 1);
}

#[tokio::test]
async fn committing_after_a_failed_statement_reports_the_rollback() {
    let fx = setup().await;
    let db = &fx.db;
    let tx = db.begin().await.unwrap();
    Employee::create(&tx, employee("Ann", None, date(2001, 1, 1)))
        .await
        .unwrap();
    let failed = tx
        .execute(&Statement::new("SELECT * FROM no_such_table"))
        .await
        .unwrap_err();
    assert!(failed.is_database());
    assert!(
        Employee::objects()
            .count(&tx)
            .await
            .unwrap_err()
            .is_transaction_aborted()
    );
    assert!(tx.commit().await.unwrap_err().is_transaction_aborted());
    assert_eq!(Employee::objects().count(db).await.unwrap(), 0);
}
