//! The connection's `tracing` events (the `tracing` feature; without it
//! these functions are empty and vanish). Target `ws_core`, inside whatever
//! span the caller entered (the adapters enter one per connection). Close
//! codes and reasons are recorded; message payloads never are.
//!
//! | event                 | level | fields                         |
//! |-----------------------|-------|--------------------------------|
//! | `close sent`          | debug | `code`, `reason`, `cause`      |
//! | `close received`      | debug | `code`, `reason`               |
//! | `connection failed`   | warn  | `error`, `code` (the one sent) |
//! | `timed out`           | warn  | `error`, `code`                |
//! | `close timed out`     | info  |                                |
//! | `closed`              | info  | `code`, `reason`, `clean`      |

#[cfg(feature = "tracing")]
use crate::ProtocolError;
use crate::{CloseCode, Closed};

/// Why a close frame was sent.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CloseCause {
    /// The application closed.
    Application,
    /// The answer to the peer's close ([RFC 6455 section 5.5.1]).
    Echo,
    /// The connection failed (a protocol error or a timeout).
    Failure,
}

#[cfg(feature = "tracing")]
impl CloseCause {
    fn as_str(self) -> &'static str {
        match self {
            CloseCause::Application => "application",
            CloseCause::Echo => "echo",
            CloseCause::Failure => "failure",
        }
    }
}

/// A close frame was queued; `None` is one without a code.
#[inline]
pub(crate) fn close_sent(close: Option<(CloseCode, &str)>, cause: CloseCause) {
    #[cfg(feature = "tracing")]
    {
        let (code, reason) = close.map_or((None, ""), |(code, reason)| (Some(code.0), reason));
        tracing::debug!(target: "ws_core", code, reason, cause = cause.as_str(), "close sent");
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (close, cause);
}

/// The peer's close frame arrived.
#[inline]
pub(crate) fn close_received(close: Option<(CloseCode, &str)>) {
    #[cfg(feature = "tracing")]
    {
        let (code, reason) = close.map_or((None, ""), |(code, reason)| (Some(code.0), reason));
        tracing::debug!(target: "ws_core", code, reason, "close received");
    }
    #[cfg(not(feature = "tracing"))]
    let _ = close;
}

/// The connection is failed with `error` (and its close code, unless the
/// transport already ended).
#[inline]
pub(crate) fn failed(error: &crate::ProtocolError) {
    #[cfg(feature = "tracing")]
    {
        let code = error.close_code().0;
        match error {
            ProtocolError::KeepaliveTimeout
            | ProtocolError::MessageTimeout
            | ProtocolError::WriteTimeout => {
                tracing::warn!(target: "ws_core", %error, code, "timed out");
            }
            ProtocolError::UnexpectedEof => {
                tracing::debug!(target: "ws_core", %error, code, "connection failed");
            }
            _ => tracing::warn!(target: "ws_core", %error, code, "connection failed"),
        }
    }
    #[cfg(not(feature = "tracing"))]
    let _ = error;
}

/// The peer did not answer our close within the close timeout.
#[inline]
pub(crate) fn close_timed_out() {
    #[cfg(feature = "tracing")]
    tracing::info!(target: "ws_core", "close timed out");
}

/// The connection is over.
#[inline]
pub(crate) fn closed(closed: &Closed) {
    #[cfg(feature = "tracing")]
    tracing::info!(
        target: "ws_core",
        code = closed.code.0,
        reason = closed.reason.as_str(),
        clean = closed.clean,
        "closed"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = closed;
}
