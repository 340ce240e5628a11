//! A hub's settings: its queue limit and what happens past it.

use ws_core::{CloseCode, Utf8Bytes};

/// What the hub does with a subscriber whose queue would pass
/// [`HubConfig::max_queued_bytes`]: a subscriber that reads slower than
/// messages are published. Whichever it is, a publish never waits and no
/// queue grows past the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlowPolicy {
    /// Drop the oldest queued messages until the new one fits (a chat that
    /// prefers the latest lines).
    DropOldest,
    /// Drop the older queued messages of the same topic first, then the
    /// oldest of any: each topic keeps its latest value (a price feed, a
    /// leaderboard).
    Conflate,
    /// Drop everything queued and close the socket with this code and
    /// reason ([RFC 6455 section 7.4.1]: 1008 policy violation, or 1013 try
    /// again later): the client knows it missed messages and can reconnect.
    ///
    /// [RFC 6455 section 7.4.1]: https://www.rfc-editor.org/rfc/rfc6455#section-7.4.1
    Close {
        /// The close code sent (1008 or 1013 are the usual ones).
        code: CloseCode,
        /// The reason sent, at most 123 bytes.
        reason: Utf8Bytes,
    },
}

impl SlowPolicy {
    /// [`SlowPolicy::Close`] with 1013 (try again later) and the reason
    /// "subscriber too slow".
    pub fn close_try_again_later() -> Self {
        SlowPolicy::Close {
            code: CloseCode::TRY_AGAIN_LATER,
            reason: Utf8Bytes::from_static("subscriber too slow"),
        }
    }
}

/// A hub's settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HubConfig {
    /// The most bytes of frames that may wait for one subscriber, beyond
    /// what its socket has already taken (bounded by that socket's
    /// `max_buffered_output`). Default 1 MiB. A message larger than this on
    /// its own is dropped for that subscriber (and counted).
    pub max_queued_bytes: usize,
    /// What happens when a subscriber's queue is full. Default
    /// [`SlowPolicy::DropOldest`].
    pub slow: SlowPolicy,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            max_queued_bytes: 1 << 20,
            slow: SlowPolicy::DropOldest,
        }
    }
}

impl HubConfig {
    /// Sets [`HubConfig::max_queued_bytes`].
    pub fn max_queued_bytes(mut self, bytes: usize) -> Self {
        self.max_queued_bytes = bytes;
        self
    }

    /// Sets [`HubConfig::slow`].
    pub fn slow(mut self, policy: SlowPolicy) -> Self {
        self.slow = policy;
        self
    }
}
