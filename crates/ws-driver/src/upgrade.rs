//! The server's answer to an upgrade request, decided without I/O: the 101
//! response to send and the connection it starts ([`Upgrade`]). The
//! adapters' accept paths and other HTTP servers (hyper, axum) share it.

use ws_handshake::RequestError;

use crate::config::ServerConfig;

/// The subprotocol a 101 response names, if any.
fn subprotocol_of(response: &http::Response<()>) -> Option<String> {
    response
        .headers()
        .get(http::header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Decides the answer to an upgrade request that another HTTP server (hyper,
/// axum) received: returns the 101 response to send with that server, and
/// the [`Upgrade`] that becomes the WebSocket once the server hands over the
/// upgraded connection ([`WebSocket::from_upgrade`](crate::WebSocket::from_upgrade)). An invalid request is
/// returned as the error; [`RequestError::status`] is the status to answer.
///
/// ```
/// # use ws_driver::{upgrade, ServerConfig};
/// let request = http::Request::get("/ws")
///     .header("host", "example.com")
///     .header("upgrade", "websocket")
///     .header("connection", "Upgrade")
///     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
///     .header("sec-websocket-version", "13")
///     .body(())
///     .unwrap();
/// let (response, _upgrade) = upgrade(&request, &ServerConfig::default()).unwrap();
/// assert_eq!(response.status(), 101);
/// assert_eq!(response.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
///
/// # Errors
///
/// An invalid opening handshake ([RFC 6455 section 4.2.1]); [`RequestError::status`] is the
/// status to answer with.
pub fn upgrade<B>(
    request: &http::Request<B>,
    config: &ServerConfig,
) -> Result<(http::Response<()>, Upgrade), RequestError> {
    upgrade_with(request, config, |_, _| Ok(()))
}

/// [`upgrade`], with a callback that sees the request and the 101 response
/// before it is sent: it may add headers (a cookie, a chosen subprotocol's
/// parameters) or refuse the upgrade with [`RequestError::Rejected`] and a
/// status of its choosing. Every adapter's accept path is this, then the
/// response written and the [`Upgrade`] wrapped around the stream.
///
/// # Errors
///
/// An invalid opening handshake ([RFC 6455 section 4.2.1]) or the
/// callback's refusal; [`RequestError::status`] is the status to answer.
///
/// [RFC 6455 section 4.2.1]: https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1
pub fn upgrade_with<B, F>(
    request: &http::Request<B>,
    config: &ServerConfig,
    callback: F,
) -> Result<(http::Response<()>, Upgrade), RequestError>
where
    F: FnOnce(&http::Request<B>, &mut http::Response<()>) -> Result<(), RequestError>,
{
    let accepted = ws_handshake::accept(request, &config.handshake)?;
    let mut response = accepted.response(&config.handshake);
    callback(request, &mut response)?;
    Ok(agreed(accepted, response, config))
}

/// [`upgrade_with`] for an HTTP/2 extended CONNECT ([RFC 8441 section 4]):
/// the same checks where they apply ([`ws_handshake::accept_extended_connect`];
/// `protocol` is the request's `:protocol`), and a 200 response instead of
/// a 101. The stream the HTTP/2 server hands over once that response is
/// sent is the WebSocket's.
///
/// [RFC 8441 section 4]: https://www.rfc-editor.org/rfc/rfc8441#section-4
///
/// ```
/// # use ws_driver::{upgrade_extended_connect, ServerConfig};
/// let request = http::Request::connect("https://example.com/ws")
///     .version(http::Version::HTTP_2)
///     .header("sec-websocket-version", "13")
///     .body(())
///     .unwrap();
/// let config = ServerConfig::default();
/// let (response, _upgrade) =
///     upgrade_extended_connect(&request, Some("websocket"), &config, |_, _| Ok(())).unwrap();
/// assert_eq!(response.status(), 200);
/// ```
///
/// # Errors
///
/// An invalid extended CONNECT or the callback's refusal;
/// [`RequestError::status`] is the status to answer.
pub fn upgrade_extended_connect<B, F>(
    request: &http::Request<B>,
    protocol: Option<&str>,
    config: &ServerConfig,
    callback: F,
) -> Result<(http::Response<()>, Upgrade), RequestError>
where
    F: FnOnce(&http::Request<B>, &mut http::Response<()>) -> Result<(), RequestError>,
{
    let accepted = ws_handshake::accept_extended_connect(request, protocol, &config.handshake)?;
    let mut response = accepted.response_to_connect(&config.handshake);
    callback(request, &mut response)?;
    Ok(agreed(accepted, response, config))
}

/// The connection an accepted handshake agreed on, with its response.
fn agreed(
    accepted: ws_handshake::AcceptedRequest,
    response: http::Response<()>,
    config: &ServerConfig,
) -> (http::Response<()>, Upgrade) {
    #[cfg(feature = "deflate")]
    let deflate = accepted.deflate;
    #[cfg(not(feature = "deflate"))]
    let deflate = {
        let _ = accepted;
        None
    };
    let connection = config.new_connection(deflate);
    let subprotocol = subprotocol_of(&response);
    (
        response,
        Upgrade {
            connection,
            subprotocol,
        },
    )
}

/// An accepted upgrade whose 101 response another HTTP server sends (see
/// [`upgrade`]): the server-side connection, configured as agreed.
#[derive(Debug)]
pub struct Upgrade {
    connection: ws_core::Connection,
    subprotocol: Option<String>,
}

impl Upgrade {
    /// The server connection, configured as agreed, and the agreed
    /// subprotocol: for a driver of one's own (ws-blocking wraps them).
    pub fn into_parts(self) -> (ws_core::Connection, Option<String>) {
        (self.connection, self.subprotocol)
    }
}
