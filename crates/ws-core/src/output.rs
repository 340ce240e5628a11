//! The bytes a connection has queued for the transport.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};
use ws_frame::apply_mask;

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
        self.tail.reserve(head.len() + payload.len());
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
        self.tail.extend_from_slice(head);
        self.queued.push_back(self.tail.split().freeze());
        self.len += head.len() + payload.len();
        if !payload.is_empty() {
            self.queued.push_back(payload);
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

    /// Frees the append buffer (only when nothing is queued).
    pub(crate) fn release(&mut self) {
        if self.is_empty() {
            self.tail = BytesMut::new();
            self.queued = VecDeque::new();
        }
    }
}
