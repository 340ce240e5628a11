//! tokio as a [`ws_driver::Runtime`]: its timers and its I/O traits.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// The tokio runtime, as the driver sees it: the marker type behind
/// [`WebSocket<S>`](crate::WebSocket) = `ws_driver::WebSocket<S, Tokio>`.
#[derive(Debug, Clone, Copy)]
pub struct Tokio;

/// A tokio sleep, boxed because it is `!Unpin`; it exists only while armed.
#[derive(Debug)]
pub struct TokioTimer(Pin<Box<tokio::time::Sleep>>);

impl ws_driver::Timer for TokioTimer {
    fn at(deadline: Instant) -> Self {
        TokioTimer(Box::pin(tokio::time::sleep_until(deadline.into())))
    }

    fn deadline(&self) -> Instant {
        self.0.deadline().into_std()
    }

    fn reset(&mut self, deadline: Instant) {
        self.0.as_mut().reset(deadline.into());
    }

    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl ws_driver::Runtime for Tokio {
    type Timer = TokioTimer;
}

impl<S: AsyncRead + Unpin> ws_driver::ReadTransport<S> for Tokio {
    const READS_UNINIT: bool = true;

    fn poll_read(
        io: Pin<&mut S>,
        cx: &mut Context<'_>,
        buffer: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        // Reads into the spare capacity without zeroing it first.
        tokio_util::io::poll_read_buf(io, cx, buffer)
    }

    fn poll_read_slice(
        io: Pin<&mut S>,
        cx: &mut Context<'_>,
        buffer: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut buffer = tokio::io::ReadBuf::new(buffer);
        ready!(io.poll_read(cx, &mut buffer))?;
        Poll::Ready(Ok(buffer.filled().len()))
    }
}

impl<S: AsyncWrite + Unpin> ws_driver::WriteTransport<S> for Tokio {
    fn poll_write(io: Pin<&mut S>, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        io.poll_write(cx, bytes)
    }

    fn poll_write_vectored(
        io: Pin<&mut S>,
        cx: &mut Context<'_>,
        bytes: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        io.poll_write_vectored(cx, bytes)
    }

    fn poll_flush(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        io.poll_flush(cx)
    }

    fn poll_shutdown(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        io.poll_shutdown(cx)
    }

    // tokio's `shutdown` is `shutdown(SHUT_WR)` on a socket, the end of an
    // HTTP/2 stream on hyper's upgraded one.
    const SHUTDOWN_SHOWS_END: bool = true;
}

/// The read half of a stream split for [`WebSocket::split`](crate::WebSocket::split).
#[derive(Debug)]
pub enum ReadHalf<S> {
    /// A TCP stream's own read half: no lock.
    Tcp(tokio::net::tcp::OwnedReadHalf),
    /// Any other stream, through `tokio::io::split`.
    Other(tokio::io::ReadHalf<S>),
}

/// The write half of a stream split for [`WebSocket::split`](crate::WebSocket::split).
#[derive(Debug)]
pub enum WriteHalf<S> {
    /// A TCP stream's own write half: no lock.
    Tcp(tokio::net::tcp::OwnedWriteHalf),
    /// Any other stream, through `tokio::io::split`.
    Other(tokio::io::WriteHalf<S>),
}

type Tls = crate::MaybeTlsStream<TcpStream>;

/// A TCP stream, plain or as a `ws://` client's `MaybeTlsStream`, splits into
/// tokio's lock-free owned halves; any other stream (TLS, a user's own)
/// through `tokio::io::split`, which serializes the halves' calls.
impl<S> ws_driver::SplitTransport<S> for Tokio
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type ReadHalf = ReadHalf<S>;
    type WriteHalf = WriteHalf<S>;

    fn split(io: S) -> (Self::ReadHalf, Self::WriteHalf) {
        let tcp = ws_driver::downcast_within::<S, TcpStream, Tls>(io, Tls::into_plain);
        match tcp {
            Ok(tcp) => {
                let (read, write) = tcp.into_split();
                (ReadHalf::Tcp(read), WriteHalf::Tcp(write))
            }
            Err(io) => {
                let (read, write) = tokio::io::split(io);
                (ReadHalf::Other(read), WriteHalf::Other(write))
            }
        }
    }

    fn unsplit(read: Self::ReadHalf, write: Self::WriteHalf) -> S {
        match (read, write) {
            (ReadHalf::Tcp(read), WriteHalf::Tcp(write)) => {
                let tcp = read.reunite(write).expect("halves of one stream");
                ws_driver::upcast_within::<S, TcpStream, Tls>(tcp, crate::MaybeTlsStream::Plain)
            }
            (ReadHalf::Other(read), WriteHalf::Other(write)) => read.unsplit(write),
            _ => unreachable!("halves of one stream"),
        }
    }
}

impl<S: AsyncRead + AsyncWrite> AsyncRead for ReadHalf<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ReadHalf::Tcp(read) => Pin::new(read).poll_read(cx, buf),
            ReadHalf::Other(read) => Pin::new(read).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite> AsyncWrite for WriteHalf<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Tcp(write) => Pin::new(write).poll_write(cx, buf),
            WriteHalf::Other(write) => Pin::new(write).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WriteHalf::Tcp(write) => Pin::new(write).poll_write_vectored(cx, bufs),
            WriteHalf::Other(write) => Pin::new(write).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            WriteHalf::Tcp(write) => write.is_write_vectored(),
            WriteHalf::Other(write) => write.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Tcp(write) => Pin::new(write).poll_flush(cx),
            WriteHalf::Other(write) => Pin::new(write).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WriteHalf::Tcp(write) => Pin::new(write).poll_shutdown(cx),
            WriteHalf::Other(write) => Pin::new(write).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use ws_driver::SplitTransport;

    async fn pair() -> (TcpStream, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        (client.unwrap(), accepted.unwrap().0)
    }

    /// tokio's stream, plain or inside a `ws://` client's `MaybeTlsStream`,
    /// splits into its owned halves (no lock); put back together, it still
    /// carries bytes, and comes back as the type it was.
    #[tokio::test]
    async fn tcp_splits_into_owned_halves_and_back() {
        let (client, mut peer) = pair().await;
        let (read, write) = <Tokio as SplitTransport<_>>::split(client);
        assert!(matches!(read, ReadHalf::Tcp(_)), "{read:?}");
        assert!(matches!(write, WriteHalf::Tcp(_)), "{write:?}");
        let mut client: TcpStream = Tokio::unsplit(read, write);
        client.write_all(b"ping").await.unwrap();
        let mut got = [0u8; 4];
        peer.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"ping");

        let (client, _peer) = pair().await;
        let (read, write) = <Tokio as SplitTransport<_>>::split(Tls::Plain(client));
        assert!(matches!(read, ReadHalf::Tcp(_)), "{read:?}");
        let back: Tls = Tokio::unsplit(read, write);
        assert!(matches!(back, Tls::Plain(_)));
    }

    /// A stream the adapter does not know goes through `tokio::io::split`.
    #[tokio::test]
    async fn other_streams_split_through_tokio() {
        let (stream, _other) = tokio::io::duplex(64);
        let (read, write) = <Tokio as SplitTransport<_>>::split(stream);
        assert!(matches!(read, ReadHalf::Other(_)));
        assert!(matches!(write, WriteHalf::Other(_)));
    }
}
