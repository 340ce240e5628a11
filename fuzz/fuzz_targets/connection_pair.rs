//! A client and a server connection wired to each other, driven through a
//! random interleaving of commands (send, ping, close, on either side),
//! partial deliveries of the bytes in flight, the passing of time, a
//! corrupted byte and the end of a transport; messages are also sent in
//! fragments (`send_fragment`) and received in pieces
//! (`stream_next_message`). Checks, besides "no panic":
//!
//! - while the channel is intact, each side receives exactly the data
//!   messages the other sent, in order, whether sent whole or in
//!   fragments and received whole or in pieces;
//! - after `Closed`, a side yields no event again; `Closed` comes once;
//! - the state only moves forward (Open, Closing, Closed), and nothing can be
//!   sent after a close was sent;
//! - once everything is delivered, time runs out and both transports end,
//!   both sides are closed; and when the channel stayed intact, no deadline
//!   fired, nothing failed and an application closed, the close handshake
//!   was clean on both sides and each reports the code of its peer's close
//!   (RFC 6455 sections 5.5.1 and 7.1.5), crossing closes included.
#![no_main]

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use ws_core::{CloseCode, Config, Connection, Event, Message, MessageKind, Role, State};

const LIMIT: usize = 16 * 1024;

struct Side {
    conn: Connection,
    /// Bytes this side wrote that the other has not received yet.
    in_flight: VecDeque<u8>,
    /// Data messages this side sent that the other has not received yet.
    sent: VecDeque<Message>,
    closed: Option<ws_core::Closed>,
    state: State,
    /// The code of the close this side's application sent, if it did.
    app_close: Option<CloseCode>,
    /// The transport towards the other side ended: nothing more arrives.
    eof_sent: bool,
    eof_received: bool,
    /// The connection reported an error (it failed).
    failed: bool,
    /// A message this side is sending in fragments, so far.
    sending: Option<(MessageKind, Vec<u8>)>,
    /// A message this side is receiving in pieces, so far.
    receiving: Option<(MessageKind, Vec<u8>)>,
}

fn message_of(kind: MessageKind, data: Vec<u8>) -> Message {
    match kind {
        MessageKind::Text => Message::text(String::from_utf8(data).expect("checked as UTF-8")),
        MessageKind::Binary => Message::binary(data),
    }
}

impl Side {
    fn new(role: Role, seed: u64) -> Self {
        let mut config = Config::default()
            .max_frame_size(LIMIT)
            .max_message_size(LIMIT)
            .max_fragments(64)
            .max_buffered_output(4 * LIMIT)
            .keepalive(Duration::from_millis(500), Duration::from_millis(500))
            .close_timeout(Duration::from_millis(800));
        config.rng_seed = Some(seed);
        Side {
            conn: Connection::new(role, config),
            in_flight: VecDeque::new(),
            sent: VecDeque::new(),
            closed: None,
            state: State::Open,
            app_close: None,
            eof_sent: false,
            eof_received: false,
            failed: false,
            sending: None,
            receiving: None,
        }
    }

    /// Moves what the connection queued into the channel.
    fn write(&mut self) {
        let out = self.conn.transmit();
        self.in_flight.extend(out);
        let n = out.len();
        self.conn.advance_transmit(n);
        if self.conn.should_close_transport() && !self.eof_sent {
            self.conn.transport_closed();
        }
    }

    fn check_state(&mut self) {
        let state = self.conn.state();
        let rank = |s: State| match s {
            State::Open => 0,
            State::Closing => 1,
            State::Closed => 2,
        };
        assert!(rank(state) >= rank(self.state), "{:?} -> {state:?}", self.state);
        self.state = state;
    }
}

/// Delivers up to `count` bytes from `from` to `to` and lets `to` react.
fn deliver(from: &mut Side, to: &mut Side, count: usize, intact: bool) {
    if from.eof_sent {
        return;
    }
    let count = count.min(from.in_flight.len());
    let bytes: Vec<u8> = from.in_flight.drain(..count).collect();
    if !bytes.is_empty() && to.closed.is_none() {
        to.conn.receive(&bytes);
    }
    react(to, from, intact);
}

/// Polls every event of `side`; `peer` is the side whose sent messages it
/// should be receiving.
fn react(side: &mut Side, peer: &mut Side, intact: bool) {
    while let Some(event) = side.conn.poll_event() {
        assert!(side.closed.is_none(), "an event after Closed: {event:?}");
        match event {
            Event::Message(message) => {
                assert!(message.len() <= LIMIT);
                if message.is_data() && intact {
                    let expected = peer.sent.pop_front();
                    assert_eq!(Some(&message), expected.as_ref(), "data out of order");
                }
            }
            Event::Chunk(chunk) => {
                assert_eq!(chunk.first, side.receiving.is_none(), "a first piece or not");
                let (kind, data) = side.receiving.get_or_insert_with(|| (chunk.kind, Vec::new()));
                assert_eq!(*kind, chunk.kind, "the kind of every piece is the message's");
                data.extend_from_slice(&chunk.data);
                assert!(data.len() <= 4 * LIMIT, "past the streamed limit");
                if chunk.fin {
                    let (kind, data) = side.receiving.take().expect("inserted above");
                    let message = message_of(kind, data);
                    if intact {
                        let expected = peer.sent.pop_front();
                        assert_eq!(Some(&message), expected.as_ref(), "data out of order");
                    }
                }
            }
            Event::Error(_) => side.failed = true,
            Event::Closed(closed) => side.closed = Some(closed),
        }
        side.check_state();
    }
    side.check_state();
    side.write();
}

/// A close code from a byte: the codes an application may send.
fn code(byte: u8) -> CloseCode {
    const CODES: [u16; 6] = [1000, 1001, 1008, 1011, 3000, 4999];
    CloseCode(CODES[usize::from(byte) % CODES.len()])
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let seed = u64::from(data[0]);
    let mut sides = [Side::new(Role::Client, seed), Side::new(Role::Server, seed + 1)];
    let start = Instant::now();
    let mut now = start;
    let mut intact = true;
    // A deadline fired (a keepalive ping, a timeout): the close handshake
    // may then end unclean even on an intact channel.
    let mut timed = false;
    let mut ops = data[1..].chunks_exact(2);
    for op in &mut ops {
        let (which, arg) = (usize::from(op[0] & 1), op[1]);
        let (this, other) = {
            let [a, b] = &mut sides;
            if which == 0 { (a, b) } else { (b, a) }
        };
        match op[0] >> 1 {
            // Send a data message: text or binary of `arg` bytes.
            0..=19 => {
                let message = if arg & 1 == 0 {
                    Message::text("t".repeat(usize::from(arg)))
                } else {
                    Message::binary(vec![arg; usize::from(arg) * 16])
                };
                let closing = this.conn.state() != State::Open;
                if this.conn.send(message.clone()).is_ok() {
                    assert!(!closing, "sent after a close");
                    this.sent.push_back(message);
                }
                this.write();
            }
            // A ping.
            20..=27 => {
                let _ = this.conn.send_ping(&[arg; 4]);
                this.write();
            }
            // Close with a code and a reason.
            28..=33 => {
                if this.conn.close(code(arg), "bye").is_ok() {
                    assert!(this.app_close.is_none(), "a second close was accepted");
                    this.app_close = Some(code(arg));
                }
                this.write();
            }
            // Deliver some of what this side wrote to the other.
            34..=99 => deliver(this, other, usize::from(arg) * 8 + 1, intact),
            // Time passes for both.
            100..=111 => {
                now += Duration::from_millis(u64::from(arg) * 10);
                for side in &mut sides {
                    timed |= side.conn.handle_timeout(now);
                }
                let [a, b] = &mut sides;
                react(a, b, intact);
                react(b, a, intact);
            }
            // Corrupt a byte in flight: from now on only the invariants that
            // hold on a broken channel are checked.
            112..=115 => {
                if !this.in_flight.is_empty() {
                    let at = usize::from(arg) % this.in_flight.len();
                    this.in_flight[at] ^= 0x5a;
                    intact = false;
                }
            }
            // The transport ends towards the other side.
            116..=117 => {
                if !this.eof_sent {
                    this.eof_sent = true;
                    intact = false;
                    other.eof_received = true;
                    other.conn.receive_eof();
                    react(other, this, intact);
                }
            }
            // Receive the next message (or the one under way) in pieces.
            118..=121 => {
                this.conn.stream_next_message(4 * LIMIT as u64);
                react(this, other, intact);
            }
            // A fragment of a message sent in pieces: its kind from the bit
            // 0, `fin` from bit 1, its length from the rest.
            122..=127 => {
                let kind = match arg & 1 {
                    0 => MessageKind::Text,
                    _ => MessageKind::Binary,
                };
                let fin = arg & 2 != 0;
                let data = vec![b't'; usize::from(arg >> 2) * 16];
                let closing = this.conn.state() != State::Open;
                if this.conn.send_fragment(kind, &data, fin).is_ok() {
                    assert!(!closing, "sent after a close");
                    let (under_way, so_far) = this.sending.get_or_insert_with(|| (kind, Vec::new()));
                    assert_eq!(*under_way, kind, "a fragment of another kind was accepted");
                    so_far.extend_from_slice(&data);
                    if fin {
                        let (kind, data) = this.sending.take().expect("inserted above");
                        this.sent.push_back(message_of(kind, data));
                    }
                } else {
                    assert!(
                        closing || this.sending.as_ref().is_some_and(|(k, _)| *k != kind),
                        "a fragment was refused on an open connection"
                    );
                }
                this.write();
            }
            _ => {}
        }
    }
    // The end: deliver everything, run the clocks out, end both transports.
    for _ in 0..8 {
        // Everything in flight arrives (and the answers to it) before the
        // clocks move on.
        for _ in 0..16 {
            let [a, b] = &mut sides;
            deliver(a, b, usize::MAX, intact);
            deliver(b, a, usize::MAX, intact);
            if sides.iter().all(|side| side.eof_sent || side.in_flight.is_empty()) {
                break;
            }
        }
        now += Duration::from_secs(2);
        for side in &mut sides {
            side.conn.handle_timeout(now);
        }
    }
    let clean_expected = intact
        && !timed
        && sides.iter().all(|side| !side.failed)
        && sides.iter().any(|side| side.app_close.is_some());
    for index in 0..2 {
        let [a, b] = &mut sides;
        let (this, other) = if index == 0 { (a, b) } else { (b, a) };
        if !this.eof_received {
            this.eof_received = true;
            this.conn.receive_eof();
        }
        react(this, other, intact);
        assert!(this.closed.is_some(), "a side was never closed");
        assert_eq!(this.conn.state(), State::Closed);
    }
    if clean_expected {
        for index in 0..2 {
            let (this, other) = (&sides[index], &sides[1 - index]);
            let closed = this.closed.as_ref().unwrap();
            assert!(closed.clean, "{closed:?}");
            // Each side reports the code of the peer's close: the one its
            // application chose, or ours echoed (closes that crossed each
            // keep their own codes).
            assert_eq!(Some(closed.code), other.app_close.or(this.app_close), "{closed:?}");
        }
    }
});
