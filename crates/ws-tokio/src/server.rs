use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use ws_core::{Config, Role};
use ws_handshake::{parse_request, write_response, Parse, RequestError};

use crate::{Error, WebSocket};

/// How a server accepts WebSocket connections.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The opening handshake: header limits, subprotocols, origin policy, extra headers.
    pub handshake: ws_handshake::ServerConfig,
    /// The connection: message limits, keepalive, timeouts.
    pub connection: Config,
    /// The longest the opening handshake may take, from accept to the 101
    /// response. A client that dawdles (one byte a second) is dropped then.
    /// Default 10 s.
    pub handshake_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            handshake: ws_handshake::ServerConfig::default(),
            connection: Config::default(),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl ServerConfig {
    /// Sets the handshake settings.
    pub fn handshake(mut self, handshake: ws_handshake::ServerConfig) -> Self {
        self.handshake = handshake;
        self
    }

    /// Sets the connection settings.
    pub fn connection(mut self, connection: Config) -> Self {
        self.connection = connection;
        self
    }

    /// Sets the handshake timeout.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }
}

/// Accepts a WebSocket on a stream with the default configuration: reads the
/// client's opening handshake, answers it, and returns the connection.
///
/// Invalid requests are answered with their HTTP status (400, 405, 426, 431,
/// ...) before the error is returned.
///
/// Cancel safety: not cancel-safe; dropping the future drops the stream.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use futures_util::{SinkExt, StreamExt};
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
/// let (tcp, _) = listener.accept().await?;
/// let mut socket = ws_tokio::accept(tcp).await?;
/// while let Some(message) = socket.next().await {
///     let message = message?;
///     if message.is_data() {
///         socket.send(message).await?;
///     }
/// }
/// # Ok(())
/// # }
/// ```
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> Result<WebSocket<S>, Error> {
    accept_with(stream, &ServerConfig::default()).await
}

/// Accepts a WebSocket with a configuration.
///
/// Cancel safety: not cancel-safe; dropping the future drops the stream.
pub async fn accept_with<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    config: &ServerConfig,
) -> Result<WebSocket<S>, Error> {
    accept_with_callback(stream, config, |_, _| Ok(())).await
}

/// Accepts a WebSocket, letting `callback` inspect the request (path, query,
/// cookies, authorization) and either adjust the 101 response or refuse with
/// [`RequestError::Rejected`] and a status of its choosing.
///
/// Cancel safety: not cancel-safe; dropping the future drops the stream.
///
/// ```no_run
/// # async fn run(tcp: tokio::net::TcpStream) -> Result<(), ws_tokio::Error> {
/// use ws_tokio::{http::StatusCode, RequestError, ServerConfig};
///
/// let socket = ws_tokio::accept_with_callback(tcp, &ServerConfig::default(), |request, _response| {
///     if request.uri().path() != "/chat" {
///         return Err(RequestError::Rejected { status: StatusCode::NOT_FOUND, reason: "no such room".into() });
///     }
///     Ok(())
/// })
/// .await?;
/// # Ok(())
/// # }
/// ```
pub async fn accept_with_callback<S, F>(
    mut stream: S,
    config: &ServerConfig,
    callback: F,
) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&http::Request<()>, &mut http::Response<()>) -> Result<(), RequestError>,
{
    let handshake = async {
        let mut buffer = BytesMut::with_capacity(1024);
        let (request, head_len) = loop {
            match parse_request(&buffer, &config.handshake.limits) {
                Ok(Parse::Complete(parsed)) => break parsed,
                Ok(Parse::NeedMore) => {
                    if stream.read_buf(&mut buffer).await? == 0 {
                        return Err(Error::HandshakeEof);
                    }
                }
                Err(error) => return Err(reject(&mut stream, error).await),
            }
        };
        let accepted = match ws_handshake::accept(&request, &config.handshake) {
            Ok(accepted) => accepted,
            Err(error) => return Err(reject(&mut stream, error).await),
        };
        let mut response = accepted.response(&config.handshake);
        if let Err(error) = callback(&request, &mut response) {
            return Err(reject(&mut stream, error).await);
        }
        let subprotocol = response
            .headers()
            .get(http::header::SEC_WEBSOCKET_PROTOCOL)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let mut out = Vec::with_capacity(256);
        write_response(&response, &[], &mut out);
        stream.write_all(&out).await?;
        stream.flush().await?;
        Ok((subprotocol, buffer.split_off(head_len)))
    };
    let (subprotocol, leftover) = tokio::time::timeout(config.handshake_timeout, handshake)
        .await
        .map_err(|_| Error::HandshakeTimeout)??;
    Ok(
        WebSocket::from_upgraded(stream, Role::Server, config.connection.clone(), &leftover)
            .with_subprotocol(subprotocol),
    )
}

/// Answers a refused handshake with its status and closes the stream.
async fn reject<S: AsyncWrite + Unpin>(stream: &mut S, error: RequestError) -> Error {
    let mut out = Vec::with_capacity(256);
    error.write_response(&mut out);
    // The client may already be gone; the refusal is what we report.
    let _ = stream.write_all(&out).await;
    let _ = stream.shutdown().await;
    error.into()
}
