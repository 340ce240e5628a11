//! permessage-deflate (RFC 7692) through ws-core: a JSON-like message
//! compressed by the sender and inflated by the receiver, with context
//! takeover (the default) and without. Throughput is of uncompressed bytes;
//! the compression ratio is printed once per case.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ws_core::{Config, Connection, DeflateParams, Event, Role};

/// Market-data-like JSON of about `size` bytes.
fn json(size: usize) -> String {
    let mut out = String::with_capacity(size + 128);
    let mut i = 0u64;
    while out.len() < size {
        out.push_str(&format!(
            r#"{{"symbol":"SYM{}","bid":{}.{:02},"ask":{}.{:02},"volume":{},"ts":{}}},"#,
            i % 37,
            100 + i % 13,
            i % 100,
            101 + i % 11,
            (i * 7) % 100,
            1000 + i * 31,
            1_700_000_000_000u64 + i * 17
        ));
        i += 1;
    }
    out.truncate(size);
    out
}

fn deflate(c: &mut Criterion) {
    let mut group = c.benchmark_group("deflate_client_to_server");
    for (name, params) in [
        ("takeover", DeflateParams::default()),
        (
            "no_takeover",
            DeflateParams {
                client_no_context_takeover: true,
                server_no_context_takeover: true,
                ..DeflateParams::default()
            },
        ),
    ] {
        for size in [1024usize, 16 * 1024] {
            let text = json(size);
            group.throughput(Throughput::Bytes(size as u64));
            let mut client = Connection::with_deflate(Role::Client, Config::default(), &params);
            let mut server = Connection::with_deflate(Role::Server, Config::default(), &params);
            let mut wire = 0;
            for _ in 0..100 {
                client.send_text(&text).unwrap();
                let bytes = client.take_transmit();
                wire = bytes.len();
                server.receive(&bytes);
                assert!(matches!(server.poll_event(), Some(Event::Message(_))));
            }
            eprintln!(
                "deflate {name} {size} B JSON: {wire} B on the wire, ratio {:.2}",
                size as f64 / wire as f64
            );
            group.bench_with_input(BenchmarkId::new(name, size), &text, |b, text| {
                b.iter(|| {
                    client.send_text(black_box(text)).unwrap();
                    let bytes = client.take_transmit();
                    server.receive(&bytes);
                    let Some(Event::Message(message)) = server.poll_event() else {
                        panic!("a message")
                    };
                    black_box(message);
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, deflate);
criterion_main!(benches);
