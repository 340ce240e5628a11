use core::fmt;

use crate::CloseCode;

/// Invalid UTF-8 in a text message. Close code 1007 ([RFC 6455 section 8.1]).
///
/// [RFC 6455 section 8.1]: https://www.rfc-editor.org/rfc/rfc6455#section-8.1
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf8Error {
    /// The offset, from the start of the validated stream, of the first byte of
    /// the sequence that is invalid (or, at [`Utf8Validator::finish`], incomplete).
    pub position: u64,
}

impl Utf8Error {
    /// The close code a connection is failed with: 1007.
    pub const fn close_code(self) -> CloseCode {
        CloseCode::INVALID_PAYLOAD
    }
}

impl fmt::Display for Utf8Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid UTF-8 at byte {} of a text message",
            self.position
        )
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Utf8Error {}

/// Below this length, ASCII is checked a word at a time before simdutf8,
/// whose setup costs more than the whole check for a short payload.
const SHORT: usize = 64;

/// Whether `bytes` is valid UTF-8: the quick check, no error position.
#[inline]
fn is_valid(bytes: &[u8]) -> bool {
    (bytes.len() < SHORT && bytes.is_ascii()) || simdutf8::basic::from_utf8(bytes).is_ok()
}

/// Validates a payload that arrived whole: a text message in one frame, a
/// close reason ([RFC 6455 section 8.1]). Short ASCII, the usual small
/// message, is checked a word at a time; the rest with simdutf8. The error
/// gives the position of the first invalid byte.
///
/// ```
/// assert!(ws_frame::validate_utf8("naïve €".as_bytes()).is_ok());
/// assert_eq!(ws_frame::validate_utf8(b"ok\xff").unwrap_err().position, 2);
/// assert_eq!(ws_frame::validate_utf8(b"cut \xe2\x82").unwrap_err().position, 4);
/// ```
///
/// [RFC 6455 section 8.1]: https://www.rfc-editor.org/rfc/rfc6455#section-8.1
///
/// # Errors
///
/// [`Utf8Error`] at the first invalid byte, or for a truncated last character.
pub fn validate_utf8(bytes: &[u8]) -> Result<(), Utf8Error> {
    if is_valid(bytes) {
        return Ok(());
    }
    let mut validator = Utf8Validator::new();
    validator.feed(bytes)?;
    validator.finish()
}

/// Validates UTF-8 that arrives in pieces split at arbitrary byte boundaries.
///
/// A text message may be fragmented across frames, and a frame across reads, so
/// a character may be cut anywhere. The validator keeps the at most three bytes
/// of an unfinished character between calls and reports an invalid byte in the
/// call that delivers it, without waiting for the end of the message (the
/// "fail fast" behaviour of [RFC 6455 section 8.1]). The bulk is checked with
/// `simdutf8`.
///
/// ```
/// use ws_frame::Utf8Validator;
/// let euro = "€".as_bytes(); // three bytes
/// let mut validator = Utf8Validator::new();
/// validator.feed(&euro[..1]).unwrap();
/// validator.feed(&euro[1..]).unwrap();
/// validator.finish().unwrap();
///
/// let mut validator = Utf8Validator::new();
/// assert_eq!(validator.feed(b"ok\xff more").unwrap_err().position, 2);
/// ```
///
/// [RFC 6455 section 8.1]: https://www.rfc-editor.org/rfc/rfc6455#section-8.1
#[derive(Debug, Clone, Default)]
pub struct Utf8Validator {
    partial: [u8; 4],
    partial_len: u8,
    /// Bytes accepted so far, including the partial character.
    consumed: u64,
}

impl Utf8Validator {
    /// A validator at the start of a message.
    pub const fn new() -> Self {
        Utf8Validator {
            partial: [0; 4],
            partial_len: 0,
            consumed: 0,
        }
    }

    /// Whether the bytes fed so far end on a character boundary.
    pub const fn is_at_boundary(&self) -> bool {
        self.partial_len == 0
    }

    /// Checks the next piece of the message.
    ///
    /// # Errors
    ///
    /// [`Utf8Error`] at the first byte that can start no valid sequence.
    pub fn feed(&mut self, input: &[u8]) -> Result<(), Utf8Error> {
        let mut rest = input;
        if self.partial_len > 0 {
            rest = self.complete_partial(rest)?;
            if self.partial_len > 0 {
                // `rest` ran out before the character was complete.
                return Ok(());
            }
        }
        if is_valid(rest) {
            self.consumed += rest.len() as u64;
            return Ok(());
        }
        // Slow path, taken once per message at most: find where and why.
        match simdutf8::compat::from_utf8(rest) {
            Ok(_) => {
                self.consumed += rest.len() as u64;
                Ok(())
            }
            Err(error) => {
                let valid = error.valid_up_to();
                if error.error_len().is_some() {
                    return Err(Utf8Error {
                        position: self.consumed + valid as u64,
                    });
                }
                // A valid prefix of a character at the very end: keep it.
                let tail = &rest[valid..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                self.consumed += rest.len() as u64;
                Ok(())
            }
        }
    }

    /// Declares the end of the message: an unfinished character is an error.
    /// The validator is reset for the next message either way.
    ///
    /// # Errors
    ///
    /// [`Utf8Error`] when the message ends inside a character.
    pub fn finish(&mut self) -> Result<(), Utf8Error> {
        let result = if self.partial_len == 0 {
            Ok(())
        } else {
            Err(Utf8Error {
                position: self.consumed - u64::from(self.partial_len),
            })
        };
        *self = Utf8Validator::new();
        result
    }

    /// Feeds bytes one at a time into the unfinished character until it is
    /// complete or proven invalid; returns what is left of `input`.
    fn complete_partial<'a>(&mut self, input: &'a [u8]) -> Result<&'a [u8], Utf8Error> {
        let start = self.consumed - u64::from(self.partial_len);
        let mut used = 0;
        while used < input.len() {
            let len = usize::from(self.partial_len);
            self.partial[len] = input[used];
            self.partial_len += 1;
            used += 1;
            match simdutf8::compat::from_utf8(&self.partial[..len + 1]) {
                Ok(_) => {
                    self.partial_len = 0;
                    break;
                }
                Err(error) if error.error_len().is_some() => {
                    // The first bad byte is the partial's own start only if the
                    // lead byte sequence was broken there; report the sequence start.
                    return Err(Utf8Error {
                        position: start + error.valid_up_to() as u64,
                    });
                }
                Err(_) => {}
            }
        }
        self.consumed += used as u64;
        Ok(&input[used..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_byte_character_split_at_every_point_is_accepted() {
        let text = "a😀b".as_bytes();
        for cut_a in 0..=text.len() {
            for cut_b in cut_a..=text.len() {
                let mut validator = Utf8Validator::new();
                validator.feed(&text[..cut_a]).unwrap();
                validator.feed(&text[cut_a..cut_b]).unwrap();
                validator.feed(&text[cut_b..]).unwrap();
                validator.finish().unwrap();
            }
        }
    }

    #[test]
    fn unfinished_character_at_message_end_is_rejected() {
        let mut validator = Utf8Validator::new();
        validator.feed(b"ab\xf0\x9f").unwrap();
        assert_eq!(validator.finish(), Err(Utf8Error { position: 2 }));
    }

    #[test]
    fn invalid_continuation_fails_in_the_call_that_delivers_it() {
        // 0xF4 0x90 is above U+10FFFF: invalid as soon as the second byte arrives.
        let mut validator = Utf8Validator::new();
        validator.feed(b"xyz\xf4").unwrap();
        assert_eq!(
            validator.feed(b"\x90\x80\x80"),
            Err(Utf8Error { position: 3 })
        );
    }

    #[test]
    fn surrogate_is_rejected_at_its_first_byte() {
        let mut validator = Utf8Validator::new();
        assert_eq!(
            validator.feed(b"\xed\xa0\x80"),
            Err(Utf8Error { position: 0 })
        );
    }
}
