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

/// An async-io timer; it exists only while armed.
#[derive(Debug)]
pub struct IoTimer {
    timer: async_io::Timer,
    deadline: Instant,
}

impl ws_driver::Timer for IoTimer {
    fn at(deadline: Instant) -> Self {
        IoTimer {
            timer: async_io::Timer::at(deadline),
            deadline,
        }
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }

    fn reset(&mut self, deadline: Instant) {
        self.timer.set_at(deadline);
        self.deadline = deadline;
    }

    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.timer).poll(cx).map(|_| ())
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

/// A half of a stream split for [`WebSocket::split`](crate::WebSocket::split):
/// both halves are the same type.
#[derive(Debug)]
pub enum IoHalf<S> {
    /// async-std's TCP stream, cloned: each half does its own system calls.
    #[cfg(feature = "async-std")]
    Tcp(async_std::net::TcpStream),
    /// Any other stream, through futures' `split` (a lock per call).
    Other(Halves<S>),
}

/// The halves of futures' generic split.
#[derive(Debug)]
pub enum Halves<S> {
    /// The read half.
    Read(futures_util::io::ReadHalf<S>),
    /// The write half.
    Write(futures_util::io::WriteHalf<S>),
}

/// async-std's `TcpStream`, plain or as a `ws://` client's `MaybeTlsStream`,
/// splits into two clones of itself; any other stream (TLS, smol's) through
/// futures' generic split, which serializes the halves' calls.
impl<S> ws_driver::SplitTransport<S> for FuturesIo
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type ReadHalf = IoHalf<S>;
    type WriteHalf = IoHalf<S>;

    fn split(io: S) -> (Self::ReadHalf, Self::WriteHalf) {
        #[cfg(feature = "async-std")]
        let io = {
            use async_std::net::TcpStream;
            type Tls = crate::MaybeTlsStream<TcpStream>;
            let tcp = match ws_driver::downcast::<S, TcpStream>(io) {
                Ok(tcp) => Ok(tcp),
                Err(io) => match ws_driver::downcast::<S, Tls>(io) {
                    Ok(crate::MaybeTlsStream::Plain(tcp)) => Ok(tcp),
                    #[allow(unreachable_patterns)] // TLS only with the rustls feature
                    Ok(other) => Err(ws_driver::downcast::<Tls, S>(other).expect("S is Tls")),
                    Err(io) => Err(io),
                },
            };
            match tcp {
                Ok(tcp) => return (IoHalf::Tcp(tcp.clone()), IoHalf::Tcp(tcp)),
                Err(io) => io,
            }
        };
        let (read, write) = futures_util::io::AsyncReadExt::split(io);
        (
            IoHalf::Other(Halves::Read(read)),
            IoHalf::Other(Halves::Write(write)),
        )
    }

    fn unsplit(read: Self::ReadHalf, write: Self::WriteHalf) -> S {
        match (read, write) {
            #[cfg(feature = "async-std")]
            (IoHalf::Tcp(_), IoHalf::Tcp(tcp)) => {
                type Tls = crate::MaybeTlsStream<async_std::net::TcpStream>;
                ws_driver::downcast::<async_std::net::TcpStream, S>(tcp)
                    .or_else(|tcp| ws_driver::downcast::<Tls, S>(crate::MaybeTlsStream::Plain(tcp)))
                    .unwrap_or_else(|_| unreachable!("only TCP streams split into TCP halves"))
            }
            (IoHalf::Other(Halves::Read(read)), IoHalf::Other(Halves::Write(write))) => {
                read.reunite(write).expect("halves of one stream")
            }
            _ => unreachable!("halves of one stream"),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for IoHalf<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            #[cfg(feature = "async-std")]
            IoHalf::Tcp(tcp) => Pin::new(tcp).poll_read(cx, buf),
            IoHalf::Other(Halves::Read(read)) => Pin::new(read).poll_read(cx, buf),
            IoHalf::Other(Halves::Write(_)) => Poll::Ready(Err(io::ErrorKind::Unsupported.into())),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for IoHalf<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            #[cfg(feature = "async-std")]
            IoHalf::Tcp(tcp) => Pin::new(tcp).poll_write(cx, buf),
            IoHalf::Other(Halves::Write(write)) => Pin::new(write).poll_write(cx, buf),
            IoHalf::Other(Halves::Read(_)) => Poll::Ready(Err(io::ErrorKind::Unsupported.into())),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            #[cfg(feature = "async-std")]
            IoHalf::Tcp(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            IoHalf::Other(Halves::Write(write)) => Pin::new(write).poll_write_vectored(cx, bufs),
            IoHalf::Other(Halves::Read(_)) => Poll::Ready(Err(io::ErrorKind::Unsupported.into())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(feature = "async-std")]
            IoHalf::Tcp(tcp) => Pin::new(tcp).poll_flush(cx),
            IoHalf::Other(Halves::Write(write)) => Pin::new(write).poll_flush(cx),
            IoHalf::Other(Halves::Read(_)) => Poll::Ready(Err(io::ErrorKind::Unsupported.into())),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            #[cfg(feature = "async-std")]
            IoHalf::Tcp(tcp) => Pin::new(tcp).poll_close(cx),
            IoHalf::Other(Halves::Write(write)) => Pin::new(write).poll_close(cx),
            IoHalf::Other(Halves::Read(_)) => Poll::Ready(Err(io::ErrorKind::Unsupported.into())),
        }
    }
}
