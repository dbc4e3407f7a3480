//! Django's `SecurityMiddleware` and `XFrameOptionsMiddleware` as tower layers, the form field
//! limit (`DATA_UPLOAD_MAX_NUMBER_FIELDS`) and the `check --deploy` security checklist.
//!
//! [`SecurityLayer`] adds the headers of DJANGO.md §8 to every response, answers HSTS only over
//! secure connections, optionally redirects plain HTTP to HTTPS, refuses `TRACE`, `CONNECT` and
//! unknown methods with 405, and records the request's scheme ([`http::uri::Scheme`]) in its
//! extensions for the layers after it.
//!
//! ```
//! use herd_security::{SecurityConfig, SecurityLayer};
//! use http::HeaderName;
//!
//! let layer = SecurityLayer::new(SecurityConfig {
//!     hsts_seconds: 31_536_000,
//!     secure_proxy_header: Some((HeaderName::from_static("x-forwarded-proto"), "https".to_owned())),
//!     ..SecurityConfig::default()
//! })?;
//! # let _ = layer;
//! # Ok::<(), herd_security::SecurityError>(())
//! ```

pub mod checks;
pub mod error;
pub mod form;
pub mod security;
pub mod x_frame_options;

pub use checks::deploy_checks;
pub use error::{Result, SecurityError};
pub use form::{DATA_UPLOAD_MAX_NUMBER_FIELDS, FieldCountLimit, parse_form};
pub use security::{Security, SecurityConfig, SecurityLayer};
pub use x_frame_options::{XFrameOptions, XFrameOptionsExempt, XFrameOptionsLayer};
