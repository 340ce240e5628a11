//! Arbitrary bytes fed to a server and to a client connection, cut at
//! arbitrary points: no panic, and memory bounded by the configured limits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_core::{Config, Connection, Event, Role};

const LIMIT: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&seed, bytes)) = data.split_first() else { return };
    let role = if seed & 1 == 0 { Role::Server } else { Role::Client };
    let config = Config::default().max_frame_size(LIMIT).max_message_size(LIMIT).max_fragments(64);
    let mut conn = Connection::new(role, config);
    let step = usize::from(seed >> 1) + 1;
    let mut closed = false;
    for piece in bytes.chunks(step) {
        conn.receive(piece);
        while let Some(event) = conn.poll_event() {
            if let Event::Message(message) = &event {
                assert!(message.len() <= LIMIT);
                if message.is_data() && conn.send(message.clone()).is_err() {
                    // Refused commands are typed errors; nothing to check.
                }
            }
            closed |= matches!(event, Event::Closed(_));
        }
        assert!(conn.buffered_amount() <= 3 * LIMIT);
        let n = conn.transmit().len();
        conn.advance_transmit(n);
    }
    conn.receive_eof();
    while let Some(event) = conn.poll_event() {
        closed |= matches!(event, Event::Closed(_));
    }
    assert!(closed, "the end of input always ends the connection");
});
