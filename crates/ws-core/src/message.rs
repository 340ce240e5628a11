use bytes::Bytes;
use ws_frame::CloseCode;

use crate::Utf8Bytes;

/// A close frame's contents: the code and the reason ([RFC 6455 section 5.5.1]).
///
/// [RFC 6455 section 5.5.1]: https://www.rfc-editor.org/rfc/rfc6455#section-5.5.1
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, at most 123 bytes of UTF-8.
    pub reason: Utf8Bytes,
}

impl CloseFrame {
    /// A close frame with this code and reason.
    pub fn new(code: CloseCode, reason: impl Into<Utf8Bytes>) -> Self {
        CloseFrame {
            code,
            reason: reason.into(),
        }
    }
}

/// A WebSocket message, received or to send ([RFC 6455 section 5.6]).
///
/// Text and binary messages are whole messages, however they were fragmented
/// on the wire. Control messages are delivered for information: pings are
/// answered automatically and a close is answered by the close handshake.
///
/// ```
/// use ws_core::Message;
/// let message = Message::text("hello");
/// assert_eq!(message.as_text(), Some("hello"));
/// assert_eq!(message.into_bytes(), "hello".as_bytes());
/// ```
///
/// [RFC 6455 section 5.6]: https://www.rfc-editor.org/rfc/rfc6455#section-5.6
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message: valid UTF-8.
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping with its payload (at most 125 bytes).
    Ping(Bytes),
    /// A pong with its payload (at most 125 bytes).
    Pong(Bytes),
    /// A close frame, with its code and reason if it had them.
    Close(Option<CloseFrame>),
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Self {
        Message::Text(text.into())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Message::Binary(data.into())
    }

    /// A ping.
    pub fn ping(data: impl Into<Bytes>) -> Self {
        Message::Ping(data.into())
    }

    /// A pong.
    pub fn pong(data: impl Into<Bytes>) -> Self {
        Message::Pong(data.into())
    }

    /// A close with a code and reason.
    pub fn close(code: CloseCode, reason: impl Into<Utf8Bytes>) -> Self {
        Message::Close(Some(CloseFrame::new(code, reason)))
    }

    /// The text, if this is a text message.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Message::Text(text) => Some(text.as_str()),
            _ => None,
        }
    }

    /// The payload bytes of any message (the reason, for a close).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Message::Text(text) => text.as_str().as_bytes(),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data,
            Message::Close(Some(close)) => close.reason.as_str().as_bytes(),
            Message::Close(None) => &[],
        }
    }

    /// The payload bytes, without copying.
    pub fn into_bytes(self) -> Bytes {
        match self {
            Message::Text(text) => text.into_bytes(),
            Message::Binary(data) | Message::Ping(data) | Message::Pong(data) => data,
            Message::Close(Some(close)) => close.reason.into_bytes(),
            Message::Close(None) => Bytes::new(),
        }
    }

    /// Whether this is a text or binary message.
    pub fn is_data(&self) -> bool {
        matches!(self, Message::Text(_) | Message::Binary(_))
    }

    /// Whether this is a close.
    pub fn is_close(&self) -> bool {
        matches!(self, Message::Close(_))
    }

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::text(text)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::text(text)
    }
}

impl From<Vec<u8>> for Message {
    fn from(data: Vec<u8>) -> Self {
        Message::binary(data)
    }
}

impl From<Bytes> for Message {
    fn from(data: Bytes) -> Self {
        Message::Binary(data)
    }
}

/// Whether a data message is text or binary ([RFC 6455 section 5.6]): the
/// kind of a message received or sent in pieces.
///
/// [RFC 6455 section 5.6]: https://www.rfc-editor.org/rfc/rfc6455#section-5.6
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// UTF-8 text (opcode 0x1).
    Text,
    /// Binary data (opcode 0x2).
    Binary,
}

impl MessageKind {
    pub(crate) fn opcode(self) -> ws_frame::OpCode {
        match self {
            MessageKind::Text => ws_frame::OpCode::Text,
            MessageKind::Binary => ws_frame::OpCode::Binary,
        }
    }
}

/// A piece of a data message received as a stream, after
/// [`Connection::stream_next_message`](crate::Connection::stream_next_message):
/// the payload bytes that arrived (unmasked, inflated), handed out as they
/// come, without the message being assembled ([RFC 6455 section 5.4]).
///
/// Pieces do not follow the frames: a large frame comes in many pieces, and
/// empty frames in none. For text, the message's bytes are checked as UTF-8
/// as they arrive, but a piece may end in the middle of a character; the
/// concatenation of all of them is valid UTF-8 once the last (`fin`) one
/// arrived.
///
/// [RFC 6455 section 5.4]: https://www.rfc-editor.org/rfc/rfc6455#section-5.4
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The message's kind, the same in all its pieces.
    pub kind: MessageKind,
    /// The bytes of the message that follow those of the previous piece.
    pub data: Bytes,
    /// Whether this is the message's first piece.
    pub first: bool,
    /// Whether this is the message's last piece: the next data is a new
    /// message, whole again unless streamed too.
    pub fin: bool,
}
