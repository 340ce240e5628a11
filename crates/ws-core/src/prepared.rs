//! A data message framed once, to be sent on many server connections.

use std::sync::Arc;
#[cfg(feature = "deflate")]
use std::sync::OnceLock;

use bytes::Bytes;
use ws_frame::{FrameHeader, OpCode, MAX_HEADER_LEN};

use crate::{Message, Utf8Bytes};

/// A text or binary message whose frame is encoded once and then queued on
/// any number of server connections with
/// [`Connection::send_prepared`](crate::Connection::send_prepared): the
/// header is written once here, the payload is one shared [`Bytes`], and
/// cloning a `PreparedMessage` copies neither. This is what a broadcast
/// (one message to every subscriber of a topic) should send: the frame of a
/// server message is the same for every connection, because servers do not
/// mask ([RFC 6455 section 5.1]).
///
/// What each connection does with it:
/// - a server connection queues the header and the payload as they are;
///   a payload of 8 KiB or more is queued by reference, a smaller one is
///   copied into the connection's write buffer, where it joins the frames
///   queued before and after it in one write (cheaper than a reference
///   for a few bytes);
/// - with permessage-deflate ([RFC 7692]) and `server_no_context_takeover`
///   negotiated, the payload is compressed once per window size and the
///   compressed frame is shared by every such connection; a connection
///   that keeps its compression context between messages has a history of
///   its own, so it compresses the message itself, as
///   [`Connection::send`](crate::Connection::send) would;
/// - a client connection masks every frame with a key of its own
///   (RFC 6455 section 5.3), so it encodes the message as `send` would.
///
/// [RFC 6455 section 5.1]: https://www.rfc-editor.org/rfc/rfc6455#section-5.1
/// [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692
///
/// ```
/// use ws_core::{Config, Connection, PreparedMessage, Role};
///
/// let message = PreparedMessage::text("price 101.5");
/// let mut servers: Vec<Connection> =
///     (0..3).map(|_| Connection::new(Role::Server, Config::default())).collect();
/// for conn in &mut servers {
///     conn.send_prepared(&message).unwrap();
///     assert_eq!(conn.transmit(), b"\x81\x0bprice 101.5");
/// }
/// ```
#[derive(Debug, Clone)]
pub struct PreparedMessage {
    // One reference count for all of it: a broadcast clones it once per
    // subscriber.
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    opcode: OpCode,
    head: [u8; MAX_HEADER_LEN],
    head_len: u8,
    payload: Bytes,
    #[cfg(feature = "deflate")]
    compressed: Compressed,
}

/// The compressed frames of one prepared message, made on first use: one per
/// window size (9 to 15 bits), since a connection may have negotiated a
/// smaller window than another (RFC 7692 section 7.1.2.1).
#[cfg(feature = "deflate")]
#[derive(Debug, Default)]
struct Compressed {
    by_window: [OnceLock<Bytes>; 7],
}

impl PreparedMessage {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Self::new(OpCode::Text, text.into().into_bytes())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Self::new(OpCode::Binary, data.into())
    }

    /// A prepared text or binary message; `None` for a control message
    /// (ping, pong, close), which is never broadcast.
    pub fn from_message(message: Message) -> Option<Self> {
        match message {
            Message::Text(text) => Some(Self::text(text)),
            Message::Binary(data) => Some(Self::binary(data)),
            _ => None,
        }
    }

    fn new(opcode: OpCode, payload: Bytes) -> Self {
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = FrameHeader::new(opcode, payload.len() as u64).encode(&mut head) as u8;
        PreparedMessage {
            inner: Arc::new(Inner {
                opcode,
                head,
                head_len,
                payload,
                #[cfg(feature = "deflate")]
                compressed: Compressed::default(),
            }),
        }
    }

    /// Whether it is a text message (else binary).
    pub fn is_text(&self) -> bool {
        self.inner.opcode == OpCode::Text
    }

    /// The payload.
    pub fn payload(&self) -> &Bytes {
        &self.inner.payload
    }

    /// The message it carries, sharing the payload.
    pub fn to_message(&self) -> Message {
        match self.inner.opcode {
            // The payload came from a `Utf8Bytes`.
            OpCode::Text => Message::Text(Utf8Bytes::from_validated(self.inner.payload.clone())),
            _ => Message::Binary(self.inner.payload.clone()),
        }
    }

    /// The bytes of its frame on the wire, uncompressed: the header and the
    /// payload.
    pub fn frame_len(&self) -> usize {
        usize::from(self.inner.head_len) + self.inner.payload.len()
    }

    pub(crate) fn opcode(&self) -> OpCode {
        self.inner.opcode
    }

    pub(crate) fn head(&self) -> &[u8] {
        &self.inner.head[..usize::from(self.inner.head_len)]
    }

    /// The payload compressed with a fresh context and `window_bits`
    /// (9 to 15), made by the first connection that needs it.
    #[cfg(feature = "deflate")]
    pub(crate) fn compressed(&self, level: u32, window_bits: u8) -> &Bytes {
        let slot = usize::from(window_bits.clamp(9, 15) - 9);
        self.inner.compressed.by_window[slot]
            .get_or_init(|| crate::deflate::compress_once(level, window_bits, &self.inner.payload))
    }
}
