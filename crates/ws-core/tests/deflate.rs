//! permessage-deflate (RFC 7692) in the connection: round trips under every
//! parameter combination, what goes on the wire, and the peer's bad input.

mod common;

use std::sync::atomic::Ordering;

use common::*;
use flate2::{Compress, Compression, FlushCompress};
use ws_core::{Config, Connection, DeflateParams, Event, Message, ProtocolError, Role};
use ws_frame::{FrameHeader, OpCode};

/// Counts live heap bytes and their peak, so the bomb test can see how much
/// memory inflating took.
#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{Counting, LIVE, PEAK};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn pair(params: DeflateParams, config: Config) -> (Connection, Connection) {
    (
        Connection::with_deflate(Role::Client, config.clone(), &params),
        Connection::with_deflate(Role::Server, config, &params),
    )
}

/// Raw deflate of `data` with a sync flush and the tail stripped, as a
/// compressing peer would send it.
fn deflate_raw(data: &[u8]) -> Vec<u8> {
    let mut compress = Compress::new(Compression::best(), false);
    let mut out = Vec::with_capacity(data.len() / 100 + 1024);
    let mut consumed = 0;
    loop {
        if out.capacity() - out.len() < 1024 {
            out.reserve(out.capacity());
        }
        let before = compress.total_in();
        compress
            .compress_vec(&data[consumed..], &mut out, FlushCompress::Sync)
            .unwrap();
        consumed += (compress.total_in() - before) as usize;
        if consumed == data.len() && out.len() < out.capacity() {
            break;
        }
    }
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    out
}

/// A compressed frame from a client (masked), with RSV1.
fn compressed_frame_to_server(opcode: OpCode, fin: bool, rsv1: bool, payload: &[u8]) -> Vec<u8> {
    raw_frame(
        FrameHeader {
            fin,
            rsv1,
            mask: Some([1, 2, 3, 4]),
            ..FrameHeader::new(opcode, payload.len() as u64)
        },
        payload,
    )
}

fn json_like(i: usize) -> String {
    format!(
        r#"{{"type":"trade","symbol":"BTC-USD","price":{}.{:02},"size":{},"side":"buy","seq":{i}}}"#,
        40_000 + i % 97,
        i % 100,
        i % 13 + 1
    )
}

#[test]
fn both_directions_round_trip_under_every_parameter_combination() {
    for snct in [false, true] {
        for cnct in [false, true] {
            for smwb in [8, 9, 12, 15] {
                for cmwb in [8, 9, 15] {
                    for fragment_size in [None, Some(100)] {
                        let params = DeflateParams {
                            server_no_context_takeover: snct,
                            client_no_context_takeover: cnct,
                            server_max_window_bits: smwb,
                            client_max_window_bits: cmwb,
                        };
                        let config = Config::default().fragment_size(fragment_size);
                        let (mut client, mut server) = pair(params, config);
                        let case = format!("{params:?} {fragment_size:?}");
                        for i in 0..20 {
                            let text = json_like(i).repeat(i % 4 + 1);
                            let binary: Vec<u8> = (0..i * 700).map(|b| (b % 251) as u8).collect();
                            for message in [Message::text(text), Message::binary(binary)] {
                                client.send(message.clone()).unwrap();
                                let events = transfer(&mut client, &mut server, 37);
                                assert_eq!(events, [Event::Message(message.clone())], "{case}");
                                server.send(message.clone()).unwrap();
                                let events = transfer(&mut server, &mut client, 53);
                                assert_eq!(events, [Event::Message(message)], "{case}");
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn client_sends_rsv1_on_the_first_frame_only_and_never_on_control_frames() {
    let config = Config::default().fragment_size(Some(16));
    let (mut client, _) = pair(DeflateParams::default(), config);
    client.send_text(&json_like(1).repeat(20)).unwrap();
    client
        .send_ping(b"a ping of some length, over the threshold? no: control")
        .unwrap();
    let frames = sent(&mut client);
    let data: Vec<_> = frames.iter().filter(|f| f.opcode != OpCode::Ping).collect();
    assert!(data.len() > 1, "fragmented");
    assert!(data[0].rsv1 && data[0].opcode == OpCode::Text);
    assert!(data[1..]
        .iter()
        .all(|f| !f.rsv1 && f.opcode == OpCode::Continuation));
    let ping = frames.iter().find(|f| f.opcode == OpCode::Ping).unwrap();
    assert!(!ping.rsv1);
}

#[test]
fn server_compresses_json_and_sends_short_messages_as_they_are() {
    let (_, mut server) = pair(DeflateParams::default(), Config::default());
    let big = json_like(7).repeat(30);
    server.send_text(&big).unwrap();
    server.send_text("short").unwrap();
    let frames = sent(&mut server);
    assert!(frames[0].rsv1);
    assert!(
        frames[0].payload.len() * 5 < big.len(),
        "{} of {}",
        frames[0].payload.len(),
        big.len()
    );
    assert!(!frames[1].rsv1);
    assert_eq!(frames[1].payload, b"short");
}

#[test]
fn server_limited_to_an_8_bit_window_sends_uncompressed() {
    let params = DeflateParams {
        server_max_window_bits: 8,
        ..DeflateParams::default()
    };
    let (_, mut server) = pair(params, Config::default());
    server.send_text(&json_like(1).repeat(10)).unwrap();
    assert!(!sent(&mut server)[0].rsv1);
}

#[test]
fn server_keeps_its_context_unless_told_not_to() {
    let message = json_like(3).repeat(10);
    let sizes = |params: DeflateParams| {
        let (_, mut server) = pair(params, Config::default());
        server.send_text(&message).unwrap();
        server.send_text(&message).unwrap();
        let frames = sent(&mut server);
        (frames[0].payload.len(), frames[1].payload.len())
    };
    let (first, second) = sizes(DeflateParams::default());
    assert!(
        second < first / 2,
        "context taken over: {first} then {second}"
    );
    let (first, second) = sizes(DeflateParams {
        server_no_context_takeover: true,
        ..DeflateParams::default()
    });
    assert_eq!(first, second, "no context takeover");
}

#[test]
fn server_fails_rsv1_without_negotiation_with_1002() {
    let mut server = server();
    let events = feed(
        &mut server,
        &compressed_frame_to_server(OpCode::Text, true, true, &deflate_raw(b"hello")),
    );
    assert!(matches!(events[0], Event::Error(ProtocolError::Frame(_))));
    assert_eq!(close_code_of(&sent(&mut server)[0]), Some(1002));
}

#[test]
fn server_fails_rsv1_on_a_continuation_or_control_frame_with_1002() {
    for (first, second) in [
        (
            compressed_frame_to_server(OpCode::Text, false, true, &deflate_raw(b"hel")),
            compressed_frame_to_server(OpCode::Continuation, true, true, b"lo"),
        ),
        (
            Vec::new(),
            compressed_frame_to_server(OpCode::Ping, true, true, b""),
        ),
    ] {
        let (_, mut server) = pair(DeflateParams::default(), Config::default());
        server.receive(&first);
        let events = feed(&mut server, &second);
        assert!(
            matches!(events[0], Event::Error(ProtocolError::Frame(_))),
            "{events:?}"
        );
        assert_eq!(close_code_of(&sent(&mut server)[0]), Some(1002));
    }
}

#[test]
fn server_fails_corrupt_deflate_data_with_1007() {
    let (_, mut server) = pair(DeflateParams::default(), Config::default());
    let events = feed(
        &mut server,
        &compressed_frame_to_server(OpCode::Binary, true, true, &[0xff, 0xff, 0xff, 0x00, 0x12]),
    );
    assert!(
        matches!(events[0], Event::Error(ProtocolError::Deflate(_))),
        "{events:?}"
    );
    assert_eq!(close_code_of(&sent(&mut server)[0]), Some(1007));
}

#[test]
fn server_fails_compressed_invalid_utf8_with_1007() {
    let (_, mut server) = pair(DeflateParams::default(), Config::default());
    let events = feed(
        &mut server,
        &compressed_frame_to_server(OpCode::Text, true, true, &deflate_raw(b"ok \xc0\xaf")),
    );
    assert!(matches!(
        events[0],
        Event::Error(ProtocolError::InvalidUtf8(_))
    ));
    assert_eq!(close_code_of(&sent(&mut server)[0]), Some(1007));
}

#[test]
fn server_stops_a_deflate_bomb_at_the_message_limit_with_1009() {
    // 256 MiB of zeros deflate to about 256 KiB; the limit is 1 MiB.
    let bomb = deflate_raw(&vec![0u8; 256 << 20]);
    assert!(bomb.len() < 300 << 10, "{}", bomb.len());
    let frame = compressed_frame_to_server(OpCode::Binary, true, true, &bomb);
    drop(bomb);
    let limit = 1 << 20;
    let config = Config::default().max_message_size(limit);
    let (_, mut server) = pair(DeflateParams::default(), config);
    server.receive(&frame);
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let events = drain(&mut server);
    let growth = PEAK.load(Ordering::Relaxed) - before;
    assert!(
        matches!(events[0], Event::Error(ProtocolError::MessageTooBig { .. })),
        "{events:?}"
    );
    assert_eq!(close_code_of(&sent(&mut server)[0]), Some(1009));
    // The output never passes the limit; zlib's window and state come on top.
    assert!(
        growth < limit + (512 << 10),
        "inflating took {growth} bytes"
    );
}

#[test]
fn server_sends_an_empty_compressed_message_as_one_zero_byte() {
    let config = Config::default().compression_threshold(0);
    let (mut client, mut server) = pair(DeflateParams::default(), config);
    server.send_text(&json_like(1)).unwrap();
    server.send_text("").unwrap();
    server.send_binary(b"").unwrap();
    let bytes = server.transmit().to_vec();
    let frames = sent(&mut server);
    assert!(frames.iter().all(|frame| frame.rsv1));
    assert_eq!(frames[1].payload, [0x00]);
    assert_eq!(frames[2].payload, [0x00]);
    let events = feed(&mut client, &bytes);
    assert_eq!(
        events,
        [
            Event::Message(Message::text(json_like(1))),
            Event::Message(Message::text("")),
            Event::Message(Message::binary(Vec::new())),
        ]
    );
}
