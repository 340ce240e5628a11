//! The futures-io adapter on async-std.

use std::future::Future;
use std::time::Duration;

pub use ws_toolkit::async_std as ws;
pub use ws_toolkit::async_std::{connect, connect_with, connect_with_config};

pub fn run<F: Future>(future: F) -> F::Output {
    async_std::task::block_on(future)
}

pub fn spawn<T: Send + 'static>(
    future: impl Future<Output = T> + Send + 'static,
) -> impl Future<Output = T> {
    async_std::task::spawn(future)
}

/// Runs `future` on its own until it ends or the runtime stops.
pub fn detach(future: impl Future<Output = ()> + Send + 'static) {
    drop(async_std::task::spawn(future));
}

pub async fn sleep(duration: Duration) {
    async_std::task::sleep(duration).await;
}

pub async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    async_std::future::timeout(limit, future).await.ok()
}

/// Whether a server that failed a connection lingers, reading, until its
/// client ends (futures' `close` on async-std's `TcpStream` is a flush, no FIN).
pub const SERVER_LINGERS: bool = false;

super::net_helpers!(net: async_std::net, io: futures_util::io, tls: futures_rustls);
