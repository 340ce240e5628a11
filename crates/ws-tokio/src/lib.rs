//! WebSocket ([RFC 6455]) over tokio: accept and connect, `Stream` and `Sink`,
//! `wss://` through rustls, and a reader/writer split.
//!
//! ```text
//!   ws-tokio  <-- you are here: tokio sockets, timers, TLS
//!      |
//!   ws-driver     the driver every runtime shares
//!      |
//!   ws-core       the connection state machine
//!   /      \
//! ws-handshake  ws-frame
//! ```
//!
//! This crate is thin: it tells the shared driver ([`ws_driver`]) how to read,
//! write and sleep on tokio, and how to open TCP and TLS connections. The
//! driver reads bytes into a [`ws_core::Connection`], writes what the
//! connection wants written, and arms the timer it asks for; every protocol
//! decision is ws-core's. ws-async-std has the same API over futures-io, so
//! swapping runtimes is swapping one dependency.
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
//! # A server and a client, end to end
//!
//! A server on an ephemeral loopback port, and a client that sends it one
//! message, reads the reply, and closes with the close handshake
//! ([RFC 6455 section 7]):
//!
//! ```
//! use futures_util::StreamExt;
//! use ws_tokio::{CloseCode, Message};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     tokio::spawn(async move {
//!         let (tcp, _) = listener.accept().await.unwrap();
//!         let mut socket = ws_tokio::accept(tcp).await.unwrap();
//!         while let Some(Ok(message)) = socket.next().await {
//!             if let Some(text) = message.as_text() {
//!                 let reply = Message::text(text.to_uppercase());
//!                 socket.send(reply).await.unwrap();
//!             }
//!         }
//!     });
//!
//!     let (mut socket, _response) = ws_tokio::connect(format!("ws://{addr}/")).await?;
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
#![forbid(unsafe_code)]

mod client;
mod runtime;
mod tls;

pub use runtime::{Tokio, TokioReadHalf, TokioTimer, TokioWriteHalf};
pub use tls::MaybeTlsStream;

ws_driver::adapter_api!(Tokio);
ws_driver::adapter_api!(connect: Tokio);

pub use http;
pub use ws_core::{
    CloseCode, CloseFrame, Closed, Config, Message, ProtocolError, Role, SendError, State,
    Utf8Bytes,
};
pub use ws_driver::{ClientConfig, Error, IntoClientRequest, ServerConfig};
pub use ws_handshake::{OriginPolicy, RequestError, ResponseError};
