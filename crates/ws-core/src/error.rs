use ws_frame::{CloseCode, ClosePayloadError, FrameError, Utf8Error};

/// Why the peer's bytes failed the connection. Each variant names the close
/// code we sent, see [`ProtocolError::close_code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A frame header broke a rule of [RFC 6455 section 5.2]. 1002.
    ///
    /// [RFC 6455 section 5.2]: https://www.rfc-editor.org/rfc/rfc6455#section-5.2
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A continuation frame arrived with no fragmented message to continue. 1002.
    #[error("continuation frame without a message to continue")]
    UnexpectedContinuation,
    /// A text or binary frame arrived in the middle of a fragmented message. 1002.
    #[error("new data frame inside a fragmented message")]
    ExpectedContinuation,
    /// A text message (or close reason) is not valid UTF-8. 1007.
    #[error(transparent)]
    InvalidUtf8(#[from] Utf8Error),
    /// A close frame's payload is invalid. 1002, or 1007 for a bad reason.
    #[error("invalid close frame: {0}")]
    ClosePayload(#[from] ClosePayloadError),
    /// A frame is larger than [`crate::Config::max_frame_size`]. 1009.
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes (Config::max_frame_size)")]
    FrameTooBig {
        /// The frame's payload length.
        size: u64,
        /// The limit in force.
        limit: usize,
    },
    /// A message grew past [`crate::Config::max_message_size`]. 1009.
    #[error("message of at least {size} bytes exceeds the limit of {limit} bytes (Config::max_message_size)")]
    MessageTooBig {
        /// The message's size once the offending frame is added.
        size: u64,
        /// The limit in force.
        limit: usize,
    },
    /// A message has more fragments than [`crate::Config::max_fragments`]. 1009.
    #[error("message with more than {limit} fragments (Config::max_fragments)")]
    TooManyFragments {
        /// The limit in force.
        limit: usize,
    },
    /// A compressed message could not be inflated ([RFC 7692 section 6.2]):
    /// the deflate data is corrupt or uses a larger window than agreed. 1007.
    ///
    /// [RFC 7692 section 6.2]: https://www.rfc-editor.org/rfc/rfc7692#section-6.2
    #[error("invalid compressed data: {0}")]
    Deflate(#[source] InflateError),
    /// No pong answered a keepalive ping in time. 1011.
    #[error("no pong to a keepalive ping within the keepalive timeout (Config::keepalive)")]
    KeepaliveTimeout,
    /// A message started arriving but was not complete within
    /// [`crate::Config::message_timeout`]. 1008.
    #[error("a message took longer than the message timeout to arrive (Config::message_timeout)")]
    MessageTimeout,
    /// Nothing queued for the peer could be written for
    /// [`crate::Config::write_timeout`]: it stopped reading. 1008 (which it
    /// will likely never read).
    #[error("the peer read nothing we sent for the write timeout (Config::write_timeout)")]
    WriteTimeout,
    /// The transport ended without a close handshake ([RFC 6455 section 7.1.5]:
    /// reported as 1006, nothing is sent).
    ///
    /// [RFC 6455 section 7.1.5]: https://www.rfc-editor.org/rfc/rfc6455#section-7.1.5
    #[error("the connection was closed without a close handshake")]
    UnexpectedEof,
}

impl ProtocolError {
    /// The close code the connection was failed with.
    pub fn close_code(&self) -> CloseCode {
        match self {
            ProtocolError::Frame(error) => error.close_code(),
            ProtocolError::UnexpectedContinuation | ProtocolError::ExpectedContinuation => {
                CloseCode::PROTOCOL_ERROR
            }
            ProtocolError::InvalidUtf8(_) | ProtocolError::Deflate(_) => CloseCode::INVALID_PAYLOAD,
            ProtocolError::ClosePayload(error) => error.close_code(),
            ProtocolError::FrameTooBig { .. }
            | ProtocolError::MessageTooBig { .. }
            | ProtocolError::TooManyFragments { .. } => CloseCode::MESSAGE_TOO_BIG,
            ProtocolError::KeepaliveTimeout => CloseCode::INTERNAL_ERROR,
            ProtocolError::MessageTimeout | ProtocolError::WriteTimeout => {
                CloseCode::POLICY_VIOLATION
            }
            ProtocolError::UnexpectedEof => CloseCode::ABNORMAL,
        }
    }
}

/// Why a command was refused. Nothing was queued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// A close frame was already sent, or the connection is closed: nothing
    /// more may be sent ([RFC 6455 section 5.5.1]).
    ///
    /// [RFC 6455 section 5.5.1]: https://www.rfc-editor.org/rfc/rfc6455#section-5.5.1
    #[error("the connection is closing or closed; nothing more can be sent")]
    Closed,
    /// More than [`crate::Config::max_buffered_output`] bytes wait to be
    /// written: write them out first.
    #[error("the output buffer is full ({buffered} bytes waiting); flush before sending more")]
    BufferFull {
        /// Bytes waiting to be written.
        buffered: usize,
    },
    /// A ping or pong payload over 125 bytes ([RFC 6455 section 5.5]).
    ///
    /// [RFC 6455 section 5.5]: https://www.rfc-editor.org/rfc/rfc6455#section-5.5
    #[error("control frame payload of {0} bytes; at most 125 are allowed")]
    ControlTooLong(usize),
    /// The close code may not be sent or the reason is over 123 bytes.
    #[error(transparent)]
    Close(#[from] ClosePayloadError),
    /// A message is being sent in pieces
    /// ([`Connection::send_fragment`](crate::Connection::send_fragment)):
    /// no other data message may go out before its last piece, and its
    /// pieces all have its kind ([RFC 6455 section 5.4]).
    ///
    /// [RFC 6455 section 5.4]: https://www.rfc-editor.org/rfc/rfc6455#section-5.4
    #[error("a message is being sent in pieces; finish it first")]
    MessageInProgress,
    /// A piece of a text message is not UTF-8 (or the message ended in the
    /// middle of a character): it would fail the peer's check
    /// ([RFC 6455 section 8.1]).
    ///
    /// [RFC 6455 section 8.1]: https://www.rfc-editor.org/rfc/rfc6455#section-8.1
    #[error("text that is not UTF-8: {0}")]
    InvalidUtf8(#[from] Utf8Error),
}

/// Why a compressed message could not be inflated ([RFC 7692 section 6.2]).
/// zlib's error, when there is one, is the [`source`](std::error::Error::source).
///
/// [RFC 7692 section 6.2]: https://www.rfc-editor.org/rfc/rfc7692#section-6.2
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum InflateError {
    /// zlib refused the data (a bad block, a distance past the agreed window).
    #[error("corrupt deflate data")]
    Corrupt(#[source] std::sync::Arc<dyn std::error::Error + Send + Sync>),
    /// The data ended before its last block.
    #[error("truncated deflate data")]
    Truncated,
}

/// Equal when they name the same fault: zlib's errors have no `PartialEq`.
impl PartialEq for InflateError {
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl Eq for InflateError {}
