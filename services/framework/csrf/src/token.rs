//! [`CsrfToken`]: the request extension views use to put a token into a form.

use std::sync::{Arc, Mutex, PoisonError};

use minijinja::Value;

use crate::cipher::{get_random_secret, mask_cipher_secret};

/// The name of the form field carrying the token (`csrfmiddlewaretoken`).
pub const FORM_FIELD: &str = "csrfmiddlewaretoken";

/// The visitor's CSRF secret, as the middleware found it in the request; a cheap handle
/// (one `Arc`) that views and templates clone freely.
///
/// Asking for a token ([`masked`](Self::masked), [`hidden_input`](Self::hidden_input)) marks
/// the response: it gets `Vary: Cookie`, and the `csrftoken` cookie when the secret is new. A
/// response whose view never asked stays free of both, so anonymous pages remain cacheable.
#[derive(Clone, Debug)]
pub struct CsrfToken {
    state: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    /// The valid secret from the cookie, or one made for this response.
    secret: Option<String>,
    /// A view asked for a token.
    used: bool,
    /// The secret is not the cookie's, so the cookie must be (re)sent.
    changed: bool,
}

/// What the middleware does to the response once the view is done.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// No token was rendered: leave the response alone.
    Untouched,
    /// A token was rendered from the cookie's secret: add `Vary: Cookie`.
    Used,
    /// A token was rendered from a new secret: add `Vary: Cookie` and send this cookie value.
    SetCookie(String),
}

// === impl CsrfToken ===

impl CsrfToken {
    /// A handle over `secret`, the well-formed secret of the request's cookie (if any).
    pub(crate) fn new(secret: Option<String>) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                secret,
                used: false,
                changed: false,
            })),
        }
    }

    /// A masked token for one form (Django's `get_token`): 64 characters, different on every
    /// call, each accepted for this visitor's secret. Makes a secret when the visitor has none.
    pub fn masked(&self) -> String {
        let mut state = self.lock();
        state.used = true;
        if state.secret.is_none() {
            state.secret = Some(get_random_secret());
            state.changed = true;
        }
        mask_cipher_secret(state.secret.as_deref().unwrap_or_default())
    }

    /// `<input type="hidden" name="csrfmiddlewaretoken" value="…">` with a new masked token, as
    /// a template value marked safe (Django's `{% csrf_token %}`). Its `Display` is the markup.
    pub fn hidden_input(&self) -> Value {
        // The token is letters and digits only, so nothing in it needs escaping.
        Value::from_safe_string(format!(
            "<input type=\"hidden\" name=\"{FORM_FIELD}\" value=\"{}\">",
            self.masked()
        ))
    }

    /// Replaces the secret (Django's `rotate_token`), as login does so that a token seen before
    /// login is worthless after it. The response sends the new cookie.
    pub fn rotate(&self) {
        let mut state = self.lock();
        state.secret = Some(get_random_secret());
        state.used = true;
        state.changed = true;
    }

    pub(crate) fn outcome(&self) -> Outcome {
        let state = self.lock();
        match (&state.secret, state.used, state.changed) {
            (_, false, _) => Outcome::Untouched,
            (Some(secret), true, true) => Outcome::SetCookie(secret.clone()),
            _ => Outcome::Used,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is plain data updated in one step, so a panic elsewhere cannot leave it
        // half-written; carry on with it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
