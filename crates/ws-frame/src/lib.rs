//! The WebSocket wire format, as defined by [RFC 6455 section 5].
//!
//! This crate is the lowest layer of the toolkit. It knows how bytes on the wire
//! look, and nothing about connections, sockets or time:
//!
//! ```text
//!   ws-tokio / ws-async-std     drive a connection over a runtime's sockets
//!            |
//!         ws-core               the connection state machine (sans-IO)
//!        /       \
//!  ws-handshake   ws-frame  <-- you are here: headers, opcodes, close codes,
//!                                masking, streaming UTF-8 validation
//! ```
//!
//! Everything here is a pure function or a small value type: decoders take a
//! `&[u8]` and answer [`Decode::Complete`] or [`Decode::NeedMore`] ("need more
//! bytes" is not an error), and every error names the close code
//! ([RFC 6455 section 7.4]) the connection must be failed with.
//!
//! The crate is `no_std`; the default `std` feature only enables runtime CPU
//! feature detection for the SIMD UTF-8 validator.
//!
//! ```
//! use ws_frame::{Decode, FrameHeader, OpCode, ReceiveRules, Role};
//!
//! // RFC 6455 section 5.7: a single-frame masked text message "Hello".
//! let bytes = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
//! let rules = ReceiveRules::new(Role::Server);
//! let Decode::Complete((header, header_len)) = FrameHeader::decode(&bytes, &rules).unwrap() else {
//!     panic!("a whole header is there");
//! };
//! assert_eq!(header.opcode, OpCode::Text);
//! assert_eq!(header.payload_len, 5);
//!
//! let mut payload = bytes[header_len..].to_vec();
//! ws_frame::apply_mask(&mut payload, header.mask.unwrap(), 0);
//! assert_eq!(payload, b"Hello");
//! ```
//!
//! [RFC 6455 section 5]: https://www.rfc-editor.org/rfc/rfc6455#section-5
//! [RFC 6455 section 7.4]: https://www.rfc-editor.org/rfc/rfc6455#section-7.4
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![forbid(unsafe_code)]

mod close;
mod deflate;
mod header;
mod mask;
mod opcode;
mod utf8;

pub use close::{decode_close_payload, encode_close_payload, CloseCode, ClosePayloadError};
pub use deflate::{DeflateDirection, DeflateParams};
pub use header::{FrameError, FrameHeader, ReceiveRules, Role, MAX_HEADER_LEN};
pub use mask::apply_mask;
pub use opcode::OpCode;
pub use utf8::{validate_utf8, Utf8Error, Utf8Validator};

/// The outcome of a push decoder: a complete value, or a request for more bytes.
///
/// Running out of input is the normal state of a network decoder, so it is a
/// variant here rather than an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decode<T> {
    /// A complete value was decoded.
    Complete(T),
    /// The input ends before the value does. `needed` is the smallest total
    /// input length at which decoding can make progress.
    NeedMore {
        /// The input length, counted from the start, needed for the next attempt.
        needed: usize,
    },
}
