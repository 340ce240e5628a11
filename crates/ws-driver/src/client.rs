use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use ws_core::{Config, Role};
use ws_handshake::{ClientHandshake, Parse};

use crate::runtime::{read_buf, timeout, write_all, Transport};
use crate::{Error, WebSocket};

/// Reads the response head in steps of this size.
const HANDSHAKE_CHUNK: usize = 1024;

/// How a client opens WebSocket connections.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The opening handshake: subprotocols, extensions, origin, extra headers.
    pub handshake: ws_handshake::ClientConfig,
    /// The connection: message limits, keepalive, timeouts. Shared by every
    /// connection made with this configuration (change it with
    /// [`connection`](Self::connection) or `Arc::make_mut`).
    pub connection: Arc<Config>,
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
            connection: Arc::default(),
            handshake_timeout: Duration::from_secs(10),
            #[cfg(feature = "rustls")]
            tls: None,
        }
    }
}

crate::config_setters!(
    ClientConfig,
    ws_handshake::ClientConfig,
    "Offers permessage-deflate with `params`"
);

impl ClientConfig {
    /// Sets the TLS settings for `wss://` (custom roots, client certificates).
    #[cfg(feature = "rustls")]
    pub fn tls(mut self, tls: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }
}

/// What the adapters' `connect` functions accept as the request: a URI string, an
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

/// Performs the client's opening handshake on a connected stream, within
/// [`ClientConfig::handshake_timeout`]. The request's URI says the host and
/// path; its scheme only has to be `ws` or `wss`.
///
/// Cancel safety: not cancel-safe; dropping the future drops the stream.
pub async fn client_handshake<S: Unpin, R: Transport<S>>(
    stream: S,
    request: &http::Request<()>,
    config: &ClientConfig,
) -> Result<(WebSocket<S, R>, http::Response<()>), Error> {
    // Boxed: the handshake's state is freed when it is done (see `accept`).
    Box::pin(timeout::<R, _>(
        config.handshake_timeout,
        handshake(stream, request, config),
    ))
    .await
    .ok_or(Error::HandshakeTimeout)?
}

async fn handshake<S: Unpin, R: Transport<S>>(
    mut stream: S,
    request: &http::Request<()>,
    config: &ClientConfig,
) -> Result<(WebSocket<S, R>, http::Response<()>), Error> {
    let (handshake, bytes) = ClientHandshake::from_request(request, &config.handshake)?;
    write_all::<S, R>(&mut stream, &bytes).await?;
    let mut buffer = BytesMut::new();
    loop {
        match handshake.parse_response(&buffer)? {
            Parse::Complete((accepted, head_len)) => {
                #[cfg(feature = "deflate")]
                let deflate = accepted.deflate;
                #[cfg(not(feature = "deflate"))]
                let deflate = None;
                let conn = crate::new_connection(Role::Client, &config.connection, deflate);
                let socket = WebSocket::from_connection(stream, conn, &buffer[head_len..])
                    .with_subprotocol(accepted.subprotocol);
                return Ok((socket, accepted.response));
            }
            Parse::NeedMore => {
                if read_buf::<S, R>(&mut stream, &mut buffer, HANDSHAKE_CHUNK).await? == 0 {
                    return Err(Error::HandshakeEof);
                }
            }
        }
    }
}
