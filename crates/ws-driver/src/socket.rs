use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll, Waker};
use std::time::Instant;

use std::marker::PhantomData;

use bytes::BytesMut;
use futures_core::Stream;
use futures_sink::Sink;

use ws_core::{CloseCode, Closed, Config, Connection, Event, Message, Role, State};

use crate::runtime::{Timer, Transport};
use crate::Error;

/// Read at least this much at a time into a connection's own buffer (while
/// a frame is arriving); more when the frame's header says more is coming.
const READ_CHUNK: usize = 8 * 1024;

/// At most this many pieces of queued output go into one vectored write.
const MAX_WRITE_SLICES: usize = 16;

/// A header alone never makes a read reserve more than this beyond what has
/// arrived: the buffer grows with the data, not with the claimed length.
const MAX_RESERVE: usize = 256 * 1024;

/// The size of the per-thread buffer that reads go into while a connection
/// has nothing buffered.
const SCRATCH_SIZE: usize = 64 * 1024;

thread_local! {
    /// Reads between frames land here, and only what arrived is copied into
    /// the connection: an idle connection holds no read buffer, and a busy
    /// one gets a buffer the size of its data, not of a read chunk.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A WebSocket connection over an async byte stream: a thin driver that moves
/// bytes and time between the stream and a [`ws_core::Connection`].
///
/// It is a [`Stream`] of received messages and a [`Sink`] of messages to send.
/// Reading drives the whole connection: pings are answered, the close
/// handshake completes and timers fire even if the application only reads.
/// The stream ends (`None`) when the connection is closed; a protocol
/// violation by the peer is reported once as an `Err` before that.
///
/// An idle connection (waiting to read, nothing to write) holds no read or
/// write buffer.
///
/// `R` is the runtime (a marker type of the adapter); users name this type
/// through their adapter's alias, `ws_tokio::WebSocket<S>` or
/// `ws_async_std::WebSocket<S>`.
pub struct WebSocket<S, R: crate::Runtime> {
    io: S,
    /// Boxed: the socket is moved through the futures that create it and
    /// into the application's, and rustc often gives a moved value a slot in
    /// each (rust-lang/rust#62958); a pointer there costs 8 bytes, not 384.
    conn: Box<Connection>,
    timer: Option<R::Timer>,
    read_eof: bool,
    write_shutdown: bool,
    closed: Option<Closed>,
    subprotocol: Option<String>,
    runtime: PhantomData<fn() -> R>,
}

impl<S, R: crate::Runtime> std::fmt::Debug for WebSocket<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("role", &self.conn.role())
            .field("state", &self.conn.state())
            .field("subprotocol", &self.subprotocol)
            .finish_non_exhaustive()
    }
}

impl<S: Unpin, R: Transport<S>> WebSocket<S, R> {
    /// Wraps a stream on which the opening handshake is already done (for
    /// example a connection that hyper upgraded). `leftover` holds bytes read
    /// past the handshake, which already belong to the WebSocket.
    pub fn from_upgraded(io: S, role: Role, config: Config, leftover: &[u8]) -> Self {
        Self::from_connection(io, Connection::new(role, config), leftover)
    }

    /// Wraps a stream and a connection made for it (for example one with
    /// permessage-deflate, [`Connection::with_deflate`]). `leftover` holds
    /// bytes read past the handshake.
    pub fn from_connection(io: S, conn: Connection, leftover: &[u8]) -> Self {
        let mut conn = Box::new(conn);
        conn.receive(leftover);
        WebSocket {
            io,
            conn,
            timer: None,
            read_eof: false,
            write_shutdown: false,
            closed: None,
            subprotocol: None,
            runtime: PhantomData,
        }
    }

    /// Records the subprotocol the handshake agreed on.
    pub fn with_subprotocol(mut self, subprotocol: Option<String>) -> Self {
        self.subprotocol = subprotocol;
        self
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The state of the connection.
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// How the connection ended, once the stream has returned `None`.
    pub fn closed(&self) -> Option<&Closed> {
        self.closed.as_ref()
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The underlying stream, mutably. Reading or writing it directly breaks
    /// the framing.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// Receives the next message; `None` once the connection is closed.
    ///
    /// Cancel safety: cancel-safe. A message is only taken out of the
    /// connection when this returns it.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| self.poll_next_message(cx, None)).await
    }

    /// Sends a message and flushes it to the stream.
    ///
    /// Cancel safety: not cancel-safe. If cancelled, the message may have been
    /// queued and partly written; it is then still sent by later calls.
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        poll_fn(|cx| self.poll_ready_to_send(cx, None)).await?;
        self.conn.send(message)?;
        poll_fn(|cx| self.poll_flush_out(cx, None)).await
    }

    /// Closes the connection with a code and reason ([RFC 6455 section 7]),
    /// then waits for the close handshake to finish, dropping any messages
    /// that arrive meanwhile. If the connection is already closing, it waits.
    ///
    /// Cancel safety: cancel-safe; the close frame stays queued and a later
    /// read or close finishes the handshake.
    ///
    /// [RFC 6455 section 7]: https://www.rfc-editor.org/rfc/rfc6455#section-7
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        if self.conn.state() == State::Open {
            self.conn.close(code, reason)?;
        }
        poll_fn(|cx| self.poll_close_handshake(cx)).await
    }

    /// Splits the socket into a reader and a writer that can be used from
    /// two tasks at once. See [`crate::WebSocketReader`].
    pub fn split(self) -> (crate::WebSocketReader<S, R>, crate::WebSocketWriter<S, R>) {
        crate::split::split(self)
    }

    // ----- the driver -----

    /// Drives the connection until it yields a message or ends. `write_cx`,
    /// when given, is used for polling writes (the split halves share them).
    pub(crate) fn poll_next_message(
        &mut self,
        cx: &mut Context<'_>,
        write_waker: Option<&Waker>,
    ) -> Poll<Option<Result<Message, Error>>> {
        loop {
            if self.closed.is_some() {
                return Poll::Ready(None);
            }
            match self.conn.poll_event() {
                Some(Event::Message(message)) => {
                    // Answers (pongs, close echoes) go out without waiting for a send.
                    if let Poll::Ready(Err(error)) = self.poll_transmit(cx, write_waker) {
                        self.transport_failed();
                        return Poll::Ready(Some(Err(error.into())));
                    }
                    return Poll::Ready(Some(Ok(message)));
                }
                Some(Event::Error(error)) => {
                    // Send the close frame now, in case the application stops reading.
                    let _ = self.poll_transmit(cx, write_waker);
                    return Poll::Ready(Some(Err(error.into())));
                }
                Some(Event::Closed(closed)) => {
                    // Let the peer see the end at once, even if the application
                    // keeps the socket: best effort, the connection is over.
                    if !self.write_shutdown {
                        self.write_shutdown = true;
                        let _ = self.poll_shutdown(cx, write_waker);
                    }
                    self.closed = Some(closed);
                    self.timer = None;
                    return Poll::Ready(None);
                }
                None => {}
            }

            if let Poll::Ready(Err(error)) = self.poll_transmit(cx, write_waker) {
                self.transport_failed();
                return Poll::Ready(Some(Err(error.into())));
            }
            if self.conn.should_close_transport() && !self.write_shutdown {
                // Ignore errors: the peer may already be gone, and the read
                // side reports the end either way.
                if self.poll_shutdown(cx, write_waker).is_ready() {
                    self.write_shutdown = true;
                    self.conn.transport_closed();
                    continue;
                }
            }
            if self.poll_timer(cx, write_waker) {
                continue;
            }
            if self.read_eof {
                // The connection has been told; it yields Closed next.
                continue;
            }
            match self.poll_read(cx) {
                Poll::Ready(Ok(0)) => {
                    self.read_eof = true;
                    self.conn.receive_eof();
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(error)) => {
                    let closing = self.conn.state() != State::Open;
                    self.transport_failed();
                    if !closing {
                        return Poll::Ready(Some(Err(error.into())));
                    }
                }
                Poll::Pending => {
                    if self.conn.buffered_amount() == 0 {
                        self.conn.release_idle_buffers();
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    /// The transport is unusable: finish the connection as if the input ended,
    /// without a second error for the same cause.
    fn transport_failed(&mut self) {
        self.read_eof = true;
        self.conn.receive_eof();
        while let Some(event) = self.conn.poll_event() {
            if let Event::Closed(closed) = event {
                self.closed = Some(closed);
            }
        }
    }

    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let wanted = self.conn.frame_bytes_wanted();
        let buffer = self.conn.receive_buffer();
        let io = Pin::new(&mut self.io);
        if buffer.is_empty() && wanted == 0 {
            return SCRATCH.with(|scratch| {
                // Taken out for the read, so that a re-entrant call (another
                // connection polled from inside this read) finds an empty one.
                let mut bytes = std::mem::take(&mut *scratch.borrow_mut());
                if bytes.len() < SCRATCH_SIZE {
                    bytes.resize(SCRATCH_SIZE, 0);
                }
                let result = R::poll_read_slice(io, cx, &mut bytes);
                if let Poll::Ready(Ok(read)) = result {
                    // Empty: an exact-size copy, the cheapest allocation.
                    *buffer = BytesMut::from(&bytes[..read]);
                }
                *scratch.borrow_mut() = bytes;
                result
            });
        }
        let want = wanted.max(READ_CHUNK).min(MAX_RESERVE.max(buffer.len()));
        if buffer.capacity() - buffer.len() < want {
            buffer.reserve(want);
        }
        R::poll_read(io, cx, buffer)
    }

    /// Writes what the connection has queued. Ready once all is written.
    /// Writes are polled with `write_waker` when given (see [`crate::split`]).
    fn poll_transmit(
        &mut self,
        cx: &mut Context<'_>,
        write_waker: Option<&Waker>,
    ) -> Poll<io::Result<()>> {
        while !self.conn.transmit().is_empty() {
            let io = Pin::new(&mut self.io);
            let mut cx = match write_waker {
                Some(waker) => Context::from_waker(waker),
                None => Context::from_waker(cx.waker()),
            };
            // A header and a payload queued by reference go out in one writev.
            let mut slices = [io::IoSlice::new(&[]); MAX_WRITE_SLICES];
            let written = ready!(match self.conn.transmit_vectored(&mut slices) {
                1 => R::poll_write(io, &mut cx, self.conn.transmit()),
                count => R::poll_write_vectored(io, &mut cx, &slices[..count]),
            })?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.conn.advance_transmit(written);
        }
        Poll::Ready(Ok(()))
    }

    /// Polls a write-side operation of the stream with the write waker when
    /// one is given (the split halves share it), else with `cx`.
    fn poll_write_side<T>(
        &mut self,
        cx: &mut Context<'_>,
        write_waker: Option<&Waker>,
        operation: impl FnOnce(Pin<&mut S>, &mut Context<'_>) -> T,
    ) -> T {
        let io = Pin::new(&mut self.io);
        match write_waker {
            Some(waker) => operation(io, &mut Context::from_waker(waker)),
            None => operation(io, cx),
        }
    }

    fn poll_shutdown(
        &mut self,
        cx: &mut Context<'_>,
        write_waker: Option<&Waker>,
    ) -> Poll<io::Result<()>> {
        self.poll_write_side(cx, write_waker, R::poll_shutdown)
    }

    fn poll_io_flush(
        &mut self,
        cx: &mut Context<'_>,
        write_waker: Option<&Waker>,
    ) -> Poll<io::Result<()>> {
        self.poll_write_side(cx, write_waker, R::poll_flush)
    }

    /// Arms the connection's timer; returns true when it fired (and was
    /// handled). Split halves arm it with the write waker, which wakes both:
    /// whichever half is waiting handles it.
    fn poll_timer(&mut self, cx: &mut Context<'_>, write_waker: Option<&Waker>) -> bool {
        if !self.conn.needs_timer() {
            self.timer = None;
            return false;
        }
        let now = Instant::now();
        let Some(deadline) = self.conn.poll_timeout(now) else {
            self.timer = None;
            return false;
        };
        if deadline <= now {
            self.conn.handle_timeout(now);
            return true;
        }
        match &mut self.timer {
            Some(timer) if timer.deadline() == deadline => {}
            Some(timer) => timer.reset(deadline),
            None => self.timer = Some(R::Timer::at(deadline)),
        }
        let timer = self.timer.as_mut().expect("armed above");
        let fired = match write_waker {
            Some(waker) => timer.poll_fired(&mut Context::from_waker(waker)),
            None => timer.poll_fired(cx),
        };
        if fired.is_ready() {
            self.timer = None;
            self.conn.handle_timeout(Instant::now());
            return true;
        }
        false
    }

    pub(crate) fn poll_ready_to_send(
        &mut self,
        cx: &mut Context<'_>,
        write_waker: Option<&Waker>,
    ) -> Poll<Result<(), Error>> {
        if self.conn.is_output_full() {
            ready!(self.poll_transmit_timed(cx, write_waker))?;
        }
        Poll::Ready(Ok(()))
    }

    /// [`poll_transmit`](Self::poll_transmit) for the send path, which
    /// may be all that polls the connection: while the write waits, the
    /// connection's timers run too, so a peer that stopped reading is given
    /// up on after the write timeout.
    fn poll_transmit_timed(
        &mut self,
        cx: &mut Context<'_>,
        write_waker: Option<&Waker>,
    ) -> Poll<Result<(), Error>> {
        loop {
            if let Some(error) = self.conn.timed_out() {
                // Whatever is queued will never be written.
                return Poll::Ready(Err(error.into()));
            }
            match self.poll_transmit(cx, write_waker) {
                Poll::Ready(Ok(())) => return Poll::Ready(Ok(())),
                Poll::Ready(Err(error)) => {
                    self.transport_failed();
                    return Poll::Ready(Err(error.into()));
                }
                Poll::Pending => {
                    if !self.poll_timer(cx, write_waker) {
                        return Poll::Pending;
                    }
                }
            }
        }
    }

    pub(crate) fn start_send_message(&mut self, message: Message) -> Result<(), Error> {
        Ok(self.conn.send(message)?)
    }

    pub(crate) fn poll_flush_out(
        &mut self,
        cx: &mut Context<'_>,
        write_waker: Option<&Waker>,
    ) -> Poll<Result<(), Error>> {
        ready!(self.poll_transmit_timed(cx, write_waker))?;
        if let Err(error) = ready!(self.poll_io_flush(cx, write_waker)) {
            self.transport_failed();
            return Poll::Ready(Err(error.into()));
        }
        if self.conn.should_close_transport() && !self.write_shutdown {
            let _ = ready!(self.poll_shutdown(cx, write_waker));
            self.write_shutdown = true;
            self.conn.transport_closed();
        }
        Poll::Ready(Ok(()))
    }

    /// Sends a close frame if none was sent, flushes, and drives the
    /// connection to its end, dropping messages.
    pub(crate) fn poll_close_handshake(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.conn.state() == State::Open {
            self.conn.close(CloseCode::NORMAL, "")?;
        }
        loop {
            match ready!(self.poll_next_message(cx, None)) {
                None => return Poll::Ready(Ok(())),
                Some(Ok(_)) => {}
                // The close handshake is under way; errors now only mean it ends early.
                Some(Err(_)) => {}
            }
        }
    }

    /// Sends a close frame if none was sent and flushes it, without waiting
    /// for the peer's answer (used by the writer half).
    pub(crate) fn poll_send_close(
        &mut self,
        cx: &mut Context<'_>,
        write_waker: Option<&Waker>,
    ) -> Poll<Result<(), Error>> {
        if self.conn.state() == State::Open {
            self.conn.close(CloseCode::NORMAL, "")?;
        }
        self.poll_flush_out(cx, write_waker)
    }
}

impl<S: Unpin, R: Transport<S>> Stream for WebSocket<S, R> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_next_message(cx, None)
    }
}

impl<S: Unpin, R: Transport<S>> Sink<Message> for WebSocket<S, R> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_ready_to_send(cx, None)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        self.get_mut().start_send_message(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_flush_out(cx, None)
    }

    /// Sends a normal close (1000) unless a close was sent, and waits for the
    /// close handshake to finish, dropping messages that arrive meanwhile.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().poll_close_handshake(cx)
    }
}
