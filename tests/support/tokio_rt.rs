//! The tokio adapter on a current-thread tokio runtime.

use std::future::Future;
use std::time::Duration;

pub use ws_toolkit::tokio as ws;
pub use ws_toolkit::tokio::{connect, connect_with, connect_with_config};

pub fn run<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

pub fn spawn<T: Send + 'static>(
    future: impl Future<Output = T> + Send + 'static,
) -> impl Future<Output = T> {
    let handle = tokio::spawn(future);
    async move { handle.await.unwrap() }
}

/// Runs `future` on its own until it ends or the runtime stops.
pub fn detach(future: impl Future<Output = ()> + Send + 'static) {
    drop(tokio::spawn(future));
}

pub async fn sleep(duration: Duration) {
    tokio::time::sleep(duration).await;
}

pub async fn timeout<F: Future>(limit: Duration, future: F) -> Option<F::Output> {
    tokio::time::timeout(limit, future).await.ok()
}

/// Whether a server that failed a connection lingers, reading, until its
/// client ends (tokio's `shutdown` sends a FIN).
pub const SERVER_LINGERS: bool = true;

super::net_helpers!(net: tokio::net, io: tokio::io, tls: tokio_rustls);
