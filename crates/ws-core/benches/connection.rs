//! A whole message through ws-core in both directions: client send (frame +
//! mask), server receive (parse + unmask + UTF-8), server send, client receive.

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ws_core::{Config, Connection, Event, Role};

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
                let bytes = client.take_transmit();
                server.receive(&bytes);
                let Some(Event::Message(message)) = server.poll_event() else {
                    panic!()
                };
                server.send(message).unwrap();
                let bytes = server.take_transmit();
                client.receive(&bytes);
                let Some(Event::Message(message)) = client.poll_event() else {
                    panic!()
                };
                black_box(message);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, round_trip);
criterion_main!(benches);
