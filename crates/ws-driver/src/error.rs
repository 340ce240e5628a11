use ws_core::{ProtocolError, SendError};
use ws_handshake::{ClientError, RequestError, ResponseError};

/// Everything that can go wrong on a WebSocket, on any runtime. Each variant says
/// what the peer was told, where anything was.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transport failed (connection reset, broken pipe, DNS, ...).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The server refused a client's opening handshake; the client was
    /// answered with [`RequestError::status`].
    #[error("handshake refused: {0}")]
    Request(Box<RequestError>),
    /// The server's handshake response was refused by us, the client.
    #[error("bad handshake response: {0}")]
    Response(Box<ResponseError>),
    /// The URI cannot be connected to.
    #[error(transparent)]
    Uri(#[from] ClientError),
    /// The proxy refused the tunnel or does not speak its protocol: its
    /// status (407 with its challenge), SOCKS5's reply code, ...
    #[error(transparent)]
    Proxy(#[from] ws_proxy::ProxyError),
    /// The proxy could not be reached (refused, unresolvable, unroutable).
    #[error("cannot reach the proxy {proxy}: {source}")]
    ProxyUnreachable {
        /// The proxy (without its password).
        proxy: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The opening handshake did not finish within the handshake timeout.
    #[error("the opening handshake did not finish within the handshake timeout (ServerConfig/ClientConfig::handshake_timeout)")]
    HandshakeTimeout,
    /// The transport ended during the opening handshake.
    #[error("the connection ended during the opening handshake")]
    HandshakeEof,
    /// The peer broke the protocol; the connection was failed with
    /// [`ProtocolError::close_code`].
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// A message could not be sent (the connection is closing, the buffer is full, ...).
    #[error(transparent)]
    Send(#[from] SendError),
    /// The connection is closed and nothing more will arrive: a blocking
    /// `read` after the end (the async stream ends with `None` instead).
    /// How it ended is the socket's `closed()`.
    #[error("the connection is closed")]
    Closed,
    /// Copying a message in pieces failed on the application's side: the
    /// reader a message was sent from, or the writer a received one was
    /// written to (`send_from`, `recv_into`). The connection is fine: a
    /// message being sent is still under way (continue it with
    /// `send_fragment`, or close), and the rest of one being received is
    /// dropped by the next `recv` (or read on with `recv_chunk`).
    #[error("copying a streamed message failed: {0}")]
    Copy(#[source] std::io::Error),
    /// TLS could not be set up: rustls refused its configuration, the host
    /// is no valid server name, or the adapter was built without TLS
    /// ([`TlsUnavailable`]). The cause is the error's source.
    #[error("TLS error: {0}")]
    Tls(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// `wss://` was asked of an adapter built without its `rustls` feature.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("wss:// needs the `rustls` feature of {0}")]
pub struct TlsUnavailable(pub &'static str);

impl Error {
    /// [`Error::ProxyUnreachable`] for `proxy` and the I/O error of
    /// connecting to it.
    pub fn proxy_unreachable(proxy: &ws_proxy::Proxy, source: std::io::Error) -> Self {
        Error::ProxyUnreachable {
            proxy: proxy.to_string(),
            source,
        }
    }

    /// [`Error::Tls`] with `cause` as its source.
    pub fn tls(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Tls(cause.into())
    }

    /// Whether this error ends the connection (as opposed to refusing one command).
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            Error::Send(
                SendError::BufferFull { .. }
                    | SendError::ControlTooLong(_)
                    | SendError::Close(_)
                    | SendError::MessageInProgress
                    | SendError::InvalidUtf8(_)
            ) | Error::Copy(_)
        )
    }
}

impl From<RequestError> for Error {
    fn from(error: RequestError) -> Self {
        Error::Request(Box::new(error))
    }
}

impl From<ResponseError> for Error {
    fn from(error: ResponseError) -> Self {
        Error::Response(Box::new(error))
    }
}
