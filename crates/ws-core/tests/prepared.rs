//! Prepared messages: framed once, sent on many connections, decoded by
//! every peer as the message `send` would have sent.

mod common;

use bytes::Bytes;
use common::*;
use ws_core::{CloseCode, Config, Connection, Event, Message, PreparedMessage, Role, SendError};
use ws_frame::OpCode;

fn messages(events: Vec<Event>) -> Vec<Message> {
    events
        .into_iter()
        .map(|event| match event {
            Event::Message(message) => message,
            other => panic!("expected a message, got {other:?}"),
        })
        .collect()
}

fn payload_of(size: usize) -> Bytes {
    (0..size)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

#[test]
fn server_sends_a_prepared_message_as_the_bytes_send_would() {
    for size in [0, 20, 125, 126, 8 * 1024, 70_000] {
        let payload = payload_of(size);
        let prepared = PreparedMessage::binary(payload.clone());
        let mut by_send = server();
        by_send.send(Message::Binary(payload)).unwrap();
        let mut by_prepared = server();
        by_prepared.send_prepared(&prepared).unwrap();
        assert_eq!(by_prepared.buffered_amount(), prepared.frame_len());
        assert_eq!(
            by_prepared.take_transmit(),
            by_send.take_transmit(),
            "{size} bytes"
        );
    }
}

#[test]
fn server_to_many_clients_every_client_receives_the_prepared_text() {
    let prepared = PreparedMessage::text("the same frame for all");
    let mut pairs: Vec<(Connection, Connection)> = (0..5).map(|_| (server(), client())).collect();
    for (server, _) in &mut pairs {
        server.send_prepared(&prepared).unwrap();
    }
    for (server, client) in &mut pairs {
        assert_eq!(
            messages(transfer(server, client, 7)),
            vec![Message::Text("the same frame for all".into())]
        );
    }
    assert_eq!(
        prepared.to_message(),
        Message::Text("the same frame for all".into())
    );
}

#[test]
fn server_shares_a_large_prepared_payload_by_reference() {
    let prepared = PreparedMessage::binary(payload_of(64 * 1024));
    let mut conn = server();
    conn.send_prepared(&prepared).unwrap();
    let mut slices = [std::io::IoSlice::new(&[]); 4];
    let count = conn.transmit_vectored(&mut slices);
    assert_eq!(count, 2, "header, then the payload by reference");
    assert_eq!(slices[1].as_ptr(), prepared.payload().as_ptr());
}

#[test]
fn client_masks_a_prepared_message_with_a_key_of_its_own() {
    let prepared = PreparedMessage::binary(&b"masked per connection"[..]);
    let mut client = client();
    client.send_prepared(&prepared).unwrap();
    client.send_prepared(&prepared).unwrap();
    let frames = sent(&mut client);
    assert_eq!(frames.len(), 2);
    assert!(frames
        .iter()
        .all(|f| f.masked && f.payload == b"masked per connection"));
    assert_ne!(frames[0].mask, frames[1].mask);
}

#[test]
fn server_fragments_a_prepared_message_longer_than_fragment_size() {
    let config = Config::default().fragment_size(Some(1000));
    let payload = payload_of(2500);
    let prepared = PreparedMessage::binary(payload.clone());
    let mut server = Connection::new(Role::Server, config.clone());
    server.send_prepared(&prepared).unwrap();
    let frames = sent(&mut server);
    let fins: Vec<bool> = frames.iter().map(|f| f.fin).collect();
    assert_eq!(fins, [false, false, true]);
    let mut server = Connection::new(Role::Server, config);
    let mut client = client();
    server.send_prepared(&prepared).unwrap();
    assert_eq!(
        messages(transfer(&mut server, &mut client, 4096)),
        vec![Message::Binary(payload)]
    );
}

#[test]
fn server_refuses_a_prepared_message_after_its_close() {
    let mut conn = server();
    conn.close(CloseCode::NORMAL, "bye").unwrap();
    assert_eq!(
        conn.send_prepared(&PreparedMessage::text("late")),
        Err(SendError::Closed)
    );
}

#[test]
fn server_refuses_a_prepared_message_past_max_buffered_output() {
    let config = Config::default().max_buffered_output(100);
    let mut conn = Connection::new(Role::Server, config);
    let prepared = PreparedMessage::binary(payload_of(60));
    // Under the limit a message is accepted whatever its size (62 + 62 queued
    // is past 100); at the limit the next one is refused.
    conn.send_prepared(&prepared).unwrap();
    conn.send_prepared(&prepared).unwrap();
    assert!(matches!(
        conn.send_prepared(&prepared),
        Err(SendError::BufferFull { buffered: 124 })
    ));
}

/// With permessage-deflate (RFC 7692).
#[cfg(feature = "deflate")]
mod deflate {
    use super::*;
    use ws_core::DeflateParams;

    fn deflate_pair(server_no_context_takeover: bool, window: u8) -> (Connection, Connection) {
        let params = DeflateParams {
            server_no_context_takeover,
            server_max_window_bits: window,
            ..DeflateParams::default()
        };
        let config = Config::default().compression_threshold(0);
        (
            Connection::with_deflate(Role::Server, config.clone(), &params),
            Connection::with_deflate(Role::Client, config, &params),
        )
    }

    #[test]
    fn server_without_context_takeover_shares_one_compressed_frame() {
        let text = "{\"price\": 101.5, \"symbol\": \"ACME\"} ".repeat(40);
        let prepared = PreparedMessage::text(text.clone());
        let mut sent_bytes = Vec::new();
        for _ in 0..3 {
            let (mut server, mut client) = deflate_pair(true, 15);
            server.send_prepared(&prepared).unwrap();
            let bytes = server.transmit().to_vec();
            assert!(
                bytes.len() < text.len() / 4,
                "compressed: {} bytes",
                bytes.len()
            );
            assert_eq!(bytes[0] & 0x40, 0x40, "RSV1 set");
            sent_bytes.push(bytes);
            assert_eq!(
                messages(transfer(&mut server, &mut client, 100)),
                vec![Message::Text(text.clone().into())]
            );
        }
        assert!(sent_bytes.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn server_without_context_takeover_compresses_per_window_size() {
        let text = "abcdefgh".repeat(2000);
        let prepared = PreparedMessage::text(text.clone());
        for window in [9, 12, 15] {
            let (mut server, mut client) = deflate_pair(true, window);
            server.send_prepared(&prepared).unwrap();
            assert_eq!(
                messages(transfer(&mut server, &mut client, 1000)),
                vec![Message::Text(text.clone().into())],
                "window {window}"
            );
        }
    }

    #[test]
    fn server_mixing_prepared_and_plain_sends_stays_decodable_with_and_without_context_takeover() {
        for no_context_takeover in [false, true] {
            let (mut server, mut client) = deflate_pair(no_context_takeover, 15);
            let shared = "shared broadcast text, shared broadcast text ".repeat(10);
            let own = "a message of this connection only, and again: ".repeat(10);
            let prepared = PreparedMessage::text(shared.clone());
            let mut expected = Vec::new();
            for round in 0..4 {
                server.send_prepared(&prepared).unwrap();
                expected.push(Message::Text(shared.clone().into()));
                if round % 2 == 0 {
                    server.send_text(&own).unwrap();
                    expected.push(Message::Text(own.clone().into()));
                }
            }
            assert_eq!(
                messages(transfer(&mut server, &mut client, 333)),
                expected,
                "server_no_context_takeover = {no_context_takeover}"
            );
        }
    }
}

#[test]
fn prepared_message_carries_text_or_binary_only() {
    assert!(PreparedMessage::from_message(Message::Ping(Bytes::new())).is_none());
    let text = PreparedMessage::from_message(Message::Text("hi".into())).unwrap();
    assert!(text.is_text());
    assert_eq!(text.frame_len(), 4);
    let binary = PreparedMessage::from_message(Message::Binary(Bytes::from_static(b"x"))).unwrap();
    assert!(!binary.is_text());
    let mut conn = server();
    conn.send_prepared(&binary).unwrap();
    let frames = sent(&mut conn);
    assert_eq!(frames[0].opcode, OpCode::Binary);
}
