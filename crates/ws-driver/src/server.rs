use std::time::Duration;

use bytes::BytesMut;
use ws_core::{Config, Role};
use ws_handshake::{parse_request, write_response, Parse, RequestError};

use crate::runtime::{read_buf, shutdown, timeout, write_all, Transport};
use crate::{Error, WebSocket};

/// Reads the request head in steps of this size.
const HANDSHAKE_CHUNK: usize = 1024;

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

crate::config_setters!(
    ServerConfig,
    ws_handshake::ServerConfig,
    "Accepts permessage-deflate with at most `params`"
);

/// Accepts a WebSocket, letting `callback` inspect the request (path, query,
/// cookies, authorization) and either adjust the 101 response or refuse with
/// [`RequestError::Rejected`] and a status of its choosing.
///
/// Invalid requests are answered with their HTTP status (400, 405, 426, 431,
/// ...) before the error is returned; a client that does not finish its
/// request within [`ServerConfig::handshake_timeout`] is dropped.
///
/// Cancel safety: not cancel-safe; dropping the future drops the stream.
pub async fn accept_with_callback<S, R, F>(
    mut stream: S,
    config: &ServerConfig,
    callback: F,
) -> Result<WebSocket<S, R>, Error>
where
    S: Unpin,
    R: Transport<S>,
    F: FnOnce(&http::Request<()>, &mut http::Response<()>) -> Result<(), RequestError>,
{
    let handshake = async {
        let mut buffer = BytesMut::new();
        let (request, head_len) = loop {
            match parse_request(&buffer, &config.handshake.limits) {
                Ok(Parse::Complete(parsed)) => break parsed,
                Ok(Parse::NeedMore) => {
                    if read_buf::<S, R>(&mut stream, &mut buffer, HANDSHAKE_CHUNK).await? == 0 {
                        return Err(Error::HandshakeEof);
                    }
                }
                Err(error) => return Err(reject::<S, R>(&mut stream, error).await),
            }
        };
        let accepted = match ws_handshake::accept(&request, &config.handshake) {
            Ok(accepted) => accepted,
            Err(error) => return Err(reject::<S, R>(&mut stream, error).await),
        };
        let mut response = accepted.response(&config.handshake);
        if let Err(error) = callback(&request, &mut response) {
            return Err(reject::<S, R>(&mut stream, error).await);
        }
        let subprotocol = response
            .headers()
            .get(http::header::SEC_WEBSOCKET_PROTOCOL)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let mut out = Vec::with_capacity(256);
        write_response(&response, &[], &mut out);
        write_all::<S, R>(&mut stream, &out).await?;
        #[cfg(feature = "deflate")]
        let deflate = accepted.deflate;
        #[cfg(not(feature = "deflate"))]
        let deflate = None;
        Ok((subprotocol, deflate, buffer.split_off(head_len)))
    };
    // Boxed, so that its state (request, response, timer) is freed once the
    // handshake is done instead of sizing every connection's task for it.
    let (subprotocol, deflate, leftover) =
        Box::pin(timeout::<R, _>(config.handshake_timeout, handshake))
            .await
            .ok_or(Error::HandshakeTimeout)??;
    let conn = crate::new_connection(Role::Server, &config.connection, deflate);
    Ok(WebSocket::from_connection(stream, conn, &leftover).with_subprotocol(subprotocol))
}

/// Answers a refused handshake with its status and closes the stream.
async fn reject<S: Unpin, R: Transport<S>>(stream: &mut S, error: RequestError) -> Error {
    let mut out = Vec::with_capacity(256);
    error.write_response(&mut out);
    // The client may already be gone; the refusal is what we report.
    let _ = write_all::<S, R>(stream, &out).await;
    let _ = shutdown::<S, R>(stream).await;
    error.into()
}
