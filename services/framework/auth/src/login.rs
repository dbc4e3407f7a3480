//! Django's `ModelBackend.authenticate` and the session side of `login`, `logout` and
//! `get_user`.

use chrono::Utc;
use herd_db::{Executor, Model};
use herd_sessions::Session;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use crate::hashers::{HashingPool, constant_time_eq};
use crate::models::User;

/// Session key of the logged-in user's primary key, as text (Django's `SESSION_KEY`).
pub const SESSION_KEY: &str = "_auth_user_id";
/// Session key of the backend that authenticated the user (Django's `BACKEND_SESSION_KEY`).
pub const BACKEND_SESSION_KEY: &str = "_auth_user_backend";
/// Session key of [`session_auth_hash`] (Django's `HASH_SESSION_KEY`).
pub const HASH_SESSION_KEY: &str = "_auth_user_hash";
/// The backend path stored under [`BACKEND_SESSION_KEY`]: Django's, as Herd's backend does
/// what Django's `ModelBackend` does.
pub const BACKEND: &str = "django.contrib.auth.backends.ModelBackend";

/// Django's `salted_hmac` key salt of `AbstractBaseUser.get_session_auth_hash`.
const SESSION_HASH_SALT: &str = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash";

/// Django's `get_session_auth_hash`: hex HMAC-SHA256 of the stored password hash, keyed with
/// `SHA256(salt + secret_key)`; it changes whenever the password does.
///
/// # Panics
///
/// Never: HMAC accepts keys of any length.
pub fn session_auth_hash(user: &User, secret_key: &str) -> String {
    let key = Sha256::new()
        .chain_update(SESSION_HASH_SALT.as_bytes())
        .chain_update(secret_key.as_bytes())
        .finalize();
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(user.password.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Django's `authenticate` with `ModelBackend`: the active user whose password matches.
///
/// An unknown username costs one full hash like a known one, and an inactive user is refused
/// only after the password check, so neither can be told apart by timing. A correct password
/// stored with old parameters or another hasher is re-hashed with the preferred hasher and
/// saved.
///
/// # Errors
///
/// Unavailable (503) when the hashing pool stays busy or the database is unreachable; any other
/// database error.
pub async fn authenticate<E: Executor>(
    exec: &E,
    pool: &HashingPool,
    username: &str,
    password: &str,
) -> herd_core::Result<Option<User>> {
    let found = User::objects()
        .filter(User::username().exact(username))
        .first(exec)
        .await?;
    let Some(mut user) = found else {
        // Django's dummy `set_password`: the same work as checking a real password.
        pool.make_password(password.to_owned()).await?;
        return Ok(None);
    };
    let verdict = pool
        .verify_password(password.to_owned(), user.password.clone())
        .await?;
    if !verdict.is_correct {
        return Ok(None);
    }
    if verdict.must_update {
        user.password = pool.make_password(password.to_owned()).await?;
        User::objects()
            .filter(User::id().exact(user.id))
            .update(exec, &[User::password().set(user.password.clone())])
            .await?;
    }
    Ok(user.is_active.then_some(user))
}

/// Django's `login`: records `user` in the session and sets its `last_login`.
///
/// A session holding another user, or this user with a stale hash, is flushed; otherwise its
/// key is cycled (data kept), so a key planted before login is worthless after.
///
/// # Errors
///
/// Unavailable (503) when Redis or the database is unreachable.
pub async fn login<E: Executor>(
    exec: &E,
    session: &Session,
    user: &mut User,
    secret_key: &str,
) -> herd_core::Result<()> {
    let hash = session_auth_hash(user, secret_key);
    let pk = user.id.to_string();
    let current = text(session, SESSION_KEY).await?;
    let stale = match current {
        Some(current) if current == pk => {
            let stored = text(session, HASH_SESSION_KEY).await?;
            !stored.is_some_and(|stored| constant_time_eq(stored.as_bytes(), hash.as_bytes()))
        }
        Some(_) => true,
        None => false,
    };
    if stale {
        session.flush().await?;
    } else {
        session.cycle_key().await?;
    }
    session.insert(SESSION_KEY, pk).await?;
    session.insert(BACKEND_SESSION_KEY, BACKEND).await?;
    session.insert(HASH_SESSION_KEY, hash).await?;
    let now = Utc::now();
    User::objects()
        .filter(User::id().exact(user.id))
        .update(exec, &[User::last_login().set(Some(now))])
        .await?;
    user.last_login = Some(now);
    Ok(())
}

/// Django's `set_password` followed by `save()`: hashes `raw_password` with the preferred
/// hasher and stores it. Every session of the user that holds the old hash is dead from now
/// on ([`get_user`] compares it); keep the current one alive with
/// [`update_session_auth_hash`].
///
/// # Errors
///
/// Unavailable (503) when the hashing pool stays busy or the database is unreachable.
pub async fn set_password<E: Executor>(
    exec: &E,
    pool: &HashingPool,
    user: &mut User,
    raw_password: &str,
) -> herd_core::Result<()> {
    user.password = pool.make_password(raw_password.to_owned()).await?;
    User::objects()
        .filter(User::id().exact(user.id))
        .update(exec, &[User::password().set(user.password.clone())])
        .await?;
    Ok(())
}

/// Django's `update_session_auth_hash`: after `user` changed their own password, keeps this
/// session logged in (under a new key) while every other session of theirs stays revoked.
///
/// # Errors
///
/// Unavailable (503) when Redis is unreachable.
pub async fn update_session_auth_hash(
    session: &Session,
    user: &User,
    secret_key: &str,
) -> herd_core::Result<()> {
    session.cycle_key().await?;
    if text(session, SESSION_KEY).await?.as_deref() == Some(user.id.to_string().as_str()) {
        session
            .insert(HASH_SESSION_KEY, session_auth_hash(user, secret_key))
            .await?;
    }
    Ok(())
}

/// Django's `logout`: flushes the session (its record is deleted at once).
///
/// # Errors
///
/// Unavailable (503) when Redis cannot delete the record.
pub async fn logout(session: &Session) -> herd_core::Result<()> {
    session.flush().await
}

/// Django's `get_user`: the logged-in active user, or `None` for an anonymous session.
///
/// The stored [`HASH_SESSION_KEY`] is re-checked against the user's current password hash; on
/// a mismatch (the password changed since) the session is flushed.
///
/// # Errors
///
/// Unavailable (503) when Redis or the database is unreachable.
pub async fn get_user<E: Executor>(
    exec: &E,
    session: &Session,
    secret_key: &str,
) -> herd_core::Result<Option<User>> {
    let id = text(session, SESSION_KEY).await?;
    let Some(id) = id.and_then(|id| id.parse::<i64>().ok()) else {
        return Ok(None);
    };
    let backend = text(session, BACKEND_SESSION_KEY).await?;
    if backend.as_deref() != Some(BACKEND) {
        return Ok(None);
    }
    let user = User::objects()
        .filter(User::id().exact(id))
        .first(exec)
        .await?;
    let Some(user) = user.filter(|u| u.is_active) else {
        return Ok(None);
    };
    let stored = text(session, HASH_SESSION_KEY).await?;
    let expected = session_auth_hash(&user, secret_key);
    if stored.is_some_and(|stored| constant_time_eq(stored.as_bytes(), expected.as_bytes())) {
        Ok(Some(user))
    } else {
        session.flush().await?;
        Ok(None)
    }
}

/// The text under `key`; Redis errors propagate, a value of another type (a foreign or corrupt
/// session) reads as absent, which leaves the session anonymous as in Django.
async fn text(session: &Session, key: &str) -> herd_core::Result<Option<String>> {
    // Loads the record, so the `get` below can fail only on the value's type.
    session.is_empty().await?;
    Ok(session.get::<String>(key).await.unwrap_or(None))
}
