//! Arbitrary bytes fed to a server and a client with permessage-deflate
//! negotiated (parameters from the first byte), so that compressed frames
//! with arbitrary deflate data reach the inflater: no panic, and every
//! message within the size limit however much it claims to inflate to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_core::{Config, Connection, DeflateParams, Event, Role};

const LIMIT: usize = 64 * 1024;

fuzz_target!(|data: &[u8]| {
    let Some((&seed, bytes)) = data.split_first() else { return };
    let role = if seed & 1 == 0 { Role::Server } else { Role::Client };
    let params = DeflateParams {
        server_no_context_takeover: seed & 2 != 0,
        client_no_context_takeover: seed & 4 != 0,
        server_max_window_bits: 8 + (seed >> 3 & 7),
        client_max_window_bits: 15 - (seed >> 3 & 7),
    };
    let config = Config::default()
        .max_frame_size(LIMIT)
        .max_message_size(LIMIT)
        .max_fragments(64)
        .compression_threshold(0);
    let mut conn = Connection::with_deflate(role, config, &params);
    let mut closed = false;
    for piece in bytes.chunks(97) {
        conn.receive(piece);
        while let Some(event) = conn.poll_event() {
            if let Event::Message(message) = &event {
                assert!(message.len() <= LIMIT);
                if message.is_data() {
                    // Compress it back: the sending side of the codec too.
                    let _ = conn.send(message.clone());
                }
            }
            closed |= matches!(event, Event::Closed(_));
        }
        let n = conn.transmit().len();
        conn.advance_transmit(n);
    }
    conn.receive_eof();
    while let Some(event) = conn.poll_event() {
        closed |= matches!(event, Event::Closed(_));
    }
    assert!(closed, "the end of input always ends the connection");
});
