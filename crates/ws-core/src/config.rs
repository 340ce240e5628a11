use std::time::Duration;

/// The limits and behaviour of a connection. Every limit has a safe default;
/// the defaults suit a server facing the internet.
///
/// ```
/// use std::time::Duration;
/// let config = ws_core::Config::default()
///     .max_message_size(1 << 20)
///     .keepalive(Duration::from_secs(20), Duration::from_secs(20));
/// assert_eq!(config.max_message_size, 1 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// The largest frame payload accepted. A longer frame fails the connection
    /// with 1009 as soon as its header arrives, before any of it is buffered.
    /// Default 16 MiB.
    pub max_frame_size: usize,
    /// The largest message accepted, summed over its fragments. A message that
    /// would grow past it fails the connection with 1009 as soon as the
    /// header of the frame that crosses the limit arrives. Default 64 MiB.
    pub max_message_size: usize,
    /// The most fragments one message may have; a flood of tiny fragments
    /// past it fails the connection with 1009. Default 100,000.
    pub max_fragments: usize,
    /// Backpressure: once this many bytes wait to be written, `send_*`
    /// refuse with [`crate::SendError::BufferFull`] (the drivers' `send`
    /// waits instead) and automatic pongs are coalesced into one. Below it a
    /// message of any size is accepted, so what is queued stays under this
    /// plus one message. Default 16 MiB.
    pub max_buffered_output: usize,
    /// Split outgoing data messages into frames of at most this many payload
    /// bytes. `None` (the default) sends each message as one frame; zero is
    /// taken as one byte.
    pub fragment_size: Option<usize>,
    /// Answer pings with pongs automatically ([RFC 6455 section 5.5.2]).
    /// Default true.
    ///
    /// [RFC 6455 section 5.5.2]: https://www.rfc-editor.org/rfc/rfc6455#section-5.5.2
    pub auto_pong: bool,
    /// Send a ping this often; `None` (the default) sends none.
    pub keepalive_interval: Option<Duration>,
    /// Fail the connection with 1011 when a keepalive ping gets no pong within
    /// this time. Default 20 s.
    pub keepalive_timeout: Duration,
    /// How long to wait, once a close frame is sent, for the close handshake
    /// to finish and the transport to be closed before giving up on the peer.
    /// Default 10 s.
    pub close_timeout: Duration,
    /// With permessage-deflate negotiated, messages shorter than this many
    /// bytes are sent uncompressed: compressing them costs more time than it
    /// saves bytes ([RFC 7692 section 6.1] lets a sender choose per message).
    /// Default 64.
    ///
    /// [RFC 7692 section 6.1]: https://www.rfc-editor.org/rfc/rfc7692#section-6.1
    pub compression_threshold: usize,
    /// The zlib compression level, 0 (store) to 9 (smallest); a larger value
    /// is taken as 9. Default 1: most of the size saving at a fraction of
    /// level 6's time.
    pub compression_level: u32,
    /// A message (or control frame) whose first byte has arrived must be
    /// complete within this time, or the connection fails with 1008: a
    /// peer that trickles a frame byte by byte (slowloris) cannot hold a
    /// connection and its buffer for ever. Checked with the granularity of
    /// the timeout itself: a stalled message is detected after between one
    /// and two timeouts. `None` disables it. Default 60 s.
    pub message_timeout: Option<Duration>,
    /// Output that waits this long without a byte of it being written fails
    /// the connection: the peer stopped reading (its TCP window stayed full),
    /// and its queued messages would otherwise be held for ever. Detected
    /// after between one and two timeouts. `None` disables it. Default 30 s.
    pub write_timeout: Option<Duration>,
    /// The seed of the generator that makes a client's masking keys
    /// ([RFC 6455 section 5.3]). `None` (the default) seeds each connection
    /// from the operating system's entropy. With a seed, a connection is
    /// fully deterministic: the same inputs, times and seed give the same
    /// bytes out, which tests and replayed fuzz cases rely on. Every
    /// connection made with one seeded `Config` masks with the same key
    /// sequence, so leave it `None` outside tests. Servers do not mask.
    ///
    /// [RFC 6455 section 5.3]: https://www.rfc-editor.org/rfc/rfc6455#section-5.3
    pub rng_seed: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_fragments: 100_000,
            max_buffered_output: 16 << 20,
            fragment_size: None,
            auto_pong: true,
            keepalive_interval: None,
            keepalive_timeout: Duration::from_secs(20),
            close_timeout: Duration::from_secs(10),
            compression_threshold: 64,
            compression_level: 1,
            message_timeout: Some(Duration::from_secs(60)),
            write_timeout: Some(Duration::from_secs(30)),
            rng_seed: None,
        }
    }
}

impl Config {
    /// Sets [`Config::max_frame_size`].
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// Sets [`Config::max_message_size`].
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Sets [`Config::max_fragments`].
    pub fn max_fragments(mut self, count: usize) -> Self {
        self.max_fragments = count;
        self
    }

    /// Sets [`Config::max_buffered_output`].
    pub fn max_buffered_output(mut self, bytes: usize) -> Self {
        self.max_buffered_output = bytes;
        self
    }

    /// Sets [`Config::fragment_size`]; zero is taken as one byte.
    pub fn fragment_size(mut self, bytes: Option<usize>) -> Self {
        self.fragment_size = bytes.map(|bytes| bytes.max(1));
        self
    }

    /// Sets [`Config::auto_pong`].
    pub fn auto_pong(mut self, enabled: bool) -> Self {
        self.auto_pong = enabled;
        self
    }

    /// Pings every `interval` and fails the connection when a pong does not
    /// come back within `timeout`.
    pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Self {
        self.keepalive_interval = Some(interval);
        self.keepalive_timeout = timeout;
        self
    }

    /// Sets [`Config::close_timeout`].
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Sets [`Config::compression_threshold`].
    pub fn compression_threshold(mut self, bytes: usize) -> Self {
        self.compression_threshold = bytes;
        self
    }

    /// Sets [`Config::message_timeout`].
    pub fn message_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.message_timeout = timeout;
        self
    }

    /// Sets [`Config::write_timeout`].
    pub fn write_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.write_timeout = timeout;
        self
    }

    /// Sets [`Config::compression_level`] (clamped to 9).
    pub fn compression_level(mut self, level: u32) -> Self {
        self.compression_level = level.min(9);
        self
    }

    /// Sets [`Config::rng_seed`].
    pub fn rng_seed(mut self, seed: Option<u64>) -> Self {
        self.rng_seed = seed;
        self
    }

    /// [`Config::fragment_size`] as the connection uses it: the fields are
    /// public, so a zero set there is clamped here, where it is read.
    pub(crate) fn fragment_len(&self) -> Option<usize> {
        self.fragment_size.map(|bytes| bytes.max(1))
    }

    /// [`Config::compression_level`] as zlib takes it (at most 9).
    #[cfg(feature = "deflate")]
    pub(crate) fn zlib_level(&self) -> u32 {
        self.compression_level.min(9)
    }
}
