//! The WebSocket opening handshake, [RFC 6455 section 4]: the HTTP/1.1
//! `Upgrade` exchange, for both the server and the client, with no I/O.
//!
//! ```text
//!   ws-tokio / ws-async-std     read and write the bytes this crate parses and builds
//!            |
//!         ws-core
//!        /       \
//!  ws-handshake   ws-frame
//!  ^ you are here: request/response parsing, validation, key/accept, subprotocols
//! ```
//!
//! Parsers are push parsers over `&[u8]` in the style of `httparse`: they
//! answer [`Parse::Complete`] with the number of bytes the head took (anything
//! after it already belongs to the WebSocket connection) or [`Parse::NeedMore`].
//! Parsed heads are the `http` crate's [`http::Request<()>`] and
//! [`http::Response<()>`], so the server side composes with hyper, axum and
//! friends: a request that some other server already parsed goes straight into
//! [`accept`].
//!
//! Every rejection is a typed error that carries the HTTP status to answer with
//! ([`RequestError::status`]) and can render the whole rejection response
//! ([`RequestError::write_response`]).
//!
//! # Server
//!
//! ```
//! use ws_handshake::{accept, parse_request, write_response, Parse, ServerConfig};
//!
//! let bytes = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
//!     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!     Sec-WebSocket-Version: 13\r\n\r\n";
//! let config = ServerConfig::default();
//! let Parse::Complete((request, used)) = parse_request(bytes, &config.limits).unwrap() else {
//!     panic!("the request is complete");
//! };
//! assert_eq!(used, bytes.len());
//! let accepted = accept(&request, &config).unwrap();
//! let mut out = Vec::new();
//! write_response(&accepted.response(&config), &[], &mut out);
//! assert!(out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
//! ```
//!
//! # Client
//!
//! ```
//! use ws_handshake::{ClientConfig, ClientHandshake, Parse};
//!
//! let (handshake, request_bytes) = ClientHandshake::new("ws://127.0.0.1:9001/echo", &ClientConfig::default()).unwrap();
//! assert!(request_bytes.starts_with(b"GET /echo HTTP/1.1\r\n"));
//! let response = format!(
//!     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
//!      Sec-WebSocket-Accept: {}\r\n\r\n",
//!     handshake.expected_accept()
//! );
//! let Parse::Complete((accepted, used)) = handshake.parse_response(response.as_bytes()).unwrap() else {
//!     panic!("the response is complete");
//! };
//! assert_eq!(used, response.len());
//! assert_eq!(accepted.subprotocol, None);
//! ```
//!
//! [RFC 6455 section 4]: https://www.rfc-editor.org/rfc/rfc6455#section-4
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![forbid(unsafe_code)]

mod client;
#[cfg(feature = "deflate")]
mod deflate;
mod extensions;
mod headers;
mod key;
mod request;
mod response;
mod scan;
mod server;

pub use client::{
    AcceptedResponse, ClientConfig, ClientError, ClientHandshake, ResponseError, Target,
};
#[cfg(feature = "deflate")]
pub use deflate::{check_deflate_answer, deflate_offer, negotiate_deflate, PERMESSAGE_DEFLATE};
pub use extensions::{parse_extensions, Extension, ExtensionParseError};
pub use headers::MalformedHead;
pub use key::{accept_key, generate_key, GUID};
pub use request::{is_upgrade_request, parse_request, HeaderLimits};
pub use response::write_response;
pub use scan::HeadScanner;
pub use server::{
    accept, accept_extended_connect, AcceptedRequest, OriginCheck, OriginPolicy, RequestError,
    ServerConfig, SubprotocolRequest, SubprotocolSelector,
};
pub use ws_frame::DeflateParams;

/// The outcome of a push parser: a complete value with the number of bytes it
/// took, or a request for more bytes. Running out of input is not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parse<T> {
    /// A complete head was parsed.
    Complete(T),
    /// The input ends inside the head: read more and call again with all of it.
    NeedMore,
}
