//! WebSocket ([RFC 6455]) on blocking `std::net` streams, with no async
//! runtime: `accept`, `connect`, [`WebSocket::read`] and
//! [`WebSocket::send`], `wss://` through rustls, and every deadline of the
//! connection (keepalive, close, message and write timeouts) kept through
//! the socket's read and write timeouts.
//!
//! ```text
//!   ws-blocking  <-- you are here: a loop over std::io::Read + Write
//!      |           (ws-tokio and ws-async-std are the async drivers)
//!   ws-core        the connection state machine, the same one
//!   /      \
//! ws-handshake  ws-frame
//! ```
//!
//! It is the proof that ws-core is really sans-IO: this crate is a plain
//! loop (read bytes into the connection, take events out, write what it
//! queued, wait for input or the next deadline) and makes no protocol
//! decision, so it behaves as the async adapters do, and takes the same
//! [`ServerConfig`], [`ClientConfig`] and [`Error`]. A server runs one thread
//! per connection, as with tungstenite.
//!
//! # An echo server
//!
//! ```no_run
//! let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
//! for tcp in listener.incoming() {
//!     let tcp = tcp?;
//!     std::thread::spawn(move || {
//!         let Ok(mut socket) = ws_blocking::accept(tcp) else { return };
//!         while let Some(Ok(message)) = socket.recv() {
//!             if message.is_data() && socket.send(message).is_err() {
//!                 break;
//!             }
//!         }
//!     });
//! }
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![forbid(unsafe_code)]

mod handshake;
mod reconnect;
mod socket;
mod transport;

use std::net::{TcpStream, ToSocketAddrs};

use handshake::Deadline;
pub use reconnect::{
    reconnecting, reconnecting_with_config, send_queued_on, ConnectHook, Reconnect, ReconnectEvent,
};
pub use socket::WebSocket;
pub use transport::{MaybeTlsStream, Transport};

pub use http;
pub use ws_core::{
    Chunk, CloseCode, CloseFrame, Closed, Config, Message, MessageKind, ProtocolError, Role,
    SendError, State, Utf8Bytes,
};
pub use ws_driver::ws_proxy::{Proxy, ProxyError};
pub use ws_driver::{ClientConfig, Error, IntoClientRequest, ServerConfig};
pub use ws_driver::{Outbox, ProxySetting, QueueError, QueueLimit, ReconnectConfig};
pub use ws_handshake::{OriginPolicy, RequestError, ResponseError};

/// Accepts a WebSocket on a stream with the default configuration: reads
/// the client's opening handshake ([RFC 6455 section 4.2]), answers it,
/// and returns the connection.
///
/// # Errors
///
/// An invalid request is answered with its HTTP status (400, 403, 405,
/// 426, 431) and returned as [`Error::Request`]; a client that does not
/// finish within [`ServerConfig::handshake_timeout`] gives
/// [`Error::HandshakeTimeout`], one that hangs up [`Error::HandshakeEof`].
///
/// [RFC 6455 section 4.2]: https://www.rfc-editor.org/rfc/rfc6455#section-4.2
pub fn accept<S: Transport>(stream: S) -> Result<WebSocket<S>, Error> {
    accept_with(stream, ServerConfig::shared_default())
}

/// Accepts a WebSocket with a configuration (limits, subprotocols, origin
/// policy, compression, handshake timeout).
///
/// ```no_run
/// use ws_blocking::{Config, ServerConfig};
///
/// let config = ServerConfig::default().connection(Config::default().max_message_size(1 << 20));
/// let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
/// let (tcp, _) = listener.accept()?;
/// let socket = ws_blocking::accept_with(tcp, &config)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
///
/// As [`accept`].
pub fn accept_with<S: Transport>(stream: S, config: &ServerConfig) -> Result<WebSocket<S>, Error> {
    accept_with_callback(stream, config, |_, _| Ok(()))
}

/// Accepts a WebSocket, letting `callback` inspect the request (path,
/// query, cookies, authorization) and adjust the 101 response, or refuse
/// with [`RequestError::Rejected`] and a status of its choosing.
///
/// # Errors
///
/// As [`accept`]; a refusal by the callback is answered with its status.
pub fn accept_with_callback<S, F>(
    stream: S,
    config: &ServerConfig,
    callback: F,
) -> Result<WebSocket<S>, Error>
where
    S: Transport,
    F: FnOnce(&http::Request<()>, &mut http::Response<()>) -> Result<(), RequestError>,
{
    handshake::accept(stream, config, callback)
}

/// Accepts the next connection with `accept` (`|| listener.accept()`),
/// surviving the errors a busy server's listener gives: a connection that
/// failed before it was accepted is skipped, and running out of file
/// descriptors (`EMFILE`), buffers or memory is waited out with a backoff
/// from 5 ms to 1 s (`std::thread::sleep`) instead of ending the accept
/// loop, which `?` on `listener.accept()` would do. Each such error is
/// passed to `on_error` first (to log it). See
/// [`AcceptBackoff`](ws_driver::AcceptBackoff).
///
/// # Errors
///
/// The error of a listener that can accept no more (`EINVAL`, `EBADF`).
///
/// ```no_run
/// # fn run() -> std::io::Result<()> {
/// let listener = std::net::TcpListener::bind("127.0.0.1:9001")?;
/// loop {
///     let (tcp, peer) = ws_blocking::retry_accept(
///         || listener.accept(),
///         |error| eprintln!("accept failed, retrying: {error}"),
///     )?;
///     std::thread::spawn(move || {
///         if let Ok(mut socket) = ws_blocking::accept(tcp) {
///             // ...
///         #   let _ = (&mut socket, peer);
///         }
///     });
/// }
/// # }
/// ```
pub fn retry_accept<T>(
    mut accept: impl FnMut() -> std::io::Result<T>,
    mut on_error: impl FnMut(&std::io::Error),
) -> std::io::Result<T> {
    let mut backoff = ws_driver::AcceptBackoff::new();
    loop {
        let error = match accept() {
            Ok(accepted) => return Ok(accepted),
            Err(error) => error,
        };
        if let Some(wait) = backoff.handle(error, &mut on_error)? {
            std::thread::sleep(wait);
        }
    }
}

/// Connects to a `ws://` or `wss://` URI with the default configuration:
/// resolves the host, opens TCP (with `TCP_NODELAY`), sets up TLS for
/// `wss://`, and performs the opening handshake. Returns the socket and
/// the server's 101 response.
///
/// # Errors
///
/// [`Error::Uri`] for a URI that cannot be connected to, [`Error::Io`] for
/// DNS and TCP, [`Error::Tls`], [`Error::Response`] when the server's
/// answer is not a valid acceptance, [`Error::HandshakeTimeout`].
pub fn connect(
    request: impl IntoClientRequest,
) -> Result<(WebSocket<MaybeTlsStream>, http::Response<()>), Error> {
    connect_with_config(request, &ClientConfig::default())
}

/// [`connect`] with a configuration. The handshake timeout covers TCP, TLS
/// and the opening handshake together (name resolution is the operating
/// system's and blocks as long as it does).
///
/// # Errors
///
/// As [`connect`].
pub fn connect_with_config(
    request: impl IntoClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket<MaybeTlsStream>, http::Response<()>), Error> {
    let request = request.into_client_request()?;
    let deadline = Deadline::after(config.handshake_timeout);
    let opened = ws_handshake::Target::from_uri(request.uri())
        .map_err(Error::from)
        .and_then(|target| {
            let Some(proxy) = config.proxy_for(&target)? else {
                let tcp = open_tcp(&target.host, target.port, deadline)?;
                return server_tls(tcp, &target, config);
            };
            let mut tcp =
                open_tcp(proxy.host(), proxy.port(), deadline).map_err(|error| match error {
                    Error::Io(error) => Error::proxy_unreachable(&proxy, error),
                    other => other,
                })?;
            let resolved = match proxy.resolves_locally() {
                true => (target.host.as_str(), target.port)
                    .to_socket_addrs()?
                    .next(),
                false => None,
            };
            if !proxy.uses_tls() {
                handshake::tunnel(&mut tcp, &proxy, &target, resolved, deadline)?;
                return server_tls(tcp, &target, config);
            }
            tls_proxy_tunnel(tcp, &proxy, &target, resolved, config, deadline)
        });
    match opened {
        // The handshake reports its own outcome.
        Ok(stream) => handshake::client(stream, request, config, deadline),
        Err(error) => {
            ws_driver::trace::handshake_failed(ws_core::Role::Client, &error);
            Err(error)
        }
    }
}

/// Performs the client's opening handshake on a stream the caller
/// connected (a proxy tunnel, a Unix socket, a TLS stack of its own). The
/// request's URI says the host and path; its scheme only has to be `ws` or
/// `wss`.
///
/// # Errors
///
/// As [`connect`], without the connecting.
pub fn connect_with<S: Transport>(
    stream: S,
    request: impl IntoClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket<S>, http::Response<()>), Error> {
    handshake::client(
        stream,
        request,
        config,
        Deadline::after(config.handshake_timeout),
    )
}

/// TCP to the first address of `host:port` that answers within the deadline.
fn open_tcp(host: &str, port: u16, deadline: Deadline) -> Result<TcpStream, Error> {
    let mut last = None;
    for addr in (host, port).to_socket_addrs()? {
        let attempt = match deadline.left()? {
            Some(left) => TcpStream::connect_timeout(&addr, left),
            None => TcpStream::connect(addr),
        };
        match attempt {
            Ok(tcp) => {
                tcp.set_nodelay(true)?;
                return Ok(tcp);
            }
            Err(error) => last = Some(error),
        }
    }
    Err(last
        .unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address"))
        .into())
}

/// The stream to the server (direct, or tunneled through a plain proxy),
/// with TLS for `wss://`.
fn server_tls(
    tcp: TcpStream,
    target: &ws_handshake::Target,
    config: &ClientConfig,
) -> Result<MaybeTlsStream, Error> {
    if !target.tls {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    #[cfg(feature = "rustls")]
    {
        let tls = tls_over(tcp, &target.host, config)?;
        Ok(MaybeTlsStream::Rustls(Box::new(tls)))
    }
    #[cfg(not(feature = "rustls"))]
    {
        let _ = config;
        Err(Error::tls(ws_driver::TlsUnavailable("ws-blocking")))
    }
}

/// TLS to `host` over `stream`; the TLS handshake runs on the first write,
/// within the deadline.
#[cfg(feature = "rustls")]
fn tls_over<S: std::io::Read + std::io::Write>(
    stream: S,
    host: &str,
    config: &ClientConfig,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, S>, Error> {
    let (tls, name) = ws_driver::client_tls(config, host)?;
    let connection = rustls::ClientConnection::new(tls, name).map_err(Error::tls)?;
    Ok(rustls::StreamOwned::new(connection, stream))
}

/// Through an `https://` proxy: TLS to the proxy (checked with the same
/// settings as a server's), the tunnel inside it, and the server's TLS
/// inside that for `wss://`.
#[cfg(feature = "rustls")]
fn tls_proxy_tunnel(
    tcp: TcpStream,
    proxy: &ws_driver::ws_proxy::Proxy,
    target: &ws_handshake::Target,
    resolved: Option<std::net::SocketAddr>,
    config: &ClientConfig,
    deadline: Deadline,
) -> Result<MaybeTlsStream, Error> {
    let mut to_proxy = tls_over(tcp, proxy.host(), config)?;
    handshake::tunnel(&mut to_proxy, proxy, target, resolved, deadline)?;
    if !target.tls {
        return Ok(MaybeTlsStream::Rustls(Box::new(to_proxy)));
    }
    Ok(MaybeTlsStream::RustlsInRustls(Box::new(tls_over(
        to_proxy,
        &target.host,
        config,
    )?)))
}

#[cfg(not(feature = "rustls"))]
fn tls_proxy_tunnel(
    _: TcpStream,
    _: &ws_driver::ws_proxy::Proxy,
    _: &ws_handshake::Target,
    _: Option<std::net::SocketAddr>,
    _: &ClientConfig,
    _: Deadline,
) -> Result<MaybeTlsStream, Error> {
    Err(Error::tls(ws_driver::TlsUnavailable("ws-blocking")))
}
