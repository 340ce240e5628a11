//! futures-io streams with async-io timers as a [`ws_driver::Runtime`]: what
//! async-std and smol share.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::BytesMut;
use futures_io::{AsyncRead, AsyncWrite};

/// The most one read asks for. futures-io reads into initialised memory, so
/// the part of the buffer offered to a read is zeroed first; capping it
/// keeps that cost per read bounded while a large frame arrives.
const MAX_READ: usize = 64 * 1024;

/// Streams with the futures-io traits and async-io timers (async-std, smol):
/// the marker type behind [`WebSocket<S>`](crate::WebSocket) =
/// `ws_driver::WebSocket<S, FuturesIo>`.
#[derive(Debug, Clone, Copy)]
pub struct FuturesIo;

/// An async-io timer; it exists only while armed. Boxed (async-io's timer
/// is 56 bytes), so the slot every connection keeps for it is one pointer,
/// as with tokio's boxed `Sleep`.
#[derive(Debug)]
pub struct IoTimer(Box<Armed>);

#[derive(Debug)]
struct Armed {
    timer: async_io::Timer,
    deadline: Instant,
}

impl ws_driver::Timer for IoTimer {
    fn at(deadline: Instant) -> Self {
        IoTimer(Box::new(Armed {
            timer: async_io::Timer::at(deadline),
            deadline,
        }))
    }

    fn deadline(&self) -> Instant {
        self.0.deadline
    }

    fn reset(&mut self, deadline: Instant) {
        self.0.timer.set_at(deadline);
        self.0.deadline = deadline;
    }

    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0.timer).poll(cx).map(|_| ())
    }
}

impl ws_driver::Runtime for FuturesIo {
    type Timer = IoTimer;
}

impl<S: AsyncRead + Unpin> ws_driver::ReadTransport<S> for FuturesIo {
    fn poll_read(
        io: Pin<&mut S>,
        cx: &mut Context<'_>,
        buffer: &mut BytesMut,
    ) -> Poll<io::Result<usize>> {
        let start = buffer.len();
        let room = (buffer.capacity() - start).clamp(1, MAX_READ);
        buffer.resize(start + room, 0);
        let result = io.poll_read(cx, &mut buffer[start..]);
        let read = match result {
            Poll::Ready(Ok(read)) => read,
            _ => 0,
        };
        buffer.truncate(start + read);
        result
    }

    fn poll_read_slice(
        io: Pin<&mut S>,
        cx: &mut Context<'_>,
        buffer: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        io.poll_read(cx, buffer)
    }
}

impl<S: AsyncWrite + Unpin> ws_driver::WriteTransport<S> for FuturesIo {
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
        io.poll_close(cx)
    }
}

/// The read half of a stream split for [`WebSocket::split`](crate::WebSocket::split).
#[derive(Debug)]
pub enum ReadHalf<S> {
    /// async-std's TCP stream, cloned: each half does its own system calls.
    #[cfg(feature = "async-std")]
    Tcp(async_std::net::TcpStream),
    /// smol's TCP stream (async-net's), cloned: each half does its own
    /// system calls.
    #[cfg(feature = "smol")]
    SmolTcp(async_net::TcpStream),
    /// Any other stream, through futures' `split` (a lock per call).
    Other(futures_util::io::ReadHalf<S>),
}

/// The write half of a stream split for [`WebSocket::split`](crate::WebSocket::split).
#[derive(Debug)]
pub enum WriteHalf<S> {
    /// async-std's TCP stream, cloned.
    #[cfg(feature = "async-std")]
    Tcp(async_std::net::TcpStream),
    /// smol's TCP stream (async-net's), cloned.
    #[cfg(feature = "smol")]
    SmolTcp(async_net::TcpStream),
    /// Any other stream, through futures' `split` (a lock per call).
    Other(futures_util::io::WriteHalf<S>),
}

/// `S` as the TCP stream `T`, when it is one, plain or as a `ws://`
/// client's `MaybeTlsStream`.
#[cfg(any(feature = "async-std", feature = "smol"))]
fn as_tcp<S: 'static, T: 'static>(io: S) -> Result<T, S> {
    ws_driver::downcast_within::<S, T, crate::MaybeTlsStream<T>>(
        io,
        crate::MaybeTlsStream::into_plain,
    )
}

/// The stream `S` that [`as_tcp`] took `tcp` from.
#[cfg(any(feature = "async-std", feature = "smol"))]
fn from_tcp<S: 'static, T: 'static>(tcp: T) -> S {
    ws_driver::upcast_within::<S, T, crate::MaybeTlsStream<T>>(tcp, crate::MaybeTlsStream::Plain)
}

/// async-std's and smol's `TcpStream`, plain or as a `ws://` client's
/// `MaybeTlsStream`, split into two clones of themselves; any other stream
/// (TLS, for one) through futures' generic split, which serializes the
/// halves' calls. The same design as ws-tokio's: a read half that only
/// reads and a write half that only writes.
impl<S> ws_driver::SplitTransport<S> for FuturesIo
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type ReadHalf = ReadHalf<S>;
    type WriteHalf = WriteHalf<S>;

    fn split(io: S) -> (Self::ReadHalf, Self::WriteHalf) {
        #[cfg(feature = "async-std")]
        let io = match as_tcp::<S, async_std::net::TcpStream>(io) {
            Ok(tcp) => return (ReadHalf::Tcp(tcp.clone()), WriteHalf::Tcp(tcp)),
            Err(io) => io,
        };
        #[cfg(feature = "smol")]
        let io = match as_tcp::<S, async_net::TcpStream>(io) {
            Ok(tcp) => return (ReadHalf::SmolTcp(tcp.clone()), WriteHalf::SmolTcp(tcp)),
            Err(io) => io,
        };
        let (read, write) = futures_util::io::AsyncReadExt::split(io);
        (ReadHalf::Other(read), WriteHalf::Other(write))
    }

    fn unsplit(read: Self::ReadHalf, write: Self::WriteHalf) -> S {
        match (read, write) {
            #[cfg(feature = "async-std")]
            (ReadHalf::Tcp(_), WriteHalf::Tcp(tcp)) => from_tcp(tcp),
            #[cfg(feature = "smol")]
            (ReadHalf::SmolTcp(_), WriteHalf::SmolTcp(tcp)) => from_tcp(tcp),
            (ReadHalf::Other(read), WriteHalf::Other(write)) => {
                read.reunite(write).expect("halves of one stream")
            }
            #[allow(unreachable_patterns)] // only with both TCP features
            _ => unreachable!("halves of one stream"),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for ReadHalf<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            #[cfg(feature = "async-std")]
            ReadHalf::Tcp(tcp) => Pin::new(tcp).poll_read(cx, buf),
            #[cfg(feature = "smol")]
            ReadHalf::SmolTcp(tcp) => Pin::new(tcp).poll_read(cx, buf),
            ReadHalf::Other(read) => Pin::new(read).poll_read(cx, buf),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for WriteHalf<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            #[cfg(feature = "async-std")]
            WriteHalf::Tcp(tcp) => Pin::new(tcp).poll_write(cx, buf),
            #[cfg(feature = "smol")]
            WriteHalf::SmolTcp(tcp) => Pin::new(tcp).poll_write(cx, buf),
            WriteHalf::Other(write) => Pin::new(write).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            #[cfg(feature = "async-std")]
            WriteHalf::Tcp(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            #[cfg(feature = "smol")]
            WriteHalf::SmolTcp(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            WriteHalf::Other(write) => Pin::new(write).poll_write_vectored(cx, bufs),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(feature = "async-std")]
            WriteHalf::Tcp(tcp) => Pin::new(tcp).poll_flush(cx),
            #[cfg(feature = "smol")]
            WriteHalf::SmolTcp(tcp) => Pin::new(tcp).poll_flush(cx),
            WriteHalf::Other(write) => Pin::new(write).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(feature = "async-std")]
            WriteHalf::Tcp(tcp) => Pin::new(tcp).poll_close(cx),
            #[cfg(feature = "smol")]
            WriteHalf::SmolTcp(tcp) => Pin::new(tcp).poll_close(cx),
            WriteHalf::Other(write) => Pin::new(write).poll_close(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ws_driver::SplitTransport;

    /// A connected pair of smol TCP streams on loopback.
    #[cfg(feature = "smol")]
    async fn smol_pair() -> (async_net::TcpStream, async_net::TcpStream) {
        let listener = async_net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = async_net::TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = futures_util::future::join(client, listener.accept()).await;
        (client.unwrap(), accepted.unwrap().0)
    }

    /// smol's stream, plain or inside a `ws://` client's `MaybeTlsStream`,
    /// splits into clones (no lock between the halves); putting the halves
    /// back gives a stream that still carries bytes both ways.
    #[test]
    #[cfg(feature = "smol")]
    fn smol_tcp_splits_into_clones_and_back() {
        use futures_util::{AsyncReadExt, AsyncWriteExt};
        smol::block_on(async {
            let (client, mut peer) = smol_pair().await;
            let (read, write) = <FuturesIo as SplitTransport<_>>::split(client);
            assert!(matches!(read, ReadHalf::SmolTcp(_)), "{read:?}");
            assert!(matches!(write, WriteHalf::SmolTcp(_)), "{write:?}");
            let mut client: async_net::TcpStream = FuturesIo::unsplit(read, write);
            client.write_all(b"ping").await.unwrap();
            let mut got = [0u8; 4];
            peer.read_exact(&mut got).await.unwrap();
            assert_eq!(&got, b"ping");

            let (client, _peer) = smol_pair().await;
            let wrapped = crate::MaybeTlsStream::Plain(client);
            let (read, write) = <FuturesIo as SplitTransport<_>>::split(wrapped);
            assert!(matches!(read, ReadHalf::SmolTcp(_)), "{read:?}");
            let back: crate::MaybeTlsStream<async_net::TcpStream> = FuturesIo::unsplit(read, write);
            assert!(matches!(back, crate::MaybeTlsStream::Plain(_)));
        });
    }

    /// A stream the adapter does not know goes through futures' split.
    #[test]
    fn other_streams_split_through_futures() {
        let stream = futures_util::io::Cursor::new(Vec::<u8>::new());
        let (read, write) = <FuturesIo as SplitTransport<_>>::split(stream);
        assert!(matches!(read, ReadHalf::Other(_)));
        assert!(matches!(write, WriteHalf::Other(_)));
    }
}
