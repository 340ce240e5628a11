//! WebSocket ([RFC 6455]) over the futures-io traits, for async-std and smol:
//! accept and connect, `Stream` and `Sink`, `wss://` through futures-rustls,
//! and a reader/writer split. The API is ws-tokio's, name for name, so
//! swapping runtimes is swapping one dependency.
//!
//! ```text
//!   ws-async-std  <-- you are here: futures-io streams, async-io timers, TLS
//!      |
//!   ws-driver     the driver every runtime shares
//!      |
//!   ws-core       the connection state machine
//!   /      \
//! ws-handshake  ws-frame
//! ```
//!
//! Timers come from async-io, the reactor under both async-std and smol. The
//! `async-std` feature (default) adds [`connect`] over async-std's TCP; on
//! smol, connect a `smol::net::TcpStream` and hand it to [`connect_with`], and
//! accept with [`accept`] as on any runtime.
//!
//! # An echo server
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//!
//! #[async_std::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let listener = async_std::net::TcpListener::bind("127.0.0.1:9001").await?;
//!     loop {
//!         let (tcp, _) = listener.accept().await?;
//!         async_std::task::spawn(async move {
//!             let Ok(mut socket) = ws_async_std::accept(tcp).await else { return };
//!             while let Some(Ok(message)) = socket.next().await {
//!                 if message.is_data() && socket.send(message).await.is_err() {
//!                     break;
//!                 }
//!             }
//!         });
//!     }
//! }
//! ```
//!
//! # A server and a client, end to end
//!
//! A server on an ephemeral loopback port, and a client that sends it one
//! message, reads the reply, and closes with the close handshake
//! ([RFC 6455 section 7]):
//!
//! ```
//! use futures_util::StreamExt;
//! use ws_async_std::{CloseCode, Message};
//!
//! #[async_std::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let listener = async_std::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     async_std::task::spawn(async move {
//!         let (tcp, _) = listener.accept().await.unwrap();
//!         let mut socket = ws_async_std::accept(tcp).await.unwrap();
//!         while let Some(Ok(message)) = socket.next().await {
//!             if let Some(text) = message.as_text() {
//!                 let reply = Message::text(text.to_uppercase());
//!                 socket.send(reply).await.unwrap();
//!             }
//!         }
//!     });
//!
//!     let (mut socket, _response) = ws_async_std::connect(format!("ws://{addr}/")).await?;
//!     socket.send(Message::text("hello")).await?;
//!     let reply = socket.next().await.expect("a reply")?;
//!     assert_eq!(reply.as_text(), Some("HELLO"));
//!     socket.close(CloseCode::NORMAL, "done").await?;
//!     assert!(socket.closed().expect("closed").clean);
//!     Ok(())
//! }
//! ```
//!
//! [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
//! [RFC 6455 section 7]: https://www.rfc-editor.org/rfc/rfc6455#section-7
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![forbid(unsafe_code)]

#[cfg(feature = "async-std")]
mod client;
mod runtime;
mod tls;

pub use runtime::{FuturesIo, IoTimer, ReadHalf, WriteHalf};
pub use tls::MaybeTlsStream;

/// A WebSocket connection on this runtime: a `Stream` of received messages
/// and a `Sink` of messages to send. Its methods are
/// [`ws_driver::WebSocket`]'s, the same on every adapter.
pub type WebSocket<S> = ws_driver::WebSocket<S, FuturesIo>;
/// The receiving half of a split [`WebSocket`].
pub type WebSocketReader<S> = ws_driver::WebSocketReader<S, FuturesIo>;
/// The sending half of a split [`WebSocket`].
pub type WebSocketWriter<S> = ws_driver::WebSocketWriter<S, FuturesIo>;
/// An HTTP request read off a stream and not yet answered ([`read_request`]):
/// upgrade it ([`HttpRequest::accept`](ws_driver::HttpRequest::accept)) or
/// answer it with a page ([`HttpRequest::respond`](ws_driver::HttpRequest::respond)).
pub type HttpRequest<S> = ws_driver::HttpRequest<S, FuturesIo>;

/// Accepts a WebSocket on a stream with the default configuration: reads
/// the client's opening handshake ([RFC 6455 section 4.2]), answers it,
/// and returns the connection.
///
/// Cancel safety: not cancel-safe; dropping the future drops the stream.
///
/// # Errors
///
/// An invalid request is answered with its HTTP status (400, 403, 405,
/// 426, 431) and returned as [`Error::Request`]; a client slower than the
/// handshake timeout gives [`Error::HandshakeTimeout`], one that hangs up
/// [`Error::HandshakeEof`].
///
/// [RFC 6455 section 4.2]: https://www.rfc-editor.org/rfc/rfc6455#section-4.2
pub async fn accept<S>(stream: S) -> Result<WebSocket<S>, Error>
where
    S: Unpin,
    FuturesIo: Transport<S>,
{
    accept_with(stream, ServerConfig::shared_default()).await
}

/// Accepts a WebSocket with a configuration (limits, subprotocols, origin
/// policy, compression, handshake timeout).
///
/// ```no_run
/// use ws_async_std::{Config, ServerConfig};
///
/// #[async_std::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let config = ServerConfig::default().connection(Config::default().max_message_size(1 << 20));
///     let listener = async_std::net::TcpListener::bind("127.0.0.1:9001").await?;
///     let (tcp, _) = listener.accept().await?;
///     let socket = ws_async_std::accept_with(tcp, &config).await?;
///     Ok(())
/// }
/// ```
///
/// Cancel safety: not cancel-safe; dropping the future drops the stream.
///
/// # Errors
///
/// As [`accept`].
pub async fn accept_with<S>(stream: S, config: &ServerConfig) -> Result<WebSocket<S>, Error>
where
    S: Unpin,
    FuturesIo: Transport<S>,
{
    ws_driver::accept_with_callback(stream, config, |_, _| Ok(())).await
}

/// Accepts a WebSocket, letting `callback` inspect the request (path,
/// query, cookies, authorization) and adjust the 101 response, or refuse
/// with [`RequestError::Rejected`] and a status of its choosing.
///
/// Cancel safety: not cancel-safe; dropping the future drops the stream.
///
/// # Errors
///
/// As [`accept`]; a refusal by the callback is answered with its status.
pub async fn accept_with_callback<S, F>(
    stream: S,
    config: &ServerConfig,
    callback: F,
) -> Result<WebSocket<S>, Error>
where
    S: Unpin,
    FuturesIo: Transport<S>,
    F: FnOnce(&http::Request<()>, &mut http::Response<()>) -> Result<(), RequestError>,
{
    ws_driver::accept_with_callback(stream, config, callback).await
}

/// Reads an HTTP request head without answering it, for a server that
/// serves plain HTTP and WebSocket on one port (the `chat` example).
///
/// ```no_run
/// use ws_async_std::ServerConfig;
///
/// #[async_std::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let config = ServerConfig::default();
///     let listener = async_std::net::TcpListener::bind("127.0.0.1:8080").await?;
///     let (tcp, _) = listener.accept().await?;
///     let request = ws_async_std::read_request(tcp, &config).await?;
///     if request.request().uri().path() == "/ws" && request.is_websocket() {
///         let socket = request.accept(&config).await?;
///         // ...
///     } else {
///         request.respond(http::Response::new(()), b"hello").await?;
///     }
///     Ok(())
/// }
/// ```
///
/// Cancel safety: not cancel-safe; dropping the future drops the stream.
///
/// # Errors
///
/// A head past the limits is answered with 431, a malformed one with 400
/// ([`Error::Request`]); a client slower than the handshake timeout gives
/// [`Error::HandshakeTimeout`].
pub async fn read_request<S>(stream: S, config: &ServerConfig) -> Result<HttpRequest<S>, Error>
where
    S: Unpin,
    FuturesIo: Transport<S>,
{
    ws_driver::read_request(stream, config).await
}

/// Waits until every connection tracked by `shutdown` has ended, or
/// `deadline` passes; returns how many were still alive. See [`Shutdown`].
///
/// Cancel safety: cancel-safe; it only waits.
pub async fn drain(shutdown: &Shutdown, deadline: std::time::Duration) -> usize {
    shutdown.drain::<FuturesIo>(deadline).await
}

/// Accepts the next connection with `accept` (`|| listener.accept()`),
/// surviving the errors a busy server's listener gives: a connection that
/// failed before it was accepted is skipped, and running out of file
/// descriptors (`EMFILE`), buffers or memory is waited out with a backoff
/// from 5 ms to 1 s instead of ending the accept loop, which `?` on
/// `listener.accept()` would do. Each such error is passed to `on_error`
/// first (to log it). See [`AcceptBackoff`](ws_driver::AcceptBackoff).
///
/// Cancel safety: cancel-safe if `accept`'s future is (async-std's and
/// smol's `TcpListener::accept` are).
///
/// # Errors
///
/// The error of a listener that can accept no more (`EINVAL`, `EBADF`).
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let listener = async_std::net::TcpListener::bind("127.0.0.1:9001").await?;
/// loop {
///     let (tcp, peer) = ws_async_std::retry_accept(
///         || listener.accept(),
///         |error| eprintln!("accept failed, retrying: {error}"),
///     )
///     .await?;
///     async_std::task::spawn(async move {
///         if let Ok(mut socket) = ws_async_std::accept(tcp).await {
///             // ...
///         #   let _ = (&mut socket, peer);
///         }
///     });
/// }
/// # }
/// ```
pub async fn retry_accept<T, F, Fut>(
    accept: F,
    on_error: impl FnMut(&std::io::Error),
) -> std::io::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::io::Result<T>>,
{
    ws_driver::retry_accept::<FuturesIo, _, _, _>(accept, on_error).await
}
#[cfg(feature = "async-std")]
/// Connects to a `ws://` or `wss://` URI with the default configuration:
/// resolves the host, opens TCP (with `TCP_NODELAY`), sets up TLS for
/// `wss://`, and performs the opening handshake. Returns the socket and
/// the server's 101 response.
///
/// On smol, open a `smol::net::TcpStream` and use [`connect_with`].
///
/// Cancel safety: not cancel-safe; dropping the future drops the connection.
///
/// # Errors
///
/// [`Error::Uri`] for a URI that cannot be connected to, [`Error::Io`] for
/// DNS and TCP, [`Error::Tls`], [`Error::Response`] when the server's
/// answer is not a valid acceptance, [`Error::HandshakeTimeout`].
pub async fn connect(
    request: impl IntoClientRequest,
) -> Result<
    (
        WebSocket<MaybeTlsStream<async_std::net::TcpStream>>,
        http::Response<()>,
    ),
    Error,
> {
    connect_with_config(request, &ClientConfig::default()).await
}

#[cfg(feature = "async-std")]
/// [`connect`] with a configuration. The handshake timeout covers DNS,
/// TCP, TLS and the opening handshake together.
///
/// Cancel safety: not cancel-safe; dropping the future drops the connection.
///
/// # Errors
///
/// As [`connect`].
pub async fn connect_with_config(
    request: impl IntoClientRequest,
    config: &ClientConfig,
) -> Result<
    (
        WebSocket<MaybeTlsStream<async_std::net::TcpStream>>,
        http::Response<()>,
    ),
    Error,
> {
    ws_driver::connect::<FuturesIo>(request, config).await
}

/// A client that stays connected to `request`: each call to
/// [`Reconnect::next`](ws_driver::Reconnect::next) connects (again) with
/// exponential backoff and full jitter after the last connection ended or
/// an attempt failed, and says so with a
/// [`ReconnectEvent`], as python-websockets'
/// `async for websocket in connect(uri)` does. Proxies, TLS and timeouts
/// are the default [`ClientConfig`]'s; see [`reconnecting_with_config`].
///
/// # Errors
///
/// [`Error::Uri`] when `request` is no `ws://` or `wss://` URI.
///
/// ```no_run
/// # async fn run() -> Result<(), ws_async_std::Error> {
/// use futures_util::StreamExt;
/// use ws_async_std::{Message, ReconnectConfig, ReconnectEvent};
///
/// let mut feed = ws_async_std::reconnecting("wss://example.com/feed", ReconnectConfig::default())?;
/// while let Some(event) = feed.next().await {
///     match event {
///         ReconnectEvent::Connected(mut socket, _) => {
///             // Every (re)connection: subscribe again.
///             socket.send(Message::text("subscribe prices")).await?;
///             while let Some(Ok(message)) = socket.next().await {
///                 println!("{message:?}");
///             }
///         }
///         ReconnectEvent::Retrying { error, after } => eprintln!("retrying in {after:?} ({error:?})"),
///         ReconnectEvent::GaveUp(error) => return Err(error),
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "async-std")]
pub fn reconnecting(
    request: impl IntoClientRequest,
    policy: ReconnectConfig,
) -> Result<ws_driver::Reconnect<FuturesIo>, Error> {
    reconnecting_with_config(request, ClientConfig::default(), policy)
}

/// [`reconnecting`] with a client configuration (TLS roots, proxy,
/// limits, handshake timeout) used for every attempt.
///
/// # Errors
///
/// As [`reconnecting`].
#[cfg(feature = "async-std")]
pub fn reconnecting_with_config(
    request: impl IntoClientRequest,
    config: ClientConfig,
    policy: ReconnectConfig,
) -> Result<ws_driver::Reconnect<FuturesIo>, Error> {
    ws_driver::Reconnect::new(request, config, policy)
}

/// Performs the client's opening handshake on a stream the caller
/// connected (a proxy tunnel, a Unix socket, a TLS stack of its own). The
/// request's URI says the host and path; its scheme only has to be `ws` or
/// `wss`. Returns the socket and the server's 101 response.
///
/// Cancel safety: not cancel-safe; dropping the future drops the stream.
///
/// # Errors
///
/// As [`connect`], without the connecting.
pub async fn connect_with<S>(
    stream: S,
    request: impl IntoClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket<S>, http::Response<()>), Error>
where
    S: Unpin,
    FuturesIo: Transport<S>,
{
    let request = request.into_client_request()?;
    ws_driver::client_handshake(stream, &request, config).await
}

pub use http;
pub use ws_core::{
    Chunk, CloseCode, CloseFrame, Closed, Config, Message, MessageKind, ProtocolError, Role,
    SendError, State, Utf8Bytes,
};
pub use ws_driver::ws_proxy::{Proxy, ProxyError};
use ws_driver::Transport;
pub use ws_driver::{
    upgrade, upgrade_with, ClientConfig, Error, IntoClientRequest, ServerConfig, Shutdown, Tracked,
    Upgrade,
};
pub use ws_driver::{
    Outbox, ProxySetting, QueueError, QueueLimit, ReconnectConfig, ReconnectEvent,
};
pub use ws_handshake::{OriginPolicy, RequestError, ResponseError};
