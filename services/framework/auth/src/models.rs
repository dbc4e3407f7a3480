//! Django's `auth` tables: users, groups, permissions and the three join tables between them.

use chrono::{DateTime, Utc};
use herd_db::schema::ModelSchema;
use herd_db::{ForeignKey, Model};

/// A person who can log in (Django's `auth.User`).
#[derive(Model, Clone, Debug)]
#[model(app = "auth", table = "auth_user", ordering = "username")]
pub struct User {
    /// The primary key.
    pub id: i64,
    /// The stored password hash (`algorithm$…`), or an unusable `!…` value.
    #[model(max_length = 128)]
    pub password: String,
    /// When the user last logged in; `None` before the first login.
    pub last_login: Option<DateTime<Utc>>,
    /// Holds every permission while active.
    pub is_superuser: bool,
    /// The login name, compared case-sensitively.
    #[model(max_length = 150, unique)]
    pub username: String,
    /// Given name.
    #[model(max_length = 150)]
    pub first_name: String,
    /// Family name.
    #[model(max_length = 150)]
    pub last_name: String,
    /// E-mail address; may be empty.
    #[model(max_length = 254)]
    pub email: String,
    /// May use the admin site.
    pub is_staff: bool,
    /// An inactive user cannot log in and holds no permission.
    pub is_active: bool,
    /// When the account was made.
    pub date_joined: DateTime<Utc>,
}

/// A named set of permissions users can join (Django's `auth.Group`).
#[derive(Model, Clone, Debug)]
#[model(app = "auth", table = "auth_group", ordering = "name")]
pub struct Group {
    /// The primary key.
    pub id: i64,
    /// The group's unique name.
    #[model(max_length = 150, unique)]
    pub name: String,
}

/// One permission, checked as `<app_label>.<codename>` (Django's `auth.Permission`, with the
/// content type folded into `app_label` and `model`).
#[derive(Model, Clone, Debug)]
#[model(
    app = "auth",
    table = "auth_permission",
    ordering = "app_label, model, codename"
)]
pub struct Permission {
    /// The primary key.
    pub id: i64,
    /// Human-readable, e.g. `Can add employee`.
    #[model(max_length = 255)]
    pub name: String,
    /// The app the model belongs to, e.g. `directory`.
    #[model(max_length = 100)]
    pub app_label: String,
    /// The model name in lower case, e.g. `employee`.
    #[model(max_length = 100)]
    pub model: String,
    /// E.g. `change_employee`; unique per app (migration `0002`).
    #[model(max_length = 100)]
    pub codename: String,
}

/// A user's membership of a group (Django's `auth_user_groups`).
#[derive(Model, Clone, Debug)]
#[model(app = "auth", table = "auth_user_groups")]
pub struct UserGroup {
    /// The primary key.
    pub id: i64,
    /// The member.
    pub user: ForeignKey<User>,
    /// The group.
    pub group: ForeignKey<Group>,
}

/// A permission granted to a user directly (Django's `auth_user_user_permissions`).
#[derive(Model, Clone, Debug)]
#[model(app = "auth", table = "auth_user_user_permissions")]
pub struct UserPermission {
    /// The primary key.
    pub id: i64,
    /// The user.
    pub user: ForeignKey<User>,
    /// The permission.
    pub permission: ForeignKey<Permission>,
}

/// A permission granted to every member of a group (Django's `auth_group_permissions`).
#[derive(Model, Clone, Debug)]
#[model(app = "auth", table = "auth_group_permissions")]
pub struct GroupPermission {
    /// The primary key.
    pub id: i64,
    /// The group.
    pub group: ForeignKey<Group>,
    /// The permission.
    pub permission: ForeignKey<Permission>,
}

/// The app's models as they are now, for `make_migrations` and site registration.
pub fn models() -> Vec<ModelSchema> {
    vec![
        User::schema(),
        Group::schema(),
        Permission::schema(),
        UserGroup::schema(),
        UserPermission::schema(),
        GroupPermission::schema(),
    ]
}

// === impl User ===

impl User {
    /// A new, unsaved, active user with `password` already hashed (see
    /// [`HashingPool::make_password`](crate::hashers::HashingPool::make_password)).
    pub fn new(username: impl Into<String>, encoded_password: impl Into<String>) -> Self {
        Self {
            id: 0,
            password: encoded_password.into(),
            last_login: None,
            is_superuser: false,
            username: username.into(),
            first_name: String::new(),
            last_name: String::new(),
            email: String::new(),
            is_staff: false,
            is_active: true,
            date_joined: Utc::now(),
        }
    }
}
