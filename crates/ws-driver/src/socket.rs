use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use bytes::BytesMut;
use futures_core::Stream;
use futures_sink::Sink;

use ws_core::{CloseCode, Closed, Config, Connection, Event, Message, Receiver, Role, State};

use crate::runtime::{ReadTransport, Timer, Transport, WriteTransport};
use crate::Error;

/// Read at least this much at a time into a connection's own buffer (while
/// a frame is arriving); more when the frame's header says more is coming.
const READ_CHUNK: usize = 8 * 1024;

/// At most this many pieces of queued output go into one vectored write.
const MAX_WRITE_SLICES: usize = 16;

/// A header alone never makes a read reserve more than this beyond what has
/// arrived, nor more than [`RESERVE_GROWTH`] times what has arrived: the
/// buffer grows with the data, not with the claimed length.
const MAX_RESERVE: usize = 256 * 1024;

/// How many times the bytes already received of a frame a read may reserve
/// for the rest of it. A 1 MiB frame whose first 64 KiB are in takes one
/// reallocation and, when the socket holds the rest, one more read; a peer
/// that claims a large frame and stalls makes a connection hold at most this
/// multiple of what it sent (and never more than the message size limit).
const RESERVE_GROWTH: usize = 16;

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
/// Sending: `send` writes the message and flushes. Messages given with
/// `feed` (the `Sink`'s `start_send`) stay queued until a flush, until the
/// queue reaches [`Config::max_buffered_output`](ws_core::Config), or until
/// reading would wait for the peer: reading flushes first, so a loop that
/// feeds its answers to the messages one read brought writes them all at
/// once, and never waits on a peer that waits for those answers.
///
/// `R` is the runtime (a marker type of the adapter); users name this type
/// through their adapter's alias, `ws_tokio::WebSocket<S>` or
/// `ws_async_std::WebSocket<S>`.
pub struct WebSocket<S, R: crate::Runtime> {
    /// One allocation for the stream, the connection and the driver's state.
    /// The socket is moved through the futures that create it and into the
    /// application's, and rustc often gives a moved value a slot in each
    /// (rust-lang/rust#62958): a pointer there costs 8 bytes, not 424.
    inner: Box<Inner<S, R>>,
}

struct Inner<S, R: crate::Runtime> {
    io: S,
    core: Core<R>,
    closed: Option<Box<Closed>>,
    subprotocol: Subprotocol,
}

/// The subprotocol the handshake agreed on, behind a thin pointer: most
/// connections have none, and an `Option<Box<str>>` would cost each of them
/// 16 bytes, not 8.
#[allow(clippy::box_collection)]
pub(crate) type Subprotocol = Option<Box<String>>;

/// The connection and what drives it apart from reading: the part of a
/// socket that the halves of a split share (the reader owns the reading).
pub(crate) struct Core<R: crate::Runtime> {
    pub(crate) conn: Connection,
    timer: Option<R::Timer>,
    write_shutdown: bool,
}

/// What [`Core::drive`] did.
pub(crate) enum Drive {
    /// Return this from the stream's `poll_next`.
    Yield(Option<Result<Message, Error>>),
    /// State changed (a timer fired, the transport was shut down): drive again.
    Again,
    /// Nothing to do until more input arrives: read.
    Read,
}

impl<S, R: crate::Runtime> std::fmt::Debug for WebSocket<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("role", &self.inner.core.conn.role())
            .field("state", &self.inner.core.conn.state())
            .field("subprotocol", &self.inner.subprotocol)
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
    pub fn from_connection(io: S, mut conn: Connection, leftover: &[u8]) -> Self {
        conn.receive(leftover);
        Self::from_parts(io, Core::new(conn), None, None)
    }

    pub(crate) fn from_parts(
        io: S,
        core: Core<R>,
        closed: Option<Box<Closed>>,
        subprotocol: Subprotocol,
    ) -> Self {
        WebSocket {
            inner: Box::new(Inner {
                io,
                core,
                closed,
                subprotocol,
            }),
        }
    }

    /// Records the subprotocol the handshake agreed on.
    pub fn with_subprotocol(mut self, subprotocol: Option<String>) -> Self {
        self.inner.subprotocol = subprotocol.map(Box::new);
        self
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.inner.subprotocol.as_deref().map(String::as_str)
    }

    /// The state of the connection.
    pub fn state(&self) -> State {
        self.inner.core.conn.state()
    }

    /// How the connection ended, once the stream has returned `None`.
    pub fn closed(&self) -> Option<&Closed> {
        self.inner.closed.as_deref()
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.inner.io
    }

    /// The underlying stream, mutably. Reading or writing it directly breaks
    /// the framing.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner.io
    }

    /// Receives the next message; `None` once the connection is closed.
    ///
    /// Cancel safety: cancel-safe. A message is only taken out of the
    /// connection when this returns it.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        poll_fn(|cx| self.inner.poll_next_message(cx)).await
    }

    /// Sends a message and flushes it to the stream.
    ///
    /// Cancel safety: not cancel-safe. If cancelled, the message may have been
    /// queued and partly written; it is then still sent by later calls.
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        poll_fn(|cx| {
            self.inner
                .core
                .poll_ready_to_send(Pin::new(&mut self.inner.io), cx)
        })
        .await?;
        self.inner.core.conn.send(message)?;
        poll_fn(|cx| {
            self.inner
                .core
                .poll_flush_out(Pin::new(&mut self.inner.io), cx)
        })
        .await
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
        if self.inner.core.conn.state() == State::Open {
            self.inner.core.conn.close(code, reason)?;
        }
        poll_fn(|cx| self.inner.poll_close_handshake(cx)).await
    }

    /// Splits the socket into a reader and a writer for two tasks. See
    /// [`WebSocketReader`](crate::WebSocketReader).
    pub fn split(self) -> (crate::WebSocketReader<S, R>, crate::WebSocketWriter<S, R>)
    where
        R: crate::SplitTransport<S>,
    {
        let Inner {
            io,
            core,
            closed,
            subprotocol,
        } = *self.inner;
        crate::split::split(io, core, closed, subprotocol)
    }
}

impl<S: Unpin, R: Transport<S>> Inner<S, R> {
    // ----- the driver -----

    /// Drives the connection until it yields a message or ends.
    fn poll_next_message(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        loop {
            if self.closed.is_some() {
                return Poll::Ready(None);
            }
            match self
                .core
                .drive(Pin::new(&mut self.io), cx, &mut self.closed)
            {
                Drive::Yield(item) => return Poll::Ready(item),
                Drive::Again => continue,
                Drive::Read => {}
            }
            if self.core.conn.receiver().eof() {
                // The connection has been told; it yields Closed next.
                continue;
            }
            match poll_read::<S, R>(Pin::new(&mut self.io), cx, self.core.conn.receiver_mut()) {
                Poll::Ready(Ok(0)) => {
                    self.core.conn.receive_eof();
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(error)) => {
                    let closing = self.core.conn.state() != State::Open;
                    self.core.transport_failed(&mut self.closed);
                    if !closing {
                        return Poll::Ready(Some(Err(error.into())));
                    }
                }
                Poll::Pending => {
                    self.core.release_idle_buffers();
                    return Poll::Pending;
                }
            }
        }
    }

    /// Sends a close frame if none was sent, flushes, and drives the
    /// connection to its end, dropping messages.
    fn poll_close_handshake(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.core.conn.state() == State::Open {
            self.core.conn.close(CloseCode::NORMAL, "")?;
        }
        loop {
            match ready!(self.poll_next_message(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Ok(_)) => {}
                // The close handshake is under way; errors now only mean it ends early.
                Some(Err(_)) => {}
            }
        }
    }
}

/// Reads into the receiver: into its own buffer while a frame is arriving,
/// else into the per-thread buffer, copying only what arrived.
pub(crate) fn poll_read<S, R: ReadTransport<S>>(
    io: Pin<&mut S>,
    cx: &mut Context<'_>,
    rx: &mut Receiver,
) -> Poll<io::Result<usize>> {
    let wanted = rx.frame_bytes_wanted();
    let buffer = rx.receive_buffer();
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
    let want = read_room(wanted, buffer.len());
    if buffer.capacity() - buffer.len() < want {
        buffer.reserve(want);
    }
    R::poll_read(io, cx, buffer)
}

/// How much room a read into a connection's own buffer asks for, given the
/// bytes still `wanted` by the frame being received and the bytes already
/// `buffered`: what the frame wants, but at least [`READ_CHUNK`] (the next
/// frame may come with the end of this one), and never more than
/// [`MAX_RESERVE`] or [`RESERVE_GROWTH`] times what has arrived, whichever
/// is more.
fn read_room(wanted: usize, buffered: usize) -> usize {
    wanted
        .max(READ_CHUNK)
        .min(MAX_RESERVE.max(RESERVE_GROWTH.saturating_mul(buffered)))
}

/// Arms `timer` for `deadline` (creating or moving it) and polls it; true
/// when it fired.
pub(crate) fn arm_timer<T: Timer>(
    timer: &mut Option<T>,
    deadline: Instant,
    cx: &mut Context<'_>,
) -> bool {
    match timer {
        Some(timer) if timer.deadline() == deadline => {}
        Some(timer) => timer.reset(deadline),
        None => *timer = Some(T::at(deadline)),
    }
    let fired = timer
        .as_mut()
        .expect("armed above")
        .poll_fired(cx)
        .is_ready();
    if fired {
        *timer = None;
    }
    fired
}

impl<R: crate::Runtime> Core<R> {
    pub(crate) fn new(conn: Connection) -> Self {
        Core {
            conn,
            timer: None,
            write_shutdown: false,
        }
    }

    /// Frees the connection's buffers when nothing waits to be written:
    /// called before waiting, so an idle connection holds none.
    pub(crate) fn release_idle_buffers(&mut self) {
        if self.conn.buffered_amount() == 0 {
            self.conn.release_idle_buffers();
        }
    }

    /// The transport is unusable: finish the connection as if the input
    /// ended, without a second error for the same cause.
    pub(crate) fn transport_failed(&mut self, closed: &mut Option<Box<Closed>>) {
        self.conn.receive_eof();
        while let Some(event) = self.conn.poll_event() {
            if let Event::Closed(end) = event {
                *closed = Some(Box::new(end));
            }
        }
    }

    /// Everything but reading: the next event, the bytes to write, the
    /// transport's shutdown, the timer. `cx` wakes whoever drives the
    /// connection (both halves of a split one).
    pub(crate) fn drive<W>(
        &mut self,
        mut io: Pin<&mut W>,
        cx: &mut Context<'_>,
        closed: &mut Option<Box<Closed>>,
    ) -> Drive
    where
        R: WriteTransport<W>,
    {
        match self.conn.poll_event() {
            Some(Event::Message(message)) => {
                // A control message may have queued an answer (a pong, the
                // close echo): it goes out now, without waiting for a send.
                // A data message queued nothing: what the application fed
                // stays queued until it flushes or until reading would wait
                // (below), so answers fed to messages that arrived together
                // leave in one write.
                if !message.is_data() {
                    if let Poll::Ready(Err(error)) = self.poll_transmit(io, cx) {
                        self.transport_failed(closed);
                        return Drive::Yield(Some(Err(error.into())));
                    }
                }
                return Drive::Yield(Some(Ok(message)));
            }
            Some(Event::Error(error)) => {
                // Send the close frame now, in case the application stops reading.
                let _ = self.poll_transmit(io, cx);
                return Drive::Yield(Some(Err(error.into())));
            }
            Some(Event::Closed(end)) => {
                // Let the peer see the end at once, even if the application
                // keeps the socket: best effort, the connection is over.
                if !self.write_shutdown {
                    self.write_shutdown = true;
                    let _ = R::poll_shutdown(io, cx);
                }
                *closed = Some(Box::new(end));
                self.timer = None;
                return Drive::Yield(None);
            }
            None => {}
        }
        if let Poll::Ready(Err(error)) = self.poll_transmit(io.as_mut(), cx) {
            self.transport_failed(closed);
            return Drive::Yield(Some(Err(error.into())));
        }
        if self.conn.should_close_transport() && !self.write_shutdown {
            // Ignore errors: the peer may already be gone, and the read
            // side reports the end either way.
            if R::poll_shutdown(io, cx).is_ready() {
                self.write_shutdown = true;
                self.conn.transport_closed();
                return Drive::Again;
            }
        }
        if self.poll_timer(cx) {
            return Drive::Again;
        }
        Drive::Read
    }

    /// Writes what the connection has queued. Ready once all is written.
    fn poll_transmit<W>(
        &mut self,
        mut io: Pin<&mut W>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>>
    where
        R: WriteTransport<W>,
    {
        loop {
            let first = self.conn.transmit();
            if first.is_empty() {
                break;
            }
            let written = if first.len() == self.conn.buffered_amount() {
                // All of it is in one piece (the common case): a plain write.
                ready!(R::poll_write(io.as_mut(), cx, first))?
            } else {
                // A header and a payload queued by reference go out in one writev.
                let mut slices = [io::IoSlice::new(&[]); MAX_WRITE_SLICES];
                let count = self.conn.transmit_vectored(&mut slices);
                ready!(R::poll_write_vectored(io.as_mut(), cx, &slices[..count]))?
            };
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.conn.advance_transmit(written);
        }
        Poll::Ready(Ok(()))
    }

    /// Arms the connection's timer; returns true when it fired (and was
    /// handled).
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.conn.needs_timer() {
            self.timer = None;
            return false;
        }
        let now = Instant::now();
        let Some(deadline) = self.conn.poll_timeout(now) else {
            self.timer = None;
            return false;
        };
        if deadline <= now || arm_timer(&mut self.timer, deadline, cx) {
            self.timer = None;
            self.conn.handle_timeout(Instant::now());
            return true;
        }
        false
    }

    pub(crate) fn poll_ready_to_send<W>(
        &mut self,
        io: Pin<&mut W>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Error>>
    where
        R: WriteTransport<W>,
    {
        if self.conn.is_output_full() {
            ready!(self.poll_transmit_timed(io, cx))?;
        }
        Poll::Ready(Ok(()))
    }

    /// [`poll_transmit`](Self::poll_transmit) for the send path, which
    /// may be all that polls the connection: while the write waits, the
    /// connection's timers run too, so a peer that stopped reading is given
    /// up on after the write timeout.
    fn poll_transmit_timed<W>(
        &mut self,
        mut io: Pin<&mut W>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Error>>
    where
        R: WriteTransport<W>,
    {
        loop {
            if let Some(error) = self.conn.timed_out() {
                // Whatever is queued will never be written.
                return Poll::Ready(Err(error.into()));
            }
            match self.poll_transmit(io.as_mut(), cx) {
                Poll::Ready(Ok(())) => return Poll::Ready(Ok(())),
                Poll::Ready(Err(error)) => {
                    self.transport_failed(&mut None);
                    return Poll::Ready(Err(error.into()));
                }
                Poll::Pending => {
                    if !self.poll_timer(cx) {
                        return Poll::Pending;
                    }
                }
            }
        }
    }

    pub(crate) fn poll_flush_out<W>(
        &mut self,
        mut io: Pin<&mut W>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Error>>
    where
        R: WriteTransport<W>,
    {
        ready!(self.poll_transmit_timed(io.as_mut(), cx))?;
        if let Err(error) = ready!(R::poll_flush(io.as_mut(), cx)) {
            self.transport_failed(&mut None);
            return Poll::Ready(Err(error.into()));
        }
        if self.conn.should_close_transport() && !self.write_shutdown {
            let _ = ready!(R::poll_shutdown(io, cx));
            self.write_shutdown = true;
            self.conn.transport_closed();
        }
        Poll::Ready(Ok(()))
    }

    /// Sends a close frame if none was sent and flushes it, without waiting
    /// for the peer's answer (used by the writer half).
    pub(crate) fn poll_send_close<W>(
        &mut self,
        io: Pin<&mut W>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Error>>
    where
        R: WriteTransport<W>,
    {
        if self.conn.state() == State::Open {
            self.conn.close(CloseCode::NORMAL, "")?;
        }
        self.poll_flush_out(io, cx)
    }
}

impl<S: Unpin, R: Transport<S>> Stream for WebSocket<S, R> {
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().inner.poll_next_message(cx)
    }
}

impl<S: Unpin, R: Transport<S>> Sink<Message> for WebSocket<S, R> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = &mut *self.get_mut().inner;
        this.core.poll_ready_to_send(Pin::new(&mut this.io), cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        Ok(self.get_mut().inner.core.conn.send(message)?)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = &mut *self.get_mut().inner;
        this.core.poll_flush_out(Pin::new(&mut this.io), cx)
    }

    /// Sends a normal close (1000) unless a close was sent, and waits for the
    /// close handshake to finish, dropping messages that arrive meanwhile.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().inner.poll_close_handshake(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_reading_a_frame_header_alone_reserves_at_most_max_reserve() {
        // A peer claims a 64 MiB frame and sends only its header.
        assert_eq!(read_room(64 << 20, 0), MAX_RESERVE);
        assert_eq!(read_room(64 << 20, 14), MAX_RESERVE);
    }

    #[test]
    fn server_reading_a_large_frame_reserves_the_rest_once_a_sixteenth_arrived() {
        // The first 64 KiB of a 1 MiB frame are in: the rest in one step.
        let rest = (1 << 20) - (64 << 10);
        assert_eq!(read_room(rest, 64 << 10), rest);
        // A peer that stalls after 64 KiB of a 64 MiB frame holds 1 MiB more.
        assert_eq!(read_room(64 << 20, 64 << 10), 1 << 20);
    }

    #[test]
    fn server_reading_between_or_near_the_end_of_frames_asks_for_a_chunk() {
        assert_eq!(read_room(0, 0), READ_CHUNK);
        assert_eq!(read_room(10, 3), READ_CHUNK);
        assert_eq!(read_room(100 << 10, 300 << 10), 100 << 10);
    }
}
