//! The bytes a connection has queued for the transport.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};
use ws_frame::apply_mask;

/// An emptied append buffer larger than this is freed on release, not
/// handed back to the driver for reuse.
pub(crate) const REUSE_MAX: usize = 64 * 1024;

/// Frames waiting to be written, in order: segments already closed off
/// (`queued`), then the buffer new frames are appended to (`tail`).
///
/// Frame headers, control frames, masked (client) payloads and small
/// payloads are copied into `tail`. A large unmasked payload the application
/// handed over as [`Bytes`] is queued as it is, by reference: a server
/// echoing a 1 MiB message writes it from the buffer it was received in,
/// with one vectored write for header and payload.
#[derive(Debug, Default)]
pub(crate) struct Output {
    queued: VecDeque<Bytes>,
    tail: BytesMut,
    len: usize,
}

impl Output {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends a frame: its encoded header, then its payload, masked with
    /// `mask` when given (RFC 6455 section 5.3).
    pub(crate) fn push_frame(&mut self, head: &[u8], payload: &[u8], mask: Option<[u8; 4]>) {
        self.reserve(head.len() + payload.len());
        self.tail.extend_from_slice(head);
        let start = self.tail.len();
        self.tail.extend_from_slice(payload);
        if let Some(key) = mask {
            apply_mask(&mut self.tail[start..], key, 0);
        }
        self.len += head.len() + payload.len();
    }

    /// Appends a frame whose (unmasked) payload is queued by reference.
    pub(crate) fn push_frame_shared(&mut self, head: &[u8], payload: Bytes) {
        self.reserve(head.len());
        self.tail.extend_from_slice(head);
        self.queued.push_back(self.tail.split().freeze());
        self.len += head.len() + payload.len();
        if !payload.is_empty() {
            self.queued.push_back(payload);
        }
    }

    fn reserve(&mut self, additional: usize) {
        self.tail.reserve(additional);
    }

    /// Whether the append buffer has no memory (released, or never used).
    pub(crate) fn has_no_buffer(&self) -> bool {
        self.tail.capacity() == 0 && self.is_empty()
    }

    /// Takes `buffer` (emptied) as the append buffer, if this one has none.
    pub(crate) fn provide(&mut self, mut buffer: BytesMut) {
        if self.has_no_buffer() {
            buffer.clear();
            self.tail = buffer;
        }
    }

    /// The next contiguous bytes to write (empty when nothing is queued).
    pub(crate) fn first(&self) -> &[u8] {
        match self.queued.front() {
            Some(segment) => segment,
            None => &self.tail,
        }
    }

    /// Fills `dst` with the queued segments in order; returns how many.
    pub(crate) fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let segments = self
            .queued
            .iter()
            .map(|segment| &segment[..])
            .chain(std::iter::once(&self.tail[..]))
            .filter(|segment| !segment.is_empty());
        let mut count = 0;
        for (slot, segment) in dst.iter_mut().zip(segments) {
            *slot = IoSlice::new(segment);
            count += 1;
        }
        count
    }

    /// Drops the first `written` bytes.
    pub(crate) fn advance(&mut self, mut written: usize) {
        written = written.min(self.len);
        self.len -= written;
        while written > 0 {
            match self.queued.front_mut() {
                Some(segment) if segment.len() <= written => {
                    written -= segment.len();
                    self.queued.pop_front();
                }
                Some(segment) => {
                    segment.advance(written);
                    return;
                }
                None if written == self.tail.len() => {
                    // All written: keep the whole buffer for what comes next.
                    self.tail.clear();
                    return;
                }
                None => {
                    self.tail.advance(written);
                    return;
                }
            }
        }
    }

    /// Takes everything queued as one buffer.
    pub(crate) fn take(&mut self) -> Bytes {
        let len = std::mem::take(&mut self.len);
        if self.queued.is_empty() {
            return self.tail.split().freeze();
        }
        let mut all = BytesMut::with_capacity(len);
        for segment in self.queued.drain(..) {
            all.extend_from_slice(&segment);
        }
        all.extend_from_slice(&self.tail.split());
        all.freeze()
    }

    /// The capacity of the append buffer.
    pub(crate) fn capacity(&self) -> usize {
        self.tail.capacity()
    }

    /// Gives up the append buffer and the queue (only when nothing is
    /// queued): the buffer is returned for reuse, or freed when it is
    /// larger than [`REUSE_MAX`].
    pub(crate) fn release(&mut self) -> Option<BytesMut> {
        if !self.is_empty() {
            return None;
        }
        if self.queued.capacity() > 0 {
            self.queued = VecDeque::new();
        }
        let tail = std::mem::take(&mut self.tail);
        (tail.capacity() > 0 && tail.capacity() <= REUSE_MAX).then_some(tail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection that wrote everything and goes idle gives its buffer up
    /// (even one written out to its very end, which reports no capacity
    /// left), and another connection given that buffer sends from it.
    #[test]
    fn written_out_buffer_is_released_and_reused_by_the_next_sender() {
        let mut idle = Output::default();
        idle.push_frame(&[0x82, 20], &[7; 20], None);
        let buffer = idle.first().as_ptr();
        idle.advance(22);
        assert!(idle.is_empty());
        let released = idle.release().expect("a small buffer is handed back");
        assert_eq!(idle.capacity(), 0, "an idle connection holds no buffer");
        assert!(idle.has_no_buffer());

        let mut next = Output::default();
        next.provide(released);
        next.push_frame(&[0x82, 2], b"hi", None);
        assert_eq!(
            next.first().as_ptr(),
            buffer,
            "the released buffer was reused"
        );
        assert_eq!(next.first(), &[0x82, 2, b'h', b'i']);
        assert!(next.release().is_none(), "nothing released while queued");
        assert_eq!(next.first().as_ptr(), buffer);
    }

    /// Output still waiting is never given up, and a buffer too large to
    /// keep is freed rather than handed back.
    #[test]
    fn release_keeps_queued_output_and_frees_a_large_buffer() {
        let mut busy = Output::default();
        busy.push_frame(&[0x82, 126, 0, 4], &[1; 4], None);
        busy.advance(3);
        assert!(busy.release().is_none());
        assert_eq!(busy.first(), &[4, 1, 1, 1, 1]);

        let mut large = Output::default();
        large.push_frame(&[], &vec![0; REUSE_MAX + 1], None);
        large.advance(REUSE_MAX + 1);
        assert!(large.release().is_none());
        assert_eq!(large.capacity(), 0);
    }
}
