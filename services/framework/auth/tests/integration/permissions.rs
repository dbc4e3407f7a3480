//! `create_permissions` and `has_perm` through direct grants, groups, superusers and inactive
//! users, on a migrated database.

use herd_auth::models::{Group, GroupPermission, Permission, User, UserGroup, UserPermission};
use herd_auth::{create_permissions, has_perm, permission_target};
use herd_db::{ForeignKey, Model};

use crate::common::{setup, user};

async fn permission(db: &herd_db::Database, codename: &str) -> Permission {
    Permission::objects()
        .get(db, Permission::codename().exact(codename))
        .await
        .unwrap()
}

#[tokio::test]
async fn create_permissions_makes_the_four_django_permissions_once() {
    let fx = setup().await;
    let created = create_permissions(&fx.db, &[("directory", "employee", "employee")])
        .await
        .unwrap();
    assert_eq!(created, 4);
    let again = create_permissions(&fx.db, &[("directory", "employee", "employee")])
        .await
        .unwrap();
    assert_eq!(again, 0, "a second run creates nothing");

    let all = Permission::objects().all(&fx.db).await.unwrap();
    let mut names: Vec<_> = all
        .iter()
        .map(|p| format!("{}.{}|{}|{}", p.app_label, p.codename, p.model, p.name))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "directory.add_employee|employee|Can add employee",
            "directory.change_employee|employee|Can change employee",
            "directory.delete_employee|employee|Can delete employee",
            "directory.view_employee|employee|Can view employee",
        ]
    );

    let created = create_permissions(&fx.db, &[permission_target(User::meta())])
        .await
        .unwrap();
    assert_eq!(created, 4);
    assert_eq!(permission(&fx.db, "view_user").await.name, "Can view user");
}

#[tokio::test]
async fn a_direct_grant_gives_exactly_that_permission() {
    let fx = setup().await;
    create_permissions(&fx.db, &[("directory", "employee", "employee")])
        .await
        .unwrap();
    let ann = user(&fx.db, "ann", "!unusable").await;
    assert!(
        !has_perm(&fx.db, &ann, "directory.change_employee")
            .await
            .unwrap()
    );

    let change = permission(&fx.db, "change_employee").await;
    UserPermission::create(
        &fx.db,
        UserPermission {
            id: 0,
            user: ForeignKey::from(&ann),
            permission: ForeignKey::from(&change),
        },
    )
    .await
    .unwrap();
    assert!(
        has_perm(&fx.db, &ann, "directory.change_employee")
            .await
            .unwrap()
    );
    assert!(
        !has_perm(&fx.db, &ann, "directory.delete_employee")
            .await
            .unwrap()
    );
    assert!(
        !has_perm(&fx.db, &ann, "other.change_employee")
            .await
            .unwrap()
    );
    assert!(!has_perm(&fx.db, &ann, "change_employee").await.unwrap());

    let bob = user(&fx.db, "bob", "!unusable").await;
    assert!(
        !has_perm(&fx.db, &bob, "directory.change_employee")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn joining_and_leaving_a_group_grants_and_revokes_its_permissions() {
    let fx = setup().await;
    create_permissions(&fx.db, &[("directory", "employee", "employee")])
        .await
        .unwrap();
    let editors = Group::create(
        &fx.db,
        Group {
            id: 0,
            name: "editors".into(),
        },
    )
    .await
    .unwrap();
    let change = permission(&fx.db, "change_employee").await;
    GroupPermission::create(
        &fx.db,
        GroupPermission {
            id: 0,
            group: ForeignKey::from(&editors),
            permission: ForeignKey::from(&change),
        },
    )
    .await
    .unwrap();
    let ann = user(&fx.db, "ann", "!unusable").await;
    assert!(
        !has_perm(&fx.db, &ann, "directory.change_employee")
            .await
            .unwrap()
    );

    let membership = UserGroup::create(
        &fx.db,
        UserGroup {
            id: 0,
            user: ForeignKey::from(&ann),
            group: ForeignKey::from(&editors),
        },
    )
    .await
    .unwrap();
    assert!(
        has_perm(&fx.db, &ann, "directory.change_employee")
            .await
            .unwrap()
    );
    assert!(
        !has_perm(&fx.db, &ann, "directory.add_employee")
            .await
            .unwrap()
    );

    membership.delete(&fx.db).await.unwrap();
    assert!(
        !has_perm(&fx.db, &ann, "directory.change_employee")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn active_superusers_hold_everything_and_inactive_users_nothing() {
    let fx = setup().await;
    create_permissions(&fx.db, &[("directory", "employee", "employee")])
        .await
        .unwrap();
    let mut root = user(&fx.db, "root", "!unusable").await;
    root.is_superuser = true;
    assert!(
        has_perm(&fx.db, &root, "directory.change_employee")
            .await
            .unwrap()
    );
    assert!(has_perm(&fx.db, &root, "anything.at_all").await.unwrap());

    root.is_active = false;
    assert!(
        !has_perm(&fx.db, &root, "directory.change_employee")
            .await
            .unwrap()
    );

    let mut ann = user(&fx.db, "ann", "!unusable").await;
    let change = permission(&fx.db, "change_employee").await;
    UserPermission::create(
        &fx.db,
        UserPermission {
            id: 0,
            user: ForeignKey::from(&ann),
            permission: ForeignKey::from(&change),
        },
    )
    .await
    .unwrap();
    ann.is_active = false;
    assert!(
        !has_perm(&fx.db, &ann, "directory.change_employee")
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn the_join_tables_refuse_duplicates_and_the_models_match_the_migrations() {
    let fx = setup().await;
    let ann = user(&fx.db, "ann", "!unusable").await;
    let editors = Group::create(
        &fx.db,
        Group {
            id: 0,
            name: "editors".into(),
        },
    )
    .await
    .unwrap();
    let row = UserGroup {
        id: 0,
        user: ForeignKey::from(&ann),
        group: ForeignKey::from(&editors),
    };
    UserGroup::create(&fx.db, row.clone()).await.unwrap();
    let err = UserGroup::create(&fx.db, row).await.unwrap_err();
    assert!(err.is_unique_violation(), "{err:?}");
    let dup = user_named(&fx.db, "ann").await;
    assert!(dup.is_unique_violation(), "{dup:?}");

    let pending = herd_db::migrations::diff(&herd_auth::app_migrations()).unwrap();
    assert!(
        pending.is_empty(),
        "models differ from migrations: {pending:?}"
    );
}

async fn user_named(db: &herd_db::Database, username: &str) -> herd_db::Error {
    User::create(db, User::new(username, "!x"))
        .await
        .unwrap_err()
}
