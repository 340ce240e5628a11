//! The driving state and loop that a whole [`WebSocket`](crate::WebSocket)
//! and the halves of a split one share: the connection with its timer and
//! shutdown state ([`Driver`]), and the loop that feeds a connection its
//! input and writes its output ([`Parts::poll_next_message`]). No protocol
//! decision is made here: ws-core makes them all.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use ws_core::{
    Chunk, CloseCode, Closed, Connection, Event, Message, MessageKind, PreparedMessage, State,
    Timeout,
};

use crate::buffers::{lend_spare, poll_read, release_idle};
use crate::runtime::{Runtime, Timer, Transport, WriteTransport};
use crate::trace::{self, ConnSpan};
use crate::Error;

/// At most this many pieces of queued output go into one vectored write.
const MAX_WRITE_SLICES: usize = 16;

/// The subprotocol the handshake agreed on, behind a thin pointer: most
/// connections have none, and an `Option<Box<str>>` would cost each of them
/// 16 bytes, not 8.
#[allow(clippy::box_collection)]
pub(crate) type Subprotocol = Option<Box<String>>;

/// Everything a whole socket is: the stream, the driven connection, how it
/// ended, and the agreed subprotocol. A [`WebSocket`](crate::WebSocket) is
/// one box of it; `split` takes it apart and `reunite` puts it back.
pub(crate) struct Parts<S, R: Runtime> {
    pub(crate) io: S,
    pub(crate) driver: Driver<R>,
    pub(crate) closed: Option<Box<Closed>>,
    pub(crate) subprotocol: Subprotocol,
}

/// The connection and what drives it apart from reading: the part of a
/// socket that the halves of a split share (the reader owns the reading).
pub(crate) struct Driver<R: Runtime> {
    pub(crate) conn: Connection,
    timer: Option<R::Timer>,
    write_shutdown: bool,
    /// Entered while the connection is driven (the `tracing` feature).
    pub(crate) span: ConnSpan,
}

/// What the connection handed out: a message, or a piece of one that is
/// received as a stream.
pub(crate) enum Item {
    Message(Message),
    Chunk(Chunk),
}

impl Item {
    /// What `recv` returns: a message; `None` for a piece of a streamed
    /// message that the application stopped reading (the rest of it is
    /// dropped).
    pub(crate) fn into_message(self) -> Option<Message> {
        match self {
            Item::Message(message) => Some(message),
            Item::Chunk(_) => None,
        }
    }

    /// What `recv_chunk` returns: a piece, or a whole data message as one
    /// piece; `None` for a control message (answered already).
    pub(crate) fn into_chunk(self) -> Option<Chunk> {
        match self {
            Item::Chunk(chunk) => Some(chunk),
            Item::Message(Message::Text(text)) => Some(Chunk {
                kind: MessageKind::Text,
                data: text.into_bytes(),
                first: true,
                fin: true,
            }),
            Item::Message(Message::Binary(data)) => Some(Chunk {
                kind: MessageKind::Binary,
                data,
                first: true,
                fin: true,
            }),
            Item::Message(_) => None,
        }
    }
}

/// Polls `next` until it yields an item that `pick` keeps (a message for
/// `recv`, a piece for `recv_chunk`), an error, or the end.
pub(crate) fn poll_picked<T>(
    cx: &mut Context<'_>,
    mut next: impl FnMut(&mut Context<'_>) -> Poll<Option<Result<Item, Error>>>,
    pick: impl Fn(Item) -> Option<T>,
) -> Poll<Option<Result<T, Error>>> {
    loop {
        match ready!(next(cx)) {
            Some(Ok(item)) => {
                if let Some(kept) = pick(item) {
                    return Poll::Ready(Some(Ok(kept)));
                }
            }
            Some(Err(error)) => return Poll::Ready(Some(Err(error))),
            None => return Poll::Ready(None),
        }
    }
}

/// What [`Driver::drive`] did.
pub(crate) enum Step {
    /// Return this from the stream's `poll_next`.
    Yield(Option<Result<Item, Error>>),
    /// State changed (a timer fired, the transport was shut down): drive again.
    Again,
    /// Nothing to do until more input arrives: read.
    Read,
}

impl<S: Unpin, R: Transport<S>> Parts<S, R> {
    // ----- the driver -----

    /// Drives the connection until it yields a message or ends.
    pub(crate) fn poll_next_message(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        // A `recv_chunk` that was dropped before its message started.
        self.driver.conn.assemble_next_message();
        poll_picked(cx, |cx| self.poll_next_item(cx), Item::into_message)
    }

    /// Drives the connection until it yields a piece of a streamed message
    /// (the next one streamed with `limit`, unless one is under way) or ends.
    pub(crate) fn poll_next_chunk(
        &mut self,
        cx: &mut Context<'_>,
        limit: u64,
    ) -> Poll<Option<Result<Chunk, Error>>> {
        if !self.driver.conn.is_streaming() {
            self.driver.conn.stream_next_message(limit);
        }
        poll_picked(cx, |cx| self.poll_next_item(cx), Item::into_chunk)
    }

    /// Drives the connection until it yields something or ends.
    pub(crate) fn poll_next_item(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Item, Error>>> {
        loop {
            if self.closed.is_some() {
                return Poll::Ready(None);
            }
            match self
                .driver
                .drive(Pin::new(&mut self.io), cx, &mut self.closed)
            {
                Step::Yield(item) => return Poll::Ready(item),
                Step::Again => continue,
                Step::Read => {}
            }
            if self.driver.conn.received_eof() {
                // The connection has been told; it yields Closed next.
                continue;
            }
            match poll_read::<S, R>(Pin::new(&mut self.io), cx, &mut self.driver.conn) {
                Poll::Ready(Ok(0)) => {
                    self.driver.conn.receive_eof();
                }
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(error)) => {
                    let closing = self.driver.conn.state() != State::Open;
                    {
                        let _entered = trace::enter(&self.driver.span);
                        trace::transport_failed(&error);
                    }
                    self.driver.transport_failed(&mut self.closed);
                    if !closing {
                        return Poll::Ready(Some(Err(error.into())));
                    }
                }
                Poll::Pending => {
                    self.driver.release_idle_buffers();
                    return Poll::Pending;
                }
            }
        }
    }

    /// Sends a close frame if none was sent, flushes, and drives the
    /// connection to its end, dropping messages.
    pub(crate) fn poll_close_handshake(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.driver.close(CloseCode::NORMAL, "")?;
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

impl<R: Runtime> Driver<R> {
    pub(crate) fn new(conn: Connection) -> Self {
        Driver {
            span: trace::connection_span(&conn),
            conn,
            timer: None,
            write_shutdown: false,
        }
    }

    /// Starts the close handshake with `code` and `reason` unless a close
    /// was already sent or received.
    pub(crate) fn close(
        &mut self,
        code: CloseCode,
        reason: &str,
    ) -> Result<(), ws_core::SendError> {
        let _entered = trace::enter(&self.span);
        if self.conn.state() == State::Open {
            self.conn.close(code, reason)?;
        }
        Ok(())
    }

    /// Frees the connection's buffers when nothing waits to be written:
    /// called before waiting, so an idle connection holds none.
    pub(crate) fn release_idle_buffers(&mut self) {
        if self.conn.buffered_amount() == 0 {
            release_idle(&mut self.conn);
        }
    }

    /// Queues a message, lending the connection the thread's spare write
    /// buffer if it gave its own up while idle.
    pub(crate) fn send(&mut self, message: Message) -> Result<(), ws_core::SendError> {
        let _entered = trace::enter(&self.span);
        lend_spare(&mut self.conn);
        self.conn.send(message)
    }

    /// Queues a piece of a message sent as a stream.
    pub(crate) fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), ws_core::SendError> {
        let _entered = trace::enter(&self.span);
        lend_spare(&mut self.conn);
        self.conn.send_fragment(kind, data, fin)
    }

    /// Queues a prepared message, as [`send`](Self::send) does a message.
    pub(crate) fn send_prepared(
        &mut self,
        message: &PreparedMessage,
    ) -> Result<(), ws_core::SendError> {
        let _entered = trace::enter(&self.span);
        lend_spare(&mut self.conn);
        self.conn.send_prepared(message)
    }

    /// The transport is unusable: finish the connection as if the input
    /// ended, without a second error for the same cause.
    pub(crate) fn transport_failed(&mut self, closed: &mut Option<Box<Closed>>) {
        let _entered = trace::enter(&self.span);
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
    ) -> Step
    where
        R: WriteTransport<W>,
    {
        let _entered = trace::enter(&self.span);
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
                        return Step::Yield(Some(Err(error.into())));
                    }
                }
                return Step::Yield(Some(Ok(Item::Message(message))));
            }
            Some(Event::Chunk(chunk)) => return Step::Yield(Some(Ok(Item::Chunk(chunk)))),
            Some(Event::Error(error)) => {
                // Send the close frame now, in case the application stops reading.
                let _ = self.poll_transmit(io, cx);
                return Step::Yield(Some(Err(error.into())));
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
                return Step::Yield(None);
            }
            None => {}
        }
        if let Poll::Ready(Err(error)) = self.poll_transmit(io.as_mut(), cx) {
            self.transport_failed(closed);
            return Step::Yield(Some(Err(error.into())));
        }
        if self.conn.should_close_transport() && !self.write_shutdown {
            // Ignore errors: the peer may already be gone, and the read
            // side reports the end either way.
            if R::poll_shutdown(io, cx).is_ready() {
                self.write_shutdown = true;
                if R::SHUTDOWN_SHOWS_END {
                    // This loop reads on: linger for the peer's end.
                    self.conn.transport_shut_down();
                } else {
                    self.conn.transport_closed();
                }
                return Step::Again;
            }
        }
        if self.poll_timer(cx) {
            return Step::Again;
        }
        Step::Read
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

    /// Arms the runtime's timer for the connection's next deadline, telling
    /// the connection the time when it asks for it; true when a deadline
    /// fired (events or output may wait). Reads the clock only when a timer
    /// starts or fires.
    fn poll_timer(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            match self.conn.poll_timeout() {
                None => {
                    self.timer = None;
                    return false;
                }
                Some(Timeout::Now) => {}
                Some(Timeout::At(deadline)) => {
                    if !arm_timer(&mut self.timer, deadline, cx) {
                        return false;
                    }
                }
            }
            // A timer starts, or one fired: the connection decides what that
            // means (a deadline that moved on, such as a message still
            // progressing, is simply armed again).
            if self.conn.handle_timeout(Instant::now()) {
                self.timer = None;
                return true;
            }
        }
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
        let _entered = trace::enter(&self.span);
        loop {
            if let Some(error) = self.conn.timed_out() {
                // Whatever is queued will never be written.
                return Poll::Ready(Err(error.into()));
            }
            match self.poll_transmit(io.as_mut(), cx) {
                Poll::Ready(Ok(())) => return Poll::Ready(Ok(())),
                Poll::Ready(Err(error)) => {
                    trace::transport_failed(&error);
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

    /// Flushes the transport, with the write timeout running while the
    /// flush waits: a transport that took every byte but cannot pass them
    /// on (an HTTP/2 stream whose peer stopped granting window) is given up
    /// on as a peer that stopped reading is.
    fn poll_flush_timed<W>(
        &mut self,
        mut io: Pin<&mut W>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), Error>>
    where
        R: WriteTransport<W>,
    {
        loop {
            match R::poll_flush(io.as_mut(), cx) {
                Poll::Ready(Ok(())) => {
                    self.conn.set_transport_flushing(false);
                    return Poll::Ready(Ok(()));
                }
                Poll::Ready(Err(error)) => {
                    self.conn.set_transport_flushing(false);
                    self.transport_failed(&mut None);
                    return Poll::Ready(Err(error.into()));
                }
                Poll::Pending => {
                    self.conn.set_transport_flushing(true);
                    if let Some(error) = self.conn.timed_out() {
                        return Poll::Ready(Err(error.into()));
                    }
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
        ready!(self.poll_flush_timed(io.as_mut(), cx))?;
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
        self.close(CloseCode::NORMAL, "")?;
        self.poll_flush_out(io, cx)
    }
}
