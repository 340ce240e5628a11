use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rand::RngCore;
use sha1::{Digest, Sha1};

/// The GUID that [RFC 6455 section 1.3] appends to the client's key.
///
/// [RFC 6455 section 1.3]: https://www.rfc-editor.org/rfc/rfc6455#section-1.3
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Computes `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`: the base64 of the
/// SHA-1 of the key followed by [`GUID`] ([RFC 6455 section 4.2.2]).
///
/// ```
/// assert_eq!(ws_handshake::accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
///
/// [RFC 6455 section 4.2.2]: https://www.rfc-editor.org/rfc/rfc6455#section-4.2.2
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(GUID.as_bytes());
    STANDARD.encode(sha1.finalize())
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64-encoded
/// ([RFC 6455 section 4.1]).
///
/// [RFC 6455 section 4.1]: https://www.rfc-editor.org/rfc/rfc6455#section-4.1
pub fn generate_key() -> String {
    let mut nonce = [0u8; 16];
    rand::rng().fill_bytes(&mut nonce);
    STANDARD.encode(nonce)
}

/// Whether a `Sec-WebSocket-Key` value is base64 of exactly 16 bytes.
pub(crate) fn is_valid_key(value: &[u8]) -> bool {
    let mut decoded = [0u8; 18];
    value.len() == 24 && matches!(STANDARD.decode_slice(value, &mut decoded), Ok(16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_valid_and_fresh() {
        let a = generate_key();
        let b = generate_key();
        assert!(is_valid_key(a.as_bytes()));
        assert_ne!(a, b);
    }

    #[test]
    fn keys_of_other_lengths_are_invalid() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ")); // padding missing
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZXM=")); // 17 bytes
        assert!(!is_valid_key(b"c2hvcnQ=")); // 5 bytes
        assert!(!is_valid_key(b"!!!!!!!!!!!!!!!!!!!!!!=="));
    }
}
