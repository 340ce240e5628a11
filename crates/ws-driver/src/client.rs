//! The client's side: the opening handshake on a connected stream
//! ([`client_handshake`]) and connecting to a URI ([`connect`]).

use bytes::BytesMut;
use ws_handshake::{ClientHandshake, HeadScanner, Parse, Target};

use crate::config::ClientConfig;
use crate::runtime::{read_buf, timeout, write_all, Connect, Transport};
use crate::socket::WebSocket;
use crate::trace;
use crate::Error;

/// Reads the response head in steps of this size.
const HANDSHAKE_CHUNK: usize = 1024;

/// What the adapters' `connect` functions accept as the request: a URI string, an
/// [`http::Uri`], or a whole [`http::Request`] with headers of its own.
pub trait IntoClientRequest {
    /// Converts into a request.
    ///
    /// # Errors
    ///
    /// [`Error::Uri`] when the string is not a URI.
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
///
/// # Errors
///
/// [`Error::Response`] for an answer that is not a valid acceptance (a refusal keeps the
/// server's status, headers and body), [`Error::Io`], [`Error::HandshakeEof`],
/// [`Error::HandshakeTimeout`].
pub async fn client_handshake<S: Unpin, R: Transport<S>>(
    stream: S,
    request: &http::Request<()>,
    config: &ClientConfig,
) -> Result<(WebSocket<S, R>, http::Response<()>), Error> {
    // Boxed: the handshake's state is freed when it is done (see `accept`).
    let result = Box::pin(timeout::<R, _>(
        config.handshake_timeout,
        handshake(stream, request, config),
    ))
    .await
    .unwrap_or(Err(Error::HandshakeTimeout));
    if let Err(error) = &result {
        trace::handshake_failed(ws_core::Role::Client, error);
    }
    result
}

async fn handshake<S: Unpin, R: Transport<S>>(
    mut stream: S,
    request: &http::Request<()>,
    config: &ClientConfig,
) -> Result<(WebSocket<S, R>, http::Response<()>), Error> {
    let (handshake, bytes) = ClientHandshake::from_request(request, &config.handshake)?;
    write_all::<S, R>(&mut stream, &bytes).await?;
    let mut buffer = BytesMut::new();
    let limit = config.handshake.limits.max_header_bytes;
    let mut scanner = HeadScanner::new();
    loop {
        let parsed = match scanner.should_parse(&buffer, limit) {
            true => handshake.parse_response(&buffer)?,
            false => Parse::NeedMore,
        };
        match parsed {
            Parse::Complete((accepted, head_len)) => {
                let conn = config.connection_for(&accepted);
                let socket = WebSocket::from_connection(stream, conn, &buffer[head_len..])
                    .with_subprotocol(accepted.subprotocol);
                let span = socket.conn_span();
                if let Some(authority) = request.uri().authority() {
                    trace::record_peer(span, authority.as_str());
                }
                trace::record_agreement(span, None, Some(&accepted.response));
                trace::handshake_accepted(span);
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

/// Connects to a `ws://` or `wss://` URI on runtime `R` and performs the
/// opening handshake; the handshake timeout covers DNS, TCP, TLS and the
/// handshake together. The adapters' `connect` functions are this.
///
/// Cancel safety: not cancel-safe; dropping the future drops the connection.
///
/// # Errors
///
/// [`Error::Uri`] for a URI that cannot be connected to, [`Error::Io`] for DNS and TCP,
/// [`Error::Tls`], [`Error::Response`] for an answer that is not a valid acceptance,
/// [`Error::HandshakeTimeout`].
pub async fn connect<R>(
    request: impl IntoClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket<R::Stream, R>, http::Response<()>), Error>
where
    R: Connect + Transport<R::Stream>,
{
    let request = request.into_client_request()?;
    let target = Target::from_uri(request.uri())?;
    let connecting = async {
        let stream = R::open(&target, config).await?;
        handshake::<R::Stream, R>(stream, &request, config).await
    };
    let result = Box::pin(timeout::<R, _>(config.handshake_timeout, connecting))
        .await
        .unwrap_or(Err(Error::HandshakeTimeout));
    if let Err(error) = &result {
        trace::handshake_failed(ws_core::Role::Client, error);
    }
    result
}
