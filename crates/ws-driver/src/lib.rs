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
#![warn(unreachable_pub)]
#![forbid(unsafe_code)]

mod accept;
mod buffers;
mod client;
mod config;
mod drive;
mod error;
mod proxy;
mod reconnect;
mod runtime;
mod server;
mod shutdown;
mod socket;
mod split;
mod stream;
#[cfg(feature = "rustls")]
mod tls;
pub mod trace;
mod upgrade;

pub use accept::{retry_accept, AcceptBackoff, AfterAcceptError};
pub use client::{client_handshake, connect, IntoClientRequest};
pub use config::{ClientConfig, ProxySetting, ServerConfig};
pub use error::{Error, TlsUnavailable};
pub use proxy::tunnel;
pub use reconnect::{
    clone_request, retry_decision, Backoff, ConnectHook, NextStep, Outbox, QueueError, QueueLimit,
    Reconnect, ReconnectConfig, ReconnectEvent, ReconnectState, RetryDecision,
};
pub use runtime::{
    downcast, downcast_within, timeout, upcast_within, Connect, ReadTransport, Runtime,
    SplitTransport, Timer, Transport, WriteTransport,
};
pub use server::{accept_with_callback, read_request, HttpRequest};
pub use shutdown::{Shutdown, Tracked};
pub use socket::WebSocket;
pub use split::{WebSocketReader, WebSocketWriter};
#[cfg(feature = "rustls")]
pub use tls::client_tls;
pub use upgrade::{upgrade, upgrade_extended_connect, upgrade_with, Upgrade};

#[cfg(feature = "rustls")]
pub use rustls;

pub use http;
pub use ws_core;
pub use ws_handshake;
pub use ws_proxy;
