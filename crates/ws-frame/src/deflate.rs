//! The parameters of permessage-deflate ([RFC 7692 section 7.1]) as agreed
//! in the opening handshake: what the compressed payloads on the wire look
//! like in each direction.
//!
//! [RFC 7692 section 7.1]: https://www.rfc-editor.org/rfc/rfc7692#section-7.1

use crate::Role;

/// The agreed permessage-deflate parameters, or, before the handshake, the
/// ones an endpoint asks for (client) or allows at most (server). The
/// defaults are the RFC's: 15-bit windows, context kept between messages.
///
/// Window bits are 8 to 15. zlib cannot compress with an 8-bit raw window,
/// so a side that agrees to send with 8 bits sends its messages
/// uncompressed, which [RFC 7692 section 6.1] allows for any message.
///
/// [RFC 7692 section 6.1]: https://www.rfc-editor.org/rfc/rfc7692#section-6.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    /// The server resets its compression context after every message
    /// ([RFC 7692 section 7.1.1.1]).
    ///
    /// [RFC 7692 section 7.1.1.1]: https://www.rfc-editor.org/rfc/rfc7692#section-7.1.1.1
    pub server_no_context_takeover: bool,
    /// The client resets its compression context after every message
    /// ([RFC 7692 section 7.1.1.2]).
    ///
    /// [RFC 7692 section 7.1.1.2]: https://www.rfc-editor.org/rfc/rfc7692#section-7.1.1.2
    pub client_no_context_takeover: bool,
    /// The largest LZ77 window the server compresses with, as a power of two
    /// ([RFC 7692 section 7.1.2.1]).
    ///
    /// [RFC 7692 section 7.1.2.1]: https://www.rfc-editor.org/rfc/rfc7692#section-7.1.2.1
    pub server_max_window_bits: u8,
    /// The largest LZ77 window the client compresses with
    /// ([RFC 7692 section 7.1.2.2]).
    ///
    /// [RFC 7692 section 7.1.2.2]: https://www.rfc-editor.org/rfc/rfc7692#section-7.1.2.2
    pub client_max_window_bits: u8,
}

impl Default for DeflateParams {
    fn default() -> Self {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: 15,
            client_max_window_bits: 15,
        }
    }
}

/// One direction of a compressed connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeflateDirection {
    /// The LZ77 window of the compressor, 8 to 15 bits.
    pub window_bits: u8,
    /// The context is reset after every message.
    pub no_context_takeover: bool,
}

impl DeflateParams {
    /// The window bits a value must lie in.
    pub const WINDOW_BITS: core::ops::RangeInclusive<u8> = 8..=15;

    /// The direction in which an endpoint in `role` sends.
    pub fn outgoing(&self, role: Role) -> DeflateDirection {
        match role {
            Role::Server => self.server_direction(),
            Role::Client => self.client_direction(),
        }
    }

    /// The direction in which an endpoint in `role` receives.
    pub fn incoming(&self, role: Role) -> DeflateDirection {
        match role {
            Role::Server => self.client_direction(),
            Role::Client => self.server_direction(),
        }
    }

    fn server_direction(&self) -> DeflateDirection {
        DeflateDirection {
            window_bits: self.server_max_window_bits,
            no_context_takeover: self.server_no_context_takeover,
        }
    }

    fn client_direction(&self) -> DeflateDirection {
        DeflateDirection {
            window_bits: self.client_max_window_bits,
            no_context_takeover: self.client_no_context_takeover,
        }
    }
}
