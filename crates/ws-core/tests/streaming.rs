//! Messages in pieces: received as a stream of [`Chunk`]s without being
//! assembled (`stream_next_message`), and sent as a stream of fragments
//! (`send_fragment`), RFC 6455 section 5.4.

mod common;

use common::*;
use ws_core::{
    Chunk, Config, Connection, Event, Message, MessageKind, ProtocolError, Role, SendError,
};
use ws_frame::OpCode;

/// A deterministic, incompressible-looking byte at `at`.
fn byte_at(at: usize) -> u8 {
    (at.wrapping_mul(2_654_435_761) >> 13) as u8
}

fn chunks(events: Vec<Event>) -> Vec<Chunk> {
    events
        .into_iter()
        .map(|event| match event {
            Event::Chunk(chunk) => chunk,
            other => panic!("expected a chunk, got {other:?}"),
        })
        .collect()
}

#[test]
fn server_streams_a_client_frame_over_max_frame_and_message_size_in_pieces_as_they_arrive() {
    let config = Config::default()
        .max_frame_size(1 << 20)
        .max_message_size(2 << 20);
    let mut server = Connection::new(Role::Server, config);
    let len = 5 << 20;
    let payload: Vec<u8> = (0..len).map(byte_at).collect();
    let wire = frame_to(Role::Server, OpCode::Binary, true, &payload);
    server.stream_next_message(u64::MAX);
    let mut received = Vec::with_capacity(len);
    let mut pieces = Vec::new();
    for read in wire.chunks(64 * 1024) {
        for chunk in chunks(feed(&mut server, read)) {
            assert!(chunk.data.len() <= 64 * 1024, "a piece is at most one read");
            assert_eq!(chunk.kind, MessageKind::Binary);
            received.extend_from_slice(&chunk.data);
            pieces.push((chunk.first, chunk.fin));
        }
    }
    assert_eq!(received, payload);
    assert!(pieces.len() >= 80, "{} pieces", pieces.len());
    assert_eq!(pieces.first(), Some(&(true, false)));
    assert_eq!(pieces.last(), Some(&(false, true)));
    assert!(pieces[1..pieces.len() - 1]
        .iter()
        .all(|p| *p == (false, false)));

    // The next message is whole again, and the usual limits are back.
    let next = frame_to(Role::Server, OpCode::Text, true, b"whole");
    assert_eq!(
        feed(&mut server, &next),
        vec![Event::Message(Message::text("whole"))]
    );
    let big = frame_to(Role::Server, OpCode::Binary, true, &vec![0; (1 << 20) + 1]);
    let events = feed(&mut server, &big);
    assert!(
        matches!(events[0], Event::Error(ProtocolError::FrameTooBig { .. })),
        "{events:?}"
    );
}

#[test]
fn server_streaming_a_fragmented_client_message_skips_empty_fragments_and_answers_pings_between() {
    let mut server = server();
    server.stream_next_message(1 << 20);
    let mut wire = frame_to(Role::Server, OpCode::Text, false, "zwölf ".as_bytes());
    wire.extend(frame_to(Role::Server, OpCode::Continuation, false, b""));
    wire.extend(frame_to(Role::Server, OpCode::Ping, true, b"are you there"));
    wire.extend(frame_to(
        Role::Server,
        OpCode::Continuation,
        true,
        "Äpfel".as_bytes(),
    ));
    let events = feed(&mut server, &wire);
    assert_eq!(events.len(), 3, "{events:?}");
    let Event::Chunk(first) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        (first.kind, first.first, first.fin),
        (MessageKind::Text, true, false)
    );
    assert_eq!(&first.data[..], "zwölf ".as_bytes());
    assert_eq!(
        events[1],
        Event::Message(Message::Ping("are you there".into()))
    );
    let Event::Chunk(last) = &events[2] else {
        panic!("{events:?}")
    };
    assert_eq!((last.first, last.fin), (false, true));
    assert_eq!(&last.data[..], "Äpfel".as_bytes());
    let pong = sent(&mut server);
    assert_eq!(pong[0].opcode, OpCode::Pong);
    assert_eq!(pong[0].payload, b"are you there");
}

#[test]
fn server_streams_text_split_inside_a_character_and_fails_invalid_utf8_with_1007_as_it_arrives() {
    let mut server = server();
    server.stream_next_message(u64::MAX);
    let text = "€uro".repeat(1000);
    let wire = frame_to(Role::Server, OpCode::Text, true, text.as_bytes());
    // Reads that cut the three-byte euro sign in two.
    let mut received = Vec::new();
    for read in wire.chunks(7) {
        for chunk in chunks(feed(&mut server, read)) {
            received.extend_from_slice(&chunk.data);
        }
    }
    assert_eq!(received, text.as_bytes());

    // Invalid UTF-8 in the first fragment of a long message: the failure
    // comes with that fragment, not at the end of the message.
    server.stream_next_message(u64::MAX);
    let wire = frame_to(Role::Server, OpCode::Text, false, b"fine so far \xff");
    let events = feed(&mut server, &wire);
    assert!(
        matches!(
            events.last(),
            Some(Event::Error(ProtocolError::InvalidUtf8(_)))
        ),
        "{events:?}"
    );
    let close = sent(&mut server);
    assert_eq!(close_code_of(&close[0]), Some(1007));
}

#[test]
fn server_streaming_with_a_limit_fails_a_larger_client_message_with_1009_from_its_header() {
    let mut server = server();
    server.stream_next_message(1000);
    let mut wire = frame_to(Role::Server, OpCode::Binary, false, &[1; 600]);
    wire.extend(frame_to(
        Role::Server,
        OpCode::Continuation,
        true,
        &[2; 600],
    ));
    let events = feed(&mut server, &wire);
    assert!(matches!(events[0], Event::Chunk(Chunk { first: true, .. })));
    assert!(
        matches!(
            events[1],
            Event::Error(ProtocolError::MessageTooBig {
                size: 1200,
                limit: 1000
            })
        ),
        "{events:?}"
    );
    assert_eq!(close_code_of(&sent(&mut server)[0]), Some(1009));
}

#[test]
fn server_asked_to_stream_mid_message_hands_out_what_it_assembled_first() {
    let mut server = server();
    let mut wire = frame_to(Role::Server, OpCode::Binary, false, b"assembled ");
    wire.extend(frame_to(
        Role::Server,
        OpCode::Continuation,
        false,
        b"already, ",
    ));
    assert_eq!(feed(&mut server, &wire), vec![]);
    server.stream_next_message(u64::MAX);
    let last = frame_to(Role::Server, OpCode::Continuation, true, b"then streamed");
    let pieces = chunks(feed(&mut server, &last));
    let data: Vec<u8> = pieces.iter().flat_map(|c| c.data.to_vec()).collect();
    assert_eq!(data, b"assembled already, then streamed");
    assert!(pieces[0].first);
    assert!(pieces.last().unwrap().fin);
}

#[test]
fn client_sends_a_message_in_fragments_that_a_server_receives_whole() {
    let mut client = Connection::new(Role::Client, Config::default().rng_seed(Some(7)));
    let mut server = server();
    client
        .send_fragment(MessageKind::Binary, b"one ", false)
        .unwrap();
    client.send_ping(b"between").unwrap();
    client
        .send_fragment(MessageKind::Binary, b"two ", false)
        .unwrap();
    client
        .send_fragment(MessageKind::Binary, b"three", true)
        .unwrap();
    let wire = client.take_transmit();
    let events = feed(&mut server, &wire);
    assert_eq!(
        events,
        vec![
            Event::Message(Message::Ping("between".into())),
            Event::Message(Message::binary(&b"one two three"[..])),
        ]
    );
    // After the last piece, whole messages go out again.
    client.send_text("after").unwrap();
    assert_eq!(
        feed(&mut server, &client.take_transmit()),
        vec![Event::Message(Message::text("after"))]
    );
}

#[test]
fn client_sending_fragments_is_refused_other_messages_another_kind_and_invalid_text_until_fin() {
    let mut client = client();
    client
        .send_fragment(MessageKind::Text, "Gr\u{fc}".as_bytes(), false)
        .unwrap();
    assert_eq!(
        client.send_text("interleaved"),
        Err(SendError::MessageInProgress)
    );
    assert_eq!(
        client.send_prepared(&ws_core::PreparedMessage::binary(&b"x"[..])),
        Err(SendError::MessageInProgress)
    );
    assert_eq!(
        client.send_fragment(MessageKind::Binary, b"x", true),
        Err(SendError::MessageInProgress)
    );
    assert!(matches!(
        client.send_fragment(MessageKind::Text, b"\xff", false),
        Err(SendError::InvalidUtf8(_))
    ));
    // Ending in the middle of a character is refused; the piece is not queued.
    let before = client.buffered_amount();
    assert!(matches!(
        client.send_fragment(MessageKind::Text, b"\xc3", true),
        Err(SendError::InvalidUtf8(_))
    ));
    assert_eq!(client.buffered_amount(), before);
    // A piece that ends mid-character is fine when the next completes it.
    client
        .send_fragment(MessageKind::Text, b"\xc3", false)
        .unwrap();
    client
        .send_fragment(MessageKind::Text, b"\x9fe", true)
        .unwrap();
    assert!(!client.is_sending_fragments());
    let mut server = server();
    assert_eq!(
        feed(&mut server, &client.take_transmit()),
        vec![Event::Message(Message::text("Grüße"))]
    );
}

#[test]
fn server_sends_fragments_split_further_by_fragment_size() {
    let mut server = Connection::new(Role::Server, Config::default().fragment_size(Some(4)));
    server
        .send_fragment(MessageKind::Binary, b"0123456789", false)
        .unwrap();
    server
        .send_fragment(MessageKind::Binary, b"ab", true)
        .unwrap();
    let frames = sent(&mut server);
    let shape: Vec<(OpCode, bool, usize)> = frames
        .iter()
        .map(|f| (f.opcode, f.fin, f.payload.len()))
        .collect();
    assert_eq!(
        shape,
        vec![
            (OpCode::Binary, false, 4),
            (OpCode::Continuation, false, 4),
            (OpCode::Continuation, false, 2),
            (OpCode::Continuation, true, 2),
        ]
    );
}

#[cfg(feature = "deflate")]
mod compressed {
    use super::*;
    use ws_core::DeflateParams;

    #[test]
    fn server_streams_a_compressed_message_that_inflates_to_64_mib_in_bounded_pieces() {
        let params = DeflateParams::default();
        let config = Config::default().max_message_size(1 << 20);
        let mut client =
            Connection::with_deflate(Role::Client, config.clone().rng_seed(Some(3)), &params);
        let mut server = Connection::with_deflate(Role::Server, config, &params);
        let len = 64 << 20;
        // Over the receiver's max_message_size, which streaming lifts.
        client.send_binary(&vec![b'z'; len]).unwrap();
        client.send_text("and then a small one").unwrap();
        let wire = client.take_transmit();
        assert!(wire.len() < len / 100, "{} bytes on the wire", wire.len());
        server.stream_next_message(u64::MAX);
        let events = feed(&mut server, &wire);
        let (last, pieces) = events.split_last().unwrap();
        let mut total = 0;
        for (i, event) in pieces.iter().enumerate() {
            let Event::Chunk(chunk) = event else {
                panic!("{event:?}")
            };
            assert!(
                chunk.data.len() <= 64 * 1024,
                "piece of {}",
                chunk.data.len()
            );
            assert!(chunk.data.iter().all(|&b| b == b'z'));
            assert_eq!(chunk.first, i == 0);
            assert_eq!(chunk.fin, i == pieces.len() - 1);
            total += chunk.data.len();
        }
        assert_eq!(total, len);
        // The context carries over into the next, whole, message.
        assert_eq!(*last, Event::Message(Message::text("and then a small one")));
    }

    #[test]
    fn server_streaming_a_compressed_message_past_its_limit_fails_with_1009() {
        let params = DeflateParams::default();
        let mut client =
            Connection::with_deflate(Role::Client, Config::default().rng_seed(Some(3)), &params);
        let mut server = Connection::with_deflate(Role::Server, Config::default(), &params);
        client.send_binary(&vec![0; 1 << 20]).unwrap();
        server.stream_next_message(200_000);
        let events = feed(&mut server, &client.take_transmit());
        assert!(
            matches!(
                events.last(),
                Some(Event::Error(ProtocolError::MessageTooBig {
                    limit: 200_000,
                    ..
                }))
            ),
            "{events:?}"
        );
        let received: usize = events
            .iter()
            .filter_map(|e| match e {
                Event::Chunk(c) => Some(c.data.len()),
                _ => None,
            })
            .sum();
        assert!(received <= 200_000);
    }

    #[test]
    fn server_with_deflate_sends_fragments_uncompressed_and_its_client_reads_them() {
        let params = DeflateParams::default();
        let mut server = Connection::with_deflate(Role::Server, Config::default(), &params);
        let mut client = Connection::with_deflate(Role::Client, Config::default(), &params);
        server.send_text(&"compressed ".repeat(20)).unwrap();
        server
            .send_fragment(MessageKind::Text, "streamed ".repeat(20).as_bytes(), false)
            .unwrap();
        server
            .send_fragment(MessageKind::Text, b"end", true)
            .unwrap();
        let wire = server.take_transmit();
        let events = feed(&mut client, &wire);
        assert_eq!(
            events,
            vec![
                Event::Message(Message::text("compressed ".repeat(20))),
                Event::Message(Message::text("streamed ".repeat(20) + "end")),
            ]
        );
    }
}
