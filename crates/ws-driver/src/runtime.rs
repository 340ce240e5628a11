//! What an adapter supplies: how to move bytes on its streams and how to wait.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ws_handshake::Target;

use crate::config::ClientConfig;
use crate::Error;

/// A one-shot timer of a runtime, re-armable. Created only while ws-core asks
/// for a deadline, so an idle connection without keepalive holds none.
pub trait Timer: Send + Sync + Unpin + 'static {
    /// A timer that fires at `deadline`.
    fn at(deadline: Instant) -> Self;
    /// When the timer fires.
    fn deadline(&self) -> Instant;
    /// Moves the deadline.
    fn reset(&mut self, deadline: Instant);
    /// Ready once the deadline has passed; registers `cx` otherwise.
    fn poll_fired(&mut self, cx: &mut Context<'_>) -> Poll<()>;
}

/// A runtime: its timer type. Implemented by a marker type in each adapter
/// (`ws_tokio::Tokio`, `ws_async_std::FuturesIo`).
pub trait Runtime: Send + Sync + Unpin + 'static {
    /// The runtime's timer.
    type Timer: Timer;
}

/// How a runtime reads from a stream `S`: the two read operations the
/// driver needs, mapped onto the runtime's `AsyncRead` trait.
pub trait ReadTransport<S>: Runtime {
    /// Reads into the spare capacity of `buffer` (growing its length by the
    /// count read); `Ok(0)` is the end of the stream. The driver reserves
    /// capacity before calling.
    fn poll_read(
        io: Pin<&mut S>,
        cx: &mut Context<'_>,
        buffer: &mut BytesMut,
    ) -> Poll<io::Result<usize>>;
    /// Whether [`poll_read`](Self::poll_read) reads into the spare capacity
    /// without initializing it first (tokio's `ReadBuf` does; futures-io's
    /// `AsyncRead` takes an initialized slice). When it does, a large read
    /// between frames goes into a fresh buffer that the connection keeps,
    /// not into the per-thread one, whose bytes would have to be copied.
    const READS_UNINIT: bool = false;
    /// Reads into `buffer`, an initialized slice; `Ok(0)` is the end of the
    /// stream. Used with the driver's per-thread read buffer.
    fn poll_read_slice(
        io: Pin<&mut S>,
        cx: &mut Context<'_>,
        buffer: &mut [u8],
    ) -> Poll<io::Result<usize>>;
}

/// How a runtime writes to a stream `S`: the four write operations the
/// driver needs, mapped onto the runtime's `AsyncWrite` trait.
pub trait WriteTransport<S>: Runtime {
    /// Writes some of `bytes`, returning how many.
    fn poll_write(io: Pin<&mut S>, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>>;
    /// Writes some of `bytes` (a gather write, `writev`), returning how many.
    fn poll_write_vectored(
        io: Pin<&mut S>,
        cx: &mut Context<'_>,
        bytes: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>>;
    /// Flushes buffered writes.
    fn poll_flush(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Shuts the write side down (TCP FIN, TLS close_notify).
    fn poll_shutdown(io: Pin<&mut S>, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Whether [`poll_shutdown`](Self::poll_shutdown) shows the peer the end
    /// at once (tokio's `shutdown`: a TCP FIN, an HTTP/2 stream's end), so
    /// that after a failure the driver keeps reading until the peer ends
    /// too ([`ws_core::Connection::transport_shut_down`]) instead of dropping
    /// its bytes unread, which resets the connection. `false` where the end
    /// only shows when the stream is dropped (futures' `close` on async-std's
    /// `TcpStream` is a flush): lingering there would wait for a peer that
    /// waits for us.
    const SHUTDOWN_SHOWS_END: bool = false;
}

/// How a runtime does I/O on a stream `S` that it both reads and writes.
pub trait Transport<S>: ReadTransport<S> + WriteTransport<S> {}

impl<S, R: ReadTransport<S> + WriteTransport<S>> Transport<S> for R {}

/// How a runtime splits a stream `S` into a read half and a write half that
/// two tasks use at once, for [`WebSocket::split`](crate::WebSocket::split). A TCP stream splits
/// without a lock (each half does its own system calls); a stream whose
/// reads and writes share state, such as TLS, splits through the runtime's
/// generic split, which serializes the calls on the stream itself.
pub trait SplitTransport<S>:
    Transport<S>
    + ReadTransport<<Self as SplitTransport<S>>::ReadHalf>
    + WriteTransport<<Self as SplitTransport<S>>::WriteHalf>
{
    /// The half that reads.
    type ReadHalf: Unpin + Send + 'static;
    /// The half that writes.
    type WriteHalf: Unpin + Send + 'static;
    /// Splits the stream.
    fn split(io: S) -> (Self::ReadHalf, Self::WriteHalf);
    /// Puts the halves of one stream back together.
    fn unsplit(read: Self::ReadHalf, write: Self::WriteHalf) -> S;
}

/// Moves `value` out as a `T` if it is one, else gives it back: for an
/// adapter's [`SplitTransport`], which splits the stream types it knows
/// (TCP) without a lock and the others generically.
///
/// # Errors
///
/// `value` itself when it is not a `T`.
pub fn downcast<S: 'static, T: 'static>(value: S) -> Result<T, S> {
    let mut slot = Some(value);
    match (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<T>>() {
        Some(target) => Ok(target.take().expect("filled above")),
        None => Err(slot.expect("not taken")),
    }
}

/// `value` as the stream `T` when it is one, or when it is the wrapper `W`
/// (an adapter's `MaybeTlsStream`) and `open` finds a `T` inside (a `ws://`
/// client's plain stream); else `value` back, untouched.
///
/// # Errors
///
/// `value` itself, untouched, when it holds no `T`.
pub fn downcast_within<S: 'static, T: 'static, W: 'static>(
    value: S,
    open: impl FnOnce(W) -> Result<T, W>,
) -> Result<T, S> {
    let value = match downcast::<S, T>(value) {
        Ok(stream) => return Ok(stream),
        Err(value) => value,
    };
    match downcast::<S, W>(value) {
        Ok(wrapper) => open(wrapper).map_err(|wrapper| {
            downcast::<W, S>(wrapper).unwrap_or_else(|_| unreachable!("S is W"))
        }),
        Err(value) => Err(value),
    }
}

/// The reverse of [`downcast_within`]: `stream` as the `S` it was taken
/// from, put back into the wrapper with `wrap` when `S` is the wrapper.
pub fn upcast_within<S: 'static, T: 'static, W: 'static>(
    stream: T,
    wrap: impl FnOnce(T) -> W,
) -> S {
    downcast::<T, S>(stream)
        .or_else(|stream| downcast::<W, S>(wrap(stream)))
        .unwrap_or_else(|_| unreachable!("S is T or the wrapper"))
}

/// How a runtime opens a client connection to a `ws://` or `wss://` target:
/// DNS and TCP (with `TCP_NODELAY`), then TLS when the target asks for it.
/// The rest of connecting (the handshake, the timeout) is
/// [`connect`](crate::connect)'s.
pub trait Connect: Runtime {
    /// The stream a connection is: plain or TLS.
    type Stream: Unpin + Send + 'static;
    /// Opens the stream to `target` with the TLS settings of `config`.
    fn open(
        target: &Target,
        config: &ClientConfig,
    ) -> impl Future<Output = Result<Self::Stream, Error>> + Send;
}

/// Reads once into `buffer`, growing it by at least `chunk` when short of room.
pub(crate) async fn read_buf<S: Unpin, R: Transport<S>>(
    io: &mut S,
    buffer: &mut BytesMut,
    chunk: usize,
) -> io::Result<usize> {
    if buffer.capacity() - buffer.len() < chunk / 2 {
        buffer.reserve(chunk);
    }
    std::future::poll_fn(|cx| R::poll_read(Pin::new(&mut *io), cx, buffer)).await
}

/// Writes all of `bytes` and flushes.
pub(crate) async fn write_all<S: Unpin, R: Transport<S>>(
    io: &mut S,
    mut bytes: &[u8],
) -> io::Result<()> {
    while !bytes.is_empty() {
        let written =
            std::future::poll_fn(|cx| R::poll_write(Pin::new(&mut *io), cx, bytes)).await?;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[written..];
    }
    std::future::poll_fn(|cx| R::poll_flush(Pin::new(&mut *io), cx)).await
}

/// Shuts the write side down.
pub(crate) async fn shutdown<S: Unpin, R: Transport<S>>(io: &mut S) -> io::Result<()> {
    std::future::poll_fn(|cx| R::poll_shutdown(Pin::new(&mut *io), cx)).await
}

/// Runs `future` for at most `limit`; `None` when time ran out first.
pub async fn timeout<R: Runtime, F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    let mut timer = R::Timer::at(Instant::now() + limit);
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Some(output));
        }
        timer.poll_fired(cx).map(|()| None)
    })
    .await
}
