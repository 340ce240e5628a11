//! A whole message through ws-core in both directions: client send (frame +
//! mask), server receive (parse + unmask + UTF-8), server send, client
//! receive; bytes move the way a driver moves them (copied out of one
//! connection's output into the other's input, as a write and a read do).
//!
//! `frames` does the same round trip with ws-frame alone (header encode and
//! decode, masking, UTF-8 validation, and one owned copy of each received
//! payload, as any library that hands out owned messages makes): the
//! difference is what the connection's state machine adds per round trip
//! of two messages.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use bytes::Bytes;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ws_core::{Config, Connection, Event, Role};
use ws_frame::{apply_mask, Decode, FrameHeader, OpCode, ReceiveRules, MAX_HEADER_LEN};

/// Moves everything `from` has to send into `to`, as writes and reads
/// (a large payload queued by reference is a piece of its own).
fn transfer(from: &mut Connection, to: &mut Connection) {
    loop {
        let out = from.transmit();
        let len = out.len();
        if len == 0 {
            return;
        }
        to.receive(out);
        from.advance_transmit(len);
    }
}

fn round_trip(c: &mut Criterion) {
    let mut group = c.benchmark_group("core_round_trip");
    for size in [16usize, 1024, 16 * 1024] {
        let text = "x".repeat(size);
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("text", size), &text, |b, text| {
            let mut client = Connection::new(Role::Client, Config::default());
            let mut server = Connection::new(Role::Server, Config::default());
            b.iter(|| {
                client.send_text(black_box(text)).unwrap();
                transfer(&mut client, &mut server);
                let Some(Event::Message(message)) = server.poll_event() else {
                    panic!()
                };
                server.send(message).unwrap();
                transfer(&mut server, &mut client);
                let Some(Event::Message(message)) = client.poll_event() else {
                    panic!()
                };
                black_box(message);
            })
        });
        group.bench_with_input(BenchmarkId::new("frames", size), &text, |b, text| {
            let mut wire = Vec::with_capacity(size + MAX_HEADER_LEN);
            let key = [0x37, 0xfa, 0x21, 0x3d];
            b.iter(|| {
                let payload = black_box(text.as_bytes());
                // Client: a masked text frame.
                encode(&mut wire, payload, Some(key));
                // Server: parse, unmask, validate, own the payload.
                let received = decode(&mut wire, Role::Server);
                // Server: the same payload back, unmasked.
                encode(&mut wire, &received, None);
                // Client: parse, validate, own.
                black_box(decode(&mut wire, Role::Client));
            })
        });
    }
    group.finish();
}

fn encode(wire: &mut Vec<u8>, payload: &[u8], mask: Option<[u8; 4]>) {
    let header = FrameHeader {
        mask,
        ..FrameHeader::new(OpCode::Text, payload.len() as u64)
    };
    let mut head = [0u8; MAX_HEADER_LEN];
    let head_len = header.encode(&mut head);
    wire.clear();
    wire.extend_from_slice(&head[..head_len]);
    let start = wire.len();
    wire.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut wire[start..], key, 0);
    }
}

fn decode(wire: &mut [u8], role: Role) -> Bytes {
    let Ok(Decode::Complete((header, head_len))) =
        FrameHeader::decode(wire, &ReceiveRules::new(role))
    else {
        panic!()
    };
    let payload = &mut wire[head_len..head_len + header.payload_len as usize];
    if let Some(key) = header.mask {
        apply_mask(payload, key, 0);
    }
    ws_frame::validate_utf8(payload).unwrap();
    Bytes::copy_from_slice(payload)
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
