use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use ws_core::{Config, Role};
use ws_handshake::{ClientHandshake, Parse, Target};

use crate::{Error, MaybeTlsStream, WebSocket};

/// How a client opens WebSocket connections.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The opening handshake: subprotocols, extensions, origin, extra headers.
    pub handshake: ws_handshake::ClientConfig,
    /// The connection: message limits, keepalive, timeouts.
    pub connection: Config,
    /// The longest connecting (DNS, TCP, TLS) and the opening handshake may
    /// take together. Default 10 s.
    pub handshake_timeout: Duration,
    /// TLS settings for `wss://`; `None` uses the webpki roots.
    #[cfg(feature = "rustls")]
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            handshake: ws_handshake::ClientConfig::default(),
            connection: Config::default(),
            handshake_timeout: Duration::from_secs(10),
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }
}

impl ClientConfig {
    /// Sets the handshake settings.
    pub fn handshake(mut self, handshake: ws_handshake::ClientConfig) -> Self {
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

    /// Sets the TLS settings for `wss://` (custom roots, client certificates).
    #[cfg(feature = "rustls")]
    pub fn tls(mut self, tls: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }
}

/// What [`connect_with`] accepts as the request: a URI string, an
/// [`http::Uri`], or a whole [`http::Request`] with headers of its own.
pub trait IntoClientRequest {
    /// Converts into a request.
    fn into_client_request(self) -> Result<http::Request<()>, Error>;
}

impl IntoClientRequest for &str {
    fn into_client_request(self) -> Result<http::Request<()>, Error> {
        let uri: http::Uri = self.parse().map_err(|error: http::uri::InvalidUri| {
            ws_handshake::ClientError::InvalidUri(error.to_string())
        })?;
        uri.into_client_request()
    }
}

impl IntoClientRequest for String {
    fn into_client_request(self) -> Result<http::Request<()>, Error> {
        self.as_str().into_client_request()
    }
}

impl IntoClientRequest for http::Uri {
    fn into_client_request(self) -> Result<http::Request<()>, Error> {
        let mut request = http::Request::new(());
        *request.uri_mut() = self;
        Ok(request)
    }
}

impl IntoClientRequest for http::Request<()> {
    fn into_client_request(self) -> Result<http::Request<()>, Error> {
        Ok(self)
    }
}

/// Connects to a `ws://` or `wss://` URI with the default configuration:
/// resolves the host, opens TCP (with `TCP_NODELAY`), sets up TLS for `wss://`,
/// and performs the opening handshake. Returns the socket and the server's
/// 101 response.
///
/// Cancel safety: not cancel-safe; dropping the future drops the connection.
///
/// ```no_run
/// # async fn run() -> Result<(), ws_tokio::Error> {
/// let (mut socket, response) = ws_tokio::connect("ws://127.0.0.1:9001/chat").await?;
/// socket.send(ws_tokio::Message::text("hi")).await?;
/// # Ok(())
/// # }
/// ```
pub async fn connect(
    request: impl IntoClientRequest,
) -> Result<(WebSocket<MaybeTlsStream<TcpStream>>, http::Response<()>), Error> {
    connect_with_config(request, &ClientConfig::default()).await
}

/// Connects with a configuration. See [`connect`].
///
/// Cancel safety: not cancel-safe; dropping the future drops the connection.
pub async fn connect_with_config(
    request: impl IntoClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket<MaybeTlsStream<TcpStream>>, http::Response<()>), Error> {
    let request = request.into_client_request()?;
    let target = Target::from_uri(request.uri())?;
    let connecting = async {
        let tcp = TcpStream::connect((target.host.as_str(), target.port)).await?;
        tcp.set_nodelay(true)?;
        let stream = if target.tls {
            tls_connect(tcp, &target.host, config).await?
        } else {
            MaybeTlsStream::Plain(tcp)
        };
        handshake(stream, &request, config).await
    };
    tokio::time::timeout(config.handshake_timeout, connecting)
        .await
        .map_err(|_| Error::HandshakeTimeout)?
}

#[cfg(feature = "rustls")]
async fn tls_connect(
    tcp: TcpStream,
    host: &str,
    config: &ClientConfig,
) -> Result<MaybeTlsStream<TcpStream>, Error> {
    let tls = match &config.tls {
        Some(tls) => tls.clone(),
        None => crate::tls::default_tls_config()?,
    };
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|error| Error::Tls(error.to_string()))?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await?;
    Ok(MaybeTlsStream::Rustls(Box::new(stream)))
}

#[cfg(not(feature = "rustls"))]
async fn tls_connect(
    _: TcpStream,
    _: &str,
    _: &ClientConfig,
) -> Result<MaybeTlsStream<TcpStream>, Error> {
    Err(Error::Tls(
        "wss:// needs the `rustls` feature of ws-tokio".into(),
    ))
}

/// Performs the client's opening handshake on a stream the caller connected
/// (a proxy tunnel, a Unix socket, a custom TLS stack). The request's URI says
/// the host and path; its scheme only has to be `ws` or `wss`.
///
/// Cancel safety: not cancel-safe; dropping the future drops the stream.
pub async fn connect_with<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    request: impl IntoClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket<S>, http::Response<()>), Error> {
    let request = request.into_client_request()?;
    tokio::time::timeout(
        config.handshake_timeout,
        handshake(stream, &request, config),
    )
    .await
    .map_err(|_| Error::HandshakeTimeout)?
}

async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &http::Request<()>,
    config: &ClientConfig,
) -> Result<(WebSocket<S>, http::Response<()>), Error> {
    let (handshake, bytes) = ClientHandshake::from_request(request, &config.handshake)?;
    stream.write_all(&bytes).await?;
    stream.flush().await?;
    let mut buffer = BytesMut::with_capacity(1024);
    loop {
        match handshake.parse_response(&buffer)? {
            Parse::Complete((accepted, head_len)) => {
                let socket = WebSocket::from_upgraded(
                    stream,
                    Role::Client,
                    config.connection.clone(),
                    &buffer[head_len..],
                )
                .with_subprotocol(accepted.subprotocol);
                return Ok((socket, accepted.response));
            }
            Parse::NeedMore => {
                if stream.read_buf(&mut buffer).await? == 0 {
                    return Err(Error::HandshakeEof);
                }
            }
        }
    }
}
