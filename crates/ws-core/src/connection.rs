use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use ws_frame::{
    decode_close_payload, encode_close_payload, CloseCode, FrameHeader, OpCode, Role,
    Utf8Validator, MAX_HEADER_LEN,
};

use crate::output::Output;
use crate::prepared::PreparedMessage;
use crate::receiver::{Receiver, Step};
use crate::timeout::{later, Timeout};
use crate::{Chunk, CloseFrame, Config, Message, MessageKind, ProtocolError, SendError, Utf8Bytes};

/// Output above this many bytes makes automatic pongs coalesce into one, so a
/// peer that floods pings without reading cannot grow our buffer.
const PONG_COALESCE_THRESHOLD: usize = 64 * 1024;

/// Buffers whose capacity grew past this are released once empty.
const KEEP_CAPACITY: usize = 64 * 1024;

/// Payloads at least this large are queued by reference rather than copied
/// when the role allows it (smaller ones cost less to copy than to track).
const SHARE_PAYLOAD_MIN: usize = 8 * 1024;

/// What a connection reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message arrived: a whole text or binary message, or a ping, pong or
    /// close frame (already answered when an answer is due).
    Message(Message),
    /// A piece of a data message being received as a stream
    /// ([`Connection::stream_next_message`]); the one with [`Chunk::fin`]
    /// is its last.
    Chunk(Chunk),
    /// The peer broke the protocol; the connection was failed with
    /// [`ProtocolError::close_code`] and is closing. Also reported, with
    /// [`ProtocolError::UnexpectedEof`], when the transport ends without a
    /// close handshake.
    Error(ProtocolError),
    /// The connection is over: drop the transport. Always the last event.
    Closed(Closed),
}

/// How a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The code of the peer's close frame; 1005 if it had none; 1006 if the
    /// peer sent no close frame ([RFC 6455 section 7.1.5]).
    ///
    /// [RFC 6455 section 7.1.5]: https://www.rfc-editor.org/rfc/rfc6455#section-7.1.5
    pub code: CloseCode,
    /// The reason of the peer's close frame.
    pub reason: Utf8Bytes,
    /// Whether both close frames were exchanged without either side failing
    /// the connection ([RFC 6455 section 7.1.4]).
    ///
    /// [RFC 6455 section 7.1.4]: https://www.rfc-editor.org/rfc/rfc6455#section-7.1.4
    pub clean: bool,
}

/// The coarse state of a connection ([RFC 6455 section 4.1, 7]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Messages flow both ways.
    Open,
    /// A close frame was sent or received; the close handshake is under way.
    Closing,
    /// The connection is over.
    Closed,
}

/// The state of uncommon events, boxed together: a ping answered late
/// because much output waits, and the close handshake. Created by the first
/// of them and kept until the connection is dropped.
#[derive(Debug, Default)]
struct Uncommon {
    /// Only the most recent ping needs an answer ([RFC 6455 section 5.5.3]).
    ///
    /// [RFC 6455 section 5.5.3]: https://www.rfc-editor.org/rfc/rfc6455#section-5.5.3
    pending_pong: Option<Bytes>,
    /// The peer's close frame, once it arrived ([RFC 6455 section 5.5.1]);
    /// `Some(None)` for one with no payload.
    ///
    /// [RFC 6455 section 5.5.1]: https://www.rfc-editor.org/rfc/rfc6455#section-5.5.1
    close_received: Option<Option<CloseFrame>>,
    /// When to give up waiting for the peer's close, once ours is out.
    close_deadline: Option<Instant>,
    /// Events decided ahead of parsing: a failure, the end. Only ever at a
    /// connection's end, so here rather than in every connection.
    events: VecDeque<Event>,
    /// A message being sent in pieces ([`Connection::send_fragment`]).
    sending: Option<Sending>,
}

/// A message being sent in pieces.
#[derive(Debug)]
struct Sending {
    kind: MessageKind,
    /// Where a text message's UTF-8 stands.
    utf8: Utf8Validator,
}

/// Keepalive state: boxed, and only there once keepalive is configured and
/// the connection has asked for its first deadline, so a connection without
/// keepalive (the default) carries a null pointer instead.
#[derive(Debug, Default)]
struct Keepalive {
    next_ping: Option<Instant>,
    pong_deadline: Option<Instant>,
    /// The number of the ping whose pong is awaited while `pong_deadline`
    /// is set; its payload is the number's 8 big-endian bytes.
    awaited: u64,
    pings_sent: u64,
}

/// The write timeout (the message timeout is the [`Receiver`]'s). The
/// deadline, once armed, stays put while traffic flows (so a busy connection
/// does not re-arm a timer per message); when it passes, the counter tells
/// whether anything was written since it was armed: if so it is re-armed,
/// if not the peer stalled.
#[derive(Debug, Default)]
struct Progress {
    write_deadline: Option<Instant>,
    /// `writes` when `write_deadline` was armed (wrapping: only equality
    /// matters, and 2^32 writes do not fit in one timeout).
    write_mark: u32,
    /// Writes that took at least one byte.
    writes: u32,
}

/// Which timeout failed the connection (a byte, not a `ProtocolError`, to
/// keep every connection small).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Expired {
    #[default]
    No,
    Keepalive,
    Message,
    Write,
}

/// A WebSocket connection after the opening handshake, as a sans-IO state
/// machine ([RFC 6455 sections 5 to 7]).
///
/// It performs no I/O, reads no clock and holds no global state: the same
/// inputs, times and [`Config::rng_seed`] give the same bytes out. The
/// driver (an adapter such as `ws-tokio` or `ws-blocking`, a test, a loop
/// of your own) moves bytes and time in and out. Its methods, by kind:
///
/// * **Input**: [`receive`](Self::receive) (or [`receive_buffer`](Self::receive_buffer)
///   to read straight into the connection's buffer) with bytes from the
///   transport, [`receive_eof`](Self::receive_eof) when the transport ends,
///   [`handle_timeout`](Self::handle_timeout) with the current time.
/// * **Commands**: [`send`](Self::send), [`send_text`](Self::send_text),
///   [`send_binary`](Self::send_binary), [`send_ping`](Self::send_ping),
///   [`send_pong`](Self::send_pong), [`close`](Self::close). They queue
///   frames and fail with a typed [`SendError`], never a panic.
/// * **Output**: [`poll_event`](Self::poll_event) (messages, errors, the end),
///   [`transmit`](Self::transmit) / [`transmit_vectored`](Self::transmit_vectored)
///   and [`advance_transmit`](Self::advance_transmit) (bytes to write),
///   [`should_close_transport`](Self::should_close_transport) and
///   [`transport_closed`](Self::transport_closed) (TCP FIN).
/// * **Pure queries**, which change nothing and may be called at any time:
///   [`poll_timeout`](Self::poll_timeout), [`state`](Self::state),
///   [`buffered_amount`](Self::buffered_amount), [`is_output_full`](Self::is_output_full),
///   [`transmit`](Self::transmit), [`frame_bytes_wanted`](Self::frame_bytes_wanted),
///   [`timed_out`](Self::timed_out), [`config`](Self::config), [`role`](Self::role).
///
/// # The driving contract
///
/// * After **input** (`receive*`, `receive_eof`): call `poll_event` until it
///   returns `None`: frames are parsed lazily, one event per call, and pings
///   and closes are answered as their events are polled. Then write out what
///   `transmit` holds.
/// * After a **command**: write out what `transmit` holds (now, or batched
///   with other commands before the next wait).
/// * Before **waiting** (for input, a command, or time): ask
///   `poll_timeout()`. [`Timeout::Now`]: a timer must start, so call
///   `handle_timeout(now)` and ask again; [`Timeout::At`]: wait at most
///   until then, and call `handle_timeout(now)` when it passes; `None`: no
///   timer, and no need to read the clock. When `handle_timeout` returns
///   true a deadline fired: poll events and write again.
/// * `handle_timeout` is safe to call spuriously: before any deadline it
///   fires nothing and queues nothing (it only starts the timers that became
///   due, such as the close timeout once a close is sent). After it, no
///   timer is left due to start.
/// * `now` is from a monotonic clock ([`Instant::now`]) and never goes back.
/// * When `should_close_transport` is true, shut the transport down for
///   writing and call `transport_closed`; keep polling events until
///   [`Event::Closed`], which is always the last.
///
/// ```text
/// loop {
///     while let Some(event) = conn.poll_event() { handle it; stop after Event::Closed }
///     write conn.transmit() to the transport; conn.advance_transmit(n)
///     if conn.should_close_transport() { shut down writing; conn.transport_closed() }
///     match conn.poll_timeout() {
///         Some(Timeout::Now) => { if conn.handle_timeout(now) { continue } } // then ask again
///         Some(Timeout::At(deadline)) => wake at deadline, then conn.handle_timeout(now),
///         None => no timer,
///     }
///     wait for:
///         readable bytes -> conn.receive(bytes) | EOF -> conn.receive_eof()
///         a command      -> conn.send_*(..)
/// }
/// ```
///
/// `ws-blocking`'s `WebSocket::read` is this loop over `std::io::Read` and
/// `Write`, in under a hundred lines.
///
/// ```
/// use ws_core::{Config, Connection, Event, Message, Role};
///
/// let mut client = Connection::new(Role::Client, Config::default().rng_seed(Some(1)));
/// let mut server = Connection::new(Role::Server, Config::default());
/// client.send_text("hello").unwrap();
/// let bytes = client.transmit().to_vec();
/// client.advance_transmit(bytes.len());
/// server.receive(&bytes);
/// assert_eq!(server.poll_event(), Some(Event::Message(Message::text("hello"))));
/// assert_eq!(server.poll_event(), None);
/// ```
///
/// [RFC 6455 sections 5 to 7]: https://www.rfc-editor.org/rfc/rfc6455#section-5
/// [`Instant::now`]: std::time::Instant::now
#[derive(Debug)]
pub struct Connection {
    role: Role,
    /// Shared: a server's connections all point at one configuration.
    config: Arc<Config>,
    /// Input, parsing and reassembly; detached while a split reader owns it.
    rx: Receiver,

    output: Output,
    /// What most connections never need, or only at their end: one pointer
    /// until then.
    uncommon: Option<Box<Uncommon>>,
    rng: Option<Box<SmallRng>>,

    close_sent: bool,
    failed: bool,
    transport_close: bool,
    closed: bool,
    /// The transport took bytes it has not flushed yet (its flush is
    /// pending): still writing, for the write timeout.
    flushing: bool,
    /// The timeout that failed the connection, if one did.
    expired: Expired,

    keepalive: Option<Box<Keepalive>>,
    /// `write_timeout`.
    progress: Progress,

    /// permessage-deflate's compressor, when negotiated (the receiver has
    /// the decompressor); boxed so that connections without it stay small.
    #[cfg(feature = "deflate")]
    deflater: Option<Box<crate::deflate::Deflater>>,
}

impl Connection {
    /// A connection in the open state, for the given role.
    ///
    /// `config` is a [`Config`] or an `Arc<Config>`: a server that hands every
    /// connection the same `Arc` keeps one copy of its settings, not one per
    /// connection.
    pub fn new(role: Role, config: impl Into<Arc<Config>>) -> Self {
        let config: Arc<Config> = config.into();
        let keepalive = config.keepalive_interval.is_some().then(Box::default);
        Connection {
            role,
            config,
            rx: Receiver::new(role),
            output: Output::default(),
            uncommon: None,
            rng: None,
            close_sent: false,
            failed: false,
            transport_close: false,
            closed: false,
            flushing: false,
            expired: Expired::No,
            // Made with the connection when keepalive is on, so that
            // `poll_timeout` can tell from this field alone that it is off.
            keepalive,
            progress: Progress::default(),
            #[cfg(feature = "deflate")]
            deflater: None,
        }
    }

    /// A connection in the open state on which permessage-deflate
    /// ([RFC 7692]) was negotiated with `params`: RSV1 marks compressed
    /// messages in both directions, messages of at least
    /// [`Config::compression_threshold`] bytes are sent compressed, and
    /// received ones are inflated within [`Config::max_message_size`].
    ///
    /// [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692
    #[cfg(feature = "deflate")]
    pub fn with_deflate(
        role: Role,
        config: impl Into<Arc<Config>>,
        params: &ws_frame::DeflateParams,
    ) -> Self {
        let mut connection = Connection::new(role, config);
        let level = connection.config.zlib_level();
        let (deflater, inflater) = crate::deflate::new(role, params, level);
        connection.rx.set_inflater(inflater);
        connection.deflater = Some(Box::new(deflater));
        connection
    }

    /// Whether permessage-deflate is in use.
    pub fn is_compressed(&self) -> bool {
        #[cfg(feature = "deflate")]
        return self.deflater.is_some();
        #[cfg(not(feature = "deflate"))]
        false
    }

    // ----- getters -----

    /// Our role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The configuration in force, shared: a server's connections all point
    /// at one.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// The coarse state.
    pub fn state(&self) -> State {
        if self.closed {
            State::Closed
        } else if self.close_sent || self.close_received().is_some() {
            State::Closing
        } else {
            State::Open
        }
    }

    /// Bytes queued for the transport and not yet written.
    pub fn buffered_amount(&self) -> usize {
        self.output.len()
    }

    /// Whether more data would be refused with [`SendError::BufferFull`]:
    /// a driver waits for the buffer to drain before taking more messages.
    pub fn is_output_full(&self) -> bool {
        // An empty buffer is never full, whatever the limit (zero included).
        !self.output.is_empty() && self.output.len() >= self.config.max_buffered_output
    }

    // ----- input -----

    /// Appends bytes read from the transport. Nothing is parsed until
    /// [`poll_event`](Self::poll_event) is called.
    pub fn receive(&mut self, data: &[u8]) {
        self.rx.receive(data);
    }

    /// Takes a buffer of received bytes. When nothing unparsed is waiting, the
    /// buffer itself becomes the receive buffer, so messages are handed out as
    /// slices of it without any copy.
    pub fn receive_bytes(&mut self, data: BytesMut) {
        self.rx.receive_bytes(data);
    }

    /// The buffer received bytes go into, for drivers that read straight into
    /// it (append only; what is there already is unparsed input). Saves the
    /// copy [`receive`](Self::receive) makes.
    pub fn receive_buffer(&mut self) -> &mut BytesMut {
        self.rx.receive_buffer()
    }

    /// How many more bytes would complete the frame being received: its
    /// payload length minus what is buffered, once its header has been read;
    /// 0 between frames. A driver may size its next read by it (capped, so
    /// that a header alone never makes it allocate a large buffer).
    #[must_use]
    pub fn frame_bytes_wanted(&self) -> usize {
        self.rx.frame_bytes_wanted()
    }

    /// Reports the end of the transport's input (TCP FIN, or a read error).
    /// Complete frames already received are still delivered by
    /// [`poll_event`](Self::poll_event); then, if no close handshake happened,
    /// [`ProtocolError::UnexpectedEof`] (1006), and finally [`Event::Closed`].
    pub fn receive_eof(&mut self) {
        self.rx.receive_eof();
    }

    /// Whether the end of the transport's input was reported
    /// ([`receive_eof`](Self::receive_eof)): a driver reads no more then.
    #[must_use]
    pub fn received_eof(&self) -> bool {
        self.rx.eof()
    }

    // ----- split drivers -----

    /// Detaches the receiving side (input, parser, reassembly, the message
    /// timeout), leaving an empty one in its place: for a driver whose
    /// reading and writing run on two tasks. The reading task parses data
    /// messages with [`Receiver::poll_data`] and no lock; for anything
    /// else (a control frame, an error, the end of input, a timer) it
    /// attaches the receiver for the call ([`swap_receiver`](Self::swap_receiver)).
    /// ws-driver's `split` is this.
    pub fn detach_receiver(&mut self) -> Receiver {
        std::mem::replace(&mut self.rx, Receiver::new(self.role))
    }

    /// Exchanges the connection's receiver with `rx`: attaches a receiver
    /// taken with [`detach_receiver`](Self::detach_receiver), and detaches
    /// it again when called a second time, around each call the reading
    /// task makes on the whole connection. An attached receiver learns
    /// whether input is to be ignored now (the connection failed, closed, or
    /// the peer's close arrived while it was detached); an error it found
    /// while detached fails the connection at the next
    /// [`poll_event`](Self::poll_event).
    pub fn swap_receiver(&mut self, rx: &mut Receiver) {
        std::mem::swap(&mut self.rx, rx);
        if self.failed || self.close_received().is_some() || self.closed {
            self.rx.stop();
        }
    }

    /// Tells the connection the time: fires every deadline that `now` has
    /// reached (sends a keepalive ping, fails the connection on a missing
    /// pong or a stalled message or write, gives up on a close handshake),
    /// then starts the timers that became due since the last call.
    ///
    /// Returns whether a deadline fired: then the driver polls events and
    /// writes output again before it waits. Spurious calls are harmless:
    /// when nothing is due it fires nothing and queues nothing, so a driver
    /// may call it before every wait. `now` comes from a monotonic clock and
    /// never goes back.
    pub fn handle_timeout(&mut self, now: Instant) -> bool {
        if self.closed {
            return false;
        }
        let fired = self.fire_timeouts(now);
        if !self.closed {
            self.start_timers(now);
        }
        fired
    }

    /// The firing half of [`handle_timeout`](Self::handle_timeout).
    fn fire_timeouts(&mut self, now: Instant) -> bool {
        if self
            .close_deadline()
            .is_some_and(|deadline| deadline <= now)
        {
            crate::trace::close_timed_out();
            self.transport_close = true;
            self.finish_closed();
            return true;
        }
        if let Some(keepalive) = self
            .keepalive
            .as_deref_mut()
            .filter(|k| k.pong_deadline.is_some_and(|deadline| deadline <= now))
        {
            keepalive.pong_deadline = None;
            self.expired = Expired::Keepalive;
            self.fail(ProtocolError::KeepaliveTimeout);
            self.uncommon()
                .events
                .push_back(Event::Error(ProtocolError::KeepaliveTimeout));
            // The peer is unresponsive: do not wait for it to close.
            self.transport_close = true;
            self.finish_closed();
            return true;
        }
        if let Some(error) = self
            .rx
            .check_timeout(now)
            .or_else(|| self.check_progress(now))
        {
            self.expired = match error {
                ProtocolError::WriteTimeout => Expired::Write,
                _ => Expired::Message,
            };
            self.fail(error.clone());
            self.uncommon().events.push_back(Event::Error(error));
            // The peer stalled: do not wait for it to close.
            self.transport_close = true;
            self.finish_closed();
            return true;
        }
        let interval = self.keepalive_interval();
        let backlog = self.output.len();
        let (Some(keepalive), Some(interval)) = (self.keepalive.as_deref_mut(), interval) else {
            return false;
        };
        if keepalive.next_ping.is_some_and(|next| next <= now) && !self.close_sent {
            keepalive.next_ping = Some(later(now, interval));
            if backlog > PONG_COALESCE_THRESHOLD {
                // The peer is not reading what waits: another ping would only
                // add to it. The pong deadline of the last one still runs.
                return false;
            }
            keepalive.pings_sent += 1;
            let payload = keepalive.pings_sent.to_be_bytes();
            if keepalive.pong_deadline.is_none() {
                keepalive.pong_deadline = Some(later(now, self.config.keepalive_timeout));
                keepalive.awaited = keepalive.pings_sent;
            }
            self.write_frame(OpCode::Ping, true, &payload);
            return true;
        }
        false
    }

    // ----- commands -----

    /// Queues a message of any kind; a [`Message::Close`] starts the close handshake.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] once a close was sent or the connection ended;
    /// [`SendError::BufferFull`] past [`Config::max_buffered_output`]; for control messages and
    /// closes, as [`send_ping`](Self::send_ping) and [`close`](Self::close).
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        match message {
            Message::Text(text) => self.send_owned(OpCode::Text, text.into_bytes()),
            Message::Binary(data) => self.send_owned(OpCode::Binary, data),
            Message::Ping(data) => self.send_ping(&data),
            Message::Pong(data) => self.send_pong(&data),
            Message::Close(Some(close)) => self.close(close.code, close.reason.as_str()),
            Message::Close(None) => self.send_close(None),
        }
    }

    /// Queues a text message.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send): the connection is closing, or the output is full.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.send_data(OpCode::Text, text.as_bytes())
    }

    /// Queues a binary message.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send): the connection is closing, or the output is full.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_data(OpCode::Binary, data)
    }

    /// Queues a message framed once for many connections (a broadcast):
    /// on a server connection its header and payload are queued without
    /// being encoded again, and with permessage-deflate without context
    /// takeover its compressed frame is shared too. See [`PreparedMessage`]
    /// for what each kind of connection does with it.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send): the connection is closing, or the output is full.
    pub fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), SendError> {
        self.check_no_message_under_way()?;
        let (opcode, payload) = (message.opcode(), message.payload());
        let fragment_len = self.config.fragment_len();
        if self.role == Role::Client || fragment_len.is_some_and(|size| payload.len() > size) {
            // Masked per connection, or fragmented: encoded here.
            return self.send_owned(opcode, payload.clone());
        }
        #[cfg(feature = "deflate")]
        if self.would_compress(payload.len()) {
            let shared = self.deflater.as_ref().and_then(|d| d.shared(message));
            let Some(compressed) = shared else {
                // A context of its own: compressed for this connection alone.
                return self.send_data(opcode, payload);
            };
            self.check_can_send()?;
            if fragment_len.is_some_and(|size| compressed.len() > size) {
                self.write_message(opcode, true, compressed);
                return Ok(());
            }
            let header = FrameHeader {
                rsv1: true,
                ..FrameHeader::new(opcode, compressed.len() as u64)
            };
            let mut head = [0u8; MAX_HEADER_LEN];
            let head_len = header.encode(&mut head);
            self.push_prepared_frame(&head[..head_len], compressed);
            return Ok(());
        }
        self.check_can_send()?;
        self.push_prepared_frame(message.head(), payload);
        Ok(())
    }

    /// Queues a server frame: a large payload by reference, a small one
    /// copied in with the frames around it.
    fn push_prepared_frame(&mut self, head: &[u8], payload: &Bytes) {
        if payload.len() >= SHARE_PAYLOAD_MIN {
            self.output.push_frame_shared(head, payload.clone());
        } else {
            self.output.push_frame(head, payload, None);
        }
    }

    /// Queues a ping (at most 125 bytes of payload).
    ///
    /// # Errors
    ///
    /// [`SendError::ControlTooLong`] for a payload over 125 bytes; as [`send`](Self::send)
    /// otherwise.
    pub fn send_ping(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Ping, data)
    }

    /// Queues an unsolicited pong, a one-way heartbeat (at most 125 bytes).
    ///
    /// # Errors
    ///
    /// [`SendError::ControlTooLong`] for a payload over 125 bytes; as [`send`](Self::send)
    /// otherwise.
    pub fn send_pong(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.send_control(OpCode::Pong, data)
    }

    /// Starts the close handshake ([RFC 6455 section 7.1.2]), or answers the
    /// peer's close. The code must be one that may be sent (not 1005, 1006,
    /// 1015, ...) and the reason at most 123 bytes.
    ///
    /// [RFC 6455 section 7.1.2]: https://www.rfc-editor.org/rfc/rfc6455#section-7.1.2
    ///
    /// # Errors
    ///
    /// [`SendError::Close`] for a code that may not be sent or a reason over 123 bytes;
    /// [`SendError::Closed`] when a close was already sent.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.send_close(Some((code, reason)))
    }

    /// Receives the next data message as a stream: see
    /// [`Receiver::stream_next_message`]. Its pieces come as
    /// [`Event::Chunk`]s, control frames still come between them (and are
    /// answered), and its size is bounded by `limit` rather than
    /// [`Config::max_message_size`].
    ///
    /// ```
    /// use ws_core::{Config, Connection, Event, Role};
    ///
    /// let mut client = Connection::new(Role::Client, Config::default().rng_seed(Some(1)));
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// client.send_binary(&[7; 100]).unwrap();
    /// let wire = client.take_transmit();
    /// server.stream_next_message(1 << 30);
    /// server.receive(&wire[..60]); // the header and the first bytes
    /// let Some(Event::Chunk(first)) = server.poll_event() else { panic!() };
    /// assert!(first.first && !first.fin);
    /// server.receive(&wire[60..]);
    /// let Some(Event::Chunk(last)) = server.poll_event() else { panic!() };
    /// assert!(last.fin);
    /// assert_eq!(first.data.len() + last.data.len(), 100);
    /// ```
    pub fn stream_next_message(&mut self, limit: u64) {
        self.rx.stream_next_message(limit);
    }

    /// Takes back [`stream_next_message`](Self::stream_next_message) for a
    /// message that has not started: see [`Receiver::assemble_next_message`].
    pub fn assemble_next_message(&mut self) {
        self.rx.assemble_next_message();
    }

    /// Whether a streamed message is under way or asked for.
    pub fn is_streaming(&self) -> bool {
        self.rx.is_streaming()
    }

    /// Queues a piece of a data message sent as a stream ([RFC 6455
    /// section 5.4]): the first call starts a `kind` message, later ones
    /// continue it (with the same `kind`), and the one with `fin` ends it.
    /// Each piece goes out as one frame (or several of
    /// [`Config::fragment_size`]), uncompressed even with permessage-deflate
    /// (which lets any message go uncompressed, [RFC 7692 section 6]), so
    /// nothing of the message is held back. Pings, pongs and a close may be
    /// sent between pieces; other messages may not, until it ended.
    ///
    /// A text message's pieces are checked as UTF-8 as they are queued: a
    /// piece may end in the middle of a character, the message may not.
    ///
    /// [RFC 6455 section 5.4]: https://www.rfc-editor.org/rfc/rfc6455#section-5.4
    /// [RFC 7692 section 6]: https://www.rfc-editor.org/rfc/rfc7692#section-6
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send); [`SendError::MessageInProgress`] for a piece
    /// of another kind than the message under way; [`SendError::InvalidUtf8`]
    /// for text that is not UTF-8 (the piece is not queued).
    ///
    /// ```
    /// use ws_core::{Config, Connection, Event, Message, MessageKind, Role};
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// server.send_fragment(MessageKind::Text, "hel".as_bytes(), false).unwrap();
    /// server.send_fragment(MessageKind::Text, "lo".as_bytes(), true).unwrap();
    /// let mut client = Connection::new(Role::Client, Config::default());
    /// client.receive(&server.take_transmit());
    /// assert_eq!(client.poll_event(), Some(Event::Message(Message::text("hello"))));
    /// ```
    pub fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.check_can_send()?;
        let under_way = self.uncommon.as_ref().and_then(|u| u.sending.as_ref());
        if under_way.is_some_and(|sending| sending.kind != kind) {
            return Err(SendError::MessageInProgress);
        }
        let first = under_way.is_none();
        if kind == MessageKind::Text {
            let mut utf8 =
                under_way.map_or_else(Utf8Validator::new, |sending| sending.utf8.clone());
            utf8.feed(data)?;
            if fin {
                utf8.finish()?;
            }
            if !fin {
                self.uncommon().sending = Some(Sending { kind, utf8 });
            }
        } else if !fin && first {
            self.uncommon().sending = Some(Sending {
                kind,
                utf8: Utf8Validator::new(),
            });
        }
        if fin {
            if let Some(uncommon) = self.uncommon.as_mut() {
                uncommon.sending = None;
            }
        }
        let opcode = if first {
            kind.opcode()
        } else {
            OpCode::Continuation
        };
        match self.config.fragment_len() {
            Some(size) if data.len() > size => {
                let mut pieces = data.chunks(size).peekable();
                let mut frame_opcode = opcode;
                while let Some(piece) = pieces.next() {
                    self.write_frame(frame_opcode, fin && pieces.peek().is_none(), piece);
                    frame_opcode = OpCode::Continuation;
                }
            }
            _ => self.write_frame(opcode, fin, data),
        }
        Ok(())
    }

    /// Tells the connection whether the transport's flush is pending: it
    /// took every byte, but holds some it cannot pass on yet (an HTTP/2
    /// stream without flow-control window, a TLS stream whose socket is
    /// full). While it is, the write timeout runs as if bytes waited to be
    /// written; a flush that completes counts as progress.
    pub fn set_transport_flushing(&mut self, flushing: bool) {
        if self.flushing && !flushing {
            self.progress.writes = self.progress.writes.wrapping_add(1);
        }
        self.flushing = flushing;
    }

    /// Whether a message sent in pieces ([`send_fragment`](Self::send_fragment))
    /// is under way: other data messages wait until its last piece.
    pub fn is_sending_fragments(&self) -> bool {
        self.uncommon.as_ref().is_some_and(|u| u.sending.is_some())
    }

    // ----- output -----

    /// The next event, parsing as much received input as it needs.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(event) = self.pop_decided_event() {
            return Some(event);
        }
        if self.closed {
            return None;
        }
        while !self.rx.is_stopped() {
            match self.rx.step(&self.config) {
                Ok(Step::Message(message)) => return Some(Event::Message(message)),
                Ok(Step::Chunk(chunk)) => return Some(Event::Chunk(chunk)),
                Ok(Step::Control(opcode, payload)) => match self.handle_control(opcode, payload) {
                    Ok(event) => return Some(event),
                    Err(error) => {
                        self.fail(error.clone());
                        return Some(Event::Error(error));
                    }
                },
                Ok(Step::Progress) => {}
                Ok(Step::NeedMore) => break,
                Err(error) => {
                    self.fail(error.clone());
                    return Some(Event::Error(error));
                }
            }
        }
        if self.rx.eof() {
            if self.close_received().is_none() && !self.failed {
                self.failed = true;
                self.uncommon()
                    .events
                    .push_back(Event::Error(ProtocolError::UnexpectedEof));
            }
            self.transport_close = true;
            self.finish_closed();
        }
        self.pop_decided_event()
    }

    /// The next event decided ahead of parsing (a failure, the end).
    fn pop_decided_event(&mut self) -> Option<Event> {
        self.uncommon.as_mut()?.events.pop_front()
    }

    /// The next bytes waiting to be written to the transport: empty when
    /// nothing is waiting. A large payload sent as an owned message is queued
    /// by reference, so what waits may be in several pieces; this is the
    /// first, and [`transmit_vectored`](Self::transmit_vectored) gives them all.
    #[must_use]
    pub fn transmit(&self) -> &[u8] {
        self.output.first()
    }

    /// Fills `dst` with the pieces waiting to be written, in order, for a
    /// vectored write; returns how many it filled.
    pub fn transmit_vectored<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        self.output.chunks_vectored(dst)
    }

    /// Takes all waiting bytes at once, for drivers that hand owned buffers to
    /// the transport.
    #[must_use]
    pub fn take_transmit(&mut self) -> Bytes {
        let bytes = self.output.take();
        if !bytes.is_empty() {
            self.progress.writes = self.progress.writes.wrapping_add(1);
        }
        self.after_drain();
        bytes
    }

    /// Marks the first `written` bytes of what is waiting as written.
    pub fn advance_transmit(&mut self, written: usize) {
        self.output.advance(written);
        if written > 0 {
            self.progress.writes = self.progress.writes.wrapping_add(1);
        }
        if self.output.is_empty() {
            self.after_drain();
        }
    }

    /// Whether the driver should now shut the transport down for writing
    /// (TCP FIN): everything is written and the close handshake says so. The
    /// server closes the TCP connection first ([RFC 6455 section 7.1.1]); a
    /// client waits for the server to (up to [`Config::close_timeout`]). Once
    /// it has, the driver calls [`transport_closed`](Self::transport_closed)
    /// and keeps reading until [`Event::Closed`].
    ///
    /// [RFC 6455 section 7.1.1]: https://www.rfc-editor.org/rfc/rfc6455#section-7.1.1
    #[must_use]
    pub fn should_close_transport(&self) -> bool {
        self.transport_close && self.output.is_empty()
    }

    /// Tells the connection that the driver closed the transport for writing
    /// after [`should_close_transport`](Self::should_close_transport) asked it
    /// to. Nothing is owed to the peer any more, so the connection is closed
    /// now ([`Event::Closed`] comes next) rather than when the peer's end of
    /// input arrives: the server of [RFC 6455 section 7.1.1] need not wait
    /// for the client, and a transport whose shutdown only takes effect when
    /// it is dropped (async-std's `TcpStream`) is dropped at once.
    ///
    /// [RFC 6455 section 7.1.1]: https://www.rfc-editor.org/rfc/rfc6455#section-7.1.1
    pub fn transport_closed(&mut self) {
        if self.should_close_transport() {
            self.finish_closed();
        }
    }

    /// Tells the connection that the driver shut the transport down for
    /// writing (a real TCP FIN, which the peer sees at once) after
    /// [`should_close_transport`](Self::should_close_transport) asked it to,
    /// and that it keeps reading until [`Event::Closed`]. When both close
    /// frames were exchanged this is [`transport_closed`](Self::transport_closed):
    /// the peer sends nothing more. After a failure ([RFC 6455 section 7.1.7])
    /// the peer may still be sending: a socket closed with its bytes unread
    /// answers them with a reset, and a reset can make the peer lose what
    /// it had not read yet of ours (the messages before the failure and the
    /// close frame that says why). So the connection lingers: it discards
    /// what arrives and is closed at the peer's end of input, or when
    /// [`Config::close_timeout`] (armed when the close frame was sent) runs out.
    ///
    /// ```
    /// use ws_core::{Config, Connection, Event, Role};
    ///
    /// let mut server = Connection::new(Role::Server, Config::default());
    /// server.receive(&[0x81, 0x00]); // an unmasked frame from a client: 1002
    /// assert!(matches!(server.poll_event(), Some(Event::Error(_))));
    /// let close = server.transmit().to_vec();
    /// server.advance_transmit(close.len());
    /// assert!(server.should_close_transport());
    /// server.transport_shut_down();
    /// server.receive(b"more from the peer");
    /// assert!(server.poll_event().is_none()); // discarded, still lingering
    /// server.receive_eof();
    /// assert!(matches!(server.poll_event(), Some(Event::Closed(_))));
    /// ```
    ///
    /// [RFC 6455 section 7.1.7]: https://www.rfc-editor.org/rfc/rfc6455#section-7.1.7
    pub fn transport_shut_down(&mut self) {
        // A failed connection lingers until the peer's end of input.
        let lingering = self.failed && !self.rx.eof();
        if self.should_close_transport() && !lingering {
            self.finish_closed();
        }
    }

    /// When the driver must call [`handle_timeout`](Self::handle_timeout)
    /// next: [`Timeout::Now`] when a timer is due to start (it needs the
    /// current time), else the earliest deadline armed, `None` when there is
    /// none. A pure query: it reads no clock and changes nothing, so a
    /// driver may ask it as often as it likes, and reads the clock only when
    /// it says so. Between messages on a connection without keepalive it is
    /// `None`.
    #[must_use]
    #[inline]
    pub fn poll_timeout(&self) -> Option<Timeout> {
        if self.closed {
            return None;
        }
        // The driver asks after every read and write: between messages, with
        // nothing to write and no keepalive, the answer comes from a few
        // fields of the connection, without reading the configuration.
        if self.output.is_empty()
            && !self.flushing
            && self.progress.write_deadline.is_none()
            && !self.close_sent
            && self.keepalive.is_none()
            && self.rx.timers_idle()
        {
            return None;
        }
        let mut earliest = self.progress.write_deadline;
        if earliest.is_none() && self.config.write_timeout.is_some() && self.is_writing() {
            return Some(Timeout::Now);
        }
        match self.rx.poll_timeout(&self.config) {
            Some(Timeout::Now) => return Some(Timeout::Now),
            Some(Timeout::At(deadline)) => earliest = min_deadline(earliest, deadline),
            None => {}
        }
        if self.close_sent {
            match self.close_deadline() {
                None => return Some(Timeout::Now),
                Some(deadline) => earliest = min_deadline(earliest, deadline),
            }
        }
        match self.keepalive.as_deref() {
            Some(keepalive) => {
                if !self.close_sent {
                    match keepalive.next_ping {
                        None if self.config.keepalive_interval.is_some() => {
                            return Some(Timeout::Now)
                        }
                        None => {}
                        Some(next) => earliest = min_deadline(earliest, next),
                    }
                }
                if let Some(deadline) = keepalive.pong_deadline {
                    earliest = min_deadline(earliest, deadline);
                }
            }
            None if self.config.keepalive_interval.is_some() && !self.close_sent => {
                return Some(Timeout::Now)
            }
            None => {}
        }
        earliest.map(Timeout::At)
    }

    /// Starts, at `now`, the timers that became due: the close timeout once
    /// a close is sent, the next keepalive ping, the message timeout once a
    /// message is arriving, the write timeout once output waits.
    fn start_timers(&mut self, now: Instant) {
        if self.close_sent && self.close_deadline().is_none() {
            self.uncommon().close_deadline = Some(later(now, self.config.close_timeout));
        }
        if let Some(interval) = self.keepalive_interval() {
            let keepalive = self.keepalive.get_or_insert_with(Box::default);
            if keepalive.next_ping.is_none() && !self.close_sent {
                keepalive.next_ping = Some(later(now, interval));
            }
        }
        self.rx.start_timer(&self.config, now);
        self.arm_progress(now);
    }

    /// [`Config::keepalive_interval`] as the connection uses it: at least a
    /// millisecond, so that zero cannot make it ping in a loop.
    fn keepalive_interval(&self) -> Option<std::time::Duration> {
        self.config
            .keepalive_interval
            .map(|interval| interval.max(std::time::Duration::from_millis(1)))
    }

    /// The timeout that failed the connection (keepalive, message or
    /// write), if one did: for a driver whose send path saw the connection
    /// end while waiting to write, and has no event to report it with.
    pub fn timed_out(&self) -> Option<ProtocolError> {
        match self.expired {
            Expired::No => None,
            Expired::Keepalive => Some(ProtocolError::KeepaliveTimeout),
            Expired::Message => Some(ProtocolError::MessageTimeout),
            Expired::Write => Some(ProtocolError::WriteTimeout),
        }
    }

    /// Whether bytes wait to be written or flushed: what the write timeout
    /// times.
    fn is_writing(&self) -> bool {
        !self.output.is_empty() || self.flushing
    }

    /// Arms the write deadline when there is something to time.
    fn arm_progress(&mut self, now: Instant) {
        if let Some(timeout) = self.config.write_timeout {
            let progress = &mut self.progress;
            if progress.write_deadline.is_none() && (!self.output.is_empty() || self.flushing) {
                progress.write_deadline = Some(later(now, timeout));
                progress.write_mark = progress.writes;
            }
        }
    }

    /// At a passed write deadline: the error if nothing was written since it
    /// was armed, else disarms it (the next `poll_timeout` re-arms it if
    /// there is still something to write).
    fn check_progress(&mut self, now: Instant) -> Option<ProtocolError> {
        let writing = self.is_writing();
        let progress = &mut self.progress;
        if progress
            .write_deadline
            .is_some_and(|deadline| deadline <= now)
        {
            progress.write_deadline = None;
            if progress.writes == progress.write_mark && writing {
                return Some(ProtocolError::WriteTimeout);
            }
        }
        None
    }

    /// Frees the receive and transmit buffers if they are empty, so an idle
    /// connection holds no buffer memory. Drivers call it before waiting.
    ///
    /// Returns the emptied transmit buffer when it is small enough to be
    /// worth keeping: a driver that serves many connections hands it to the
    /// next one that sends ([`provide_write_buffer`](Self::provide_write_buffer)),
    /// so idle connections hold no write buffer and a busy thread does not
    /// allocate one per message. Dropping it frees it. The connection keeps
    /// no pool itself: what happens to the buffer is the driver's choice.
    #[must_use = "the released write buffer is freed when dropped; a driver may reuse it"]
    pub fn release_idle_buffers(&mut self) -> Option<BytesMut> {
        self.rx.release_idle_buffer();
        self.output.release()
    }

    /// Whether the connection has no transmit buffer (none was used yet, or
    /// it was released while idle): a driver with a spare buffer gives it
    /// with [`provide_write_buffer`](Self::provide_write_buffer) before a send.
    #[must_use]
    pub fn needs_write_buffer(&self) -> bool {
        self.output.has_no_buffer()
    }

    /// Gives the connection an empty buffer to queue output in (its contents
    /// are cleared), for example one another connection released
    /// ([`release_idle_buffers`](Self::release_idle_buffers)). Ignored when
    /// the connection already has one.
    pub fn provide_write_buffer(&mut self, buffer: BytesMut) {
        self.output.provide(buffer);
    }

    // ----- internals: control frames and the close handshake -----

    fn handle_control(&mut self, opcode: OpCode, payload: Bytes) -> Result<Event, ProtocolError> {
        match opcode {
            OpCode::Ping => {
                if self.config.auto_pong && !self.close_sent {
                    if self.output.len() > PONG_COALESCE_THRESHOLD {
                        // Only the most recent ping needs an answer (RFC 6455 section 5.5.3).
                        self.uncommon().pending_pong = Some(payload.clone());
                    } else {
                        self.write_frame(OpCode::Pong, true, &payload);
                    }
                }
                Ok(Event::Message(Message::Ping(payload)))
            }
            OpCode::Pong => {
                if let Some(keepalive) = self
                    .keepalive
                    .as_deref_mut()
                    .filter(|k| k.pong_deadline.is_some() && payload[..] == k.awaited.to_be_bytes())
                {
                    keepalive.pong_deadline = None;
                }
                Ok(Event::Message(Message::Pong(payload)))
            }
            OpCode::Close => {
                let close = decode_close_payload(&payload)?.map(|(code, reason)| CloseFrame {
                    code,
                    reason: Utf8Bytes::from(reason),
                });
                self.uncommon().close_received = Some(close.clone());
                self.rx.stop();
                let received = close
                    .as_ref()
                    .map(|frame| (frame.code, frame.reason.as_str()));
                crate::trace::close_received(received);
                if !self.close_sent {
                    // Echo the peer's code (RFC 6455 section 5.5.1); an empty close gets an empty one.
                    let echo = close
                        .as_ref()
                        .map(|frame| (frame.code, frame.reason.as_str()));
                    let mut payload = [0u8; 125];
                    let len = encode_close_payload(echo, &mut payload)
                        .expect("a decoded close payload re-encodes");
                    self.write_frame(OpCode::Close, true, &payload[..len]);
                    self.close_sent = true;
                    crate::trace::close_sent(echo, crate::trace::CloseCause::Echo);
                }
                self.handshake_done();
                Ok(Event::Message(Message::Close(close)))
            }
            _ => unreachable!("handle_control is only called with control opcodes"),
        }
    }

    /// Both close frames are exchanged (or we failed): the server closes the
    /// transport first; the client waits for it.
    fn handshake_done(&mut self) {
        if self.role == Role::Server {
            self.transport_close = true;
        }
    }

    /// Fails the connection ([RFC 6455 section 7.1.7]): sends a close frame
    /// with the error's code unless one was sent, and discards all further input.
    ///
    /// [RFC 6455 section 7.1.7]: https://www.rfc-editor.org/rfc/rfc6455#section-7.1.7
    fn fail(&mut self, error: ProtocolError) {
        crate::trace::failed(&error);
        self.failed = true;
        self.rx.stop();
        if !self.close_sent && error != ProtocolError::UnexpectedEof {
            let mut payload = [0u8; 125];
            let close = Some((error.close_code(), ""));
            let len = encode_close_payload(close, &mut payload)
                .expect("protocol error codes may be sent");
            self.write_frame(OpCode::Close, true, &payload[..len]);
            self.close_sent = true;
            crate::trace::close_sent(close, crate::trace::CloseCause::Failure);
        }
        self.handshake_done();
    }

    fn finish_closed(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.rx.stop();
        let (code, reason) = match self.close_received() {
            Some(Some(frame)) => (frame.code, frame.reason.clone()),
            Some(None) => (CloseCode::NO_STATUS_RECEIVED, Utf8Bytes::default()),
            None => (CloseCode::ABNORMAL, Utf8Bytes::default()),
        };
        let clean = self.close_sent && self.close_received().is_some() && !self.failed;
        let closed = Closed {
            code,
            reason,
            clean,
        };
        crate::trace::closed(&closed);
        self.uncommon().events.push_back(Event::Closed(closed));
    }

    // ----- internals: sending -----

    fn check_can_send(&self) -> Result<(), SendError> {
        if self.close_sent || self.closed {
            return Err(SendError::Closed);
        }
        // A soft limit, the same test as `is_output_full`, so that a driver
        // which waited for it to turn false can always queue the message:
        // what is queued stays under the limit plus one message.
        if self.is_output_full() {
            return Err(SendError::BufferFull {
                buffered: self.output.len(),
            });
        }
        Ok(())
    }

    /// Sends an owned payload. A server's large uncompressed, unfragmented
    /// payload is queued by reference instead of copied (it is sent
    /// unmasked, RFC 6455 section 5.1, so its bytes go out as they are).
    /// A whole data message may not go out between the pieces of another
    /// (RFC 6455 section 5.4: fragments of messages are not interleaved).
    fn check_no_message_under_way(&self) -> Result<(), SendError> {
        if self.is_sending_fragments() {
            return Err(SendError::MessageInProgress);
        }
        Ok(())
    }

    fn send_owned(&mut self, opcode: OpCode, payload: Bytes) -> Result<(), SendError> {
        self.check_no_message_under_way()?;
        let by_reference = self.role == Role::Server
            && payload.len() >= SHARE_PAYLOAD_MIN
            && self
                .config
                .fragment_len()
                .is_none_or(|size| payload.len() <= size)
            && !self.would_compress(payload.len());
        if !by_reference {
            return self.send_data(opcode, &payload);
        }
        self.check_can_send()?;
        let header = FrameHeader::new(opcode, payload.len() as u64);
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        self.output.push_frame_shared(&head[..head_len], payload);
        Ok(())
    }

    /// Whether a data payload of `len` bytes would be sent compressed.
    fn would_compress(&self, len: usize) -> bool {
        #[cfg(feature = "deflate")]
        {
            len >= self.config.compression_threshold
                && self.deflater.as_ref().is_some_and(|d| d.can_compress())
        }
        #[cfg(not(feature = "deflate"))]
        {
            let _ = len;
            false
        }
    }

    fn send_data(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        self.check_can_send()?;
        self.check_no_message_under_way()?;
        #[cfg(feature = "deflate")]
        if payload.len() >= self.config.compression_threshold {
            if let Some(deflate) = self.deflater.as_mut().filter(|d| d.can_compress()) {
                let mut compressed = Vec::new();
                deflate.compress(payload, &mut compressed);
                self.write_message(opcode, true, &compressed);
                return Ok(());
            }
        }
        self.write_message(opcode, false, payload);
        Ok(())
    }

    /// Writes a message as one frame, or fragments of `fragment_size`;
    /// `rsv1` (compressed) goes on the first frame only.
    fn write_message(&mut self, opcode: OpCode, rsv1: bool, payload: &[u8]) {
        match self.config.fragment_len() {
            Some(size) if payload.len() > size => {
                let mut chunks = payload.chunks(size).peekable();
                let mut frame_opcode = opcode;
                let mut frame_rsv1 = rsv1;
                while let Some(chunk) = chunks.next() {
                    self.write_frame_rsv1(frame_opcode, chunks.peek().is_none(), frame_rsv1, chunk);
                    frame_opcode = OpCode::Continuation;
                    frame_rsv1 = false;
                }
            }
            _ => self.write_frame_rsv1(opcode, true, rsv1, payload),
        }
    }

    fn send_control(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), SendError> {
        if payload.len() > 125 {
            return Err(SendError::ControlTooLong(payload.len()));
        }
        self.check_can_send()?;
        self.write_frame(opcode, true, payload);
        Ok(())
    }

    fn send_close(&mut self, close: Option<(CloseCode, &str)>) -> Result<(), SendError> {
        if self.close_sent || self.closed {
            return Err(SendError::Closed);
        }
        let mut payload = [0u8; 125];
        let len = encode_close_payload(close, &mut payload)?;
        self.write_frame(OpCode::Close, true, &payload[..len]);
        self.close_sent = true;
        crate::trace::close_sent(close, crate::trace::CloseCause::Application);
        if self.close_received().is_some() {
            self.handshake_done();
        }
        Ok(())
    }

    fn uncommon(&mut self) -> &mut Uncommon {
        self.uncommon.get_or_insert_with(Box::default)
    }

    /// The peer's close frame, once it arrived (`Some(None)`: one with no
    /// payload).
    fn close_received(&self) -> Option<&Option<CloseFrame>> {
        self.uncommon.as_ref()?.close_received.as_ref()
    }

    /// When to give up on the close handshake, once our close is out.
    fn close_deadline(&self) -> Option<Instant> {
        self.uncommon.as_ref()?.close_deadline
    }

    fn write_frame(&mut self, opcode: OpCode, fin: bool, payload: &[u8]) {
        self.write_frame_rsv1(opcode, fin, false, payload);
    }

    fn write_frame_rsv1(&mut self, opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) {
        let mask = match self.role {
            Role::Client => {
                let seed = self.config.rng_seed;
                let rng = self.rng.get_or_insert_with(|| {
                    Box::new(match seed {
                        Some(seed) => SmallRng::seed_from_u64(seed),
                        None => SmallRng::from_os_rng(),
                    })
                });
                Some(rng.random())
            }
            Role::Server => None,
        };
        let header = FrameHeader {
            fin,
            rsv1,
            mask,
            ..FrameHeader::new(opcode, payload.len() as u64)
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        self.output.push_frame(&head[..head_len], payload, mask);
    }

    fn after_drain(&mut self) {
        if let Some(pong) = self
            .uncommon
            .as_mut()
            .and_then(|uncommon| uncommon.pending_pong.take())
        {
            if !self.close_sent {
                self.write_frame(OpCode::Pong, true, &pong);
            }
        }
        if self.output.is_empty() && self.output.capacity() > KEEP_CAPACITY {
            // Larger than any driver would reuse: freed.
            drop(self.output.release());
        }
    }
}

/// The earlier of a deadline that may be unset and one that is set.
#[inline]
fn min_deadline(earliest: Option<Instant>, deadline: Instant) -> Option<Instant> {
    Some(earliest.map_or(deadline, |earliest| earliest.min(deadline)))
}
