//! Writing an inbox to a socket.

use std::future::poll_fn;
use std::pin::Pin;

use futures_sink::Sink;
use ws_core::{Message, PreparedMessage};
use ws_driver::{Error, SplitTransport, Transport, WebSocket, WebSocketWriter};

use crate::inbox::{Delivery, Inbox};

/// How [`forward`] ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Forwarded {
    /// The subscription was dropped (the socket's reader ended) and
    /// everything queued was written.
    Ended,
    /// The subscriber was too slow under
    /// [`SlowPolicy::Close`](crate::SlowPolicy::Close): the close frame was
    /// sent.
    TooSlow,
}

/// A socket, or the write half of one, that [`forward`] can write prepared
/// messages to: ws-driver's [`WebSocket`] and [`WebSocketWriter`] on every
/// runtime (ws-tokio, ws-async-std with async-std or smol).
pub trait PreparedSink: Sink<Message, Error = Error> + Unpin {
    /// Queues a prepared message without writing it; called after
    /// `poll_ready` said there is room.
    ///
    /// # Errors
    ///
    /// [`Error::Send`] when the connection is closing.
    fn queue_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error>;
}

impl<S: Unpin, R: Transport<S>> PreparedSink for WebSocket<S, R> {
    fn queue_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        WebSocket::queue_prepared(self, message)
    }
}

impl<S: Unpin, R: SplitTransport<S>> PreparedSink for WebSocketWriter<S, R> {
    fn queue_prepared(&mut self, message: &PreparedMessage) -> Result<(), Error> {
        WebSocketWriter::queue_prepared(self, message)
    }
}

/// Writes what the subscriber's topics publish to its socket until the
/// subscription is dropped: everything queued at once, then one flush, so
/// that a subscriber that fell behind catches up in large writes. While
/// the socket's own output is over its `max_buffered_output` this waits for
/// the peer to read, and the inbox fills meanwhile up to the hub's limit,
/// where the hub's [`SlowPolicy`](crate::SlowPolicy) takes over: a slow
/// subscriber never holds more than that limit plus its socket's buffer,
/// and never slows a publisher.
///
/// # Errors
///
/// Whatever writing to the socket fails with ([`Error::Io`], the write
/// timeout as [`Error::Protocol`], [`Error::Send`] once the connection
/// closes).
///
/// ```no_run
/// use ws_pubsub::{forward, Hub};
///
/// async fn serve(
///     hub: Hub,
///     socket: ws_tokio::WebSocket<tokio::net::TcpStream>,
/// ) -> Result<(), ws_tokio::Error> {
///     let (mut reader, mut writer) = socket.split();
///     let (subscription, mut inbox) = hub.join();
///     subscription.subscribe("lobby");
///     let sending = tokio::spawn(async move { forward(&mut inbox, &mut writer).await });
///     while let Some(message) = reader.recv().await {
///         if let Some(message) = ws_core::PreparedMessage::from_message(message?) {
///             hub.publish("lobby", &message);
///         }
///     }
///     drop(subscription); // leaves the topics: `forward` ends
///     let _ = sending.await;
///     Ok(())
/// }
/// ```
pub async fn forward<W: PreparedSink>(inbox: &mut Inbox, sink: &mut W) -> Result<Forwarded, Error> {
    let mut batch = Vec::new();
    loop {
        match inbox.recv_many(&mut batch).await {
            Delivery::Messages(_) => {
                for message in batch.drain(..) {
                    poll_fn(|cx| Pin::new(&mut *sink).poll_ready(cx)).await?;
                    sink.queue_prepared(&message)?;
                }
                poll_fn(|cx| Pin::new(&mut *sink).poll_flush(cx)).await?;
            }
            Delivery::TooSlow(close) => {
                poll_fn(|cx| Pin::new(&mut *sink).poll_ready(cx)).await?;
                Pin::new(&mut *sink).start_send(Message::Close(Some(close)))?;
                poll_fn(|cx| Pin::new(&mut *sink).poll_flush(cx)).await?;
                return Ok(Forwarded::TooSlow);
            }
            Delivery::Ended => return Ok(Forwarded::Ended),
        }
    }
}

/// Writes what waits in the inbox to a blocking socket now, without
/// waiting for more: for a ws-blocking server thread that alternates
/// between reading its socket (`read_within` a short time) and this.
/// `None` while the subscription lives; `Some` once it ended or the
/// subscriber was closed for slowness (the close frame was sent).
///
/// # Errors
///
/// As [`forward`].
#[cfg(feature = "blocking")]
pub fn forward_pending<S: ws_blocking::Transport>(
    inbox: &mut Inbox,
    socket: &mut ws_blocking::WebSocket<S>,
    batch: &mut Vec<PreparedMessage>,
) -> Result<Option<Forwarded>, Error> {
    match inbox.try_recv_many(batch) {
        None => Ok(None),
        Some(Delivery::Messages(_)) => {
            for message in batch.drain(..) {
                socket.feed_prepared(&message)?;
            }
            socket.flush()?;
            Ok(None)
        }
        Some(Delivery::TooSlow(close)) => {
            socket.feed(Message::Close(Some(close)))?;
            socket.flush()?;
            Ok(Some(Forwarded::TooSlow))
        }
        Some(Delivery::Ended) => Ok(Some(Forwarded::Ended)),
    }
}
