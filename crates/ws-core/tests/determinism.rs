//! The core is deterministic: the same inputs, times and seed give the same
//! bytes out, on any thread, whatever ran before.

use std::time::{Duration, Instant};

use ws_core::{CloseCode, Config, Connection, Event, Role};

/// A scripted session: a seeded client sends, pings by keepalive, receives
/// from a server, and closes. Returns every byte each side wrote.
fn session(seed: u64, start: Instant) -> (Vec<u8>, Vec<u8>) {
    let config = Config::default()
        .rng_seed(Some(seed))
        .keepalive(Duration::from_secs(5), Duration::from_secs(5))
        .fragment_size(Some(7));
    let mut client = Connection::new(Role::Client, config.clone());
    let mut server = Connection::new(Role::Server, config);
    let (mut from_client, mut from_server) = (Vec::new(), Vec::new());
    let mut now = start;
    for round in 0..5u32 {
        client
            .send_text(&format!("message {round} from the client"))
            .unwrap();
        server.send_binary(&round.to_be_bytes()).unwrap();
        for (conn, out) in [
            (&mut client, &mut from_client),
            (&mut server, &mut from_server),
        ] {
            conn.handle_timeout(now);
            let bytes = conn.take_transmit();
            out.extend_from_slice(&bytes);
        }
        server.receive(&from_client);
        client.receive(&from_server);
        while server.poll_event().is_some() {}
        while client.poll_event().is_some() {}
        now += Duration::from_secs(3);
    }
    client.close(CloseCode::NORMAL, "done").unwrap();
    from_client.extend_from_slice(&client.take_transmit());
    (from_client, from_server)
}

#[test]
fn client_with_the_same_seed_writes_the_same_bytes_on_any_thread() {
    let start = Instant::now();
    let here = session(42, start);
    let there = std::thread::spawn(move || session(42, start))
        .join()
        .unwrap();
    assert_eq!(here, there);
    assert!(
        here.0.len() > 100,
        "the session wrote {} bytes",
        here.0.len()
    );
    // Another seed: other masking keys, other bytes (and the server, which
    // does not mask, writes the same).
    let other = session(43, start);
    assert_ne!(here.0, other.0);
    assert_eq!(here.1, other.1);
}

#[test]
fn server_reading_a_seeded_client_session_sees_the_same_events_every_time() {
    let start = Instant::now();
    let (bytes, _) = session(7, start);
    let events = |bytes: &[u8]| {
        let mut server = Connection::new(Role::Server, Config::default());
        server.receive(bytes);
        std::iter::from_fn(|| server.poll_event()).collect::<Vec<Event>>()
    };
    let first = events(&bytes);
    assert_eq!(first, events(&bytes));
    assert!(first.len() >= 6, "{first:?}");
}
