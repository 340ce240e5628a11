//! tokio as a [`ws_driver::Runtime`]: its timers and its I/O traits.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite};

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

impl<S: AsyncRead + AsyncWrite + Unpin> ws_driver::Transport<S> for Tokio {
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
}
