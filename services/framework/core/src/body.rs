//! The body type shared by requests and responses.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, LengthLimitError};

use crate::error::{BoxError, Error};

/// A request or response body: a boxed stream of bytes.
///
/// It is `Sync`, so a view may hold `&Request` across an `.await`.
///
/// Requests arrive with hyper's streaming body behind a size limit; responses are usually a
/// single buffer built with `From<String>` or `From<Bytes>`.
#[derive(Debug)]
pub struct Body(BoxBody<Bytes, BoxError>);

impl Body {
    /// Wraps any body whose errors convert into [`BoxError`].
    pub fn new<B>(body: B) -> Self
    where
        B: http_body::Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        Self(body.map_err(Into::into).boxed())
    }

    /// A body with no bytes.
    pub fn empty() -> Self {
        Self::new(Empty::<Bytes>::new())
    }

    /// Reads the whole body into memory.
    ///
    /// # Errors
    ///
    /// A body over the server's size limit is a payload-too-large error (413); a connection
    /// that fails while the body is read is a bad request (400).
    pub async fn collect_bytes(self) -> Result<Bytes, Error> {
        match self.0.collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(err) if is_length_limit(&*err) => Err(Error::payload_too_large()),
            Err(err) => {
                Err(Error::bad_request("the request body could not be read").with_source(err))
            }
        }
    }
}

fn is_length_limit(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(err) = current {
        if err.is::<LengthLimitError>() {
            return true;
        }
        current = err.source();
    }
    false
}

// === impl Body ===

impl Default for Body {
    fn default() -> Self {
        Self::empty()
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Self::new(Full::new(bytes))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Self::from(Bytes::from(text))
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Self::from(Bytes::from_static(text.as_bytes()))
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Self::from(Bytes::from(bytes))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.0).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.0.size_hint()
    }
}
