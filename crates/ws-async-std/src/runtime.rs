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

impl<S: AsyncRead + AsyncWrite + Unpin> ws_driver::Transport<S> for FuturesIo {
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
