//! The WebSocket connection, [RFC 6455 sections 5 to 7], as a sans-IO state
//! machine: bytes in, events out, commands in, bytes out, time passed in.
//!
//! ```text
//!   ws-tokio / ws-async-std     move bytes and time between a socket and a Connection
//!            |
//!         ws-core  <-- you are here: framing, fragmentation, control frames,
//!        /       \     the close handshake, limits, keepalive
//!  ws-handshake   ws-frame
//! ```
//!
//! Everything a connection decides lives here, so that every runtime, and a
//! plain blocking loop, behaves the same: [`Connection`] documents the loop
//! that drives it. The opening handshake is `ws-handshake`'s; a connection
//! starts after it.
//!
//! Errors say what to do: a [`ProtocolError`] names the close code the
//! connection was failed with, a [`SendError`] why a command was refused.
//!
//! [RFC 6455 sections 5 to 7]: https://www.rfc-editor.org/rfc/rfc6455#section-5
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![deny(unsafe_code)]

mod config;
mod connection;
#[cfg(feature = "deflate")]
mod deflate;
mod error;
mod message;
mod output;
mod prepared;
mod receiver;
mod timeout;
mod trace;
mod utf8_bytes;

pub use config::Config;
pub use connection::{Closed, Connection, Event, State};
pub use error::{InflateError, ProtocolError, SendError};
pub use message::{Chunk, CloseFrame, Message, MessageKind};
pub use prepared::PreparedMessage;
pub use receiver::{Received, Receiver};
pub use timeout::Timeout;
pub use utf8_bytes::Utf8Bytes;
pub use ws_frame::{CloseCode, DeflateParams, Role};
