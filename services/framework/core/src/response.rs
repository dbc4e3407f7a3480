//! Turning view results into responses.

use http::{HeaderValue, StatusCode, header};

use crate::Response;
use crate::body::Body;

/// Something a view can return.
pub trait IntoResponse {
    /// Converts `self` into a response.
    fn into_response(self) -> Response;
}

/// An HTML page (`text/html; charset=utf-8`).
#[derive(Clone, Debug)]
pub struct Html<T>(pub T);

/// A redirect: 302 by default, 301 with [`Redirect::permanent`].
#[derive(Clone, Debug)]
pub struct Redirect {
    status: StatusCode,
    location: HeaderValue,
}

// === impl Redirect ===

impl Redirect {
    /// A temporary redirect (302 Found) to `location`.
    ///
    /// # Errors
    ///
    /// Fails when `location` holds characters not allowed in a header.
    pub fn to(location: &str) -> crate::Result<Self> {
        Self::with_status(StatusCode::FOUND, location)
    }

    /// A permanent redirect (301 Moved Permanently) to `location`.
    ///
    /// # Errors
    ///
    /// Fails when `location` holds characters not allowed in a header.
    pub fn permanent(location: &str) -> crate::Result<Self> {
        Self::with_status(StatusCode::MOVED_PERMANENTLY, location)
    }

    fn with_status(status: StatusCode, location: &str) -> crate::Result<Self> {
        let location = HeaderValue::from_str(location).map_err(|err| {
            crate::Error::bad_request("redirect target is not a valid header").with_source(err)
        })?;
        Ok(Self { status, location })
    }
}

impl IntoResponse for Redirect {
    fn into_response(self) -> Response {
        let mut response = Response::new(Body::empty());
        *response.status_mut() = self.status;
        response
            .headers_mut()
            .insert(header::LOCATION, self.location);
        response
    }
}

impl<T: Into<Body>> IntoResponse for Html<T> {
    fn into_response(self) -> Response {
        let mut response = Response::new(self.0.into());
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        response
    }
}

impl IntoResponse for Response {
    fn into_response(self) -> Response {
        self
    }
}

impl IntoResponse for &'static str {
    fn into_response(self) -> Response {
        plain(Body::from(self))
    }
}

impl IntoResponse for String {
    fn into_response(self) -> Response {
        plain(Body::from(self))
    }
}

impl<T: IntoResponse> IntoResponse for (StatusCode, T) {
    fn into_response(self) -> Response {
        let mut response = self.1.into_response();
        *response.status_mut() = self.0;
        response
    }
}

impl<T: IntoResponse, E: IntoResponse> IntoResponse for Result<T, E> {
    fn into_response(self) -> Response {
        match self {
            Ok(ok) => ok.into_response(),
            Err(err) => err.into_response(),
        }
    }
}

fn plain(body: Body) -> Response {
    let mut response = Response::new(body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
