//! [`Session`]: the request extension views read and write the session through.
//!
//! It loads the record from Redis on first use only, and records what the view did (read,
//! modified, flushed) for [`SessionLayer`](crate::SessionLayer) to act on once the view has
//! answered.

use std::sync::Arc;

use herd_cache::SessionTracker;
use herd_core::{Error, Request, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;

use crate::cookie::Incoming;
use crate::store::{Data, Store};

/// One client's session (Django's `request.session`), found in the request's extensions.
///
/// Cheap to clone: clones share the same session. Every method counts as a read of the session
/// (the response then varies on `Cookie` and is never cached), and the first one loads the
/// record from Redis when the request carried a session cookie.
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// A `sessionid` cookie arrived with the request.
    cookie_present: bool,
    tracker: Option<SessionTracker>,
    state: Mutex<State>,
}

/// What the session holds and what happened to it during the request.
#[derive(Default)]
pub(crate) struct State {
    /// The validly signed key the cookie carried, not yet looked up.
    cookie_key: Option<String>,
    /// The record was looked up (or made irrelevant by `clear`/`flush`).
    pub(crate) loaded: bool,
    /// The key of the record `data` belongs to; `None` for a session not yet saved.
    pub(crate) key: Option<String>,
    pub(crate) data: Data,
    pub(crate) accessed: bool,
    pub(crate) modified: bool,
}

// === impl Session ===

impl Session {
    pub(crate) fn new(store: Store, incoming: Incoming, tracker: Option<SessionTracker>) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                cookie_present: incoming.present,
                tracker,
                state: Mutex::new(State {
                    cookie_key: incoming.key,
                    ..State::default()
                }),
            }),
        }
    }

    /// The session [`SessionLayer`](crate::SessionLayer) put in `request`'s extensions.
    ///
    /// # Errors
    ///
    /// An internal error (500) when the request did not pass through the layer.
    pub fn from_request<B>(request: &Request<B>) -> Result<Self> {
        request
            .extensions()
            .get::<Self>()
            .cloned()
            .ok_or_else(|| Error::internal("no Session: the app lacks the SessionLayer"))
    }

    /// The value under `key`, or `None` when there is none.
    ///
    /// # Errors
    ///
    /// Unavailable (503) when the request carries a session cookie and Redis cannot be read;
    /// internal (500) when the stored value is not a `T`.
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let state = self.loaded().await?;
        state
            .data
            .get(key)
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|err| {
                Error::internal(format!("session value {key:?} has another type")).with_source(err)
            })
    }

    /// Stores `value` under `key`; the session is saved after the view answers.
    ///
    /// # Errors
    ///
    /// As [`Session::get`]; internal (500) when `value` does not serialise to JSON.
    pub async fn insert<T: Serialize>(&self, key: &str, value: T) -> Result<()> {
        let value = serde_json::to_value(value).map_err(Error::internal)?;
        let mut state = self.loaded().await?;
        state.data.insert(key.to_owned(), value);
        state.modified = true;
        Ok(())
    }

    /// Removes `key`; returns whether it was there.
    ///
    /// # Errors
    ///
    /// As [`Session::get`].
    pub async fn remove(&self, key: &str) -> Result<bool> {
        let mut state = self.loaded().await?;
        let removed = state.data.remove(key).is_some();
        state.modified |= removed;
        Ok(removed)
    }

    /// Empties the session, keeping its key; the emptied session is deleted and its cookie
    /// revoked after the view answers. Needs no Redis call.
    ///
    /// # Errors
    ///
    /// None today; fallible like the other methods so that callers need not change.
    pub async fn clear(&self) -> Result<()> {
        let mut state = self.touch().await;
        if !state.loaded {
            state.key = state.cookie_key.take();
            state.loaded = true;
        }
        state.data.clear();
        state.modified = true;
        Ok(())
    }

    /// Deletes the session from Redis now and continues with a new empty one (Django's
    /// `flush()`, used by logout); a cookie the request carried is revoked. A replayed old
    /// cookie is then anonymous.
    ///
    /// # Errors
    ///
    /// Unavailable (503) when Redis cannot delete the record.
    pub async fn flush(&self) -> Result<()> {
        let mut state = self.touch().await;
        let key = if state.loaded {
            state.key.take()
        } else {
            state.cookie_key.take()
        };
        if let Some(key) = key {
            self.inner.store.delete(&key).await?;
        }
        state.loaded = true;
        state.data.clear();
        state.modified = true;
        Ok(())
    }

    /// Moves the session's data to a fresh key and deletes the old record (Django's
    /// `cycle_key()`, called on login so that a key planted before login is worthless after).
    ///
    /// # Errors
    ///
    /// As [`Session::get`], and unavailable (503) when Redis cannot store or delete.
    pub async fn cycle_key(&self) -> Result<()> {
        let mut state = self.loaded().await?;
        let store = &self.inner.store;
        let new_key = store.create(&state.data).await?;
        if let Some(old_key) = state.key.replace(new_key) {
            store.delete(&old_key).await?;
        }
        state.modified = true;
        Ok(())
    }

    /// Whether the session holds nothing.
    ///
    /// # Errors
    ///
    /// As [`Session::get`].
    pub async fn is_empty(&self) -> Result<bool> {
        Ok(self.loaded().await?.data.is_empty())
    }

    /// The key of the session's record, `None` until a new session is saved. A key the client
    /// sent is never returned unless its record exists.
    ///
    /// # Errors
    ///
    /// As [`Session::get`].
    pub async fn session_key(&self) -> Result<Option<String>> {
        Ok(self.loaded().await?.key.clone())
    }

    /// Whether a `sessionid` cookie came with the request.
    pub(crate) fn cookie_present(&self) -> bool {
        self.inner.cookie_present
    }

    pub(crate) fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The state, for the layer once the view has answered.
    pub(crate) async fn state(&self) -> tokio::sync::MutexGuard<'_, State> {
        self.inner.state.lock().await
    }

    /// Locks the state and records a read, which the page caches must see.
    async fn touch(&self) -> tokio::sync::MutexGuard<'_, State> {
        let mut state = self.inner.state.lock().await;
        state.accessed = true;
        if let Some(tracker) = &self.inner.tracker {
            tracker.mark_accessed();
        }
        state
    }

    /// [`Session::touch`], then loads the record if that has not happened yet. An unknown or
    /// unreadable record gives an empty session without a key.
    async fn loaded(&self) -> Result<tokio::sync::MutexGuard<'_, State>> {
        let mut state = self.touch().await;
        if !state.loaded {
            if let Some(key) = state.cookie_key.clone() {
                // On failure the state stays unloaded, so a later call tries again.
                if let Some(data) = self.inner.store.load(&key).await? {
                    state.key = Some(key);
                    state.data = data;
                }
            }
            state.cookie_key = None;
            state.loaded = true;
        }
        Ok(state)
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a bearer credential and the data may be personal: print neither.
        f.debug_struct("Session")
            .field("cookie_present", &self.inner.cookie_present)
            .finish_non_exhaustive()
    }
}
