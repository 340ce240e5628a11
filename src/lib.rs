//! A layered WebSocket toolkit ([RFC 6455]): pick the layer you need, swap
//! runtimes by swapping one adapter.
//!
//! ```text
//!   ws_toolkit::pubsub (ws-pubsub)         topics, encode-once broadcast, slow consumers
//!            |
//!   ws_toolkit::hyper (ws-hyper)           inside hyper and axum, HTTP/1.1 and HTTP/2
//!            |
//!   ws_toolkit::tokio (ws-tokio)           accept/connect, TLS, Stream + Sink
//!   ws_toolkit::async_std (ws-async-std)   the same over futures-io (async-std, smol)
//!            |                             ws_toolkit::blocking (ws-blocking)
//!   ws-driver                        the async driver both async adapters share;
//!            |                       configs and errors every adapter takes
//!   ws_toolkit::core (ws-core)       the connection as a sans-IO state machine
//!        /                \
//!  ws_toolkit::handshake   ws_toolkit::frame
//!  (ws-handshake)          (ws-frame)           HTTP Upgrade | wire format
//! ```
//!
//! This crate only re-exports the layers; depend on a single layer directly
//! when that is all you need.
//!
//! [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455
#![deny(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "async-std")]
pub use ws_async_std as async_std;
#[cfg(feature = "blocking")]
pub use ws_blocking as blocking;
pub use ws_core as core;
pub use ws_frame as frame;
pub use ws_handshake as handshake;
#[cfg(feature = "hyper")]
pub use ws_hyper as hyper;
#[cfg(feature = "mio")]
pub use ws_mio as mio;
pub use ws_proxy as proxy;
#[cfg(feature = "pubsub")]
pub use ws_pubsub as pubsub;
#[cfg(feature = "tokio")]
pub use ws_tokio as tokio;

pub use ws_core::{Chunk, CloseCode, CloseFrame, Config, Message, MessageKind, Utf8Bytes};
