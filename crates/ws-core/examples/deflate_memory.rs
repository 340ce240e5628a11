//! Measures the heap a compressed connection holds between messages, with and
//! without context takeover, by counting allocations:
//!
//! ```text
//! cargo run --release -p ws-core --features deflate --example deflate_memory
//! ```
//!
//! For each setting, 1,000 server connections each receive and send one
//! compressed JSON message; the live heap per connection is then reported.

use std::sync::atomic::Ordering;

use ws_core::{Config, Connection, DeflateParams, Event, Role};

#[path = "../tests/support/counting_alloc.rs"]
#[allow(dead_code)] // PEAK is the bomb test's
mod counting_alloc;

use counting_alloc::{Counting, LIVE};

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CONNECTIONS: usize = 1_000;

fn per_connection(params: Option<DeflateParams>) -> usize {
    let message =
        r#"{"type":"trade","symbol":"BTC-USD","price":40123.45,"size":3,"side":"buy"}"#.repeat(4);
    // What a client sends, made once.
    let mut client = match params {
        Some(params) => Connection::with_deflate(Role::Client, Config::default(), &params),
        None => Connection::new(Role::Client, Config::default()),
    };
    client.send_text(&message).unwrap();
    let wire = client.take_transmit();

    let before = LIVE.load(Ordering::Relaxed);
    let mut servers = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let mut server = match params {
            Some(params) => Connection::with_deflate(Role::Server, Config::default(), &params),
            None => Connection::new(Role::Server, Config::default()),
        };
        server.receive(&wire);
        while let Some(event) = server.poll_event() {
            if let Event::Message(message) = event {
                server.send(message).unwrap();
            }
        }
        let written = server.transmit().len();
        server.advance_transmit(written);
        drop(server.release_idle_buffers());
        servers.push(server);
    }
    let after = LIVE.load(Ordering::Relaxed);
    drop(servers);
    (after - before) / CONNECTIONS
}

fn main() {
    let takeover = DeflateParams::default();
    let no_takeover = DeflateParams {
        server_no_context_takeover: true,
        client_no_context_takeover: true,
        ..DeflateParams::default()
    };
    let small_windows = DeflateParams {
        server_max_window_bits: 9,
        client_max_window_bits: 9,
        ..DeflateParams::default()
    };
    println!("heap per idle connection after one message each way ({CONNECTIONS} connections):");
    println!(
        "  no compression:                     {:>7} bytes",
        per_connection(None)
    );
    println!(
        "  deflate, context takeover (15 bits): {:>7} bytes",
        per_connection(Some(takeover))
    );
    println!(
        "  deflate, context takeover (9 bits):  {:>7} bytes",
        per_connection(Some(small_windows))
    );
    println!(
        "  deflate, no context takeover:        {:>7} bytes",
        per_connection(Some(no_takeover))
    );
}
