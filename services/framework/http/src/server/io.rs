//! Reads a connection's first bytes under the header timeout, then replays them to hyper.
//!
//! hyper-util's automatic HTTP/1-or-HTTP/2 detection reads up to 24 bytes with no timeout, and
//! hyper's header timer only starts after it, so a client that connects and stays silent would
//! hold the connection forever. Reading those bytes here, under a deadline, closes that gap.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::head_timer::Activity;

/// The client preface that opens every HTTP/2 connection with prior knowledge.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// A TCP stream whose first bytes were already read; reads return them first. Every later
/// read that returns bytes is recorded in its [`Activity`], for the header timer.
#[derive(Debug)]
pub(super) struct Sniffed {
    prefix: Bytes,
    stream: TcpStream,
    activity: Arc<Activity>,
}

/// Reads until the first bytes tell HTTP/1 from HTTP/2, within `timeout` if there is one.
///
/// Returns `None` when the client closed, failed or stayed silent too long.
pub(super) async fn sniff(
    mut stream: TcpStream,
    timeout: Option<Duration>,
    activity: Arc<Activity>,
) -> Option<Sniffed> {
    let read = read_prefix(&mut stream);
    let prefix = match timeout {
        Some(timeout) => tokio::time::timeout(timeout, read).await.ok()?,
        None => read.await,
    };
    match prefix {
        Ok(Some(prefix)) => Some(Sniffed {
            prefix,
            stream,
            activity,
        }),
        Ok(None) => None,
        Err(err) => {
            tracing::debug!(error = %err, "reading the first bytes failed");
            None
        }
    }
}

/// Reads until the bytes are the whole HTTP/2 preface or stop matching it; `None` on EOF.
async fn read_prefix(stream: &mut TcpStream) -> io::Result<Option<Bytes>> {
    let mut buf = [0_u8; H2_PREFACE.len()];
    let mut filled = 0;
    loop {
        let read = stream.read(&mut buf[filled..]).await?;
        if read == 0 {
            return Ok(None);
        }
        filled += read;
        if filled == buf.len() || buf[..filled] != H2_PREFACE[..filled] {
            return Ok(Some(Bytes::copy_from_slice(&buf[..filled])));
        }
    }
}

// === impl Sniffed ===

impl AsyncRead for Sniffed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.prefix.is_empty() {
            let before = buf.filled().len();
            let read = Pin::new(&mut self.stream).poll_read(cx, buf);
            if buf.filled().len() > before {
                self.activity.record_read();
            }
            return read;
        }
        let len = self.prefix.len().min(buf.remaining());
        buf.put_slice(&self.prefix[..len]);
        self.prefix.advance(len);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Sniffed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}
