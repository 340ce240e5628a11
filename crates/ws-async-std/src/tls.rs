use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// A stream that is either plain or wrapped in TLS, as `connect` returns for
/// `ws://` and `wss://` URIs.
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTlsStream<S> {
    /// A plain stream (`ws://`).
    Plain(S),
    /// A TLS stream through futures-rustls (`wss://`; also `ws://` through
    /// an `https://` proxy, whose TLS this is).
    #[cfg(feature = "rustls")]
    Rustls(Box<futures_rustls::client::TlsStream<S>>),
    /// `wss://` through an `https://` proxy: the server's TLS inside the
    /// proxy's.
    #[cfg(feature = "rustls")]
    RustlsInRustls(Box<futures_rustls::client::TlsStream<futures_rustls::client::TlsStream<S>>>),
}

impl<S> MaybeTlsStream<S> {
    /// The plain stream inside, or the TLS one back.
    #[cfg(any(feature = "async-std", feature = "smol"))]
    pub(crate) fn into_plain(self) -> Result<S, Self> {
        match self {
            MaybeTlsStream::Plain(stream) => Ok(stream),
            #[allow(unreachable_patterns)] // TLS only with the rustls feature
            other => Err(other),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(stream) => Pin::new(stream).poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(stream) => Pin::new(stream).poll_read(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInRustls(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(stream) => Pin::new(stream).poll_write(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(stream) => Pin::new(stream).poll_write(cx, buf),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInRustls(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    /// Forwarded, so that a header and a payload queued by reference leave
    /// in one `writev` on a plain stream (as on tokio's `MaybeTlsStream`).
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInRustls(stream) => {
                Pin::new(stream).poll_write_vectored(cx, bufs)
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(stream) => Pin::new(stream).poll_flush(cx),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(stream) => Pin::new(stream).poll_flush(cx),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInRustls(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTlsStream::Plain(stream) => Pin::new(stream).poll_close(cx),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::Rustls(stream) => Pin::new(stream).poll_close(cx),
            #[cfg(feature = "rustls")]
            MaybeTlsStream::RustlsInRustls(stream) => Pin::new(stream).poll_close(cx),
        }
    }
}
