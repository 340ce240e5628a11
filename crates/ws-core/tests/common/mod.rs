//! Helpers for driving connections by hand: raw frames in, parsed frames out.
#![allow(dead_code)]

use ws_core::{Config, Connection, Event, Role};
use ws_frame::{apply_mask, Decode, FrameHeader, OpCode, ReceiveRules, MAX_HEADER_LEN};

pub fn server() -> Connection {
    Connection::new(Role::Server, Config::default())
}

pub fn client() -> Connection {
    Connection::new(Role::Client, Config::default())
}

/// A frame as the peer of `receiver` would send it (masked towards a server).
pub fn frame_to(receiver: Role, opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mask = (receiver == Role::Server).then_some([0x11, 0x22, 0x33, 0x44]);
    raw_frame(
        FrameHeader {
            fin,
            mask,
            ..FrameHeader::new(opcode, payload.len() as u64)
        },
        payload,
    )
}

pub fn raw_frame(header: FrameHeader, payload: &[u8]) -> Vec<u8> {
    let mut head = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut head);
    let mut out = head[..n].to_vec();
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = header.mask {
        apply_mask(&mut out[start..], key, 0);
    }
    out
}

/// A frame the connection received from a peer is fed, then every event drained.
pub fn feed(conn: &mut Connection, bytes: &[u8]) -> Vec<Event> {
    conn.receive(bytes);
    drain(conn)
}

pub fn drain(conn: &mut Connection) -> Vec<Event> {
    std::iter::from_fn(|| conn.poll_event()).collect()
}

/// A frame the connection sent, as its peer decodes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentFrame {
    pub opcode: OpCode,
    pub fin: bool,
    /// RSV1: compressed (permessage-deflate).
    pub rsv1: bool,
    pub masked: bool,
    pub mask: Option<[u8; 4]>,
    pub payload: Vec<u8>,
}

/// Takes everything the connection wants to transmit and decodes it as frames.
pub fn sent(conn: &mut Connection) -> Vec<SentFrame> {
    let bytes = conn.take_transmit();
    let rules = ReceiveRules {
        role: conn.role().peer(),
        // RSV1 is decoded here and checked by the tests that care.
        allowed_rsv: 0x40,
    };
    let mut at = 0;
    let mut frames = Vec::new();
    while at < bytes.len() {
        let Ok(Decode::Complete((header, len))) = FrameHeader::decode(&bytes[at..], &rules) else {
            panic!("connection sent an invalid frame: {:?}", &bytes[at..]);
        };
        at += len;
        assert!(
            !header.rsv1 || conn.is_compressed(),
            "RSV1 without permessage-deflate"
        );
        let mut payload = bytes[at..at + header.payload_len as usize].to_vec();
        at += payload.len();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        frames.push(SentFrame {
            opcode: header.opcode,
            fin: header.fin,
            rsv1: header.rsv1,
            masked: header.mask.is_some(),
            mask: header.mask,
            payload,
        });
    }
    frames
}

/// The close code in a sent close frame.
pub fn close_code_of(frame: &SentFrame) -> Option<u16> {
    assert_eq!(frame.opcode, OpCode::Close);
    (frame.payload.len() >= 2).then(|| u16::from_be_bytes([frame.payload[0], frame.payload[1]]))
}

/// Moves all bytes from one connection to the other, cut into pieces of
/// `piece` bytes, and returns the events the receiver reports.
pub fn transfer(from: &mut Connection, to: &mut Connection, piece: usize) -> Vec<Event> {
    let bytes = from.take_transmit();
    let mut events = Vec::new();
    for chunk in bytes.chunks(piece.max(1)) {
        to.receive(chunk);
        events.extend(drain(to));
    }
    events
}

/// What a driver does before it waits: tells the connection the time `now`
/// (which starts due timers and fires passed ones) and asks for the next
/// deadline.
pub fn deadline_at(conn: &mut Connection, now: std::time::Instant) -> Option<std::time::Instant> {
    conn.handle_timeout(now);
    match conn.poll_timeout() {
        Some(ws_core::Timeout::At(deadline)) => Some(deadline),
        Some(ws_core::Timeout::Now) => panic!("a timer is still due to start after handle_timeout"),
        None => None,
    }
}
