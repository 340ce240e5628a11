//! [`WebSocket`]: ws-core driven by a blocking loop on one stream.

use std::io::{self, IoSlice};
use std::time::{Duration, Instant};

use ws_core::{
    Chunk, CloseCode, Closed, Config, Connection, Event, Message, MessageKind, Role, State, Timeout,
};
use ws_driver::trace::{self, ConnSpan};
use ws_driver::Error;

use crate::transport::Transport;

/// `send_from` reads, and sends as one frame, at most this much at a time.
const SEND_PIECE: usize = 64 * 1024;

/// What the reading loop found: a message, or a piece of a streamed one.
enum Item {
    Message(Message),
    Chunk(Chunk),
}

/// Reads between frames go into a stack buffer of this size, and only what
/// arrived is copied into the connection.
const SCRATCH: usize = 16 * 1024;

/// While a large frame arrives, reads go straight into the connection's
/// buffer, at most this much at a time.
const MAX_READ: usize = 256 * 1024;

/// At most this many pieces of queued output go into one vectored write.
const MAX_WRITE_SLICES: usize = 16;

/// A socket timeout may run past the deadline it stands for by this
/// fraction before it is set again: a busy connection with a deadline does
/// not make a `setsockopt` per read.
const TIMEOUT_SLACK_DIVISOR: u32 = 8;

/// A WebSocket connection on a blocking stream: [`read`](Self::read) waits
/// for the next message, [`send`](Self::send) writes one. No async runtime,
/// no thread of its own; a server runs one thread per connection.
///
/// Reading drives the whole connection, as on the async adapters: pings are
/// answered, the close handshake completes, and the connection's deadlines
/// (keepalive, close, message and write timeouts of [`Config`]) fire while
/// `read` waits, through the stream's read and write timeouts.
///
/// ```
/// use ws_blocking::{CloseCode, Message};
///
/// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
/// let addr = listener.local_addr()?;
/// let server = std::thread::spawn(move || {
///     let (tcp, _) = listener.accept().unwrap();
///     let mut socket = ws_blocking::accept(tcp).unwrap();
///     // Echo until the client closes: `read` then returns `Error::Closed`.
///     while let Ok(message) = socket.read() {
///         if message.is_data() {
///             socket.send(message).unwrap();
///         }
///     }
/// });
///
/// let (mut socket, _response) = ws_blocking::connect(format!("ws://{addr}/"))?;
/// socket.send(Message::text("hello"))?;
/// assert_eq!(socket.read()?.as_text(), Some("hello"));
/// socket.close(CloseCode::NORMAL, "done")?;
/// assert!(socket.closed().unwrap().clean);
/// server.join().unwrap();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct WebSocket<S> {
    io: S,
    conn: Connection,
    closed: Option<Closed>,
    subprotocol: Option<String>,
    write_shutdown: bool,
    /// The timeouts now set on the stream, so that an unchanged one is not
    /// set again.
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    /// Entered while the connection is driven (the `tracing` feature).
    span: ConnSpan,
}

impl<S> std::fmt::Debug for WebSocket<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("role", &self.conn.role())
            .field("state", &self.conn.state())
            .field("subprotocol", &self.subprotocol)
            .finish_non_exhaustive()
    }
}

impl<S: Transport> WebSocket<S> {
    /// Wraps a stream on which an opening handshake was already done by
    /// other means, as a `role` connection with `config` and no extension.
    /// `leftover` holds bytes read past the handshake.
    pub fn from_raw_socket(io: S, role: Role, config: Config, leftover: &[u8]) -> Self {
        Self::from_connection(io, Connection::new(role, config), leftover)
    }

    /// Wraps a stream and a connection made for it (for example one with
    /// permessage-deflate, from [`ServerConfig::new_connection`](crate::ServerConfig::new_connection)).
    /// `leftover` holds bytes read past the handshake.
    ///
    /// The stream's read and write timeouts are the socket's from now on:
    /// it sets them to the connection's deadlines.
    pub fn from_connection(io: S, mut conn: Connection, leftover: &[u8]) -> Self {
        conn.receive(leftover);
        WebSocket {
            io,
            span: trace::connection_span(&conn),
            conn,
            closed: None,
            subprotocol: None,
            write_shutdown: false,
            // Unknown: set on first use.
            read_timeout: Some(Duration::MAX),
            write_timeout: Some(Duration::MAX),
        }
    }

    /// Records the subprotocol the handshake agreed on.
    pub fn with_subprotocol(mut self, subprotocol: Option<String>) -> Self {
        trace::record_agreement(&self.span, subprotocol.as_deref(), None);
        self.subprotocol = subprotocol;
        self
    }

    pub(crate) fn conn_span(&self) -> &ConnSpan {
        &self.span
    }

    /// The connection's `tracing` span (`websocket`, with fields `role`,
    /// `peer`, `http_version`, `subprotocol`, `extensions`), in which its
    /// events are recorded; see `ws_driver::trace`. A server records its
    /// peer's address here (or makes the connection inside a span of its
    /// own that has it).
    #[cfg(feature = "tracing")]
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol.as_deref()
    }

    /// The state of the connection.
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// How the connection ended, once [`read`](Self::read) returned
    /// [`Error::Closed`].
    pub fn closed(&self) -> Option<&Closed> {
        self.closed.as_ref()
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The underlying stream, mutably. Reading or writing it directly breaks
    /// the framing, and its timeouts are the socket's to set.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// Bytes queued and not yet written (with [`feed`](Self::feed)).
    pub fn buffered_amount(&self) -> usize {
        self.conn.buffered_amount()
    }

    /// Waits for the next message: text, binary, or a ping, pong or close
    /// (already answered). Everything queued is written before it waits.
    ///
    /// # Errors
    ///
    /// [`Error::Protocol`] once when the peer broke the protocol or the
    /// transport ended without a close handshake (the close code it was
    /// answered with is in the error); [`Error::Io`] when the stream
    /// failed; then, and after a clean close, [`Error::Closed`] for every
    /// later call.
    pub fn read(&mut self) -> Result<Message, Error> {
        loop {
            if let Some(message) = self.read_message_until(None)? {
                return Ok(message);
            }
        }
    }

    /// Waits for the next piece of a message received as a stream: the
    /// message under way, or else the next one, is handed out as its bytes
    /// arrive, without being assembled, with `limit` in place of
    /// [`Config::max_message_size`]; the piece with [`Chunk::fin`] is its
    /// last. Pings are answered meanwhile; control messages are not
    /// returned. As the async adapters' `recv_chunk`: see
    /// [`ws_driver::WebSocket::recv_chunk`].
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub fn read_chunk(&mut self, limit: u64) -> Result<Chunk, Error> {
        if !self.conn.is_streaming() {
            self.conn.stream_next_message(limit);
        }
        loop {
            let chunk = match self.read_until(None)? {
                Some(Item::Chunk(chunk)) => chunk,
                Some(Item::Message(Message::Text(text))) => Chunk {
                    kind: MessageKind::Text,
                    data: text.into_bytes(),
                    first: true,
                    fin: true,
                },
                Some(Item::Message(Message::Binary(data))) => Chunk {
                    kind: MessageKind::Binary,
                    data,
                    first: true,
                    fin: true,
                },
                Some(Item::Message(_)) | None => continue,
            };
            return Ok(chunk);
        }
    }

    /// Receives the next message as a stream ([`read_chunk`](Self::read_chunk))
    /// into `writer`, flushed at the end; returns its kind and size.
    ///
    /// # Errors
    ///
    /// [`Error::Copy`] when writing to `writer` fails (the rest of the
    /// message is dropped by the next `read`, or read on with
    /// `read_chunk`); as [`read`](Self::read) otherwise, [`Error::Closed`]
    /// also when the connection ended in the middle of the message.
    pub fn read_into(
        &mut self,
        writer: &mut impl io::Write,
        limit: u64,
    ) -> Result<(MessageKind, u64), Error> {
        let mut total = 0;
        loop {
            let chunk = self.read_chunk(limit)?;
            total += chunk.data.len() as u64;
            writer.write_all(&chunk.data).map_err(Error::Copy)?;
            if chunk.fin {
                writer.flush().map_err(Error::Copy)?;
                return Ok((chunk.kind, total));
            }
        }
    }

    /// Sends a piece of a message sent as a stream and writes it out: the
    /// first call starts a `kind` message, the one with `fin` ends it. See
    /// [`ws_core::Connection::send_fragment`].
    ///
    /// # Errors
    ///
    /// [`Error::Send`] with [`SendError::MessageInProgress`](ws_core::SendError::MessageInProgress)
    /// for a piece of another kind, with [`SendError::InvalidUtf8`](ws_core::SendError::InvalidUtf8)
    /// for text that is not UTF-8; as [`send`](Self::send) otherwise.
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        {
            let _entered = trace::enter(&self.span);
            if self.conn.is_output_full() {
                self.flush()?;
            }
            self.conn.send_fragment(kind, data, fin)?;
        }
        self.flush()
    }

    /// Sends what `reader` gives, to its end, as one `kind` message in
    /// pieces of at most 64 KiB, each written before the next is read:
    /// memory stays bounded by one piece. Returns the message's size.
    ///
    /// # Errors
    ///
    /// [`Error::Copy`] when `reader` fails: the message is still under way
    /// (continue it with `send_fragment`, or close); as
    /// [`send_fragment`](Self::send_fragment) otherwise.
    pub fn send_from(
        &mut self,
        kind: MessageKind,
        reader: &mut impl io::Read,
    ) -> Result<u64, Error> {
        let mut buffer = vec![0; SEND_PIECE];
        let mut total = 0;
        loop {
            let read = loop {
                match reader.read(&mut buffer) {
                    Ok(read) => break read,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                    Err(error) => return Err(Error::Copy(error)),
                }
            };
            total += read as u64;
            self.send_fragment(kind, &buffer[..read], read == 0)?;
            if read == 0 {
                return Ok(total);
            }
        }
    }

    /// [`read`](Self::read), waiting at most `limit`: `Ok(None)` when no
    /// message arrived by then. Nothing is lost: a message partly received
    /// is completed by the next call. For a loop that also looks at
    /// something else between reads (a shutdown flag, a queue to send).
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub fn read_within(&mut self, limit: Duration) -> Result<Option<Message>, Error> {
        let until = Instant::now().checked_add(limit);
        loop {
            match self.read_message_until(until)? {
                Some(message) => return Ok(Some(message)),
                None if until.is_some_and(|until| until <= Instant::now()) => return Ok(None),
                None => {}
            }
        }
    }

    /// The reading loop for whole messages: `None` once `until` passes
    /// without one, or for a piece of a streamed message the application
    /// stopped reading (the rest of it is dropped).
    fn read_message_until(&mut self, until: Option<Instant>) -> Result<Option<Message>, Error> {
        // A `read_chunk` whose message has not started.
        self.conn.assemble_next_message();
        Ok(match self.read_until(until)? {
            Some(Item::Message(message)) => Some(message),
            Some(Item::Chunk(_)) | None => None,
        })
    }

    /// The reading loop: `None` once `until` passes without a message.
    fn read_until(&mut self, until: Option<Instant>) -> Result<Option<Item>, Error> {
        let _entered = trace::enter(&self.span);
        loop {
            if self.closed.is_some() {
                return Err(Error::Closed);
            }
            match self.conn.poll_event() {
                Some(Event::Message(message)) => {
                    if !message.is_data() {
                        // A pong or the close echo leaves at once.
                        if let Err(error) = self.write_out() {
                            self.transport_failed();
                            return Err(error);
                        }
                    }
                    return Ok(Some(Item::Message(message)));
                }
                Some(Event::Chunk(chunk)) => return Ok(Some(Item::Chunk(chunk))),
                Some(Event::Error(error)) => {
                    // The close frame goes out now, in case the caller stops reading.
                    let _ = self.write_out();
                    return Err(error.into());
                }
                Some(Event::Closed(end)) => {
                    self.shutdown_write();
                    self.closed = Some(end);
                    return Err(Error::Closed);
                }
                None => {}
            }
            if let Err(error) = self.write_out() {
                let closing = self.conn.state() != State::Open;
                self.transport_failed();
                if closing {
                    continue;
                }
                return Err(error);
            }
            if self.conn.should_close_transport() && !self.write_shutdown {
                // A real FIN, and this loop reads on: after a failure it
                // lingers for the peer's end rather than reset it.
                self.shutdown_write();
                self.conn.transport_shut_down();
                continue;
            }
            let deadline = match self.due() {
                Due::Now => continue,
                Due::At(deadline) => deadline,
            };
            if until.is_some_and(|until| until <= Instant::now()) {
                return Ok(None);
            }
            let deadline = match (deadline, until) {
                (Some(deadline), Some(until)) => Some(deadline.min(until)),
                (deadline, until) => deadline.or(until),
            };
            self.set_read_timeout(deadline)?;
            match self.read_some() {
                Ok(0) => self.conn.receive_eof(),
                Ok(_) => {}
                Err(error) if waited_out(&error) => {}
                Err(error) => {
                    trace::transport_failed(&error);
                    let closing = self.conn.state() != State::Open;
                    self.transport_failed();
                    if !closing {
                        return Err(error.into());
                    }
                }
            }
        }
    }

    /// [`read`](Self::read), with the end as `None`: the same shape as the
    /// async adapters' `recv`, for `while let Some(message) = socket.recv()`.
    pub fn recv(&mut self) -> Option<Result<Message, Error>> {
        match self.read() {
            Err(Error::Closed) => None,
            other => Some(other),
        }
    }

    /// Sends a message and writes it (and anything queued before it) out.
    ///
    /// # Errors
    ///
    /// [`Error::Send`] when the message is refused (the connection is
    /// closing, a control payload over 125 bytes); [`Error::Io`] or a write
    /// timeout ([`Error::Protocol`]) when writing fails.
    pub fn send(&mut self, message: Message) -> Result<(), Error> {
        self.feed(message)?;
        self.flush()
    }

    /// Queues a message without writing it, unless the queue is past
    /// [`Config::max_buffered_output`]; [`flush`](Self::flush) or the next
    /// [`read`](Self::read) writes it. Answers fed to messages read together
    /// leave in one write.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn feed(&mut self, message: Message) -> Result<(), Error> {
        let _entered = trace::enter(&self.span);
        if self.conn.is_output_full() {
            self.flush()?;
        }
        self.conn.send(message)?;
        Ok(())
    }

    /// Sends a message framed once for many sockets (see
    /// [`PreparedMessage`](ws_core::PreparedMessage)) and writes it out.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub fn send_prepared(&mut self, message: &ws_core::PreparedMessage) -> Result<(), Error> {
        self.feed_prepared(message)?;
        self.flush()
    }

    /// Queues a prepared message without writing it (unless the output is
    /// full, when it writes first); [`flush`](Self::flush) writes it.
    ///
    /// # Errors
    ///
    /// As [`feed`](Self::feed).
    pub fn feed_prepared(&mut self, message: &ws_core::PreparedMessage) -> Result<(), Error> {
        let _entered = trace::enter(&self.span);
        if self.conn.is_output_full() {
            self.flush()?;
        }
        self.conn.send_prepared(message)?;
        Ok(())
    }

    /// Writes everything queued.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the stream fails, or the write timeout
    /// ([`Error::Protocol`]) when the peer stopped reading.
    pub fn flush(&mut self) -> Result<(), Error> {
        let _entered = trace::enter(&self.span);
        let result = self.write_out();
        if result.is_err() {
            self.transport_failed();
        }
        result
    }

    /// Closes the connection with a code and reason ([RFC 6455 section 7]),
    /// then waits for the close handshake to finish, dropping any messages
    /// that arrive meanwhile. If the connection is already closing, it waits.
    ///
    /// # Errors
    ///
    /// [`Error::Send`] for a code that may not be sent (1005, 1006, ...) or a
    /// reason over 123 bytes. Failures of the peer during the handshake
    /// only end it early: [`closed`](Self::closed) says how.
    ///
    /// [RFC 6455 section 7]: https://www.rfc-editor.org/rfc/rfc6455#section-7
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        if self.conn.state() == State::Open {
            let _entered = trace::enter(&self.span);
            self.conn.close(code, reason)?;
        }
        // Messages are dropped; errors now only mean the handshake ends early.
        while !matches!(self.read(), Err(Error::Closed)) {}
        Ok(())
    }

    /// Whether a deadline fired (look at the connection again), or when the
    /// next one is; reads the clock only when the connection asks for it.
    fn due(&mut self) -> Due {
        match self.conn.poll_timeout() {
            None => return Due::At(None),
            Some(Timeout::At(deadline)) if deadline > Instant::now() => {
                return Due::At(Some(deadline))
            }
            Some(_) => {}
        }
        if self.conn.handle_timeout(Instant::now()) {
            return Due::Now;
        }
        match self.conn.poll_timeout() {
            Some(Timeout::At(deadline)) => Due::At(Some(deadline)),
            // Started at the time just given: nothing can be due to start.
            Some(Timeout::Now) | None => Due::At(None),
        }
    }

    /// Reads once into the connection.
    fn read_some(&mut self) -> io::Result<usize> {
        let wanted = self.conn.frame_bytes_wanted();
        if wanted > SCRATCH {
            // The rest of a large frame: straight into the connection's buffer.
            let buffer = self.conn.receive_buffer();
            let start = buffer.len();
            buffer.resize(start + wanted.min(MAX_READ), 0);
            let result = self.io.read(&mut buffer[start..]);
            buffer.truncate(start + result.as_ref().map_or(0, |read| *read));
            return result;
        }
        let mut scratch = [0u8; SCRATCH];
        let read = self.io.read(&mut scratch)?;
        self.conn.receive(&scratch[..read]);
        Ok(read)
    }

    /// Writes everything queued, with the write timeout running while a
    /// write blocks.
    fn write_out(&mut self) -> Result<(), Error> {
        while self.conn.buffered_amount() > 0 {
            let deadline = match self.due() {
                Due::Now => {
                    if let Some(error) = self.conn.timed_out() {
                        // Whatever is queued will never be written.
                        return Err(error.into());
                    }
                    continue;
                }
                Due::At(deadline) => deadline,
            };
            self.set_write_timeout(deadline)?;
            let first = self.conn.transmit();
            let written = if first.len() == self.conn.buffered_amount() {
                self.io.write(first)
            } else {
                // A header and a payload queued by reference: one writev.
                let mut slices = [IoSlice::new(&[]); MAX_WRITE_SLICES];
                let count = self.conn.transmit_vectored(&mut slices);
                self.io.write_vectored(&slices[..count])
            };
            match written {
                Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
                Ok(written) => self.conn.advance_transmit(written),
                Err(error) if waited_out(&error) => {}
                Err(error) => return Err(error.into()),
            }
        }
        self.io.flush()?;
        Ok(())
    }

    /// Shuts the write side down once; errors are ignored, since the peer
    /// may already be gone and reading reports the end either way.
    fn shutdown_write(&mut self) {
        if !self.write_shutdown {
            self.write_shutdown = true;
            let _ = self.io.shutdown_write();
        }
    }

    /// The stream is unusable: the connection ends as if its input had.
    fn transport_failed(&mut self) {
        let _entered = trace::enter(&self.span);
        self.conn.receive_eof();
        while let Some(event) = self.conn.poll_event() {
            if let Event::Closed(end) = event {
                self.closed = Some(end);
            }
        }
    }

    fn set_read_timeout(&mut self, deadline: Option<Instant>) -> io::Result<()> {
        let wanted = timeout_until(deadline);
        if !close_enough(self.read_timeout, wanted) {
            self.io.set_read_timeout(wanted)?;
            self.read_timeout = wanted;
        }
        Ok(())
    }

    fn set_write_timeout(&mut self, deadline: Option<Instant>) -> io::Result<()> {
        let wanted = timeout_until(deadline);
        if !close_enough(self.write_timeout, wanted) {
            self.io.set_write_timeout(wanted)?;
            self.write_timeout = wanted;
        }
        Ok(())
    }
}

/// When the connection next needs [`Connection::handle_timeout`].
enum Due {
    /// A deadline passed and was handled: look at the connection again.
    Now,
    /// At this deadline, or never.
    At(Option<Instant>),
}

/// The socket timeout that ends a wait at `deadline` (at least 1 ms: zero
/// means "no timeout" to the socket).
fn timeout_until(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|deadline| {
        deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    })
}

/// Whether the timeout now set may stand for the one wanted: it does not
/// wait past it by more than an eighth, nor end before half of it.
fn close_enough(set: Option<Duration>, wanted: Option<Duration>) -> bool {
    match (set, wanted) {
        (None, None) => true,
        (Some(set), Some(wanted)) => {
            set <= wanted.saturating_add(wanted / TIMEOUT_SLACK_DIVISOR) && set >= wanted / 2
        }
        _ => false,
    }
}

/// Whether a read or write error is the socket's timeout (or an
/// interrupted call): the loop looks at the deadlines and goes on.
fn waited_out(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_timeout_is_kept_while_within_an_eighth_of_the_deadline() {
        let second = Duration::from_secs(1);
        assert!(close_enough(None, None));
        assert!(close_enough(Some(second), Some(second)));
        assert!(close_enough(Some(second), Some(second * 9 / 10)));
        assert!(!close_enough(Some(second), Some(second * 8 / 10)));
        assert!(!close_enough(Some(second), Some(second * 3)));
        assert!(!close_enough(Some(second), None));
        assert!(!close_enough(None, Some(second)));
    }
}
