//! Reader and writer halves of a [`WebSocket`] for use from two tasks.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

use futures_core::Stream;
use futures_sink::Sink;
use ws_core::{CloseCode, Message, State};

use crate::runtime::{Runtime, Transport};
use crate::{Error, WebSocket};

/// Both halves may wait for the stream to become writable (the reader writes
/// pongs and close answers). A transport keeps one write waker, so writes are
/// polled with a waker that wakes both halves.
#[derive(Default)]
struct WriteWakers {
    reader: Mutex<Option<Waker>>,
    writer: Mutex<Option<Waker>>,
}

impl Wake for WriteWakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        for slot in [&self.reader, &self.writer] {
            if let Some(waker) = slot.lock().unwrap_or_else(PoisonError::into_inner).take() {
                waker.wake();
            }
        }
    }
}

struct Shared<S, R: Runtime> {
    socket: Mutex<WebSocket<S, R>>,
    wakers: Arc<WriteWakers>,
    write_waker: Waker,
}

impl<S, R: Runtime> Shared<S, R> {
    /// Locks the socket for one poll. The lock is never held across an
    /// await point, so the other half waits at most one poll's work.
    fn lock(&self) -> MutexGuard<'_, WebSocket<S, R>> {
        self.socket.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn register(&self, slot: &Mutex<Option<Waker>>, cx: &Context<'_>) {
        let mut stored = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if !stored
            .as_ref()
            .is_some_and(|waker| waker.will_wake(cx.waker()))
        {
            *stored = Some(cx.waker().clone());
        }
    }
}

pub(crate) fn split<S, R: Runtime>(
    socket: WebSocket<S, R>,
) -> (WebSocketReader<S, R>, WebSocketWriter<S, R>) {
    let wakers = Arc::new(WriteWakers::default());
    let shared = Arc::new(Shared {
        socket: Mutex::new(socket),
        write_waker: Waker::from(wakers.clone()),
        wakers,
    });
    (
        WebSocketReader {
            shared: shared.clone(),
        },
        WebSocketWriter { shared },
    )
}

/// The receiving half of a split [`WebSocket`]: a [`Stream`] of messages.
///
/// Polling it drives the connection: pings are answered and the close
/// handshake completes even if the writer is idle. The halves share the
/// connection behind a mutex held for the duration of one poll, never across
/// an await.
pub struct WebSocketReader<S, R: Runtime> {
    shared: Arc<Shared<S, R>>,
}

/// The sending half of a split [`WebSocket`]: a [`Sink`] of messages.
pub struct WebSocketWriter<S, R: Runtime> {
    shared: Arc<Shared<S, R>>,
}

impl<S, R: Runtime> std::fmt::Debug for WebSocketReader<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebSocketReader")
    }
}

impl<S, R: Runtime> std::fmt::Debug for WebSocketWriter<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebSocketWriter")
    }
}

impl<S: Unpin, R: Transport<S>> WebSocketReader<S, R> {
    /// Receives the next message; `None` once the connection is closed.
    ///
    /// Cancel safety: cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Puts the halves back together. Fails, returning both, if they come
    /// from different sockets.
    pub fn reunite(
        self,
        writer: WebSocketWriter<S, R>,
    ) -> Result<WebSocket<S, R>, (Self, WebSocketWriter<S, R>)> {
        if !Arc::ptr_eq(&self.shared, &writer.shared) {
            return Err((self, writer));
        }
        drop(writer);
        match Arc::try_unwrap(self.shared) {
            Ok(shared) => Ok(shared
                .socket
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner)),
            Err(_) => unreachable!("both halves were given back"),
        }
    }
}

impl<S: Unpin, R: Transport<S>> WebSocketWriter<S, R> {
    /// Sends a message and flushes it.
    ///
    /// Cancel safety: not cancel-safe (the message may be partly written).
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        use std::future::poll_fn;
        poll_fn(|cx| Pin::new(&mut *self).poll_ready(cx)).await?;
        Pin::new(&mut *self).start_send(message)?;
        poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// Sends a close frame and flushes it. The reader sees the peer's answer
    /// and then the end of the stream.
    ///
    /// Cancel safety: cancel-safe; the close frame stays queued.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        {
            let mut socket = self.shared.lock();
            if socket.state() == State::Open {
                socket.start_send_message(Message::close(code, reason.to_owned()))?;
            }
        }
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }
}

impl<S: Unpin, R: Transport<S>> Stream for WebSocketReader<S, R> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let shared = &self.shared;
        shared.register(&shared.wakers.reader, cx);
        shared
            .lock()
            .poll_next_message(cx, Some(&shared.write_waker))
    }
}

impl<S: Unpin, R: Transport<S>> Sink<Message> for WebSocketWriter<S, R> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let shared = &self.shared;
        shared.register(&shared.wakers.writer, cx);
        shared
            .lock()
            .poll_ready_to_send(cx, Some(&shared.write_waker))
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        self.shared.lock().start_send_message(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let shared = &self.shared;
        shared.register(&shared.wakers.writer, cx);
        shared.lock().poll_flush_out(cx, Some(&shared.write_waker))
    }

    /// Sends a normal close (1000) unless a close was sent, and flushes it.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let shared = &self.shared;
        shared.register(&shared.wakers.writer, cx);
        shared.lock().poll_send_close(cx, Some(&shared.write_waker))
    }
}
