//! Django's CSRF protection for Herd: the token functions of `django.middleware.csrf`, the
//! [`CsrfLayer`] middleware, the [`CsrfToken`] request extension that puts a token in a form,
//! and [`csrf_exempt`].
//!
//! The secret lives, unmasked, in the `csrftoken` cookie; pages carry masked tokens, a new one
//! per render. The cookie and `Vary: Cookie` are only sent by responses whose view rendered a
//! token, so anonymous pages without forms stay cacheable.
//!
//! ```
//! use herd_core::{App, Request, Response, response::Html, IntoResponse};
//! use herd_csrf::{CsrfConfig, CsrfLayer, CsrfToken};
//! use tower::ServiceBuilder;
//!
//! let view = tower::service_fn(|request: Request| async move {
//!     let form = match request.extensions().get::<CsrfToken>() {
//!         Some(token) => format!("<form method=\"post\">{}</form>", token.hidden_input()),
//!         None => String::new(),
//!     };
//!     Ok::<Response, std::convert::Infallible>(Html(form).into_response())
//! });
//! let app = App::new(
//!     ServiceBuilder::new()
//!         .layer(CsrfLayer::new(CsrfConfig {
//!             allowed_hosts: vec!["localhost".to_owned()],
//!             ..CsrfConfig::default()
//!         }))
//!         .service(view),
//! );
//! # drop(app);
//! ```

pub mod cipher;
pub mod error;
pub mod middleware;
pub mod token;

pub use cipher::{mask_cipher_secret, unmask_cipher_token};
pub use error::{CsrfError, InvalidFormat, Result};
pub use middleware::{
    COOKIE_NAME, Csrf, CsrfConfig, CsrfExempt, CsrfExemptLayer, CsrfExemptService, CsrfLayer,
    HEADER_NAME, csrf_exempt,
};
pub use token::{CsrfToken, FORM_FIELD};
