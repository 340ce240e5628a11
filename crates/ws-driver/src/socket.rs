//! [`WebSocket`]: a whole socket, driven by [`Parts`]' loop.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_sink::Sink;

use ws_core::{
    Chunk, CloseCode, Closed, Config, Connection, Message, MessageKind, PreparedMessage, Role,
    State,
};

use crate::drive::{Driver, Parts};
use crate::runtime::{ReadTransport, Runtime, SplitTransport, Transport, WriteTransport};
use crate::split::{self, WebSocketReader, WebSocketWriter};
use crate::upgrade::Upgrade;
use crate::Error;

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
pub struct WebSocket<S, R: Runtime> {
    /// One allocation for the stream, the connection and the driver's state.
    /// The socket is moved through the futures that create it and into the
    /// application's, and rustc often gives a moved value a slot in each
    /// (rust-lang/rust#62958): a pointer there costs 8 bytes, not 424.
    inner: Box<Parts<S, R>>,
}

impl<S, R: Runtime> std::fmt::Debug for WebSocket<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocket")
            .field("role", &self.inner.driver.conn.role())
            .field("state", &self.inner.driver.conn.state())
            .field("subprotocol", &self.inner.subprotocol)
            .finish_non_exhaustive()
    }
}

impl<S: Unpin, R: Transport<S>> WebSocket<S, R> {
    /// Wraps a stream on which an opening handshake was already done by
    /// other means, as a `role` connection with `config` and no extension
    /// (tungstenite's `from_raw_socket`). `leftover` holds bytes read past
    /// the handshake, which already belong to the WebSocket. For a request
    /// that hyper or axum upgraded, [`from_upgrade`](Self::from_upgrade)
    /// keeps what the handshake agreed (compression, subprotocol).
    pub fn from_raw_socket(io: S, role: Role, config: Config, leftover: &[u8]) -> Self {
        Self::from_connection(io, Connection::new(role, config), leftover)
    }

    /// The WebSocket on a connection that another HTTP server upgraded
    /// after sending the response from [`upgrade`](crate::upgrade), with
    /// what that handshake agreed.
    pub fn from_upgrade(io: S, upgrade: Upgrade) -> Self {
        let (connection, subprotocol) = upgrade.into_parts();
        WebSocket::from_connection(io, connection, &[]).with_subprotocol(subprotocol)
    }

    /// Wraps a stream and a connection made for it (for example one with
    /// permessage-deflate, `Connection::with_deflate` with ws-core's `deflate` feature). `leftover` holds
    /// bytes read past the handshake.
    pub fn from_connection(io: S, mut conn: Connection, leftover: &[u8]) -> Self {
        conn.receive(leftover);
        WebSocket {
            inner: Box::new(Parts {
                io,
                driver: Driver::new(conn),
                closed: None,
                subprotocol: None,
            }),
        }
    }

    /// Records the subprotocol the handshake agreed on.
    pub fn with_subprotocol(mut self, subprotocol: Option<String>) -> Self {
        crate::trace::record_agreement(&self.inner.driver.span, subprotocol.as_deref(), None);
        self.inner.subprotocol = subprotocol.map(Box::new);
        self
    }

    pub(crate) fn conn_span(&self) -> &crate::trace::ConnSpan {
        &self.inner.driver.span
    }

    /// The connection's `tracing` span (`websocket`, with fields `role`,
    /// `peer`, `http_version`, `subprotocol`, `extensions`), in which its
    /// events are recorded. A server knows its peer's address from its
    /// accept loop, not from the stream: record it here, or make the
    /// connection inside a span of your own that has it (this one is then
    /// its child).
    ///
    /// ```
    /// use ws_driver::{Transport, WebSocket};
    ///
    /// fn serving<S: Unpin, R: Transport<S>>(socket: &WebSocket<S, R>, peer: std::net::SocketAddr) {
    ///     socket.span().record("peer", tracing::field::display(peer));
    /// }
    /// ```
    #[cfg(feature = "tracing")]
    pub fn span(&self) -> &tracing::Span {
        &self.inner.driver.span
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.inner.subprotocol.as_deref().map(String::as_str)
    }

    /// The state of the connection.
    pub fn state(&self) -> State {
        self.inner.driver.conn.state()
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

    /// Receives the next piece of a message received as a stream: the
    /// message under way, or else the next one, is handed out as its bytes
    /// arrive, without being assembled, with `limit` in place of
    /// [`Config::max_message_size`] (and no frame size limit): memory stays
    /// bounded by one read, whatever the message's size. The piece with
    /// [`Chunk::fin`] is its last; after it, call this again for the next
    /// message in pieces, or [`recv`](Self::recv) for whole ones. `None`
    /// once the connection is closed.
    ///
    /// Text is checked as UTF-8 as it arrives (a piece may end inside a
    /// character); a compressed message is inflated a bounded piece at a
    /// time. Pings are answered meanwhile and control messages are not
    /// returned. A whole message that arrived before the call comes as one
    /// piece. If the application goes back to `recv` in the middle of a
    /// message, the rest of that message is dropped.
    ///
    /// Cancel safety: cancel-safe; a piece is only taken out of the
    /// connection when this returns it.
    ///
    /// ```no_run
    /// use ws_driver::{Error, Transport, WebSocket};
    ///
    /// /// Counts a message's bytes, however large, without holding it.
    /// async fn count<S: Unpin, R: Transport<S>>(socket: &mut WebSocket<S, R>) -> Result<u64, Error> {
    ///     let mut total = 0;
    ///     while let Some(chunk) = socket.recv_chunk(u64::MAX).await {
    ///         let chunk = chunk?;
    ///         total += chunk.data.len() as u64;
    ///         if chunk.fin {
    ///             break;
    ///         }
    ///     }
    ///     Ok(total)
    /// }
    /// ```
    pub async fn recv_chunk(&mut self, limit: u64) -> Option<Result<Chunk, Error>> {
        poll_fn(|cx| self.inner.poll_next_chunk(cx, limit)).await
    }

    /// Receives the next message as a stream ([`recv_chunk`](Self::recv_chunk))
    /// and writes it to `writer` (a file, a pipe: any stream the runtime
    /// writes), flushed at the end; returns its kind and size. `None` once
    /// the connection is closed.
    ///
    /// Cancel safety: not cancel-safe (part of the message may have been
    /// written).
    ///
    /// # Errors
    ///
    /// [`Error::Copy`] when writing to `writer` fails; [`Error::Closed`]
    /// when the connection ended in the middle of the message (what arrived
    /// of it was written); as [`recv`](Self::recv) otherwise.
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

    /// Sends a piece of a message sent as a stream ([RFC 6455 section
    /// 5.4]) and flushes it, waiting first while the output is over
    /// [`Config::max_buffered_output`] (backpressure): the first call starts
    /// a `kind` message, the one with `fin` ends it. Each piece is a frame
    /// of its own, uncompressed. See
    /// [`Connection::send_fragment`](ws_core::Connection::send_fragment).
    ///
    /// [RFC 6455 section 5.4]: https://www.rfc-editor.org/rfc/rfc6455#section-5.4
    ///
    /// Cancel safety: not cancel-safe (the piece may be partly written).
    ///
    /// # Errors
    ///
    /// [`Error::Send`] with [`SendError::MessageInProgress`](ws_core::SendError::MessageInProgress)
    /// for a piece of another kind, with [`SendError::InvalidUtf8`](ws_core::SendError::InvalidUtf8)
    /// for text that is not UTF-8; as [`send`](Self::send) otherwise.
    pub async fn send_fragment(
        &mut self,
        kind: MessageKind,
        data: &[u8],
        fin: bool,
    ) -> Result<(), Error> {
        self.ready().await?;
        self.inner.driver.send_fragment(kind, data, fin)?;
        self.flush().await
    }

    /// Sends what `reader` gives (a file, a pipe, a `&[u8]`: any stream the
    /// runtime reads), to its end, as one `kind` message in pieces of at
    /// most 64 KiB ([`send_fragment`](Self::send_fragment)), with
    /// backpressure: memory stays bounded by one piece, whatever the size.
    /// Returns the message's size.
    ///
    /// Cancel safety: not cancel-safe (the message stays under way).
    ///
    /// # Errors
    ///
    /// [`Error::Copy`] when `reader` fails: the message is still under way
    /// (continue it with `send_fragment`, or close); as
    /// [`send_fragment`](Self::send_fragment) otherwise.
    ///
    /// ```no_run
    /// use ws_driver::{Error, ReadTransport, Transport, WebSocket};
    /// use ws_core::MessageKind;
    ///
    /// async fn upload<S: Unpin, F: Unpin, R: Transport<S> + ReadTransport<F>>(
    ///     socket: &mut WebSocket<S, R>,
    ///     file: &mut F,
    /// ) -> Result<u64, Error> {
    ///     socket.send_from(MessageKind::Binary, file).await
    /// }
    /// ```
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

    /// Sends a message and flushes it to the stream.
    ///
    /// Cancel safety: not cancel-safe. If cancelled, the message may have been
    /// queued and partly written; it is then still sent by later calls.
    ///
    /// # Errors
    ///
    /// [`Error::Send`] when the message is refused (the connection is closing, a control
    /// payload over 125 bytes); [`Error::Io`] when writing fails; [`Error::Protocol`] with the
    /// write timeout when the peer stopped reading.
    pub async fn send(&mut self, message: Message) -> Result<(), Error> {
        self.ready().await?;
        self.inner.driver.send(message)?;
        self.flush().await
    }

    /// Sends a message framed once for many sockets (a broadcast) and
    /// flushes it: see [`PreparedMessage`]. To queue many before one flush,
    /// use [`feed_prepared`](Self::feed_prepared), then [`flush`](Self::flush).
    ///
    /// Cancel safety: not cancel-safe, as [`send`](Self::send).
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    ///
    /// ```no_run
    /// use ws_driver::{Error, Transport, WebSocket};
    ///
    /// async fn broadcast<S: Unpin, R: Transport<S>>(
    ///     sockets: &mut [WebSocket<S, R>],
    /// ) -> Result<(), Error> {
    ///     let message = ws_core::PreparedMessage::text("to everyone");
    ///     for socket in sockets {
    ///         socket.send_prepared(&message).await?;
    ///     }
    ///     Ok(())
    /// }
    /// ```
    pub async fn send_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        self.ready().await?;
        self.inner.driver.send_prepared(message)?;
        self.flush().await
    }

    /// Queues a prepared message without flushing, once there is room
    /// (while the output is over [`Config::max_buffered_output`] it writes
    /// first): feed many, then [`flush`](Self::flush) once, and they leave
    /// in as few writes as the stream takes.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send).
    pub async fn feed_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        self.ready().await?;
        self.queue_prepared(message)
    }

    /// Queues a prepared message now, writing nothing, whatever is queued:
    /// for a caller that checked for room with the `Sink` methods'
    /// `poll_ready` (as a `Sink` does in `start_send`).
    ///
    /// # Errors
    ///
    /// [`Error::Send`] when the connection is closing or the output is over
    /// [`Config::max_buffered_output`].
    pub fn queue_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        Ok(self.inner.driver.send_prepared(message)?)
    }

    /// Queues a message without waiting, and writes what the stream takes
    /// right now: for a producer that must never block (a game tick, a
    /// price feed). What the stream did not take goes out with the next
    /// `send`, `flush` or `recv`, which the application must still call.
    ///
    /// # Errors
    ///
    /// [`Error::Send`] with [`SendError::BufferFull`](ws_core::SendError::BufferFull) when
    /// more than [`Config::max_buffered_output`] is already queued (nothing is queued then:
    /// wait with `send` or drop the message); [`Error::Send`] when the connection is closing;
    /// [`Error::Io`] when the write fails.
    pub fn try_send(&mut self, message: Message) -> Result<(), Error> {
        let parts = &mut *self.inner;
        if parts.driver.conn.is_output_full() {
            return Err(Error::Send(ws_core::SendError::BufferFull {
                buffered: parts.driver.conn.buffered_amount(),
            }));
        }
        parts.driver.send(message)?;
        // One write attempt, not waited for: a later poll registers the
        // task that waits.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match parts
            .driver
            .poll_flush_out(Pin::new(&mut parts.io), &mut cx)
        {
            std::task::Poll::Ready(Err(error)) => Err(error),
            _ => Ok(()),
        }
    }

    /// Writes everything queued and flushes the stream.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when writing fails; [`Error::Protocol`] with the write timeout when the
    /// peer stopped reading.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| {
            let parts = &mut *self.inner;
            parts.driver.poll_flush_out(Pin::new(&mut parts.io), cx)
        })
        .await
    }

    /// Waits until the output is under `max_buffered_output`, writing.
    async fn ready(&mut self) -> Result<(), Error> {
        poll_fn(|cx| {
            let parts = &mut *self.inner;
            parts.driver.poll_ready_to_send(Pin::new(&mut parts.io), cx)
        })
        .await
    }

    /// How many bytes are queued and not yet written to the stream, as the
    /// browser's `WebSocket.bufferedAmount`: what a slow reader leaves
    /// waiting.
    pub fn buffered_amount(&self) -> usize {
        self.inner.driver.conn.buffered_amount()
    }

    /// Closes the connection with a code and reason ([RFC 6455 section 7]),
    /// then waits for the close handshake to finish, dropping any messages
    /// that arrive meanwhile. If the connection is already closing, it waits.
    ///
    /// Cancel safety: cancel-safe; the close frame stays queued and a later
    /// read or close finishes the handshake.
    ///
    /// [RFC 6455 section 7]: https://www.rfc-editor.org/rfc/rfc6455#section-7
    ///
    /// # Errors
    ///
    /// [`Error::Send`] for a code that may not be sent (1005, 1006, ...) or a reason over 123
    /// bytes. Failures during the handshake only end it early.
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.inner.driver.close(code, reason)?;
        poll_fn(|cx| self.inner.poll_close_handshake(cx)).await
    }

    /// Splits the socket into a reader and a writer for two tasks. See
    /// [`WebSocketReader`]; [`reunite`](Self::reunite) puts them back.
    pub fn split(self) -> (WebSocketReader<S, R>, WebSocketWriter<S, R>)
    where
        R: SplitTransport<S>,
    {
        split::split(*self.inner)
    }

    /// Puts the halves of a split socket back together. Fails, returning
    /// both, if they come from different sockets.
    ///
    /// # Errors
    ///
    /// Both halves back when they come from different sockets.
    #[allow(clippy::type_complexity)]
    pub fn reunite(
        reader: WebSocketReader<S, R>,
        writer: WebSocketWriter<S, R>,
    ) -> Result<Self, (WebSocketReader<S, R>, WebSocketWriter<S, R>)>
    where
        R: SplitTransport<S>,
    {
        split::unsplit(reader, writer).map(|parts| WebSocket {
            inner: Box::new(parts),
        })
    }
}

impl<S: Unpin, R: Transport<S>> crate::stream::ReceivesChunks for WebSocket<S, R> {
    async fn next_chunk(&mut self, limit: u64) -> Option<Result<Chunk, Error>> {
        self.recv_chunk(limit).await
    }
}

impl<S: Unpin, R: Transport<S>> crate::stream::SendsFragments for WebSocket<S, R> {
    async fn fragment(&mut self, kind: MessageKind, data: &[u8], fin: bool) -> Result<(), Error> {
        self.send_fragment(kind, data, fin).await
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
        this.driver.poll_ready_to_send(Pin::new(&mut this.io), cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        Ok(self.get_mut().inner.driver.send(message)?)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = &mut *self.get_mut().inner;
        this.driver.poll_flush_out(Pin::new(&mut this.io), cx)
    }

    /// Sends a normal close (1000) unless a close was sent, and waits for the
    /// close handshake to finish, dropping messages that arrive meanwhile.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.get_mut().inner.poll_close_handshake(cx)
    }
}
