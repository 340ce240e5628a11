//! Published vulnerabilities of other WebSocket libraries, replayed against
//! the sans-IO connection with the heap counted: each test names its
//! advisory and asserts the bound, not only that nothing panicked. The same
//! classes over real sockets, on every runtime, are in the workspace's
//! `tests/advisories.rs`.

mod common;

/// Counts live heap bytes and their peak.
#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use std::sync::atomic::Ordering;
use std::sync::Mutex;

use common::{drain, frame_to, sent, SentFrame};
use counting_alloc::{Counting, LIVE, PEAK};
use ws_core::{Config, Connection, Event, Message, ProtocolError, Role};
use ws_frame::OpCode;

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The heap counter is global: tests that read it run one at a time.
static HEAP: Mutex<()> = Mutex::new(());

/// Runs `work` and returns what it gave and how far the live heap rose above
/// where it started.
fn heap_growth<T>(work: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let out = work();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(before))
}

fn close_code_of(frames: &[SentFrame]) -> Option<u16> {
    let close = frames.iter().find(|frame| frame.opcode == OpCode::Close)?;
    Some(u16::from_be_bytes([close.payload[0], close.payload[1]]))
}

/// Feeds `wire` in 64 KiB reads, as a socket would, and drains the events.
fn feed_in_reads(conn: &mut Connection, wire: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    for read in wire.chunks(64 << 10) {
        conn.receive(read);
        events.extend(drain(conn));
    }
    events
}

/// A flood of one-byte fragments: ws's 2026 advisory (GHSA, "fragments
/// amplifying memory": each fragment kept as its own buffer) and ws #2331.
/// 99,999 one-byte frames without FIN (within the default `max_fragments`
/// of 100,000) are appended to one message buffer: the heap grows by a small
/// multiple of the 99,999 payload bytes, not by a per-fragment overhead.
#[test]
fn server_holds_99_999_one_byte_fragments_in_a_small_multiple_of_their_payload() {
    let _heap = HEAP.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut wire = frame_to(Role::Server, OpCode::Binary, false, b"x");
    for _ in 1..99_999 {
        wire.extend_from_slice(&frame_to(Role::Server, OpCode::Continuation, false, b"x"));
    }
    let mut server = Connection::new(Role::Server, Config::default());
    let (events, growth) = heap_growth(|| feed_in_reads(&mut server, &wire));
    assert!(events.is_empty(), "{events:?}");
    let payload = 99_999;
    // Measured: 3.3x (the message buffer grows by doubling, and one read's
    // worth of receive buffer is held beside it).
    assert!(
        growth <= 4 * payload,
        "99,999 payload bytes took {growth} bytes of heap ({:.1}x)",
        growth as f64 / payload as f64
    );
    let last = frame_to(Role::Server, OpCode::Continuation, true, b"x");
    server.receive(&last);
    match drain(&mut server).as_slice() {
        [Event::Message(Message::Binary(data))] => assert_eq!(data.len(), 100_000),
        other => panic!("{other:?}"),
    }
    eprintln!(
        "one-byte fragment flood: {growth} bytes of heap for {payload} payload bytes ({:.2}x)",
        growth as f64 / payload as f64
    );
}

/// Zero-byte continuation frames count toward `max_fragments`
/// (actix-extras #651: empty fragments were free, so a peer could send them
/// for ever): the first fragment past the limit fails the connection with
/// 1009, whatever the frames carry.
#[test]
fn server_counts_zero_byte_continuations_toward_max_fragments_and_fails_with_1009() {
    let _heap = HEAP.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let config = Config::default().max_fragments(1_000);
    let mut server = Connection::new(Role::Server, config);
    let mut wire = frame_to(Role::Server, OpCode::Text, false, b"");
    for _ in 0..5_000 {
        wire.extend_from_slice(&frame_to(Role::Server, OpCode::Continuation, false, b""));
    }
    let (events, growth) = heap_growth(|| feed_in_reads(&mut server, &wire));
    assert!(
        matches!(
            events.first(),
            Some(Event::Error(ProtocolError::TooManyFragments {
                limit: 1_000
            }))
        ),
        "{events:?}"
    );
    assert_eq!(close_code_of(&sent(&mut server)), Some(1009));
    assert!(growth < 256 << 10, "{growth}");
}

/// A binary frame header from the peer of `receiver` announcing `len`
/// payload bytes in the 64-bit form, written by hand: our encoder will not
/// set the top bit.
fn header_announcing(receiver: Role, len: u64) -> Vec<u8> {
    let masked = receiver == Role::Server;
    let mut header = vec![0x82, if masked { 0x80 | 127 } else { 127 }];
    header.extend_from_slice(&len.to_be_bytes());
    if masked {
        header.extend_from_slice(&[1, 2, 3, 4]);
    }
    header
}

fn every_limit_lifted() -> Config {
    Config::default()
        .max_frame_size(usize::MAX)
        .max_message_size(usize::MAX)
        .max_fragments(usize::MAX)
        .max_buffered_output(usize::MAX)
}

/// gorilla/websocket CVE-2020-27813: a 64-bit length near the top of its
/// range overflowed a sum of lengths. With every limit at `usize::MAX`:
/// a length with the most significant bit set (`u64::MAX`, and so
/// `usize::MAX` on 64-bit targets) is a protocol error, 1002 ([RFC 6455
/// section 5.2]); `i64::MAX` is a legal length, which is waited for without
/// allocating anything near it.
///
/// [RFC 6455 section 5.2]: https://www.rfc-editor.org/rfc/rfc6455#section-5.2
#[test]
fn server_and_client_take_lengths_near_u64_max_without_overflow_or_allocation() {
    let _heap = HEAP.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    for role in [Role::Server, Role::Client] {
        for len in [u64::MAX, usize::MAX as u64, 1 << 63] {
            let mut conn = Connection::new(role, every_limit_lifted());
            let (events, growth) = heap_growth(|| {
                conn.receive(&header_announcing(role, len));
                drain(&mut conn)
            });
            assert!(
                matches!(events.first(), Some(Event::Error(ProtocolError::Frame(_)))),
                "{role:?} {len}: {events:?}"
            );
            assert_eq!(
                close_code_of(&sent(&mut conn)),
                Some(1002),
                "{role:?} {len}"
            );
            assert!(growth < 64 << 10, "{role:?} {len}: {growth}");
        }
        for len in [i64::MAX as u64, (1 << 62) + 12345, u32::MAX as u64 + 1] {
            let mut conn = Connection::new(role, every_limit_lifted());
            let (events, growth) = heap_growth(|| {
                conn.receive(&header_announcing(role, len));
                // A megabyte of the announced payload: kept, or handed on,
                // but never the announced size reserved.
                for _ in 0..16 {
                    conn.receive(&[0u8; 64 << 10]);
                }
                drain(&mut conn)
            });
            assert!(events.is_empty(), "{role:?} {len}: {events:?}");
            assert!(
                growth < 8 << 20,
                "{role:?} announced {len}: the heap grew by {growth} for 1 MiB of payload"
            );
        }
    }
}
