use crate::FrameError;

/// A frame's opcode ([RFC 6455 section 5.2]).
///
/// Reserved opcodes (3-7 and 11-15) have no variant: decoding one is a
/// [`FrameError::ReservedOpcode`].
///
/// [RFC 6455 section 5.2]: https://www.rfc-editor.org/rfc/rfc6455#section-5.2
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpCode {
    /// 0x0: continues a fragmented message.
    Continuation = 0x0,
    /// 0x1: the first frame of a text message.
    Text = 0x1,
    /// 0x2: the first frame of a binary message.
    Binary = 0x2,
    /// 0x8: a close frame ([RFC 6455 section 5.5.1]).
    ///
    /// [RFC 6455 section 5.5.1]: https://www.rfc-editor.org/rfc/rfc6455#section-5.5.1
    Close = 0x8,
    /// 0x9: a ping ([RFC 6455 section 5.5.2]).
    ///
    /// [RFC 6455 section 5.5.2]: https://www.rfc-editor.org/rfc/rfc6455#section-5.5.2
    Ping = 0x9,
    /// 0xA: a pong ([RFC 6455 section 5.5.3]).
    ///
    /// [RFC 6455 section 5.5.3]: https://www.rfc-editor.org/rfc/rfc6455#section-5.5.3
    Pong = 0xA,
}

impl OpCode {
    /// Decodes the low four bits of a frame's first byte.
    ///
    /// # Errors
    ///
    /// [`FrameError::ReservedOpcode`] for the reserved values 3 to 7 and 11 to 15.
    pub const fn from_u8(value: u8) -> Result<OpCode, FrameError> {
        match value {
            0x0 => Ok(OpCode::Continuation),
            0x1 => Ok(OpCode::Text),
            0x2 => Ok(OpCode::Binary),
            0x8 => Ok(OpCode::Close),
            0x9 => Ok(OpCode::Ping),
            0xA => Ok(OpCode::Pong),
            other => Err(FrameError::ReservedOpcode(other)),
        }
    }

    /// The opcode's four-bit value.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// Whether this is a control opcode (close, ping, pong): at most 125 bytes
    /// of payload, never fragmented ([RFC 6455 section 5.5]).
    ///
    /// [RFC 6455 section 5.5]: https://www.rfc-editor.org/rfc/rfc6455#section-5.5
    pub const fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }

    /// Whether this is a data opcode (continuation, text, binary).
    pub const fn is_data(self) -> bool {
        !self.is_control()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_four_bit_value_decodes_or_is_reserved() {
        for value in 0u8..16 {
            match OpCode::from_u8(value) {
                Ok(opcode) => assert_eq!(opcode.as_u8(), value),
                Err(error) => {
                    assert!(matches!(value, 3..=7 | 11..=15), "{value}");
                    assert_eq!(error, FrameError::ReservedOpcode(value));
                }
            }
        }
    }

    #[test]
    fn control_and_data_opcodes_are_told_apart() {
        assert!(OpCode::Close.is_control());
        assert!(OpCode::Ping.is_control());
        assert!(OpCode::Pong.is_control());
        assert!(OpCode::Text.is_data());
        assert!(OpCode::Binary.is_data());
        assert!(OpCode::Continuation.is_data());
    }
}
