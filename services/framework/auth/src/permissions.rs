//! Django's default model permissions and `ModelBackend.has_perm`.

use herd_db::{Executor, ModelMeta, Statement};

use crate::models::User;

/// The actions Django creates a permission for on every model, in Django's order.
pub const PERMISSION_ACTIONS: [&str; 4] = ["add", "change", "delete", "view"];

/// `(app_label, model, verbose_name)` of a model, as [`create_permissions`] takes it; Herd's
/// verbose name is the lower-case model name, as Django's default.
pub fn permission_target(meta: &ModelMeta) -> (&'static str, &'static str, &'static str) {
    (meta.app, meta.name, meta.name)
}

/// Creates `add_`, `change_`, `delete_` and `view_<model>` for each `(app_label, model,
/// verbose_name)`, named `Can add <verbose_name>`; existing ones are kept, so running it again
/// changes nothing. Returns how many were created.
///
/// # Errors
///
/// Any database error.
pub async fn create_permissions<E: Executor>(
    exec: &E,
    targets: &[(&str, &str, &str)],
) -> herd_db::Result<u64> {
    let mut created = 0;
    for (app_label, model, verbose_name) in targets {
        for action in PERMISSION_ACTIONS {
            // Relies on the (app_label, codename) constraint of migration 0002, so concurrent
            // runs cannot insert twice.
            let statement = Statement::new(
                "INSERT INTO auth_permission (name, app_label, model, codename) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (app_label, codename) DO NOTHING",
            )
            .bind(format!("Can {action} {verbose_name}"))
            .bind(*app_label)
            .bind(*model)
            .bind(format!("{action}_{model}"));
            created += exec.execute(&statement).await?;
        }
    }
    Ok(created)
}

/// Django's `user.has_perm("app_label.codename")`: active superusers hold every permission,
/// inactive users none, others those granted to them directly or through a group.
///
/// # Errors
///
/// Any database error. A `perm` without a `.` is simply not held.
pub async fn has_perm<E: Executor>(exec: &E, user: &User, perm: &str) -> herd_db::Result<bool> {
    if !user.is_active {
        return Ok(false);
    }
    if user.is_superuser {
        return Ok(true);
    }
    let Some((app_label, codename)) = perm.split_once('.') else {
        return Ok(false);
    };
    let statement = Statement::new(
        "SELECT EXISTS (SELECT 1 FROM auth_permission p \
         WHERE p.app_label = $1 AND p.codename = $2 AND ( \
           p.id IN (SELECT up.permission_id FROM auth_user_user_permissions up \
                    WHERE up.user_id = $3) \
           OR p.id IN (SELECT gp.permission_id FROM auth_group_permissions gp \
                       JOIN auth_user_groups ug ON ug.group_id = gp.group_id \
                       WHERE ug.user_id = $3)))",
    )
    .bind(app_label)
    .bind(codename)
    .bind(user.id);
    let rows = exec.query(&statement).await?;
    Ok(rows
        .first()
        .is_some_and(|row| row.try_get::<_, bool>(0).unwrap_or(false)))
}
