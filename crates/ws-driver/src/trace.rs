//! The `tracing` feature: a span per connection and the handshake's events
//! (target `ws_driver`); the connection's own events come from ws-core
//! inside that span. Without the feature, [`ConnSpan`] is empty and every
//! function here is a no-op that compiles away. Public for the adapters
//! that drive ws-core themselves (ws-blocking); an application uses
//! `WebSocket::span` (with the feature) and a subscriber.
//!
//! The span, `websocket`, is a child of the span current when the
//! connection was made (an accept loop's per-client span with the peer
//! address, say), with fields `role`, `peer`, `http_version`,
//! `subprotocol` and `extensions`. A client's `peer` is the URI's
//! authority; a server records it when the application does
//! (`WebSocket::span` (with the feature)).
//!
//! | event                 | level | fields                                  |
//! |-----------------------|-------|-----------------------------------------|
//! | `handshake accepted`  | info  | (the span's)                            |
//! | `handshake refused`   | info  | `status`, `error`                       |
//! | `handshake failed`    | debug | `error` (I/O, timeout, end of stream)   |
//! | `transport failed`    | debug | `error`                                 |
//! | `accept failed`       | warn  | `error`, `wait_ms` (debug when retried at once) |

use ws_core::{Connection, Role};

use crate::Error;

/// A connection's span: `tracing::Span` with the feature, nothing without.
#[cfg(feature = "tracing")]
pub type ConnSpan = tracing::Span;

/// A connection's span: `tracing::Span` with the feature, nothing without.
#[cfg(not(feature = "tracing"))]
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnSpan;

/// Enters `span` until the guard is dropped (within one poll, never across
/// an `.await`). The guard owns a handle to the span (a reference count, and
/// nothing at all for a span no subscriber wanted), so that the connection
/// stays free to be borrowed while it is entered.
#[inline]
pub fn enter(span: &ConnSpan) -> impl Sized {
    #[cfg(feature = "tracing")]
    return span.clone().entered();
    #[cfg(not(feature = "tracing"))]
    let _ = span;
}

/// The span of a connection made by a handshake (created disabled when no
/// subscriber wants it, then every use of it is a no-op).
#[inline]
pub fn connection_span(conn: &Connection) -> ConnSpan {
    #[cfg(feature = "tracing")]
    {
        let role = match conn.role() {
            Role::Server => "server",
            Role::Client => "client",
        };
        let extensions = conn.is_compressed().then_some("permessage-deflate");
        tracing::info_span!(
            target: "ws_driver",
            "websocket",
            role,
            peer = tracing::field::Empty,
            http_version = "HTTP/1.1",
            subprotocol = tracing::field::Empty,
            extensions,
        )
    }
    #[cfg(not(feature = "tracing"))]
    {
        let _ = (conn, Role::Server);
        ConnSpan
    }
}

/// Records the agreed subprotocol and the response's extensions header.
#[inline]
pub fn record_agreement(
    span: &ConnSpan,
    subprotocol: Option<&str>,
    response: Option<&http::Response<()>>,
) {
    #[cfg(feature = "tracing")]
    {
        if let Some(subprotocol) = subprotocol {
            span.record("subprotocol", subprotocol);
        }
        let extensions = response
            .and_then(|response| {
                response
                    .headers()
                    .get(http::header::SEC_WEBSOCKET_EXTENSIONS)
            })
            .and_then(|value| value.to_str().ok());
        if let Some(extensions) = extensions {
            span.record("extensions", extensions);
        }
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (span, subprotocol, response);
}

/// Records the peer (a client's: the URI's authority).
#[inline]
pub fn record_peer(span: &ConnSpan, peer: &str) {
    #[cfg(feature = "tracing")]
    span.record("peer", peer);
    #[cfg(not(feature = "tracing"))]
    let _ = (span, peer);
}

/// The opening handshake succeeded.
#[inline]
pub fn handshake_accepted(span: &ConnSpan) {
    #[cfg(feature = "tracing")]
    tracing::info!(target: "ws_driver", parent: span, "handshake accepted");
    #[cfg(not(feature = "tracing"))]
    let _ = span;
}

/// The opening handshake did not succeed: refused with a status (by us as
/// a server, by the server as a client), or cut short.
#[inline]
pub fn handshake_failed(role: Role, error: &Error) {
    #[cfg(feature = "tracing")]
    {
        let role = match role {
            Role::Server => "server",
            Role::Client => "client",
        };
        let status = match error {
            Error::Request(refused) => Some(refused.status().as_u16()),
            Error::Response(refused) => match &**refused {
                ws_handshake::ResponseError::Status { status, .. } => Some(status.as_u16()),
                _ => None,
            },
            _ => None,
        };
        match status {
            Some(status) => {
                tracing::info!(target: "ws_driver", role, status, %error, "handshake refused");
            }
            None => tracing::debug!(target: "ws_driver", role, %error, "handshake failed"),
        }
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (role, error);
}

/// Reading or writing the transport failed.
#[inline]
pub fn transport_failed(error: &std::io::Error) {
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "ws_driver", %error, "transport failed");
    #[cfg(not(feature = "tracing"))]
    let _ = error;
}

/// A listener's `accept` failed; `after` is what the accept loop does.
#[inline]
pub fn accept_failed(error: &std::io::Error, after: crate::AfterAcceptError) {
    #[cfg(feature = "tracing")]
    match after {
        crate::AfterAcceptError::Retry => {
            tracing::debug!(target: "ws_driver", %error, retry = "now", "accept failed");
        }
        crate::AfterAcceptError::Wait(wait) => {
            let wait_ms = wait.as_millis() as u64;
            tracing::warn!(target: "ws_driver", %error, wait_ms, "accept failed");
        }
        crate::AfterAcceptError::GiveUp => {
            tracing::error!(target: "ws_driver", %error, retry = "give up", "accept failed");
        }
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (error, after);
}
