//! Reader and writer halves of a [`WebSocket`](crate::WebSocket) for use from two tasks.
//!
//! The stream is split too ([`SplitTransport`]): the reader owns the read
//! half and the connection's [`Receiver`], and parses data messages on its
//! own, without a lock. The rest of the connection (sending, control
//! frames, the close handshake, timers) sits with the write half of the
//! stream behind a mutex: the writer takes it for each operation, the reader
//! only when something other than a data message arrives (a ping to answer,
//! a close, a protocol error, the end of input) or when the write side calls
//! for it. The mutex is never held across an await or a read.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll, Wake, Waker};
use std::time::Instant;

use atomic_waker::AtomicWaker;
use futures_core::Stream;
use futures_sink::Sink;
use ws_core::{
    Chunk, CloseCode, Closed, Config, Message, MessageKind, PreparedMessage, Received, Receiver,
    State, Timeout,
};

use crate::buffers::poll_read;
use crate::drive::{arm_timer, poll_picked, Driver, Item, Parts, Step, Subprotocol};
use crate::runtime::{ReadTransport, SplitTransport, WriteTransport};
use crate::Error;

/// Who to wake when the write side needs attention. Writes, the shared
/// timer and shutdowns are polled with a waker made of this, which wakes
/// both halves (a stream keeps one write waker, and either half may be the
/// one waiting) and tells the reader to look at the write side.
#[derive(Default)]
struct Wakers {
    reader: AtomicWaker,
    writer: AtomicWaker,
    /// Set by every wake and by the writer after it changed the close
    /// state; the reader then drives the write side once.
    attention: AtomicBool,
}

impl Wakers {
    /// Whether the reader was called, resetting the call.
    fn take_attention(&self) -> bool {
        self.attention.load(Ordering::Relaxed) && self.attention.swap(false, Ordering::SeqCst)
    }

    fn call_reader(&self) {
        self.attention.store(true, Ordering::SeqCst);
        self.reader.wake();
    }
}

impl Wake for Wakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.call_reader();
        self.writer.wake();
    }
}

/// The connection without its receiver, and the write half of the stream.
struct WriteSide<S, R: SplitTransport<S>> {
    io: R::WriteHalf,
    core: Driver<R>,
}

struct Shared<S, R: SplitTransport<S>> {
    write: Mutex<WriteSide<S, R>>,
    wakers: Arc<Wakers>,
    waker: Waker,
    subprotocol: Subprotocol,
}

impl<S, R: SplitTransport<S>> Shared<S, R> {
    /// Locks the write side for one operation; never held across an await.
    fn lock(&self) -> MutexGuard<'_, WriteSide<S, R>> {
        self.write.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Takes a whole socket apart into its halves.
pub(crate) fn split<S, R: SplitTransport<S>>(
    parts: Parts<S, R>,
) -> (WebSocketReader<S, R>, WebSocketWriter<S, R>) {
    let Parts {
        io,
        driver: mut core,
        closed,
        subprotocol,
    } = parts;
    let (read, write) = R::split(io);
    let rx = Box::new(core.conn.detach_receiver());
    let config = core.conn.config().clone();
    let wakers = Arc::new(Wakers::default());
    // The reader looks at the write side first (timers to arm, output left).
    wakers.attention.store(true, Ordering::SeqCst);
    let shared = Arc::new(Shared {
        write: Mutex::new(WriteSide { io: write, core }),
        waker: Waker::from(wakers.clone()),
        wakers,
        subprotocol,
    });
    (
        WebSocketReader {
            io: read,
            rx,
            config,
            timer: None,
            closed,
            needs_core: false,
            shared: shared.clone(),
        },
        WebSocketWriter { shared },
    )
}

/// Puts the halves of one socket back together; both back if they are not.
#[allow(clippy::type_complexity)]
pub(crate) fn unsplit<S, R: SplitTransport<S>>(
    mut reader: WebSocketReader<S, R>,
    writer: WebSocketWriter<S, R>,
) -> Result<Parts<S, R>, (WebSocketReader<S, R>, WebSocketWriter<S, R>)> {
    if !Arc::ptr_eq(&reader.shared, &writer.shared) {
        return Err((reader, writer));
    }
    drop(writer);
    let Ok(shared) = Arc::try_unwrap(reader.shared) else {
        unreachable!("both halves were given back")
    };
    let WriteSide { io, mut core } = shared
        .write
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    core.conn.swap_receiver(&mut reader.rx);
    Ok(Parts {
        io: R::unsplit(reader.io, io),
        driver: core,
        closed: reader.closed,
        subprotocol: shared.subprotocol,
    })
}

/// The receiving half of a split [`WebSocket`](crate::WebSocket): a [`Stream`] of messages.
///
/// Polling it drives the connection: pings are answered and the close
/// handshake completes even if the writer is idle. Data messages are parsed
/// here without any lock; control frames, errors and the end of input are
/// handled with the write side, which the writer shares.
pub struct WebSocketReader<S, R: SplitTransport<S>> {
    io: R::ReadHalf,
    /// Boxed, so that the halves move cheaply.
    rx: Box<Receiver>,
    config: Arc<Config>,
    /// The message timeout's timer (the write side has the others).
    timer: Option<R::Timer>,
    closed: Option<Box<Closed>>,
    /// What comes next is for the whole connection to handle.
    needs_core: bool,
    shared: Arc<Shared<S, R>>,
}

/// The sending half of a split [`WebSocket`](crate::WebSocket): a [`Sink`] of messages.
pub struct WebSocketWriter<S, R: SplitTransport<S>> {
    shared: Arc<Shared<S, R>>,
}

impl<S, R: SplitTransport<S>> std::fmt::Debug for WebSocketReader<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebSocketReader")
    }
}

impl<S, R: SplitTransport<S>> std::fmt::Debug for WebSocketWriter<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebSocketWriter")
    }
}

impl<S: Unpin, R: SplitTransport<S>> WebSocketReader<S, R> {
    /// Receives the next message; `None` once the connection is closed.
    ///
    /// Cancel safety: cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Receives the next piece of a message received as a stream, as
    /// [`WebSocket::recv_chunk`](crate::WebSocket::recv_chunk).
    ///
    /// Cancel safety: cancel-safe.
    pub async fn recv_chunk(&mut self, limit: u64) -> Option<Result<Chunk, Error>> {
        std::future::poll_fn(|cx| {
            if !self.rx.is_streaming() {
                self.rx.stream_next_message(limit);
            }
            poll_picked(cx, |cx| self.poll_next_item(cx), Item::into_chunk)
        })
        .await
    }

    /// Receives the next message as a stream into `writer`, as
    /// [`WebSocket::recv_into`](crate::WebSocket::recv_into).
    ///
    /// Cancel safety: not cancel-safe (part of the message may have been
    /// written).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::recv_into`](crate::WebSocket::recv_into).
    pub async fn recv_into<W: Unpin>(
        &mut self,
        writer: &mut W,
        limit: u64,
    ) -> Option<Result<(MessageKind, u64), Error>>
    where
        R: WriteTransport<W>,
    {
        crate::stream::recv_into::<_, W, R>(self, writer, limit).await
    }

    /// How the connection ended, once the stream has returned `None`.
    pub fn closed(&self) -> Option<&Closed> {
        self.closed.as_deref()
    }

    /// Drives the write side with the receiver attached: whatever is not a
    /// data message, timers, output left waiting, the close handshake.
    fn drive_core(&mut self) -> Step {
        let shared = &*self.shared;
        let mut side = shared.lock();
        let side = &mut *side;
        side.core.conn.swap_receiver(&mut self.rx);
        let mut cx = Context::from_waker(&shared.waker);
        let drive = loop {
            match side
                .core
                .drive(Pin::new(&mut side.io), &mut cx, &mut self.closed)
            {
                Step::Again => {}
                other => break other,
            }
        };
        side.core.conn.swap_receiver(&mut self.rx);
        drive
    }

    /// A read failed: the connection ends as if the input had.
    fn read_failed(&mut self, error: std::io::Error) -> Poll<Option<Result<Item, Error>>> {
        let mut side = self.shared.lock();
        side.core.conn.swap_receiver(&mut self.rx);
        let closing = side.core.conn.state() != State::Open;
        side.core.transport_failed(&mut self.closed);
        side.core.conn.swap_receiver(&mut self.rx);
        drop(side);
        self.shared.wakers.writer.wake();
        if closing {
            // The close handshake was under way: the end is no error.
            return Poll::Ready(None);
        }
        Poll::Ready(Some(Err(error.into())))
    }

    /// Starts the message timeout when a message is arriving and arms its
    /// timer; true when it fired (the connection then decides).
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            match self.rx.poll_timeout(&self.config) {
                None => {
                    self.timer = None;
                    return false;
                }
                Some(Timeout::Now) => self.rx.start_timer(&self.config, Instant::now()),
                Some(Timeout::At(deadline)) => return arm_timer(&mut self.timer, deadline, cx),
            }
        }
    }
}

impl<S: Unpin, R: SplitTransport<S>> WebSocketWriter<S, R> {
    /// Sends a message and flushes it.
    ///
    /// Cancel safety: not cancel-safe (the message may be partly written).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send`](crate::WebSocket::send).
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        use std::future::poll_fn;
        poll_fn(|cx| Pin::new(&mut *self).poll_ready(cx)).await?;
        Pin::new(&mut *self).start_send(message)?;
        poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// Sends a piece of a message sent as a stream and flushes it, as
    /// [`WebSocket::send_fragment`](crate::WebSocket::send_fragment).
    ///
    /// Cancel safety: not cancel-safe (the piece may be partly written).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send_fragment`](crate::WebSocket::send_fragment).
    pub async fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        use std::future::poll_fn;
        poll_fn(|cx| Pin::new(&mut *self).poll_ready(cx)).await?;
        self.with_core(None, |core, _, _| core.send_fragment(kind, data, fin))?;
        poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// Sends what `reader` gives, to its end, as one `kind` message in
    /// pieces, as [`WebSocket::send_from`](crate::WebSocket::send_from).
    ///
    /// Cancel safety: not cancel-safe (the message stays under way).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send_from`](crate::WebSocket::send_from).
    pub async fn send_from<T: Unpin>(
        &mut self,
        kind: MessageKind,
        reader: &mut T,
    ) -> Result<u64, Error>
    where
        R: ReadTransport<T>,
    {
        crate::stream::send_from::<_, T, R>(self, kind, reader).await
    }

    /// Sends a message framed once for many sockets and flushes it, as
    /// [`WebSocket::send_prepared`](crate::WebSocket::send_prepared).
    ///
    /// Cancel safety: not cancel-safe (the message may be partly written).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send`](crate::WebSocket::send).
    pub async fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        use std::future::poll_fn;
        poll_fn(|cx| Pin::new(&mut *self).poll_ready(cx)).await?;
        self.with_core(None, |core, _, _| core.send_prepared(message))?;
        poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// Queues a prepared message without flushing, once there is room, as
    /// [`WebSocket::feed_prepared`](crate::WebSocket::feed_prepared).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send`](crate::WebSocket::send).
    pub async fn feed_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_ready(cx)).await?;
        self.queue_prepared(message)
    }

    /// Queues a prepared message now, writing nothing, as
    /// [`WebSocket::queue_prepared`](crate::WebSocket::queue_prepared).
    ///
    /// # Errors
    ///
    /// [`Error::Send`] when the connection is closing or the output is full.
    pub fn queue_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        self.with_core(None, |core, _, _| Ok(core.send_prepared(message)?))
    }

    /// Queues a message without waiting and writes what the stream takes
    /// now, as [`WebSocket::try_send`](crate::WebSocket::try_send).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::try_send`](crate::WebSocket::try_send).
    pub fn try_send(&mut self, message: Message) -> Result<(), Error> {
        self.with_core(None, |core, io, cx| {
            if core.conn.is_output_full() {
                return Err(Error::Send(ws_core::SendError::BufferFull {
                    buffered: core.conn.buffered_amount(),
                }));
            }
            core.send(message)?;
            match core.poll_flush_out(io, cx) {
                Poll::Ready(Err(error)) => Err(error),
                _ => Ok(()),
            }
        })
    }

    /// Writes everything queued and flushes the stream; then the writer
    /// gives its buffer up, as `Sink::poll_flush` does.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::flush`](crate::WebSocket::flush).
    pub async fn flush(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// How many bytes are queued and not yet written, as
    /// [`WebSocket::buffered_amount`](crate::WebSocket::buffered_amount).
    pub fn buffered_amount(&self) -> usize {
        self.with_core(None, |core, _, _| core.conn.buffered_amount())
    }

    /// Sends a close frame and flushes it. The reader sees the peer's answer
    /// and then the end of the stream.
    ///
    /// Cancel safety: cancel-safe; the close frame stays queued.
    ///
    /// # Errors
    ///
    /// [`Error::Send`] for a code that may not be sent or a reason over 123 bytes;
    /// [`Error::Io`] when writing fails.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.with_core(None, |core, _, _| {
            core.close(code, reason)?;
            Ok::<_, Error>(())
        })?;
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// Runs one operation on the write side. Its writes wake both halves;
    /// when the close state changed, the reader is told to look.
    fn with_core<T>(
        &self,
        cx: Option<&Context<'_>>,
        operation: impl FnOnce(&mut Driver<R>, Pin<&mut R::WriteHalf>, &mut Context<'_>) -> T,
    ) -> T {
        let shared = &*self.shared;
        if let Some(cx) = cx {
            shared.wakers.writer.register(cx.waker());
        }
        let mut side = shared.lock();
        let side = &mut *side;
        let mut write_cx = Context::from_waker(&shared.waker);
        let result = operation(&mut side.core, Pin::new(&mut side.io), &mut write_cx);
        if side.core.conn.state() != State::Open {
            // Closing: the reader arms the close timer and sees the end.
            shared.wakers.call_reader();
        }
        result
    }
}

impl<S: Unpin, R: SplitTransport<S>> Stream for WebSocketReader<S, R> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        // A `recv_chunk` that was dropped before its message started.
        this.rx.assemble_next_message();
        poll_picked(cx, |cx| this.poll_next_item(cx), Item::into_message)
    }
}

impl<S: Unpin, R: SplitTransport<S>> WebSocketReader<S, R> {
    /// Drives the connection until it yields something or ends.
    fn poll_next_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Item, Error>>> {
        let this = self;
        loop {
            if this.closed.is_some() {
                return Poll::Ready(None);
            }
            if this.needs_core || this.shared.wakers.take_attention() {
                match this.drive_core() {
                    Step::Yield(item) => return Poll::Ready(item),
                    Step::Again => unreachable!("drive_core drives again itself"),
                    Step::Read => this.needs_core = false,
                }
            }
            match this.rx.poll_data(&this.config) {
                Received::Message(message) => return Poll::Ready(Some(Ok(Item::Message(message)))),
                Received::Chunk(chunk) => return Poll::Ready(Some(Ok(Item::Chunk(chunk)))),
                Received::NeedsConnection => {
                    this.needs_core = true;
                    continue;
                }
                Received::NeedMore => {}
            }
            if this.poll_timer(cx) {
                this.needs_core = true;
                continue;
            }
            match poll_read::<_, R>(Pin::new(&mut this.io), cx, &mut *this.rx) {
                Poll::Ready(Ok(0)) => {
                    this.rx.receive_eof();
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(error)) => return this.read_failed(error),
                Poll::Pending => {
                    this.rx.release_idle_buffer();
                    this.shared.wakers.reader.register(cx.waker());
                    if this.shared.wakers.attention.load(Ordering::SeqCst) {
                        continue;
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<S: Unpin, R: SplitTransport<S>> crate::stream::ReceivesChunks for WebSocketReader<S, R> {
    async fn next_chunk(&mut self, limit: u64) -> Option<Result<Chunk, Error>> {
        self.recv_chunk(limit).await
    }
}

impl<S: Unpin, R: SplitTransport<S>> crate::stream::SendsFragments for WebSocketWriter<S, R> {
    async fn fragment(&mut self, kind: MessageKind, data: &[u8], fin: bool) -> Result<(), Error> {
        self.send_fragment(kind, data, fin).await
    }
}

impl<S: Unpin, R: SplitTransport<S>> Sink<Message> for WebSocketWriter<S, R> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.with_core(Some(cx), |core, io, cx| core.poll_ready_to_send(io, cx))
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        self.with_core(None, |core, _, _| Ok(core.send(message)?))
    }

    /// Flushes; once everything is written, the writer gives its buffer up
    /// (to the thread's spare), so a writer between sends holds none.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.with_core(Some(cx), |core, io, cx| {
            let flushed = ready!(core.poll_flush_out(io, cx));
            core.release_idle_buffers();
            Poll::Ready(flushed)
        })
    }

    /// Sends a normal close (1000) unless a close was sent, and flushes it.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.with_core(Some(cx), |core, io, cx| core.poll_send_close(io, cx))
    }
}
