//! The runtime-agnostic driver that ws-tokio and ws-async-std share: a
//! [`WebSocket`] that moves bytes and time between a stream and a
//! [`ws_core::Connection`], its reader/writer [`split`](WebSocket::split),
//! the opening handshake on a stream, and the configuration and error types.
//!
//! ```text
//!   ws-tokio   ws-async-std    runtime markers, TCP/TLS connect, type aliases
//!        \       /
//!        ws-driver   <-- you are here: the driver, generic over the runtime
//!            |
//!         ws-core       the connection state machine
//!         /     \
//! ws-handshake  ws-frame
//! ```
//!
//! An adapter implements [`Runtime`] (its timer) and [`Transport`] (read,
//! write, flush and shutdown on its streams) for a marker type, and names
//! `WebSocket<S, Marker>` for its users. No protocol decision is made here:
//! they are all ws-core's, so every runtime behaves alike.
//!
//! Users normally depend on an adapter, not on this crate.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod adapter;
mod client;
mod error;
mod runtime;
mod server;
mod shutdown;
mod socket;
mod split;
#[cfg(feature = "rustls")]
mod tls;

pub use client::{client_handshake, ClientConfig, IntoClientRequest};
pub use error::Error;
pub use runtime::{
    connect, downcast, downcast_within, timeout, upcast_within, Connect, ReadTransport, Runtime,
    SplitTransport, Timer, Transport, WriteTransport,
};
pub use server::{accept_with_callback, read_request, upgrade, HttpRequest, ServerConfig, Upgrade};
pub use shutdown::{Shutdown, Tracked};
pub use socket::WebSocket;
pub use split::{WebSocketReader, WebSocketWriter};
#[cfg(feature = "rustls")]
pub use tls::client_tls;

#[cfg(feature = "rustls")]
pub use rustls;

pub use http;

/// The builder methods `ServerConfig` and `ClientConfig` share.
macro_rules! config_setters {
    ($config:ident, $handshake:ty, $deflate_doc:literal) => {
        impl $config {
            /// Sets the handshake settings.
            pub fn handshake(mut self, handshake: $handshake) -> Self {
                self.handshake = handshake;
                self
            }

            /// Sets the connection settings.
            pub fn connection(mut self, connection: ws_core::Config) -> Self {
                self.connection = std::sync::Arc::new(connection);
                self
            }

            /// Sets the handshake timeout.
            pub fn handshake_timeout(mut self, timeout: std::time::Duration) -> Self {
                self.handshake_timeout = timeout;
                self
            }

            #[doc = concat!($deflate_doc, " ([RFC 7692]);")]
            /// shorthand for setting `handshake.deflate`. Compression level and
            /// threshold are in [`Config`](ws_core::Config).
            ///
            /// [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692
            #[cfg(feature = "deflate")]
            pub fn deflate(mut self, params: ws_core::DeflateParams) -> Self {
                self.handshake.deflate = Some(params);
                self
            }
        }
    };
}
pub(crate) use config_setters;

/// The connection for a finished handshake, compressed if it agreed on
/// permessage-deflate.
fn new_connection(
    role: ws_core::Role,
    config: &std::sync::Arc<ws_core::Config>,
    deflate: Option<ws_core::DeflateParams>,
) -> ws_core::Connection {
    match deflate {
        #[cfg(feature = "deflate")]
        Some(params) => ws_core::Connection::with_deflate(role, config.clone(), &params),
        _ => ws_core::Connection::new(role, config.clone()),
    }
}
pub use ws_core;
pub use ws_handshake;
