//! WebSockets inside hyper 1.x and axum, over HTTP/1.1 and HTTP/2 alike.
//!
//! ```text
//!   ws-hyper  <-- you are here: hyper's upgrades (HTTP/1.1 101, HTTP/2 extended CONNECT)
//!      |
//!   ws-tokio / ws-driver   the WebSocket itself
//!      |
//!   ws-handshake   the rules both HTTP versions share
//! ```
//!
//! Browsers open a WebSocket over HTTP/2 whenever the page's connection is
//! HTTP/2 and the server sent `SETTINGS_ENABLE_CONNECT_PROTOCOL`
//! ([RFC 8441]): the request is then a `CONNECT` with `:protocol websocket`
//! on a stream of that connection, answered with 200 rather than 101. One
//! call serves both:
//!
//! - **Server**: [`upgrade`] checks a hyper request (an HTTP/1.1 `GET` with
//!   `Upgrade: websocket`, or an HTTP/2 extended CONNECT) with the same rules,
//!   subprotocol selection, permessage-deflate negotiation and origin policy
//!   as every other server here, and returns the response to send (101 or
//!   200) and a [`PendingWebSocket`] that becomes the socket once hyper hands
//!   the connection (or stream) over. A bad request gets the same status as
//!   over HTTP/1.1 (400, 403, 405, 426), as a [`Rejected`] response.
//!   [`server_builder`] makes hyper-util's server for HTTP/1.1 and HTTP/2 on
//!   one port with extended CONNECT enabled.
//! - **axum** (feature `axum`): the [`WebSocketUpgrade`] extractor, for a
//!   route that takes both GET and CONNECT (`any(handler)`: a `get(handler)`
//!   route refuses the CONNECT that browsers send over HTTP/2).
//! - **Client**: [`connect`] prefers HTTP/2 and falls back to HTTP/1.1;
//!   [`Http2Client`] opens many WebSockets as streams of one
//!   HTTP/2 connection.
//!
//! Flow control is backpressure: a stream whose window the peer does not
//! open again stalls writes, which the socket's `write_timeout` ends; a
//! `RST_STREAM` or `GOAWAY` ends the socket with an I/O error (1006 to the
//! application), never a hang.
//!
//! [RFC 8441]: https://www.rfc-editor.org/rfc/rfc8441
#![deny(missing_docs)]
#![deny(unsafe_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode, Version};
use http_body_util::{Empty, Full};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::{TokioExecutor, TokioIo};
use ws_driver::IntoClientRequest;
use ws_handshake::{ClientHandshake, RequestError, ResponseError};

pub use ws_tokio::{ClientConfig, Error, ServerConfig};

#[cfg(feature = "axum")]
mod axum_extract;
mod fallback;

#[cfg(feature = "axum")]
pub use axum_extract::{WebSocketUpgrade, WebSocketUpgradeRejection};
pub use fallback::{connect, ClientStream};

/// The stream a WebSocket runs on inside hyper: the upgraded HTTP/1.1
/// connection, or the HTTP/2 stream of an extended CONNECT.
pub type HyperStream = TokioIo<Upgraded>;

/// A WebSocket inside hyper (ws-tokio's socket over [`HyperStream`]).
pub type WebSocket = ws_tokio::WebSocket<HyperStream>;

/// The `:protocol` of an extended CONNECT, as hyper keeps it.
fn connect_protocol<B>(request: &Request<B>) -> Option<&str> {
    request
        .extensions()
        .get::<hyper::ext::Protocol>()
        .map(hyper::ext::Protocol::as_str)
}

/// Whether `request` asks for a WebSocket: an HTTP/1.1 upgrade (`Upgrade:
/// websocket`) or an HTTP/2 extended CONNECT with `:protocol websocket`.
/// For a server that routes WebSockets and plain requests on one path.
pub fn is_websocket_request<B>(request: &Request<B>) -> bool {
    match request.version() {
        Version::HTTP_2 | Version::HTTP_3 => {
            request.method() == Method::CONNECT
                && connect_protocol(request)
                    .is_some_and(|protocol| protocol.eq_ignore_ascii_case("websocket"))
        }
        _ => ws_handshake::is_upgrade_request(request),
    }
}

/// A request that is not upgraded: the error, and the answer to send.
#[derive(Debug)]
pub struct Rejected {
    /// What the request broke; [`RequestError::status`] is the status.
    pub error: RequestError,
    version: Version,
}

impl Rejected {
    /// The answer: the status, a text body naming the rule, and the headers
    /// the status calls for (`Sec-WebSocket-Version: 13` with 426, `Allow`
    /// with 405: `GET` over HTTP/1.1, `CONNECT` over HTTP/2). Over HTTP/2 it
    /// has none of HTTP/1.1's connection-specific fields (RFC 9113 section
    /// 8.2.2).
    pub fn into_response(self) -> Response<Full<Bytes>> {
        let (response, body) = self.error.response();
        let (mut parts, ()) = response.into_parts();
        if self.version >= Version::HTTP_2 {
            parts.headers.remove(header::CONNECTION);
            parts.headers.remove(header::UPGRADE);
            if parts.headers.contains_key(header::ALLOW) {
                parts
                    .headers
                    .insert(header::ALLOW, HeaderValue::from_static("CONNECT"));
            }
        }
        Response::from_parts(parts, Full::new(Bytes::from(body)))
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Rejected {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

/// An accepted request whose response hyper is about to send: it becomes
/// the [`WebSocket`] once hyper hands the connection over
/// ([`into_websocket`](Self::into_websocket)).
#[derive(Debug)]
pub struct PendingWebSocket {
    on_upgrade: OnUpgrade,
    upgrade: ws_driver::Upgrade,
    version: Version,
}

impl PendingWebSocket {
    /// The HTTP version the WebSocket came over: `HTTP/1.1` (an upgrade)
    /// or `HTTP/2` (an extended CONNECT stream).
    pub fn http_version(&self) -> Version {
        self.version
    }

    /// Waits for hyper to send the response and hand the connection (or
    /// stream) over, and wraps it in the socket, configured as agreed.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when hyper could not upgrade (the client went away, the
    /// response was not the one [`upgrade`] gave).
    pub async fn into_websocket(self) -> Result<WebSocket, Error> {
        let upgraded = self.on_upgrade.await.map_err(std::io::Error::other)?;
        Ok(WebSocket::from_upgrade(
            TokioIo::new(upgraded),
            self.upgrade,
        ))
    }
}

/// Accepts a WebSocket request inside a hyper service, over HTTP/1.1 or
/// HTTP/2: returns the response to send (101 Switching Protocols, or 200 to
/// an extended CONNECT, RFC 8441 section 5) and the socket to be.
///
/// ```no_run
/// use hyper::body::Incoming;
/// use ws_hyper::{upgrade, ServerConfig};
///
/// async fn handle(mut request: http::Request<Incoming>) -> http::Response<http_body_util::Full<bytes::Bytes>> {
///     let config = ServerConfig::default();
///     match upgrade(&mut request, &config) {
///         Ok((response, pending)) => {
///             tokio::spawn(async move {
///                 let Ok(mut socket) = pending.into_websocket().await else { return };
///                 while let Some(Ok(message)) = socket.recv().await {
///                     if message.is_data() && socket.send(message).await.is_err() {
///                         break;
///                     }
///                 }
///             });
///             response
///         }
///         Err(rejected) => rejected.into_response(),
///     }
/// }
/// ```
///
/// # Errors
///
/// [`Rejected`], with the answer to send, for a request that breaks the
/// opening handshake's rules (RFC 6455 section 4.2.1, RFC 8441 section 4)
/// or that hyper cannot upgrade.
pub fn upgrade<B>(
    request: &mut Request<B>,
    config: &ServerConfig,
) -> Result<(Response<Full<Bytes>>, PendingWebSocket), Rejected> {
    upgrade_with(request, config, |_, _| Ok(()))
}

/// [`upgrade`], with a callback that sees the request and the response
/// before it is sent (as `ws_tokio::upgrade_with`): it may add headers or
/// refuse with [`RequestError::Rejected`] and a status of its choosing.
///
/// # Errors
///
/// As [`upgrade`], and the callback's refusal.
pub fn upgrade_with<B, F>(
    request: &mut Request<B>,
    config: &ServerConfig,
    callback: F,
) -> Result<(Response<Full<Bytes>>, PendingWebSocket), Rejected>
where
    F: FnOnce(&Request<B>, &mut Response<()>) -> Result<(), RequestError>,
{
    let version = request.version();
    let rejected = |error| Rejected { error, version };
    let (response, upgrade) = if version >= Version::HTTP_2 {
        let protocol = connect_protocol(request).map(str::to_owned);
        ws_driver::upgrade_extended_connect(request, protocol.as_deref(), config, callback)
    } else {
        ws_driver::upgrade_with(request, config, callback)
    }
    .map_err(rejected)?;
    let on_upgrade = request
        .extensions_mut()
        .remove::<OnUpgrade>()
        .ok_or_else(|| {
            rejected(RequestError::Rejected {
                status: StatusCode::UPGRADE_REQUIRED,
                reason: "this connection cannot be upgraded".into(),
            })
        })?;
    let (parts, ()) = response.into_parts();
    Ok((
        Response::from_parts(parts, Full::new(Bytes::new())),
        PendingWebSocket {
            on_upgrade,
            upgrade,
            version,
        },
    ))
}

/// [`upgrade`], and `on_socket` run on its own task with the socket once
/// hyper hands it over; returns the response to send either way. The
/// shortest handler.
///
/// ```no_run
/// # async fn handle(mut request: http::Request<hyper::body::Incoming>) -> http::Response<http_body_util::Full<bytes::Bytes>> {
/// ws_hyper::on_upgrade(&mut request, &ws_hyper::ServerConfig::default(), |mut socket, _version| async move {
///     while let Some(Ok(message)) = socket.recv().await {
///         if message.is_data() && socket.send(message).await.is_err() {
///             break;
///         }
///     }
/// })
/// # }
/// ```
pub fn on_upgrade<B, F, Fut>(
    request: &mut Request<B>,
    config: &ServerConfig,
    on_socket: F,
) -> Response<Full<Bytes>>
where
    F: FnOnce(WebSocket, Version) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    match upgrade(request, config) {
        Ok((response, pending)) => {
            tokio::spawn(async move {
                let version = pending.http_version();
                if let Ok(socket) = pending.into_websocket().await {
                    on_socket(socket, version).await;
                }
            });
            response
        }
        Err(rejected) => rejected.into_response(),
    }
}

/// hyper-util's server for HTTP/1.1 and HTTP/2 on one listener (by the
/// client's preface, or ALPN's choice behind TLS), with HTTP/2's extended
/// CONNECT enabled (`SETTINGS_ENABLE_CONNECT_PROTOCOL`, RFC 8441 section 3)
/// and HTTP/1.1 upgrades allowed: serve a connection with
/// `server_builder().serve_connection_with_upgrades(TokioIo::new(stream), service)`.
/// Without the setting, browsers fall back to a new HTTP/1.1 connection
/// for their WebSockets.
pub fn server_builder() -> hyper_util::server::conn::auto::Builder<TokioExecutor> {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http2().enable_connect_protocol();
    builder
}

/// ALPN for a TLS server that speaks both versions: `h2`, then
/// `http/1.1`. Set it on rustls' `ServerConfig::alpn_protocols`.
pub fn alpn_protocols() -> Vec<Vec<u8>> {
    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
}

/// One HTTP/2 connection to a server, from which each
/// [`connect`](Self::connect) opens a WebSocket as a stream of its own
/// ([RFC 8441]): cheap to clone, one TCP (and TLS) connection for them all.
///
/// [RFC 8441]: https://www.rfc-editor.org/rfc/rfc8441
#[derive(Clone)]
pub struct Http2Client {
    sender: hyper::client::conn::http2::SendRequest<Empty<Bytes>>,
    config: Arc<ClientConfig>,
    /// The connection, polled by its own task and asked here whether the
    /// server's SETTINGS enabled extended CONNECT (hyper answers that on
    /// the connection only). Locked only for a poll or that question.
    connection: Arc<Mutex<Pin<Box<dyn Watch>>>>,
}

impl std::fmt::Debug for Http2Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http2Client")
            .field("extended_connect", &self.supports_websockets())
            .finish_non_exhaustive()
    }
}

/// An HTTP/2 client connection of any stream type.
trait Watch: Future<Output = hyper::Result<()>> + Send {
    fn extended_connect(&self) -> bool;
}

impl<T> Watch for hyper::client::conn::http2::Connection<T, Empty<Bytes>, TokioExecutor>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    fn extended_connect(&self) -> bool {
        self.is_extended_connect_protocol_enabled()
    }
}

impl Http2Client {
    /// Starts HTTP/2 on a stream already connected to the server: TCP for
    /// `ws://` (prior knowledge, RFC 9113 section 3.3), or TLS that
    /// negotiated ALPN `h2` for `wss://`. The connection runs on a task of
    /// its own until every clone and socket is gone.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the HTTP/2 handshake fails;
    /// [`Error::HandshakeTimeout`] past the configuration's handshake
    /// timeout.
    pub async fn handshake<S>(io: S, config: ClientConfig) -> Result<Http2Client, Error>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let handshake = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .handshake::<_, Empty<Bytes>>(TokioIo::new(io));
        let (sender, connection) = tokio::time::timeout(config.handshake_timeout, handshake)
            .await
            .map_err(|_| Error::HandshakeTimeout)?
            .map_err(std::io::Error::other)?;
        let connection: Arc<Mutex<Pin<Box<dyn Watch>>>> =
            Arc::new(Mutex::new(Box::pin(connection)));
        let polled = connection.clone();
        tokio::spawn(std::future::poll_fn(move |cx| {
            polled
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .as_mut()
                .poll(cx)
        }));
        Ok(Http2Client {
            sender,
            config: Arc::new(config),
            connection,
        })
    }

    /// Connects to the server of a `ws://` or `wss://` URI and starts
    /// HTTP/2: TCP with prior knowledge for `ws://`; for `wss://`, TLS
    /// (with the configuration's TLS settings, or the webpki roots) offering
    /// ALPN `h2` only. No proxy is used.
    ///
    /// # Errors
    ///
    /// [`Error::Uri`] for a URI that is not a WebSocket URI; [`Error::Io`]
    /// for DNS, TCP and TLS; [`Error::Response`] with
    /// [`ResponseError::NoExtendedConnect`] when TLS did not agree on `h2`
    /// (the server speaks HTTP/1.1 only); [`Error::Tls`] without the
    /// `rustls` feature for `wss://`; [`Error::HandshakeTimeout`] past the
    /// handshake timeout, which covers all of it.
    pub async fn dial(
        uri: impl IntoClientRequest,
        config: ClientConfig,
    ) -> Result<Http2Client, Error> {
        let request = uri.into_client_request()?;
        let target = ws_handshake::Target::from_uri(request.uri())?;
        let timeout = config.handshake_timeout;
        let started = Instant::now();
        let tcp = tokio::time::timeout(
            timeout,
            tokio::net::TcpStream::connect((target.host.as_str(), target.port)),
        )
        .await
        .map_err(|_| Error::HandshakeTimeout)??;
        tcp.set_nodelay(true)?;
        let mut config = config;
        config.handshake_timeout = timeout.saturating_sub(started.elapsed());
        if !target.tls {
            return Http2Client::handshake(tcp, config).await;
        }
        #[cfg(feature = "rustls")]
        {
            let (tls, name) = ws_driver::client_tls(&config, &target.host)?;
            let mut tls = (*tls).clone();
            tls.alpn_protocols = vec![b"h2".to_vec()];
            let connect = tokio_rustls::TlsConnector::from(Arc::new(tls)).connect(name, tcp);
            let stream = tokio::time::timeout(config.handshake_timeout, connect)
                .await
                .map_err(|_| Error::HandshakeTimeout)??;
            if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
                return Err(Error::Response(Box::new(ResponseError::NoExtendedConnect)));
            }
            config.handshake_timeout = timeout.saturating_sub(started.elapsed());
            Http2Client::handshake(stream, config).await
        }
        #[cfg(not(feature = "rustls"))]
        {
            let _ = tcp;
            Err(Error::tls(ws_driver::TlsUnavailable("ws-hyper")))
        }
    }

    /// Whether the server enabled extended CONNECT, as far as its SETTINGS
    /// have arrived.
    pub fn supports_websockets(&self) -> bool {
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extended_connect()
    }

    /// Opens a WebSocket on a new stream: the extended CONNECT for the
    /// request's URI (`ws://` or `wss://`, which only says the authority and
    /// path here), its 200 answer checked against what we offered.
    ///
    /// # Errors
    ///
    /// [`Error::Response`] with [`ResponseError::NoExtendedConnect`] when the
    /// server does not take WebSockets over HTTP/2 (use HTTP/1.1), with
    /// [`ResponseError::Status`] when it refused; [`Error::Io`] when the
    /// connection failed; [`Error::HandshakeTimeout`].
    pub async fn connect(
        &self,
        request: impl IntoClientRequest,
    ) -> Result<(WebSocket, Response<()>), Error> {
        let request = request.into_client_request()?;
        let timeout = self.config.handshake_timeout;
        tokio::time::timeout(timeout, self.open(request))
            .await
            .map_err(|_| Error::HandshakeTimeout)?
    }

    async fn open(&self, request: Request<()>) -> Result<(WebSocket, Response<()>), Error> {
        let opened = self.open_stream(request).await?;
        let socket = ws_tokio::WebSocket::from_connection(opened.stream, opened.connection, &[])
            .with_subprotocol(opened.subprotocol);
        Ok((socket, opened.response))
    }

    /// The extended CONNECT, up to the stream and the agreed connection.
    pub(crate) async fn open_stream(&self, request: Request<()>) -> Result<OpenedStream, Error> {
        let mut sender = self.sender.clone();
        // The server's SETTINGS follow its preface; until they arrive the
        // setting reads as off.
        let started = Instant::now();
        while !self.supports_websockets() {
            if sender.is_closed() || started.elapsed() > SETTINGS_WAIT {
                return Err(Error::Response(Box::new(ResponseError::NoExtendedConnect)));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let (handshake, connect) =
            ClientHandshake::extended_connect(&request, &self.config.handshake)?;
        let (mut parts, ()) = connect.into_parts();
        parts
            .extensions
            .insert(hyper::ext::Protocol::from_static("websocket"));
        let connect = Request::from_parts(parts, Empty::new());
        sender.ready().await.map_err(std::io::Error::other)?;
        let mut response = sender
            .send_request(connect)
            .await
            .map_err(std::io::Error::other)?;
        let on_upgrade = hyper::upgrade::on(&mut response);
        let (parts, body) = response.into_parts();
        if !parts.status.is_success() {
            // A refusal's body usually says why (ours names the rule, or
            // the subprotocols the server speaks): keep its first bytes.
            return Err(Error::Response(Box::new(ResponseError::Status {
                status: parts.status,
                headers: parts.headers,
                body: refusal_body(body).await,
            })));
        }
        let accepted = handshake.check_connect_response(Response::from_parts(parts, ()))?;
        let connection = self.config.connection_for(&accepted);
        let upgraded = on_upgrade.await.map_err(std::io::Error::other)?;
        Ok(OpenedStream {
            stream: TokioIo::new(upgraded),
            connection,
            subprotocol: accepted.subprotocol,
            response: accepted.response,
        })
    }
}

/// A stream opened by an extended CONNECT, and what it agreed.
pub(crate) struct OpenedStream {
    pub(crate) stream: HyperStream,
    pub(crate) connection: ws_core::Connection,
    pub(crate) subprotocol: Option<String>,
    pub(crate) response: Response<()>,
}

/// How long [`Http2Client::connect`] waits for the server's SETTINGS to
/// say whether it takes extended CONNECT.
const SETTINGS_WAIT: Duration = Duration::from_secs(2);

/// How much of a refusal's body [`ResponseError::Status`] keeps.
const REFUSAL_BODY_LIMIT: usize = 64 * 1024;

/// The first [`REFUSAL_BODY_LIMIT`] bytes of a refusal's body, as far as
/// the stream delivers them (under the caller's handshake timeout).
async fn refusal_body(mut body: hyper::body::Incoming) -> Vec<u8> {
    use http_body_util::BodyExt as _;
    let mut bytes = Vec::new();
    while bytes.len() < REFUSAL_BODY_LIMIT {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    bytes.extend_from_slice(&data);
                }
            }
            Some(Err(_)) | None => break,
        }
    }
    bytes.truncate(REFUSAL_BODY_LIMIT);
    bytes
}
