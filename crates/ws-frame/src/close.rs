use core::fmt;

/// A close status code ([RFC 6455 section 7.4]).
///
/// Any `u16` can be held, because a peer can put any two bytes on the wire; use
/// [`CloseCode::is_allowed_on_wire`] to tell whether a code may be sent or received.
///
/// [RFC 6455 section 7.4]: https://www.rfc-editor.org/rfc/rfc6455#section-7.4
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection was fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: the endpoint received a data type it cannot accept.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1004: reserved; never on the wire.
    pub const RESERVED: CloseCode = CloseCode(1004);
    /// 1005: "no status code was present"; for reporting only, never on the wire.
    pub const NO_STATUS_RECEIVED: CloseCode = CloseCode(1005);
    /// 1006: the connection ended without a close frame; for reporting only, never on the wire.
    pub const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: message data did not match its type (e.g. invalid UTF-8 in a text message).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: the message violates the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message is too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected the server to negotiate an extension.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server met an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway or proxy received an invalid response (IANA registry).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: the TLS handshake failed; for reporting only, never on the wire.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether this code may appear in a close frame ([RFC 6455 section 7.4]).
    ///
    /// 0-999 are unused, 1004-1006 and 1015 are reserved for reporting, 1016-2999
    /// are reserved for future protocol revisions, and anything from 5000 up is
    /// outside every range. 3000-3999 (registered) and 4000-4999 (private use)
    /// are allowed.
    ///
    /// [RFC 6455 section 7.4]: https://www.rfc-editor.org/rfc/rfc6455#section-7.4
    pub const fn is_allowed_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// The code's name from the registry, if it has one.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1000 => "normal closure",
            1001 => "going away",
            1002 => "protocol error",
            1003 => "unsupported data",
            1004 => "reserved",
            1005 => "no status received",
            1006 => "abnormal closure",
            1007 => "invalid frame payload data",
            1008 => "policy violation",
            1009 => "message too big",
            1010 => "mandatory extension",
            1011 => "internal error",
            1012 => "service restart",
            1013 => "try again later",
            1014 => "bad gateway",
            1015 => "TLS handshake",
            _ => return None,
        })
    }
}

impl From<u16> for CloseCode {
    fn from(value: u16) -> Self {
        CloseCode(value)
    }
}

impl From<CloseCode> for u16 {
    fn from(value: CloseCode) -> Self {
        value.0
    }
}

impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "CloseCode({} {name})", self.0),
            None => write!(f, "CloseCode({})", self.0),
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// Why a close frame's payload was rejected ([RFC 6455 section 5.5.1]).
///
/// [RFC 6455 section 5.5.1]: https://www.rfc-editor.org/rfc/rfc6455#section-5.5.1
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosePayloadError {
    /// The payload is one byte long: too short for a code, too long for none.
    /// Close code 1002.
    OneByte,
    /// The code may not appear on the wire. Close code 1002.
    InvalidCode(CloseCode),
    /// The reason is not valid UTF-8. Close code 1007.
    InvalidUtf8,
    /// The reason is longer than 123 bytes (when encoding), or the payload
    /// longer than 125 bytes (when decoding). Close code 1002.
    TooLong,
}

impl ClosePayloadError {
    /// The close code a connection is failed with on this error.
    pub const fn close_code(self) -> CloseCode {
        match self {
            ClosePayloadError::InvalidUtf8 => CloseCode::INVALID_PAYLOAD,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ClosePayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClosePayloadError::OneByte => f.write_str("close frame payload of one byte"),
            ClosePayloadError::InvalidCode(code) => {
                write!(f, "close code {} may not be sent on the wire", code.0)
            }
            ClosePayloadError::InvalidUtf8 => f.write_str("close reason is not valid UTF-8"),
            ClosePayloadError::TooLong => f.write_str(
                "close reason longer than 123 bytes (a control frame carries at most 125)",
            ),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ClosePayloadError {}

/// Decodes a close frame's payload: `None` for an empty payload (the peer gave
/// no code, reported as 1005), or the code and the UTF-8 reason.
///
/// ```
/// use ws_frame::{decode_close_payload, CloseCode};
/// assert_eq!(decode_close_payload(b"\x03\xe8bye"), Ok(Some((CloseCode::NORMAL, "bye"))));
/// assert_eq!(decode_close_payload(b""), Ok(None));
/// ```
///
/// # Errors
///
/// [`ClosePayloadError`] for a one-byte payload, a code that may not be sent, or a reason that
/// is not UTF-8 (RFC 6455 section 5.5.1).
pub fn decode_close_payload(
    payload: &[u8],
) -> Result<Option<(CloseCode, &str)>, ClosePayloadError> {
    match payload.len() {
        0 => Ok(None),
        1 => Err(ClosePayloadError::OneByte),
        126.. => Err(ClosePayloadError::TooLong),
        _ => {
            let code = CloseCode(u16::from_be_bytes([payload[0], payload[1]]));
            if !code.is_allowed_on_wire() {
                return Err(ClosePayloadError::InvalidCode(code));
            }
            let reason = simdutf8::basic::from_utf8(&payload[2..])
                .map_err(|_| ClosePayloadError::InvalidUtf8)?;
            Ok(Some((code, reason)))
        }
    }
}

/// Encodes a close frame's payload (code and reason) into `out`, returning the
/// payload length. `None` encodes the empty payload.
///
/// The code must be allowed on the wire and the reason at most 123 bytes, so
/// that the whole payload fits a control frame.
///
/// # Errors
///
/// [`ClosePayloadError`] for a code that may not be sent or a reason over 123 bytes.
pub fn encode_close_payload(
    close: Option<(CloseCode, &str)>,
    out: &mut [u8; 125],
) -> Result<usize, ClosePayloadError> {
    let Some((code, reason)) = close else {
        return Ok(0);
    };
    if !code.is_allowed_on_wire() {
        return Err(ClosePayloadError::InvalidCode(code));
    }
    if reason.len() > 123 {
        return Err(ClosePayloadError::TooLong);
    }
    out[..2].copy_from_slice(&code.0.to_be_bytes());
    out[2..2 + reason.len()].copy_from_slice(reason.as_bytes());
    Ok(2 + reason.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_rule_matches_rfc_6455_section_7_4() {
        for code in 0..=u16::MAX {
            let expected = match code {
                0..=999 => false,
                1004 | 1005 | 1006 | 1015 => false,
                1000..=1014 => true,
                1016..=2999 => false,
                3000..=4999 => true,
                _ => false,
            };
            assert_eq!(CloseCode(code).is_allowed_on_wire(), expected, "{code}");
        }
    }

    #[test]
    fn close_payload_round_trips() {
        let mut out = [0u8; 125];
        let reason = "é".repeat(61); // 122 bytes
        let n = encode_close_payload(Some((CloseCode(4000), &reason)), &mut out).unwrap();
        assert_eq!(n, 124);
        assert_eq!(
            decode_close_payload(&out[..n]),
            Ok(Some((CloseCode(4000), reason.as_str())))
        );
    }

    #[test]
    fn close_payload_rejections_carry_their_close_codes() {
        assert_eq!(
            decode_close_payload(&[0x03]),
            Err(ClosePayloadError::OneByte)
        );
        assert_eq!(
            decode_close_payload(&[0x03, 0xed]),
            Err(ClosePayloadError::InvalidCode(CloseCode(1005)))
        );
        assert_eq!(
            decode_close_payload(&[0x03, 0xe8, 0xff]),
            Err(ClosePayloadError::InvalidUtf8)
        );
        assert_eq!(
            ClosePayloadError::InvalidUtf8.close_code(),
            CloseCode::INVALID_PAYLOAD
        );
        assert_eq!(
            ClosePayloadError::OneByte.close_code(),
            CloseCode::PROTOCOL_ERROR
        );
        let long = [b'a'; 124];
        let mut out = [0u8; 125];
        assert_eq!(
            encode_close_payload(
                Some((CloseCode::NORMAL, core::str::from_utf8(&long).unwrap())),
                &mut out
            ),
            Err(ClosePayloadError::TooLong)
        );
        assert_eq!(
            encode_close_payload(Some((CloseCode::ABNORMAL, "")), &mut out),
            Err(ClosePayloadError::InvalidCode(CloseCode::ABNORMAL))
        );
        assert_eq!(encode_close_payload(None, &mut out), Ok(0));
    }
}
