//! Herd's core types: the request and response body, the opaque [`Error`] and its mapping to
//! HTTP, [`IntoResponse`], and [`Settings`] loaded with the `config` crate.
//!
//! Every other framework crate builds on these, so a view written against them works the same
//! behind the real server and the in-process test client.
//!
//! ```
//! use herd_core::{Error, IntoResponse, response::Html};
//!
//! let page = Html("<h1>Hello</h1>".to_owned()).into_response();
//! assert_eq!(page.status(), 200);
//! assert_eq!(Error::not_found().into_response().status(), 404);
//! ```

pub mod body;
pub mod error;
pub mod html;
pub mod response;
pub mod settings;
pub mod signing;

pub use body::Body;
pub use error::{BoxError, Error, Result};
pub use response::IntoResponse;
pub use settings::Settings;

/// An HTTP request as views and middleware see it.
pub type Request<B = Body> = http::Request<B>;
/// An HTTP response as views and middleware produce it.
pub type Response<B = Body> = http::Response<B>;

/// A whole app (or one route) as a cloneable tower service that never fails: errors are
/// already responses.
pub type App = tower::util::BoxCloneSyncService<Request, Response, std::convert::Infallible>;
