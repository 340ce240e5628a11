//! One message to 100 server connections, the broadcast case: `send` per
//! connection (encoded 100 times) against `send_prepared` (encoded once);
//! and with permessage-deflate, a prepared message to connections without
//! server context takeover (compressed once, shared) against connections
//! with it (compressed once per connection, each with its own history).
//! Each iteration queues the message on all 100 and empties their output.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ws_core::{Config, Connection, DeflateParams, Message, PreparedMessage, Role};

const SUBSCRIBERS: usize = 100;

/// A 2 KiB JSON-like market-data message.
fn json() -> String {
    let mut out = String::new();
    let mut i = 0u32;
    while out.len() < 2048 {
        out.push_str(&format!(
            r#"{{"symbol":"SYM{}","bid":{}.{:02},"ask":{}.{:02}}},"#,
            i % 50,
            100 + i % 7,
            i % 100,
            101 + i % 7,
            (i * 7) % 100
        ));
        i += 1;
    }
    out.truncate(2048);
    out
}

fn connections(deflate: Option<DeflateParams>) -> Vec<Connection> {
    (0..SUBSCRIBERS)
        .map(|_| match &deflate {
            Some(params) => Connection::with_deflate(Role::Server, Config::default(), params),
            None => Connection::new(Role::Server, Config::default()),
        })
        .collect()
}

fn drain(conns: &mut [Connection]) {
    for conn in conns {
        let len = conn.buffered_amount();
        conn.advance_transmit(len);
    }
}

fn broadcast(c: &mut Criterion) {
    let text = json();
    let mut group = c.benchmark_group("broadcast_100");
    group.throughput(Throughput::Elements(SUBSCRIBERS as u64));
    group.bench_function(BenchmarkId::new("send_each", "plain"), |b| {
        let mut conns = connections(None);
        b.iter(|| {
            for conn in &mut conns {
                conn.send(Message::text(text.clone())).unwrap();
            }
            drain(&mut conns);
        })
    });
    group.bench_function(BenchmarkId::new("prepared", "plain"), |b| {
        let mut conns = connections(None);
        b.iter(|| {
            let message = PreparedMessage::text(text.clone());
            for conn in &mut conns {
                conn.send_prepared(&message).unwrap();
            }
            drain(&mut conns);
        })
    });
    for (name, no_context_takeover) in [
        ("deflate_no_context_takeover", true),
        ("deflate_context_takeover", false),
    ] {
        let params = DeflateParams {
            server_no_context_takeover: no_context_takeover,
            ..DeflateParams::default()
        };
        group.bench_function(BenchmarkId::new("prepared", name), |b| {
            let mut conns = connections(Some(params));
            b.iter(|| {
                let message = PreparedMessage::text(text.clone());
                for conn in &mut conns {
                    conn.send_prepared(&message).unwrap();
                }
                drain(&mut conns);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, broadcast);
criterion_main!(benches);
