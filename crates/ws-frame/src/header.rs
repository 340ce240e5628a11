use core::fmt;

use crate::{CloseCode, Decode, OpCode};

/// The longest frame header: 2 bytes, an 8-byte extended length and a 4-byte mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// Which end of the connection we are. Clients mask every frame they send,
/// servers never do ([RFC 6455 section 5.1]).
///
/// [RFC 6455 section 5.1]: https://www.rfc-editor.org/rfc/rfc6455#section-5.1
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that sent the opening handshake; masks its frames.
    Client,
    /// The end that accepted the opening handshake; never masks.
    Server,
}

impl Role {
    /// The other end's role.
    pub const fn peer(self) -> Role {
        match self {
            Role::Client => Role::Server,
            Role::Server => Role::Client,
        }
    }
}

/// What a receiver accepts in frame headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiveRules {
    /// Our role: a server requires masked frames, a client requires unmasked ones.
    pub role: Role,
    /// The reserved bits a negotiated extension gave a meaning to, as they sit
    /// in the first byte (`0x40` RSV1, `0x20` RSV2, `0x10` RSV3). Zero when no
    /// extension was negotiated ([RFC 6455 section 5.2]).
    ///
    /// [RFC 6455 section 5.2]: https://www.rfc-editor.org/rfc/rfc6455#section-5.2
    pub allowed_rsv: u8,
}

impl ReceiveRules {
    /// The rules for a receiver in `role` with no extension negotiated.
    pub const fn new(role: Role) -> Self {
        ReceiveRules {
            role,
            allowed_rsv: 0,
        }
    }
}

/// A frame header ([RFC 6455 section 5.2]).
///
/// [RFC 6455 section 5.2]: https://www.rfc-editor.org/rfc/rfc6455#section-5.2
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The final fragment of a message.
    pub fin: bool,
    /// Reserved bit 1 (permessage-deflate's "compressed" bit).
    pub rsv1: bool,
    /// Reserved bit 2.
    pub rsv2: bool,
    /// Reserved bit 3.
    pub rsv3: bool,
    /// The frame's opcode.
    pub opcode: OpCode,
    /// The masking key, present on every frame a client sends.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes; at most 2^63 - 1.
    pub payload_len: u64,
}

/// Why a frame header was rejected. Every variant fails the connection with
/// close code 1002 (protocol error), see [`FrameError::close_code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// A reserved bit is set that no negotiated extension defines
    /// ([RFC 6455 section 5.2]). Holds the three bits as in the first byte.
    ///
    /// [RFC 6455 section 5.2]: https://www.rfc-editor.org/rfc/rfc6455#section-5.2
    ReservedBits(u8),
    /// A reserved opcode (3-7, 11-15).
    ReservedOpcode(u8),
    /// A control frame with a payload over 125 bytes ([RFC 6455 section 5.5]).
    ///
    /// [RFC 6455 section 5.5]: https://www.rfc-editor.org/rfc/rfc6455#section-5.5
    ControlFrameTooLong(u64),
    /// A control frame without FIN: control frames are never fragmented.
    FragmentedControlFrame,
    /// A 64-bit length with its most significant bit set.
    LengthTopBitSet,
    /// A length not in its minimal encoding (e.g. 100 sent in the 16-bit form).
    NonMinimalLength,
    /// A server received an unmasked frame ([RFC 6455 section 5.1]).
    ///
    /// [RFC 6455 section 5.1]: https://www.rfc-editor.org/rfc/rfc6455#section-5.1
    UnmaskedFrame,
    /// A client received a masked frame ([RFC 6455 section 5.1]).
    ///
    /// [RFC 6455 section 5.1]: https://www.rfc-editor.org/rfc/rfc6455#section-5.1
    MaskedFrame,
}

impl FrameError {
    /// The close code the connection is failed with: always 1002.
    pub const fn close_code(self) -> CloseCode {
        CloseCode::PROTOCOL_ERROR
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::ReservedBits(bits) => {
                write!(
                    f,
                    "reserved bits {bits:#04x} set without a negotiated extension"
                )
            }
            FrameError::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            FrameError::ControlFrameTooLong(len) => {
                write!(
                    f,
                    "control frame payload of {len} bytes (at most 125 allowed)"
                )
            }
            FrameError::FragmentedControlFrame => f.write_str("fragmented control frame"),
            FrameError::LengthTopBitSet => {
                f.write_str("64-bit payload length with its top bit set")
            }
            FrameError::NonMinimalLength => {
                f.write_str("payload length not in its minimal encoding")
            }
            FrameError::UnmaskedFrame => f.write_str("unmasked frame from a client"),
            FrameError::MaskedFrame => f.write_str("masked frame from a server"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for FrameError {}

impl FrameHeader {
    /// A final, unmasked frame with no reserved bits.
    pub const fn new(opcode: OpCode, payload_len: u64) -> Self {
        FrameHeader {
            fin: true,
            rsv1: false,
            rsv2: false,
            rsv3: false,
            opcode,
            mask: None,
            payload_len,
        }
    }

    /// Decodes a header from the start of `input`.
    ///
    /// Returns the header and its length in bytes, [`Decode::NeedMore`] when
    /// `input` ends inside the header, or the first rule the header breaks.
    /// Rules are checked as soon as the bytes that carry them are present, so a
    /// bad first byte is reported before the rest arrives.
    ///
    /// # Errors
    ///
    /// [`FrameError`] for the first rule the header breaks: reserved bits or
    /// opcode, masking wrong for the role, a control frame too long or
    /// fragmented, a length with its top bit set or not in its shortest form.
    #[inline]
    pub fn decode(
        input: &[u8],
        rules: &ReceiveRules,
    ) -> Result<Decode<(FrameHeader, usize)>, FrameError> {
        let Some(&first) = input.first() else {
            return Ok(Decode::NeedMore { needed: 2 });
        };
        let rsv = first & 0x70;
        if rsv & !rules.allowed_rsv != 0 {
            return Err(FrameError::ReservedBits(rsv & !rules.allowed_rsv));
        }
        let opcode = OpCode::from_u8(first & 0x0f)?;
        let fin = first & 0x80 != 0;
        if opcode.is_control() && !fin {
            return Err(FrameError::FragmentedControlFrame);
        }
        let Some(&second) = input.get(1) else {
            return Ok(Decode::NeedMore { needed: 2 });
        };
        let masked = second & 0x80 != 0;
        match (rules.role, masked) {
            (Role::Server, false) => return Err(FrameError::UnmaskedFrame),
            (Role::Client, true) => return Err(FrameError::MaskedFrame),
            _ => {}
        }
        let short_len = second & 0x7f;
        if opcode.is_control() && short_len > 125 {
            // The real length may still be unread; 126 is the smallest it can be.
            return Err(FrameError::ControlFrameTooLong(short_len.into()));
        }
        let length_bytes = match short_len {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header_len = 2 + length_bytes + if masked { 4 } else { 0 };
        if input.len() < header_len {
            return Ok(Decode::NeedMore { needed: header_len });
        }
        let payload_len = match short_len {
            126 => {
                let len = u16::from_be_bytes([input[2], input[3]]);
                if len < 126 {
                    return Err(FrameError::NonMinimalLength);
                }
                u64::from(len)
            }
            127 => {
                let mut bytes = [0u8; 8];
                bytes.copy_from_slice(&input[2..10]);
                let len = u64::from_be_bytes(bytes);
                if len & (1 << 63) != 0 {
                    return Err(FrameError::LengthTopBitSet);
                }
                if len <= u64::from(u16::MAX) {
                    return Err(FrameError::NonMinimalLength);
                }
                len
            }
            len => u64::from(len),
        };
        let mask = if masked {
            let at = 2 + length_bytes;
            Some([input[at], input[at + 1], input[at + 2], input[at + 3]])
        } else {
            None
        };
        let header = FrameHeader {
            fin,
            rsv1: first & 0x40 != 0,
            rsv2: first & 0x20 != 0,
            rsv3: first & 0x10 != 0,
            opcode,
            mask,
            payload_len,
        };
        Ok(Decode::Complete((header, header_len)))
    }

    /// The number of bytes [`FrameHeader::encode`] writes for this header.
    pub const fn encoded_len(&self) -> usize {
        let length_bytes = if self.payload_len < 126 {
            0
        } else if self.payload_len <= u16::MAX as u64 {
            2
        } else {
            8
        };
        2 + length_bytes + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Writes the header in its minimal encoding into `out` and returns how
    /// many bytes it took (2 to 14).
    ///
    /// The caller keeps lengths under 2^63; a larger one is clamped into the
    /// 63-bit range rather than producing a header every peer must reject.
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7)
            | (u8::from(self.rsv1) << 6)
            | (u8::from(self.rsv2) << 5)
            | (u8::from(self.rsv3) << 4)
            | self.opcode.as_u8();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut at = 2;
        if self.payload_len < 126 {
            out[1] = mask_bit | self.payload_len as u8;
        } else if self.payload_len <= u64::from(u16::MAX) {
            out[1] = mask_bit | 126;
            out[2..4].copy_from_slice(&(self.payload_len as u16).to_be_bytes());
            at = 4;
        } else {
            out[1] = mask_bit | 127;
            let len = self.payload_len & !(1 << 63);
            out[2..10].copy_from_slice(&len.to_be_bytes());
            at = 10;
        }
        if let Some(key) = self.mask {
            out[at..at + 4].copy_from_slice(&key);
            at += 4;
        }
        at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], role: Role) -> Result<Decode<(FrameHeader, usize)>, FrameError> {
        FrameHeader::decode(bytes, &ReceiveRules::new(role))
    }

    #[test]
    fn empty_input_needs_two_bytes() {
        assert_eq!(
            decode(&[], Role::Client),
            Ok(Decode::NeedMore { needed: 2 })
        );
        assert_eq!(
            decode(&[0x81], Role::Client),
            Ok(Decode::NeedMore { needed: 2 })
        );
    }

    #[test]
    fn extended_lengths_ask_for_the_whole_header() {
        assert_eq!(
            decode(&[0x82, 0x7e, 0x01], Role::Client),
            Ok(Decode::NeedMore { needed: 4 })
        );
        assert_eq!(
            decode(&[0x82, 0xff, 0, 0], Role::Server),
            Ok(Decode::NeedMore { needed: 14 })
        );
    }

    #[test]
    fn encoded_len_matches_encode() {
        for len in [0u64, 125, 126, 65535, 65536, 1 << 40] {
            for mask in [None, Some([1, 2, 3, 4])] {
                let header = FrameHeader {
                    mask,
                    ..FrameHeader::new(OpCode::Binary, len)
                };
                let mut out = [0u8; MAX_HEADER_LEN];
                assert_eq!(header.encode(&mut out), header.encoded_len());
            }
        }
    }
}
