//! Listeners hear about every change the ORM makes, after COMMIT inside transactions.

use std::sync::{Arc, Mutex};

use herd_db::{Change, Database, Model};

use crate::common::{Employee, date, employee, setup};

/// Records "<model>:<pk or *>" for each change.
fn record(db: &Database) -> Arc<Mutex<Vec<String>>> {
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&heard);
    db.on_change(move |change: Change| {
        let sink = Arc::clone(&sink);
        async move {
            let pk = change.pk_text().unwrap_or_else(|| "*".to_owned());
            sink.lock()
                .unwrap()
                .push(format!("{}.{}:{pk}", change.app, change.model));
        }
    });
    heard
}

#[tokio::test]
async fn create_save_and_delete_announce_the_row() {
    let fx = setup().await;
    let heard = record(&fx.db);
    let mut ann = Employee::create(&fx.db, employee("Ann", None, date(2001, 1, 1)))
        .await
        .unwrap();
    ann.name = "Ann B".to_owned();
    ann.save(&fx.db).await.unwrap();
    ann.delete(&fx.db).await.unwrap();
    let id = ann.id;
    let model = Employee::meta().app;
    assert_eq!(
        *heard.lock().unwrap(),
        [
            format!("{model}.employee:{id}"),
            format!("{model}.employee:{id}"),
            format!("{model}.employee:{id}")
        ]
    );
}

#[tokio::test]
async fn queryset_updates_announce_the_model_and_nothing_when_no_row_changed() {
    let fx = setup().await;
    Employee::create(&fx.db, employee("Ann", None, date(2001, 1, 1)))
        .await
        .unwrap();
    let heard = record(&fx.db);
    Employee::objects()
        .filter(Employee::name().exact("nobody"))
        .update(&fx.db, &[Employee::name().set("x")])
        .await
        .unwrap();
    assert!(heard.lock().unwrap().is_empty());
    Employee::objects()
        .update(&fx.db, &[Employee::name().set("Bea")])
        .await
        .unwrap();
    Employee::objects().delete(&fx.db).await.unwrap();
    assert_eq!(heard.lock().unwrap().len(), 2);
    assert!(
        heard
            .lock()
            .unwrap()
            .iter()
            .all(|change| change.ends_with(":*"))
    );
}

#[tokio::test]
async fn a_transaction_announces_after_commit_and_a_rollback_announces_nothing() {
    let fx = setup().await;
    let heard = record(&fx.db);
    let tx = fx.db.begin().await.unwrap();
    Employee::create(&tx, employee("Ann", None, date(2001, 1, 1)))
        .await
        .unwrap();
    assert!(heard.lock().unwrap().is_empty(), "announced before COMMIT");
    tx.commit().await.unwrap();
    assert_eq!(heard.lock().unwrap().len(), 1);

    let tx = fx.db.begin().await.unwrap();
    Employee::create(&tx, employee("Bea", None, date(2001, 1, 1)))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(heard.lock().unwrap().len(), 1);
}
