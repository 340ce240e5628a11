//! WebSocket ([RFC 6455]) over tokio: accept and connect, `Stream` and `Sink`,
//! `wss://` through rustls, and a reader/writer split.
//!
//! ```text
//!   ws-tokio  <-- you are here: sockets, timers, TLS; no protocol decisions
//!      |
//!   ws-core       the connection state machine
//!   /      \
//! ws-handshake  ws-frame
//! ```
//!
//! This crate is a thin driver: it reads bytes into a [`ws_core::Connection`],
//! writes what the connection wants written, and arms the timer it asks for.
//! Every protocol decision is ws-core's, so behaviour is the same on every
//! runtime.
//!
//! # An echo server
//!
//! ```no_run
//! use futures_util::{SinkExt, StreamExt};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:9001").await?;
//!     loop {
//!         let (tcp, _) = listener.accept().await?;
//!         tokio::spawn(async move {
//!             let Ok(mut socket) = ws_tokio::accept(tcp).await else { return };
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
//! [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod client;
mod error;
mod server;
mod socket;
mod split;
mod tls;

pub use client::{connect, connect_with, connect_with_config, ClientConfig, IntoClientRequest};
pub use error::Error;
pub use server::{accept, accept_with, accept_with_callback, ServerConfig};
pub use socket::WebSocket;
pub use split::{WebSocketReader, WebSocketWriter};
pub use tls::MaybeTlsStream;

pub use http;
pub use ws_core::{
    CloseCode, CloseFrame, Closed, Config, Message, ProtocolError, Role, SendError, State,
    Utf8Bytes,
};
pub use ws_handshake::{OriginPolicy, RequestError, ResponseError};
