//! The driver's per-thread buffers: the read scratch that reads go into
//! between frames, and the one spare write buffer that an idle connection
//! gives up and the next sender on the thread takes. ws-core keeps no pool
//! (it is deterministic and owns no global state); this is where the
//! reuse lives.

use std::cell::{Cell, RefCell};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;
use ws_core::{Connection, Receiver};

use crate::runtime::ReadTransport;

/// Read at least this much at a time into a connection's own buffer (while
/// a frame is arriving); more when the frame's header says more is coming.
const READ_CHUNK: usize = 8 * 1024;

/// A header alone never makes a read reserve more than this beyond what has
/// arrived, nor more than [`RESERVE_GROWTH`] times what has arrived: the
/// buffer grows with the data, not with the claimed length.
const MAX_RESERVE: usize = 256 * 1024;

/// How many times the bytes already received of a frame a read may reserve
/// for the rest of it. A 1 MiB frame whose first 64 KiB are in takes one
/// reallocation and, when the socket holds the rest, one more read; a peer
/// that claims a large frame and stalls makes a connection hold at most this
/// multiple of what it sent (and never more than the message size limit).
const RESERVE_GROWTH: usize = 16;

/// The size of the per-thread buffer that reads go into while a connection
/// has nothing buffered.
const SCRATCH_SIZE: usize = 64 * 1024;

/// A read between frames of at least this many bytes is kept, not copied,
/// where the runtime allows it ([`ReadTransport::READS_UNINIT`]).
const KEEP_MIN: usize = 8 * 1024;

thread_local! {
    /// Reads between frames land here, and only what arrived is copied into
    /// the connection: an idle connection holds no read buffer, and a busy
    /// one gets a buffer the size of its data, not of a read chunk.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };

    /// One empty write buffer per thread: a connection that goes idle
    /// leaves its buffer here ([`Connection::release_idle_buffers`]), and
    /// the next one on this thread that sends takes it. Idle connections
    /// hold no write buffer, and a busy thread does not allocate one per
    /// message.
    static SPARE: Cell<Option<BytesMut>> = const { Cell::new(None) };

    /// Reads between frames land here on a runtime that reads into
    /// uninitialized memory: a large read becomes the connection's buffer
    /// as it is, a small one is copied out as from [`SCRATCH`].
    static FRESH: Cell<Option<BytesMut>> = const { Cell::new(None) };
}

/// Frees `conn`'s idle buffers, keeping its write buffer as the thread's spare.
pub(crate) fn release_idle(conn: &mut Connection) {
    if let Some(buffer) = conn.release_idle_buffers() {
        SPARE.set(Some(buffer));
    }
}

/// Gives `conn` the thread's spare write buffer if it has none: called
/// before a command queues output.
pub(crate) fn lend_spare(conn: &mut Connection) {
    if conn.needs_write_buffer() {
        if let Some(buffer) = SPARE.take() {
            conn.provide_write_buffer(buffer);
        }
    }
}

/// Where a read goes: a connection's input, attached or detached (the
/// reader half of a split socket holds a [`Receiver`] of its own).
pub(crate) trait Input {
    /// How many more bytes would complete the frame being received.
    fn frame_bytes_wanted(&self) -> usize;
    /// The buffer received bytes are appended to.
    fn receive_buffer(&mut self) -> &mut BytesMut;
}

impl Input for Connection {
    fn frame_bytes_wanted(&self) -> usize {
        Connection::frame_bytes_wanted(self)
    }

    fn receive_buffer(&mut self) -> &mut BytesMut {
        Connection::receive_buffer(self)
    }
}

impl Input for Receiver {
    fn frame_bytes_wanted(&self) -> usize {
        Receiver::frame_bytes_wanted(self)
    }

    fn receive_buffer(&mut self) -> &mut BytesMut {
        Receiver::receive_buffer(self)
    }
}

/// Reads into the connection's input: into its own buffer while a frame is
/// arriving, else into the per-thread buffer, copying only what arrived.
pub(crate) fn poll_read<S, R: ReadTransport<S>>(
    io: Pin<&mut S>,
    cx: &mut Context<'_>,
    input: &mut impl Input,
) -> Poll<io::Result<usize>> {
    let wanted = input.frame_bytes_wanted();
    let buffer = input.receive_buffer();
    if buffer.is_empty() && wanted == 0 && R::READS_UNINIT {
        return FRESH.with(|fresh| {
            // Taken out for the read, as the scratch below.
            let mut bytes = fresh.take().unwrap_or_default();
            if bytes.capacity() < SCRATCH_SIZE {
                bytes = BytesMut::with_capacity(SCRATCH_SIZE);
            }
            let result = R::poll_read(io, cx, &mut bytes);
            if let Poll::Ready(Ok(read)) = result {
                if read >= KEEP_MIN {
                    // The connection keeps this allocation, cut down in
                    // place to what arrived: no copy; the next read
                    // between frames on this thread takes a new one.
                    let mut kept = Vec::from(bytes);
                    kept.shrink_to_fit();
                    *buffer = BytesMut::from(bytes::Bytes::from(kept));
                    return result;
                }
                // Small: an exact-size copy, the cheapest allocation.
                *buffer = BytesMut::from(&bytes[..]);
                bytes.clear();
            }
            fresh.set(Some(bytes));
            result
        });
    }
    if buffer.is_empty() && wanted == 0 {
        return SCRATCH.with(|scratch| {
            // Taken out for the read, so that a re-entrant call (another
            // connection polled from inside this read) finds an empty one.
            let mut bytes = std::mem::take(&mut *scratch.borrow_mut());
            if bytes.len() < SCRATCH_SIZE {
                bytes.resize(SCRATCH_SIZE, 0);
            }
            let result = R::poll_read_slice(io, cx, &mut bytes);
            if let Poll::Ready(Ok(read)) = result {
                // Empty: an exact-size copy, the cheapest allocation.
                *buffer = BytesMut::from(&bytes[..read]);
            }
            *scratch.borrow_mut() = bytes;
            result
        });
    }
    let want = read_room(wanted, buffer.len());
    if buffer.capacity() - buffer.len() < want {
        buffer.reserve(want);
    }
    R::poll_read(io, cx, buffer)
}

/// How much room a read into a connection's own buffer asks for, given the
/// bytes still `wanted` by the frame being received and the bytes already
/// `buffered`: what the frame wants, but at least [`READ_CHUNK`] (the next
/// frame may come with the end of this one), and never more than
/// [`MAX_RESERVE`] or [`RESERVE_GROWTH`] times what has arrived, whichever
/// is more.
fn read_room(wanted: usize, buffered: usize) -> usize {
    wanted
        .max(READ_CHUNK)
        .min(MAX_RESERVE.max(RESERVE_GROWTH.saturating_mul(buffered)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ws_core::{Config, Role};

    #[test]
    fn server_reading_a_frame_header_alone_reserves_at_most_max_reserve() {
        // A peer claims a 64 MiB frame and sends only its header.
        assert_eq!(read_room(64 << 20, 0), MAX_RESERVE);
        assert_eq!(read_room(64 << 20, 14), MAX_RESERVE);
    }

    #[test]
    fn server_reading_a_large_frame_reserves_the_rest_once_a_sixteenth_arrived() {
        // The first 64 KiB of a 1 MiB frame are in: the rest in one step.
        let rest = (1 << 20) - (64 << 10);
        assert_eq!(read_room(rest, 64 << 10), rest);
        // A peer that stalls after 64 KiB of a 64 MiB frame holds 1 MiB more.
        assert_eq!(read_room(64 << 20, 64 << 10), 1 << 20);
    }

    #[test]
    fn server_reading_between_or_near_the_end_of_frames_asks_for_a_chunk() {
        assert_eq!(read_room(0, 0), READ_CHUNK);
        assert_eq!(read_room(10, 3), READ_CHUNK);
        assert_eq!(read_room(100 << 10, 300 << 10), 100 << 10);
    }

    /// A runtime that reads into spare capacity, over bytes in memory.
    struct Uninit;

    struct Never(std::time::Instant);

    impl crate::runtime::Timer for Never {
        fn at(deadline: std::time::Instant) -> Self {
            Never(deadline)
        }
        fn deadline(&self) -> std::time::Instant {
            self.0
        }
        fn reset(&mut self, deadline: std::time::Instant) {
            self.0 = deadline;
        }
        fn poll_fired(&mut self, _: &mut Context<'_>) -> Poll<()> {
            Poll::Pending
        }
    }

    impl crate::runtime::Runtime for Uninit {
        type Timer = Never;
    }

    impl ReadTransport<Vec<u8>> for Uninit {
        const READS_UNINIT: bool = true;

        fn poll_read(
            io: Pin<&mut Vec<u8>>,
            _: &mut Context<'_>,
            buffer: &mut BytesMut,
        ) -> Poll<io::Result<usize>> {
            let room = buffer.capacity() - buffer.len();
            let take = room.min(io.len());
            buffer.extend_from_slice(&io[..take]);
            io.get_mut().drain(..take);
            Poll::Ready(Ok(take))
        }

        fn poll_read_slice(
            _: Pin<&mut Vec<u8>>,
            _: &mut Context<'_>,
            _: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            unreachable!("a runtime that reads into spare capacity is never given a slice")
        }
    }

    fn read_between_frames(arrived: usize) -> Connection {
        let mut conn = Connection::new(Role::Server, Config::default());
        let mut source = vec![0x82u8; arrived];
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let read = poll_read::<_, Uninit>(Pin::new(&mut source), &mut cx, &mut conn);
        assert!(matches!(read, Poll::Ready(Ok(n)) if n == arrived));
        conn
    }

    /// A large read between frames (a 16 KiB message arriving whole) stays
    /// where it was read, cut down to its size: the connection holds what
    /// arrived, not the 64 KiB it was read into, and the thread's next
    /// read gets a new buffer.
    #[test]
    fn server_keeps_a_large_read_between_frames_cut_to_what_arrived() {
        FRESH.set(None);
        let mut conn = read_between_frames(16 * 1024 + 4);
        let buffer = conn.receive_buffer();
        assert_eq!(buffer.len(), 16 * 1024 + 4);
        assert!(
            buffer.capacity() < SCRATCH_SIZE / 2,
            "{}",
            buffer.capacity()
        );
        assert!(
            FRESH.take().is_none(),
            "the read's buffer went to the connection"
        );
    }

    /// A small read between frames is copied out at its size, and the
    /// thread keeps its read buffer for the next one.
    #[test]
    fn server_copies_a_small_read_between_frames_and_keeps_the_thread_buffer() {
        FRESH.set(None);
        let mut conn = read_between_frames(100);
        assert_eq!(conn.receive_buffer().len(), 100);
        assert!(conn.receive_buffer().capacity() < 1024);
        let fresh = FRESH.take().expect("kept for the next read");
        assert!(fresh.is_empty() && fresh.capacity() >= SCRATCH_SIZE);
    }

    /// A server connection that wrote everything and went idle leaves its
    /// write buffer as the thread's spare, and the next server connection on
    /// the thread that sends writes from that same buffer.
    #[test]
    fn server_idle_write_buffer_goes_to_the_next_sender_on_the_thread() {
        SPARE.set(None);
        let mut idle = Connection::new(Role::Server, Config::default());
        idle.send_text("one").unwrap();
        let buffer = idle.transmit().as_ptr();
        let len = idle.transmit().len();
        idle.advance_transmit(len);
        release_idle(&mut idle);
        assert!(
            idle.needs_write_buffer(),
            "an idle connection holds no buffer"
        );

        let mut next = Connection::new(Role::Server, Config::default());
        lend_spare(&mut next);
        next.send_text("two").unwrap();
        assert_eq!(next.transmit().as_ptr(), buffer, "the spare was reused");
        assert_eq!(next.transmit(), b"\x81\x03two");
    }
}
