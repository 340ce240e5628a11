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
#![forbid(unsafe_code)]

#[cfg(feature = "async-std")]
mod client;
mod runtime;
mod tls;

pub use runtime::{FuturesIo, Halves, IoHalf, IoTimer};
pub use tls::MaybeTlsStream;

ws_driver::adapter_api!(FuturesIo);
#[cfg(feature = "async-std")]
ws_driver::adapter_api!(connect: FuturesIo);

pub use http;
pub use ws_core::{
    CloseCode, CloseFrame, Closed, Config, Message, ProtocolError, Role, SendError, State,
    Utf8Bytes,
};
pub use ws_driver::{ClientConfig, Error, IntoClientRequest, ServerConfig};
pub use ws_handshake::{OriginPolicy, RequestError, ResponseError};
