//! permessage-deflate ([RFC 7692]) for one connection: a compressor for what
//! we send and a decompressor for what we receive, each created on first use
//! and dropped after every message when its context is not taken over, so a
//! connection that keeps no context holds no zlib state between messages.
//!
//! [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use ws_frame::{DeflateDirection, DeflateParams, Role};

use crate::{InflateError, ProtocolError};

/// The four bytes a sync flush ends with; stripped from every compressed
/// message and put back before inflating ([RFC 7692 section 7.2.1]).
///
/// [RFC 7692 section 7.2.1]: https://www.rfc-editor.org/rfc/rfc7692#section-7.2.1
pub(crate) const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// Output grows by at least this much at a time.
const OUT_STEP: usize = 4 * 1024;

/// The sending direction: compresses what we send.
#[derive(Debug)]
pub(crate) struct Deflater {
    outgoing: DeflateDirection,
    level: u32,
    compressor: Option<Compress>,
}

/// The receiving direction: inflates what we receive. Separate from the
/// [`Deflater`] so that the receive half of a split connection owns it.
#[derive(Debug)]
pub(crate) struct Inflater {
    incoming: DeflateDirection,
    decompressor: Option<Decompress>,
}

/// Both directions of a connection's permessage-deflate.
pub(crate) fn new(role: Role, params: &DeflateParams, level: u32) -> (Deflater, Inflater) {
    (
        Deflater {
            outgoing: params.outgoing(role),
            level,
            compressor: None,
        },
        Inflater {
            incoming: params.incoming(role),
            decompressor: None,
        },
    )
}

impl Deflater {
    /// Whether we can compress at all: zlib has no 8-bit raw window, so a
    /// side limited to 8 bits sends uncompressed.
    pub(crate) fn can_compress(&self) -> bool {
        self.outgoing.window_bits >= 9
    }

    /// The compressed frame of `message` this connection may send without
    /// compressing it itself: the shared one, when it keeps no context
    /// between messages (`server_no_context_takeover` for a server).
    pub(crate) fn shared<'m>(&self, message: &'m crate::PreparedMessage) -> Option<&'m Bytes> {
        self.outgoing
            .no_context_takeover
            .then(|| message.compressed(self.level, self.outgoing.window_bits))
    }

    /// Compresses one message into `out` (cleared first), without the tail.
    pub(crate) fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let (level, bits) = (self.level, self.outgoing.window_bits);
        let compressor = self.compressor.get_or_insert_with(|| {
            Compress::new_with_window_bits(Compression::new(level), false, bits)
        });
        out.clear();
        out.reserve(input.len() / 2 + 64);
        let mut consumed = 0;
        loop {
            if out.capacity() - out.len() < 64 {
                out.reserve(out.capacity().max(OUT_STEP));
            }
            let before = compressor.total_in();
            compressor
                .compress_vec(&input[consumed..], out, FlushCompress::Sync)
                .expect("deflate with a valid configuration does not fail");
            consumed += (compressor.total_in() - before) as usize;
            // The flush is complete once all input is in and zlib stopped
            // short of filling the output.
            if consumed == input.len() && out.len() < out.capacity() {
                break;
            }
        }
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        } else if out.is_empty() {
            // Nothing to flush (an empty message after a flush): zlib writes
            // no block at all; the empty message is one 0x00 byte
            // (RFC 7692 section 7.2.3.6).
            out.push(0x00);
        }
        if self.outgoing.no_context_takeover {
            self.compressor = None;
        }
    }
}

/// Compresses one message with a fresh context that is dropped afterwards:
/// the shared compressed frame of a [`PreparedMessage`](crate::PreparedMessage),
/// valid for every connection that keeps no context of its own.
pub(crate) fn compress_once(level: u32, window_bits: u8, input: &[u8]) -> Bytes {
    let mut deflater = Deflater {
        outgoing: DeflateDirection {
            no_context_takeover: true,
            window_bits,
        },
        level,
        compressor: None,
    };
    let mut out = Vec::new();
    deflater.compress(input, &mut out);
    Bytes::from(out)
}

impl Inflater {
    /// Inflates one message. Fails with 1009 as soon as the output would pass
    /// `limit` bytes, before memory grows past it (the output is gathered in
    /// chunks, never reallocated while inflating), and with 1007 on corrupt
    /// data.
    pub(crate) fn decompress(
        &mut self,
        input: &[u8],
        limit: usize,
    ) -> Result<Bytes, ProtocolError> {
        // An 8-bit stream inflates with a 9-bit window; zlib has no 8 raw.
        let bits = self.incoming.window_bits.max(9);
        let decompressor = self
            .decompressor
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, bits));
        let mut out = Chunks::new(input.len(), limit);
        let result = inflate_into(decompressor, input, &mut out)
            .and_then(|()| inflate_into(decompressor, &TAIL, &mut out));
        if self.incoming.no_context_takeover || result.is_err() {
            self.decompressor = None;
        }
        result.map(|()| out.into_bytes())
    }
}

impl Inflater {
    /// Inflates the front of a streamed message's compressed payload into
    /// at most `max_out` bytes: returns how much of `input` it consumed and
    /// what it produced. Output is bounded per call, so a small input that
    /// inflates to gigabytes comes out a piece at a time. Append [`TAIL`]
    /// to the message's last input, then call
    /// [`end_streamed`](Self::end_streamed).
    pub(crate) fn inflate_some(
        &mut self,
        input: &[u8],
        max_out: usize,
    ) -> Result<(usize, Vec<u8>), ProtocolError> {
        let bits = self.incoming.window_bits.max(9);
        let decompressor = self
            .decompressor
            .get_or_insert_with(|| Decompress::new_with_window_bits(false, bits));
        let mut out = Vec::with_capacity(max_out.max(1));
        let before_in = decompressor.total_in();
        let status = match decompressor.decompress_vec(input, &mut out, FlushDecompress::Sync) {
            Ok(status) => status,
            Err(error) => {
                self.decompressor = None;
                return Err(ProtocolError::Deflate(InflateError::Corrupt(
                    std::sync::Arc::new(error),
                )));
            }
        };
        let consumed = (decompressor.total_in() - before_in) as usize;
        if status == Status::StreamEnd {
            decompressor.reset(false);
        }
        if consumed == 0 && out.is_empty() && !input.is_empty() {
            self.decompressor = None;
            return Err(ProtocolError::Deflate(InflateError::Truncated));
        }
        Ok((consumed, out))
    }

    /// A streamed message ended: without context takeover the next one
    /// starts with a fresh window ([RFC 7692 section 7.2.2]).
    ///
    /// [RFC 7692 section 7.2.2]: https://www.rfc-editor.org/rfc/rfc7692#section-7.2.2
    pub(crate) fn end_streamed(&mut self) {
        if self.incoming.no_context_takeover {
            self.decompressor = None;
        }
    }
}

/// Inflated output: filled chunk by chunk, each allocated once at its final
/// size, so that memory tracks the output and never overshoots the limit.
struct Chunks {
    full: Vec<Vec<u8>>,
    current: Vec<u8>,
    total: usize,
    limit: usize,
}

impl Chunks {
    fn new(input_len: usize, limit: usize) -> Self {
        let first = input_len
            .saturating_mul(4)
            .clamp(OUT_STEP, CHUNK)
            .min(limit.saturating_add(1));
        Chunks {
            full: Vec::new(),
            current: Vec::with_capacity(first),
            total: 0,
            limit,
        }
    }

    /// A buffer with room, the next chunk once the current one is full.
    fn room(&mut self) -> Result<&mut Vec<u8>, ProtocolError> {
        if self.current.len() == self.current.capacity() {
            if self.total > self.limit {
                return Err(too_big(self.total, self.limit));
            }
            let size = CHUNK.min(self.limit.saturating_add(1) - self.total);
            let next = Vec::with_capacity(size);
            self.full.push(std::mem::replace(&mut self.current, next));
        }
        Ok(&mut self.current)
    }

    fn into_bytes(mut self) -> Bytes {
        if self.full.is_empty() {
            return Bytes::from(self.current);
        }
        let mut whole = Vec::with_capacity(self.total);
        for chunk in self.full.drain(..) {
            whole.extend_from_slice(&chunk);
        }
        whole.extend_from_slice(&self.current);
        Bytes::from(whole)
    }
}

/// Output chunks are at most this large.
const CHUNK: usize = 256 * 1024;

fn inflate_into(
    decompressor: &mut Decompress,
    input: &[u8],
    out: &mut Chunks,
) -> Result<(), ProtocolError> {
    let mut consumed = 0;
    loop {
        let buffer = out.room()?;
        let (before_in, before_out) = (decompressor.total_in(), decompressor.total_out());
        let status = decompressor
            .decompress_vec(&input[consumed..], buffer, FlushDecompress::Sync)
            .map_err(|error| {
                ProtocolError::Deflate(InflateError::Corrupt(std::sync::Arc::new(error)))
            })?;
        let room_left = buffer.len() < buffer.capacity();
        consumed += (decompressor.total_in() - before_in) as usize;
        let produced = (decompressor.total_out() - before_out) as usize;
        out.total += produced;
        if out.total > out.limit {
            return Err(too_big(out.total, out.limit));
        }
        if status == Status::StreamEnd {
            // A final block (BFINAL): what follows starts a new stream.
            decompressor.reset(false);
        }
        if consumed == input.len() && room_left {
            return Ok(());
        }
        let progress = produced > 0 || decompressor.total_in() != before_in;
        if !progress && room_left {
            return Err(ProtocolError::Deflate(InflateError::Truncated));
        }
    }
}

fn too_big(size: usize, limit: usize) -> ProtocolError {
    ProtocolError::MessageTooBig {
        size: size as u64,
        limit,
    }
}
