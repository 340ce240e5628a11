//! The futures-io adapter on smol: smol's TCP, executor and timers, with the
//! handshake done by `connect_with` on a stream the test connected.

use std::future::Future;
use std::time::Duration;

pub use ws_toolkit::async_std as ws;
pub use ws_toolkit::async_std::connect_with;
use ws_toolkit::async_std::{ClientConfig, Error, IntoClientRequest, WebSocket};

pub fn run<F: Future>(future: F) -> F::Output {
    smol::block_on(future)
}

pub fn spawn<T: Send + 'static>(
    future: impl Future<Output = T> + Send + 'static,
) -> impl Future<Output = T> {
    smol::spawn(future)
}

/// Runs `future` on its own until it ends or the runtime stops.
pub fn detach(future: impl Future<Output = ()> + Send + 'static) {
    smol::spawn(future).detach();
}

pub async fn sleep(duration: Duration) {
    smol::Timer::after(duration).await;
}

pub async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    smol::future::or(async { Some(future.await) }, async {
        smol::Timer::after(limit).await;
        None
    })
    .await
}

/// `connect` for `ws://` URIs over smol's TCP.
pub async fn connect(
    request: impl IntoClientRequest,
) -> Result<(WebSocket<Tcp>, http::Response<()>), Error> {
    connect_with_config(request, &ClientConfig::default()).await
}

/// `connect_with_config` for `ws://` URIs over smol's TCP.
pub async fn connect_with_config(
    request: impl IntoClientRequest,
    config: &ClientConfig,
) -> Result<(WebSocket<Tcp>, http::Response<()>), Error> {
    let request = request.into_client_request()?;
    let authority = request.uri().authority().unwrap().as_str().to_owned();
    let tcp = Tcp::connect(authority).await?;
    tcp.set_nodelay(true)?;
    connect_with(tcp, request, config).await
}

/// Whether a server that failed a connection lingers, reading, until its
/// client ends (futures' `close` on async-std's `TcpStream` is a flush, no FIN).
pub const SERVER_LINGERS: bool = false;

super::net_helpers!(net: smol::net, io: futures_util::io, tls: futures_rustls);
