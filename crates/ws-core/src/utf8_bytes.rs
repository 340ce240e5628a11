//! `Utf8Bytes`: text that shares its buffer with the bytes it was received in.
//!
//! This is the one module of the crate with `unsafe` code: turning bytes that
//! were already validated into `&str` without validating them again.
#![allow(unsafe_code)]

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

/// Reference-counted UTF-8 text: a [`Bytes`] known to hold valid UTF-8.
///
/// Received text messages are validated once, as they arrive, and handed out
/// in the buffer they were read into: no second copy, no second validation.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// Wraps bytes after checking that they are UTF-8.
    ///
    /// # Errors
    ///
    /// [`std::str::Utf8Error`] when the bytes are not UTF-8.
    pub fn try_from_bytes(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        if simdutf8::basic::from_utf8(&bytes).is_ok() {
            return Ok(Utf8Bytes(bytes));
        }
        // Recompute with std for its detailed error.
        std::str::from_utf8(&bytes).map(|_| unreachable!("simdutf8 and std disagree"))
    }

    /// Wraps bytes the caller has already validated.
    ///
    /// Crate-private: only the receive path, which runs every byte through
    /// [`ws_frame::Utf8Validator`] first, calls it.
    pub(crate) fn from_validated(bytes: Bytes) -> Self {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Utf8Bytes(bytes)
    }

    /// A static string, without copying.
    pub const fn from_static(text: &'static str) -> Self {
        Utf8Bytes(Bytes::from_static(text.as_bytes()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor guarantees the bytes are valid UTF-8
        // (`try_from_bytes` checks, `from_validated` is only called on bytes
        // that passed the streaming validator, the `From` impls take `str`/`String`),
        // and `Bytes` is immutable.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Gives up the UTF-8 guarantee and returns the bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for Utf8Bytes {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Utf8Bytes {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<[u8]> for Utf8Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<String> for Utf8Bytes {
    fn from(text: String) -> Self {
        Utf8Bytes(Bytes::from(text))
    }
}

impl From<&str> for Utf8Bytes {
    fn from(text: &str) -> Self {
        Utf8Bytes(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl TryFrom<Bytes> for Utf8Bytes {
    type Error = std::str::Utf8Error;

    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        Utf8Bytes::try_from_bytes(bytes)
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_bytes_are_refused() {
        assert!(Utf8Bytes::try_from_bytes(Bytes::from_static(b"ok")).is_ok());
        assert_eq!(
            Utf8Bytes::try_from_bytes(Bytes::from_static(b"a\xffb"))
                .unwrap_err()
                .valid_up_to(),
            1
        );
    }
}
