//! The connection's rules, each checked for one role and direction.

mod common;

use std::time::{Duration, Instant};

use common::*;
use ws_core::{
    CloseCode, CloseFrame, Config, Connection, Event, Message, ProtocolError, Role, SendError,
    State, Timeout,
};
use ws_frame::{FrameError, FrameHeader, OpCode};

fn error_of(events: &[Event]) -> &ProtocolError {
    events
        .iter()
        .find_map(|event| match event {
            Event::Error(error) => Some(error),
            _ => None,
        })
        .expect("an error event")
}

fn closed_of(events: &[Event]) -> &ws_core::Closed {
    match events.last() {
        Some(Event::Closed(closed)) => closed,
        other => panic!("expected Closed last, got {other:?}"),
    }
}

#[test]
fn server_receives_masked_text_message() {
    let mut server = server();
    let events = feed(
        &mut server,
        &frame_to(Role::Server, OpCode::Text, true, b"Hello"),
    );
    assert_eq!(events, [Event::Message(Message::text("Hello"))]);
}

#[test]
fn client_receives_unmasked_binary_message() {
    let mut client = client();
    let events = feed(
        &mut client,
        &frame_to(Role::Client, OpCode::Binary, true, &[0, 1, 2]),
    );
    assert_eq!(events, [Event::Message(Message::binary(vec![0, 1, 2]))]);
}

#[test]
fn server_fails_on_unmasked_frame() {
    let mut server = server();
    let events = feed(
        &mut server,
        &frame_to(Role::Client, OpCode::Text, true, b"Hello"),
    );
    assert_eq!(
        error_of(&events),
        &ProtocolError::Frame(FrameError::UnmaskedFrame)
    );
    let frames = sent(&mut server);
    assert_eq!(close_code_of(&frames[0]), Some(1002));
    assert!(
        server.should_close_transport(),
        "a failing server closes TCP at once"
    );
}

#[test]
fn client_fails_on_masked_frame() {
    let mut client = client();
    let events = feed(
        &mut client,
        &frame_to(Role::Server, OpCode::Text, true, b"Hello"),
    );
    assert_eq!(
        error_of(&events),
        &ProtocolError::Frame(FrameError::MaskedFrame)
    );
    assert_eq!(close_code_of(&sent(&mut client)[0]), Some(1002));
    assert!(
        !client.should_close_transport(),
        "a failing client waits for the server to close TCP"
    );
}

#[test]
fn server_fails_on_reserved_bits_and_opcodes() {
    let mut server = server();
    let header = FrameHeader {
        rsv2: true,
        mask: Some([1, 2, 3, 4]),
        ..FrameHeader::new(OpCode::Text, 0)
    };
    let events = feed(&mut server, &raw_frame(header, b""));
    assert_eq!(
        error_of(&events),
        &ProtocolError::Frame(FrameError::ReservedBits(0x20))
    );

    let mut server = common::server();
    let events = feed(&mut server, &[0x83, 0x80, 1, 2, 3, 4]);
    assert_eq!(
        error_of(&events),
        &ProtocolError::Frame(FrameError::ReservedOpcode(3))
    );
    assert_eq!(close_code_of(&sent(&mut server)[0]), Some(1002));
}

#[test]
fn server_reassembles_fragments_with_a_ping_between_them() {
    let mut server = server();
    let mut bytes = frame_to(Role::Server, OpCode::Text, false, b"Hel");
    bytes.extend(frame_to(Role::Server, OpCode::Ping, true, b"mid"));
    bytes.extend(frame_to(Role::Server, OpCode::Continuation, false, b"l"));
    bytes.extend(frame_to(Role::Server, OpCode::Continuation, true, b"o"));
    let events = feed(&mut server, &bytes);
    assert_eq!(
        events,
        [
            Event::Message(Message::ping(&b"mid"[..])),
            Event::Message(Message::text("Hello"))
        ]
    );
    let frames = sent(&mut server);
    assert_eq!(
        (frames[0].opcode, frames[0].payload.as_slice()),
        (OpCode::Pong, &b"mid"[..])
    );
}

#[test]
fn server_fails_on_continuation_without_a_message() {
    let mut server = server();
    let events = feed(
        &mut server,
        &frame_to(Role::Server, OpCode::Continuation, true, b"x"),
    );
    assert_eq!(error_of(&events), &ProtocolError::UnexpectedContinuation);
    assert_eq!(close_code_of(&sent(&mut server)[0]), Some(1002));
}

#[test]
fn server_fails_on_new_data_frame_inside_fragmented_message() {
    let mut server = server();
    let mut bytes = frame_to(Role::Server, OpCode::Text, false, b"a");
    bytes.extend(frame_to(Role::Server, OpCode::Binary, true, b"b"));
    let events = feed(&mut server, &bytes);
    assert_eq!(error_of(&events), &ProtocolError::ExpectedContinuation);
    assert_eq!(close_code_of(&sent(&mut server)[0]), Some(1002));
}

#[test]
fn server_fails_fast_on_invalid_utf8_before_the_frame_ends() {
    let mut server = server();
    let mut payload = b"valid start ".to_vec();
    payload.extend_from_slice(&[
        0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5,
    ]);
    payload.extend_from_slice(&[0xf4, 0x90, 0x80, 0x80]); // beyond U+10FFFF
    payload.extend_from_slice(&[b'x'; 100]);
    let bytes = frame_to(Role::Server, OpCode::Text, true, &payload);
    // Deliver everything up to and including the second bad byte, not the rest.
    let bad_at = bytes.len() - 100 - 3;
    let events = feed(&mut server, &bytes[..bad_at - 1]);
    assert!(events.is_empty(), "still valid so far: {events:?}");
    let events = feed(&mut server, &bytes[bad_at - 1..bad_at + 1]);
    assert!(matches!(error_of(&events), ProtocolError::InvalidUtf8(_)));
    assert_eq!(close_code_of(&sent(&mut server)[0]), Some(1007));
}

#[test]
fn server_fails_on_invalid_utf8_in_a_later_fragment() {
    let mut server = server();
    let mut bytes = frame_to(Role::Server, OpCode::Text, false, b"ok");
    bytes.extend(frame_to(
        Role::Server,
        OpCode::Continuation,
        false,
        &[0xc0, 0xaf],
    ));
    let events = feed(&mut server, &bytes);
    assert!(matches!(error_of(&events), ProtocolError::InvalidUtf8(_)));
}

#[test]
fn server_accepts_a_character_split_across_fragments() {
    let mut server = server();
    let euro = "€".as_bytes();
    let mut bytes = frame_to(Role::Server, OpCode::Text, false, &euro[..1]);
    bytes.extend(frame_to(
        Role::Server,
        OpCode::Continuation,
        true,
        &euro[1..],
    ));
    assert_eq!(
        feed(&mut server, &bytes),
        [Event::Message(Message::text("€"))]
    );
}

#[test]
fn server_answers_ping_with_identical_pong() {
    let mut server = server();
    let events = feed(
        &mut server,
        &frame_to(Role::Server, OpCode::Ping, true, b"are you there"),
    );
    assert_eq!(
        events,
        [Event::Message(Message::ping(&b"are you there"[..]))]
    );
    let frames = sent(&mut server);
    assert_eq!(frames.len(), 1);
    assert_eq!(
        (frames[0].opcode, frames[0].payload.as_slice()),
        (OpCode::Pong, &b"are you there"[..])
    );
}

#[test]
fn client_answers_ping_with_a_masked_pong() {
    let mut client = client();
    feed(
        &mut client,
        &frame_to(Role::Client, OpCode::Ping, true, b"p"),
    );
    let frames = sent(&mut client);
    assert!(frames[0].masked);
    assert_eq!(frames[0].payload, b"p");
}

#[test]
fn client_delivers_unsolicited_pong_and_answers_nothing() {
    let mut client = client();
    let events = feed(
        &mut client,
        &frame_to(Role::Client, OpCode::Pong, true, b"beat"),
    );
    assert_eq!(events, [Event::Message(Message::pong(&b"beat"[..]))]);
    assert!(sent(&mut client).is_empty());
}

#[test]
fn server_output_stays_bounded_under_a_ping_flood() {
    let mut server = server();
    let ping = frame_to(Role::Server, OpCode::Ping, true, &[7u8; 125]);
    for _ in 0..20_000 {
        server.receive(&ping);
        drain(&mut server);
    }
    assert!(
        server.buffered_amount() < 70 * 1024,
        "buffered {}",
        server.buffered_amount()
    );
    // Draining the buffer lets the coalesced pong out.
    let n = server.transmit().len();
    server.advance_transmit(n);
    assert_eq!(sent(&mut server).len(), 1);
}

/// A pong held back behind a full output, the peer's close and the close
/// deadline share the connection's box of rare state: each still takes
/// effect. The close is echoed, the held pong is dropped (never sent after
/// the close), and the end reports the peer's code.
#[test]
fn server_with_a_held_back_pong_echoes_the_close_and_sends_no_pong_after_it() {
    let mut server = server();
    let ping = frame_to(Role::Server, OpCode::Ping, true, &[7u8; 125]);
    let mut answered = 0;
    while server.buffered_amount() <= 64 * 1024 {
        feed(&mut server, &ping);
        answered += 1;
    }
    let before = server.buffered_amount();
    feed(&mut server, &ping);
    assert_eq!(server.buffered_amount(), before, "this pong is held back");

    feed(
        &mut server,
        &frame_to(Role::Server, OpCode::Close, true, &1000u16.to_be_bytes()),
    );
    assert_eq!(server.state(), State::Closing);
    let frames = sent(&mut server);
    assert_eq!(
        frames.len(),
        answered + 1,
        "the pongs answered at once, then the close"
    );
    assert!(frames[..answered].iter().all(|f| f.opcode == OpCode::Pong));
    assert_eq!(close_code_of(&frames[answered]), Some(1000));
    assert!(
        deadline_at(&mut server, Instant::now()).is_some(),
        "the close timeout runs"
    );
    assert!(server.should_close_transport());
    server.transport_closed();
    let events = drain(&mut server);
    let Some(Event::Closed(end)) = events.last() else {
        panic!("no Closed event: {events:?}");
    };
    assert_eq!((end.code, end.clean), (CloseCode::NORMAL, true));
}

#[test]
fn server_echoes_the_close_code_and_closes_the_transport_first() {
    let mut server = server();
    let mut payload = 4000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    let events = feed(
        &mut server,
        &frame_to(Role::Server, OpCode::Close, true, &payload),
    );
    assert_eq!(
        events,
        [Event::Message(Message::close(CloseCode(4000), "bye"))]
    );
    assert_eq!(server.state(), State::Closing);
    let frames = sent(&mut server);
    assert_eq!(close_code_of(&frames[0]), Some(4000));
    assert!(server.should_close_transport());
    server.receive_eof();
    let events = drain(&mut server);
    assert_eq!(
        closed_of(&events),
        &ws_core::Closed {
            code: CloseCode(4000),
            reason: "bye".into(),
            clean: true
        }
    );
    assert_eq!(server.state(), State::Closed);
}

#[test]
fn server_is_closed_once_it_has_shut_the_transport_without_waiting_for_eof() {
    let mut server = server();
    server.transport_closed(); // not asked to: ignored
    assert_eq!(server.state(), State::Open);
    feed(
        &mut server,
        &frame_to(Role::Server, OpCode::Close, true, &1000u16.to_be_bytes()),
    );
    assert!(
        !server.should_close_transport(),
        "the echo is not written yet"
    );
    server.transport_closed();
    assert_eq!(server.state(), State::Closing);
    sent(&mut server);
    assert!(server.should_close_transport());
    server.transport_closed();
    let events = drain(&mut server);
    assert!(closed_of(&events).clean);
    assert_eq!(server.state(), State::Closed);
}

#[test]
fn server_answers_an_empty_close_with_an_empty_close() {
    let mut server = server();
    feed(
        &mut server,
        &frame_to(Role::Server, OpCode::Close, true, b""),
    );
    let frames = sent(&mut server);
    assert_eq!(frames[0].opcode, OpCode::Close);
    assert!(frames[0].payload.is_empty());
    server.receive_eof();
    assert_eq!(
        closed_of(&drain(&mut server)).code,
        CloseCode::NO_STATUS_RECEIVED
    );
}

#[test]
fn client_waits_for_tcp_close_after_close_handshake() {
    let mut client = client();
    client.close(CloseCode::NORMAL, "done").unwrap();
    let frames = sent(&mut client);
    assert_eq!(close_code_of(&frames[0]), Some(1000));
    assert!(frames[0].masked);
    let events = feed(
        &mut client,
        &frame_to(Role::Client, OpCode::Close, true, &1000u16.to_be_bytes()),
    );
    assert_eq!(
        events,
        [Event::Message(Message::Close(Some(CloseFrame::new(
            CloseCode::NORMAL,
            ""
        ))))]
    );
    assert!(
        !client.should_close_transport(),
        "the server closes TCP first"
    );
    assert!(sent(&mut client).is_empty(), "no second close frame");
    client.receive_eof();
    let events = drain(&mut client);
    assert!(closed_of(&events).clean);
}

#[test]
fn server_that_shut_down_after_the_close_handshake_is_closed_at_once() {
    let mut server = server();
    feed(
        &mut server,
        &frame_to(Role::Server, OpCode::Close, true, &1000u16.to_be_bytes()),
    );
    sent(&mut server);
    assert!(server.should_close_transport());
    server.transport_shut_down();
    let events = drain(&mut server);
    assert!(closed_of(&events).clean);
    assert_eq!(server.state(), State::Closed);
}

/// After failing, a server that shut the transport down keeps reading
/// (discarding) until the client's end of input: closing with the client's
/// bytes unread would reset the connection, and a reset can make the client
/// lose the messages and the close frame it had not read yet.
#[test]
fn server_that_failed_lingers_after_shutting_down_until_the_client_ends() {
    let mut server = server();
    let mut bytes = frame_to(Role::Server, OpCode::Text, true, b"Hello");
    bytes.extend_from_slice(&[0xc1, 0x80, 1, 2, 3, 4]); // RSV1, no extension
    let events = feed(&mut server, &bytes);
    assert_eq!(events[0], Event::Message(Message::text("Hello")));
    assert_eq!(
        *error_of(&events),
        ProtocolError::Frame(FrameError::ReservedBits(0x40))
    );
    let frames = sent(&mut server);
    assert_eq!(close_code_of(&frames[0]), Some(1002));
    assert!(server.should_close_transport());
    server.transport_shut_down();
    assert_eq!(server.state(), State::Closing);
    let ping = frame_to(Role::Server, OpCode::Ping, true, b"");
    assert!(feed(&mut server, &ping).is_empty(), "input is discarded");
    assert!(sent(&mut server).is_empty(), "the ping is not answered");
    server.receive_eof();
    let events = drain(&mut server);
    let closed = closed_of(&events);
    assert!(!closed.clean);
    assert_eq!(server.state(), State::Closed);
}

#[test]
fn server_that_failed_stops_lingering_when_the_close_timeout_runs_out() {
    let mut server = Connection::new(
        Role::Server,
        Config::default().close_timeout(Duration::from_secs(2)),
    );
    let start = Instant::now();
    feed(&mut server, &[0x81, 0x00]); // unmasked: 1002
    sent(&mut server);
    let deadline = deadline_at(&mut server, start).expect("close timer armed");
    assert_eq!(deadline, start + Duration::from_secs(2));
    server.transport_shut_down();
    server.handle_timeout(start + Duration::from_secs(1));
    assert!(drain(&mut server).is_empty(), "still lingering");
    server.handle_timeout(deadline);
    let events = drain(&mut server);
    assert!(!closed_of(&events).clean);
    assert_eq!(server.state(), State::Closed);
}

#[test]
fn client_gives_up_on_the_server_after_the_close_timeout() {
    let mut client = Connection::new(
        Role::Client,
        Config::default().close_timeout(Duration::from_secs(3)),
    );
    let start = Instant::now();
    client.close(CloseCode::NORMAL, "").unwrap();
    let deadline = deadline_at(&mut client, start).expect("close timer armed");
    assert_eq!(deadline, start + Duration::from_secs(3));
    client.handle_timeout(start + Duration::from_secs(1));
    assert!(drain(&mut client).is_empty());
    client.handle_timeout(deadline);
    let events = drain(&mut client);
    let closed = closed_of(&events);
    assert!(!closed.clean);
    assert_eq!(closed.code, CloseCode::ABNORMAL);
    let _ = client.take_transmit();
    assert!(client.should_close_transport());
    assert_eq!(deadline_at(&mut client, deadline), None);
}

#[test]
fn server_fails_on_invalid_close_payloads() {
    let cases: [(&[u8], u16); 4] = [
        (&[0x03], 1002),                   // one byte
        (&[0x03, 0xed], 1002),             // 1005 may not be sent
        (&[0x0b, 0xb7], 1002),             // 2999 is reserved for the protocol
        (&[0x03, 0xe8, 0xff, 0xfe], 1007), // reason not UTF-8
    ];
    for (payload, expected) in cases {
        let mut server = server();
        let events = feed(
            &mut server,
            &frame_to(Role::Server, OpCode::Close, true, payload),
        );
        assert!(
            matches!(error_of(&events), ProtocolError::ClosePayload(_)),
            "{payload:?}"
        );
        assert_eq!(
            close_code_of(&sent(&mut server)[0]),
            Some(expected),
            "{payload:?}"
        );
    }
}

#[test]
fn commands_after_close_are_refused_with_a_typed_error() {
    let mut server = server();
    server.close(CloseCode::GOING_AWAY, "restart").unwrap();
    assert_eq!(server.send_text("late"), Err(SendError::Closed));
    assert_eq!(server.send_ping(b""), Err(SendError::Closed));
    assert_eq!(server.close(CloseCode::NORMAL, ""), Err(SendError::Closed));
    assert_eq!(sent(&mut server).len(), 1);
}

#[test]
fn close_with_a_reserved_code_or_long_reason_is_refused() {
    let mut client = client();
    assert!(matches!(
        client.close(CloseCode::ABNORMAL, ""),
        Err(SendError::Close(_))
    ));
    assert!(matches!(
        client.close(CloseCode::NORMAL, &"x".repeat(124)),
        Err(SendError::Close(_))
    ));
    assert_eq!(
        client.send_ping(&[0; 126]),
        Err(SendError::ControlTooLong(126))
    );
    assert_eq!(client.state(), State::Open);
}

#[test]
fn server_reports_eof_without_close_as_1006_after_delivering_what_arrived() {
    let mut server = server();
    let mut bytes = frame_to(Role::Server, OpCode::Text, true, b"one");
    bytes.extend(frame_to(Role::Server, OpCode::Binary, true, b"two"));
    bytes.extend(&frame_to(Role::Server, OpCode::Text, true, b"three")[..4]); // cut mid-frame
    server.receive(&bytes);
    server.receive_eof();
    let events = drain(&mut server);
    assert_eq!(events[0], Event::Message(Message::text("one")));
    assert_eq!(events[1], Event::Message(Message::binary(&b"two"[..])));
    assert_eq!(events[2], Event::Error(ProtocolError::UnexpectedEof));
    assert_eq!(closed_of(&events).code, CloseCode::ABNORMAL);
    assert_eq!(events.len(), 4);
}

#[test]
fn server_fails_on_a_frame_over_the_limit_from_its_header_alone() {
    let mut server = Connection::new(Role::Server, Config::default().max_frame_size(1024));
    let header = FrameHeader {
        mask: Some([1, 2, 3, 4]),
        ..FrameHeader::new(OpCode::Binary, 1 << 40)
    };
    let mut head = [0u8; 14];
    let n = header.encode(&mut head);
    let events = feed(&mut server, &head[..n]);
    assert_eq!(
        error_of(&events),
        &ProtocolError::FrameTooBig {
            size: 1 << 40,
            limit: 1024
        }
    );
    assert_eq!(close_code_of(&sent(&mut server)[0]), Some(1009));
}

#[test]
fn server_fails_when_fragments_grow_a_message_past_the_limit() {
    let mut server = Connection::new(Role::Server, Config::default().max_message_size(10));
    let mut bytes = frame_to(Role::Server, OpCode::Binary, false, &[0; 6]);
    bytes.extend(frame_to(Role::Server, OpCode::Continuation, true, &[0; 6]));
    let events = feed(&mut server, &bytes);
    assert_eq!(
        error_of(&events),
        &ProtocolError::MessageTooBig {
            size: 12,
            limit: 10
        }
    );
    assert_eq!(close_code_of(&sent(&mut server)[0]), Some(1009));
}

#[test]
fn server_fails_on_a_flood_of_tiny_fragments() {
    let mut server = Connection::new(Role::Server, Config::default().max_fragments(100));
    let mut bytes = frame_to(Role::Server, OpCode::Binary, false, b"x");
    for _ in 0..200 {
        bytes.extend(frame_to(Role::Server, OpCode::Continuation, false, b""));
    }
    let events = feed(&mut server, &bytes);
    assert_eq!(
        error_of(&events),
        &ProtocolError::TooManyFragments { limit: 100 }
    );
}

#[test]
fn client_masks_each_frame_with_a_fresh_key() {
    let mut client = client();
    for _ in 0..8 {
        client.send_binary(b"same").unwrap();
    }
    let frames = sent(&mut client);
    let keys: std::collections::HashSet<_> = frames.iter().map(|frame| frame.mask).collect();
    assert!(keys.len() >= 7, "keys repeat: {keys:?}");
    assert!(frames.iter().all(|frame| frame.payload == b"same"));
}

#[test]
fn server_sends_unmasked_frames() {
    let mut server = server();
    server.send_text("hi").unwrap();
    let frames = sent(&mut server);
    assert!(!frames[0].masked);
}

#[test]
fn client_sends_keepalive_pings_and_fails_without_a_pong() {
    let config = Config::default().keepalive(Duration::from_secs(10), Duration::from_secs(5));
    let mut client = Connection::new(Role::Client, config);
    let start = Instant::now();
    let first = deadline_at(&mut client, start).unwrap();
    assert_eq!(first, start + Duration::from_secs(10));
    client.handle_timeout(first);
    let ping = sent(&mut client);
    assert_eq!(ping[0].opcode, OpCode::Ping);
    let deadline = deadline_at(&mut client, first).unwrap();
    assert_eq!(deadline, first + Duration::from_secs(5));
    client.handle_timeout(deadline);
    let events = drain(&mut client);
    assert_eq!(error_of(&events), &ProtocolError::KeepaliveTimeout);
    assert_eq!(close_code_of(&sent(&mut client)[0]), Some(1011));
    assert!(client.should_close_transport());
}

#[test]
fn server_keepalive_is_satisfied_by_the_matching_pong() {
    let config = Config::default().keepalive(Duration::from_secs(10), Duration::from_secs(5));
    let mut server = Connection::new(Role::Server, config);
    let start = Instant::now();
    let first = deadline_at(&mut server, start).unwrap();
    server.handle_timeout(first);
    let ping = sent(&mut server).remove(0);
    feed(
        &mut server,
        &frame_to(Role::Server, OpCode::Pong, true, &ping.payload),
    );
    // The next deadline is the next ping, not a pong timeout.
    assert_eq!(
        deadline_at(&mut server, first),
        Some(first + Duration::from_secs(10))
    );
    server.handle_timeout(first + Duration::from_secs(6));
    assert!(drain(&mut server).is_empty());
}

#[test]
fn server_splits_outgoing_messages_into_configured_fragments() {
    let mut server = Connection::new(Role::Server, Config::default().fragment_size(Some(4)));
    server.send_text("0123456789").unwrap();
    let frames = sent(&mut server);
    let shape: Vec<_> = frames
        .iter()
        .map(|f| (f.opcode, f.fin, f.payload.len()))
        .collect();
    assert_eq!(
        shape,
        [
            (OpCode::Text, false, 4),
            (OpCode::Continuation, false, 4),
            (OpCode::Continuation, true, 2)
        ]
    );
}

#[test]
fn server_refuses_data_while_the_output_buffer_is_full() {
    let mut server = Connection::new(Role::Server, Config::default().max_buffered_output(100));
    server.send_binary(&[0; 150]).unwrap(); // an empty buffer takes any message
    assert!(server.is_output_full());
    assert!(matches!(
        server.send_binary(&[0; 10]),
        Err(SendError::BufferFull { .. })
    ));
    let n = server.transmit().len();
    server.advance_transmit(n);
    server.send_binary(&[0; 10]).unwrap();
}

#[test]
fn server_ignores_data_after_the_peers_close() {
    let mut server = server();
    let mut bytes = frame_to(Role::Server, OpCode::Close, true, &1000u16.to_be_bytes());
    bytes.extend(frame_to(Role::Server, OpCode::Text, true, b"late"));
    let events = feed(&mut server, &bytes);
    assert_eq!(events.len(), 1);
}

#[test]
fn client_and_server_exchange_a_close_handshake_through_a_pair() {
    let mut client = client();
    let mut server = server();
    client.send_text("last words").unwrap();
    client.close(CloseCode::NORMAL, "bye").unwrap();
    let events = transfer(&mut client, &mut server, 3);
    assert_eq!(events[0], Event::Message(Message::text("last words")));
    assert!(matches!(events[1], Event::Message(Message::Close(Some(_)))));
    let events = transfer(&mut server, &mut client, 1);
    assert!(matches!(events[0], Event::Message(Message::Close(Some(_)))));
    assert!(server.should_close_transport());
    client.receive_eof();
    server.receive_eof();
    assert!(closed_of(&drain(&mut client)).clean);
    assert!(closed_of(&drain(&mut server)).clean);
}

#[test]
fn idle_connection_releases_its_buffers() {
    let mut server = server();
    feed(
        &mut server,
        &frame_to(Role::Server, OpCode::Binary, true, &[1; 4096]),
    );
    server.send_binary(&[2; 4096]).unwrap();
    let _ = server.take_transmit();
    drop(server.release_idle_buffers());
    assert_eq!(server.receive_buffer().capacity(), 0);
}

#[test]
fn server_hands_out_a_message_from_a_taken_buffer_without_copying() {
    let mut server = server();
    let bytes =
        bytes::BytesMut::from(&frame_to(Role::Server, OpCode::Binary, true, b"zero copy")[..]);
    let start = bytes.as_ptr() as usize;
    server.receive_bytes(bytes);
    let Some(Event::Message(Message::Binary(data))) = server.poll_event() else {
        panic!()
    };
    assert_eq!(&data[..], b"zero copy");
    assert_eq!(
        data.as_ptr() as usize,
        start + 6,
        "the payload is a slice of the buffer given"
    );
}

#[test]
fn server_reports_the_bytes_a_partly_received_frame_still_needs() {
    let mut server = server();
    let payload = vec![7u8; 1000];
    let frame = frame_to(Role::Server, OpCode::Binary, true, &payload);
    assert_eq!(server.frame_bytes_wanted(), 0, "nothing received yet");
    // Header (2 + 2 length + 4 mask) and 100 payload bytes.
    assert!(feed(&mut server, &frame[..108]).is_empty());
    assert_eq!(server.frame_bytes_wanted(), 900);
    assert!(feed(&mut server, &frame[108..600]).is_empty());
    assert_eq!(server.frame_bytes_wanted(), 408);
    let events = feed(&mut server, &frame[600..]);
    assert_eq!(events, [Event::Message(Message::binary(payload))]);
    assert_eq!(server.frame_bytes_wanted(), 0, "between frames");
}

#[test]
fn server_takes_a_frame_received_in_pieces_whole_and_unmasked() {
    // Every cut of a fragmented text message across reads gives the same message.
    let text = "héllo wörld, a message in two fragments";
    let (first, second) = text.as_bytes().split_at(9);
    let mut bytes = frame_to(Role::Server, OpCode::Text, false, first);
    bytes.extend(frame_to(Role::Server, OpCode::Continuation, true, second));
    for cut in 1..bytes.len() {
        let mut server = server();
        let mut events = feed(&mut server, &bytes[..cut]);
        events.extend(feed(&mut server, &bytes[cut..]));
        assert_eq!(
            events,
            [Event::Message(Message::text(text))],
            "cut at {cut}"
        );
    }
}

#[test]
fn server_queues_a_large_owned_payload_by_reference_and_writes_it_in_order() {
    let mut server = server();
    let big = bytes::Bytes::from(vec![0xabu8; 20_000]);
    server.send(Message::text("before")).unwrap();
    server.send(Message::Binary(big.clone())).unwrap();
    server.send_ping(b"after").unwrap();
    let mut slices = [std::io::IoSlice::new(&[]); 8];
    let count = server.transmit_vectored(&mut slices);
    assert_eq!(count, 3, "text+header, the payload itself, then the ping");
    assert!(
        std::ptr::eq(slices[1].as_ptr(), big.as_ptr()),
        "the payload is not copied"
    );
    let mut expected = frame_to(Role::Client, OpCode::Text, true, b"before");
    expected.extend(frame_to(Role::Client, OpCode::Binary, true, &big));
    expected.extend(frame_to(Role::Client, OpCode::Ping, true, b"after"));
    assert_eq!(server.buffered_amount(), expected.len());
    // Written in odd-sized pieces, through every boundary.
    let mut written = Vec::new();
    while !server.transmit().is_empty() {
        let piece = &server.transmit()[..server.transmit().len().min(1000)];
        written.extend_from_slice(piece);
        let n = piece.len();
        server.advance_transmit(n);
    }
    assert_eq!(written, expected);
    assert_eq!(server.buffered_amount(), 0);
}

fn timed(message: Option<u64>, write: Option<u64>) -> Config {
    Config::default()
        .message_timeout(message.map(Duration::from_secs))
        .write_timeout(write.map(Duration::from_secs))
}

#[test]
fn server_fails_a_message_that_trickles_in_past_the_message_timeout() {
    let mut server = Connection::new(Role::Server, timed(Some(10), None));
    let start = Instant::now();
    assert_eq!(
        deadline_at(&mut server, start),
        None,
        "an idle connection has no deadline"
    );
    let frame = frame_to(Role::Server, OpCode::Text, true, b"slow loris");
    // One byte a second: never a whole frame within 10 s.
    for (second, byte) in frame[..8].iter().enumerate() {
        assert!(feed(&mut server, &[*byte]).is_empty());
        let now = start + Duration::from_secs(second as u64);
        assert_eq!(
            deadline_at(&mut server, now),
            Some(start + Duration::from_secs(10))
        );
    }
    server.handle_timeout(start + Duration::from_secs(10));
    let events = drain(&mut server);
    assert_eq!(error_of(&events), &ProtocolError::MessageTimeout);
    assert_eq!(closed_of(&events).code, CloseCode::ABNORMAL);
    assert_eq!(close_code_of(&sent(&mut server)[0]), Some(1008));
    assert_eq!(server.timed_out(), Some(ProtocolError::MessageTimeout));
    assert_eq!(server.state(), State::Closed);
}

#[test]
fn client_fails_a_fragmented_message_whose_last_fragment_never_comes() {
    let mut client = Connection::new(Role::Client, timed(Some(10), None));
    let start = Instant::now();
    let first = frame_to(Role::Client, OpCode::Text, false, b"part one");
    assert!(feed(&mut client, &first).is_empty());
    assert_eq!(
        deadline_at(&mut client, start),
        Some(start + Duration::from_secs(10))
    );
    // A ping in between completes a frame but not the message.
    let ping = frame_to(Role::Client, OpCode::Ping, true, b"");
    assert_eq!(feed(&mut client, &ping).len(), 1);
    client.handle_timeout(start + Duration::from_secs(10));
    assert_eq!(
        error_of(&drain(&mut client)),
        &ProtocolError::MessageTimeout
    );
}

#[test]
fn server_rearms_the_message_timeout_while_messages_keep_completing() {
    let mut server = Connection::new(Role::Server, timed(Some(10), None));
    let start = Instant::now();
    let whole = frame_to(Role::Server, OpCode::Binary, true, &[7; 100]);
    // A frame's first half arrives, then (within the timeout) the rest and
    // the start of the next message.
    assert!(feed(&mut server, &whole[..50]).is_empty());
    assert_eq!(
        deadline_at(&mut server, start),
        Some(start + Duration::from_secs(10))
    );
    let mut rest = whole[50..].to_vec();
    rest.extend_from_slice(&whole[..3]);
    assert_eq!(feed(&mut server, &rest).len(), 1);
    // The deadline stays put (no timer churn per message) ...
    let at = start + Duration::from_secs(10);
    assert_eq!(
        deadline_at(&mut server, start + Duration::from_secs(9)),
        Some(at)
    );
    // ... and when it passes, progress was made: re-armed, not failed.
    server.handle_timeout(at);
    assert!(drain(&mut server).is_empty());
    assert_eq!(
        deadline_at(&mut server, at),
        Some(at + Duration::from_secs(10))
    );
    server.handle_timeout(at + Duration::from_secs(10));
    assert_eq!(
        error_of(&drain(&mut server)),
        &ProtocolError::MessageTimeout
    );
}

#[test]
fn server_without_a_message_timeout_waits_for_a_slow_frame() {
    let mut server = Connection::new(Role::Server, timed(None, None));
    let frame = frame_to(Role::Server, OpCode::Text, true, b"slow");
    assert!(feed(&mut server, &frame[..3]).is_empty());
    assert_eq!(deadline_at(&mut server, Instant::now()), None);
}

#[test]
fn server_gives_up_on_a_peer_that_stops_reading_after_the_write_timeout() {
    let mut server = Connection::new(Role::Server, timed(None, Some(30)));
    let start = Instant::now();
    server.send_binary(&[1; 1000]).unwrap();
    assert_eq!(
        deadline_at(&mut server, start),
        Some(start + Duration::from_secs(30))
    );
    // Some of it is written at 20 s: progress, so 30 s passes without failing.
    server.advance_transmit(100);
    server.handle_timeout(start + Duration::from_secs(30));
    assert!(drain(&mut server).is_empty());
    let next = deadline_at(&mut server, start + Duration::from_secs(30)).unwrap();
    assert_eq!(next, start + Duration::from_secs(60));
    // Nothing more is written.
    server.handle_timeout(next);
    let events = drain(&mut server);
    assert_eq!(error_of(&events), &ProtocolError::WriteTimeout);
    assert_eq!(
        ProtocolError::WriteTimeout.close_code(),
        CloseCode::POLICY_VIOLATION
    );
    assert_eq!(server.timed_out(), Some(ProtocolError::WriteTimeout));
    assert_eq!(server.state(), State::Closed);
}

#[test]
fn server_times_a_pending_transport_flush_like_unwritten_bytes() {
    let mut server = Connection::new(Role::Server, timed(None, Some(30)));
    let start = Instant::now();
    server.send_binary(&[1; 1000]).unwrap();
    let _ = sent(&mut server);
    // Every byte was taken, but the transport's flush waits (an HTTP/2
    // stream without window): still writing.
    assert_eq!(deadline_at(&mut server, start), None);
    server.set_transport_flushing(true);
    let at = deadline_at(&mut server, start).unwrap();
    assert_eq!(at, start + Duration::from_secs(30));
    // The flush completes: progress, and nothing left to time.
    server.set_transport_flushing(false);
    server.handle_timeout(at);
    assert!(drain(&mut server).is_empty());
    assert_eq!(deadline_at(&mut server, at), None);
    // A flush that never completes fails the connection with 1008.
    server.send_binary(&[2; 10]).unwrap();
    let _ = sent(&mut server);
    server.set_transport_flushing(true);
    let at = deadline_at(&mut server, at).unwrap();
    server.handle_timeout(at);
    assert_eq!(error_of(&drain(&mut server)), &ProtocolError::WriteTimeout);
    assert_eq!(server.timed_out(), Some(ProtocolError::WriteTimeout));
}

#[test]
fn client_write_deadline_disarms_once_everything_is_written() {
    let mut client = Connection::new(Role::Client, timed(None, Some(30)));
    let start = Instant::now();
    client.send_text("hello").unwrap();
    let at = deadline_at(&mut client, start).unwrap();
    let _ = sent(&mut client);
    client.handle_timeout(at);
    assert!(drain(&mut client).is_empty());
    assert_eq!(deadline_at(&mut client, at), None);
    assert_eq!(client.timed_out(), None);
}

/// `poll_timeout` is a pure query that asks for the time only when a timer
/// must start, and `handle_timeout` before any deadline fires nothing: a
/// driver may call both as often as it likes.
#[test]
fn server_poll_timeout_is_pure_and_spurious_handle_timeout_fires_nothing() {
    let mut server = server();
    let start = Instant::now();
    assert_eq!(
        server.poll_timeout(),
        None,
        "idle, no keepalive: no clock needed"
    );
    assert!(!server.handle_timeout(start));
    assert_eq!(server.poll_timeout(), None);
    let frame = frame_to(Role::Server, OpCode::Text, true, b"partial");
    feed(&mut server, &frame[..4]);
    assert_eq!(
        server.poll_timeout(),
        Some(Timeout::Now),
        "the message timeout must start"
    );
    assert_eq!(
        server.poll_timeout(),
        Some(Timeout::Now),
        "asking starts nothing"
    );
    assert!(
        !server.handle_timeout(start),
        "starting a timer fires nothing"
    );
    let deadline = match server.poll_timeout() {
        Some(Timeout::At(deadline)) => deadline,
        other => panic!("{other:?}"),
    };
    assert_eq!(deadline, start + Duration::from_secs(60));
    for _ in 0..3 {
        assert_eq!(server.poll_timeout(), Some(Timeout::At(deadline)));
        assert!(
            !server.handle_timeout(start + Duration::from_secs(1)),
            "spurious"
        );
        assert!(drain(&mut server).is_empty());
        assert_eq!(server.buffered_amount(), 0);
    }
    assert_eq!(
        server.poll_timeout(),
        Some(Timeout::At(deadline)),
        "spurious calls move nothing"
    );
    let mut quiet = Connection::new(Role::Server, timed(None, None));
    feed(&mut quiet, &frame[..4]);
    quiet.send_text("queued").unwrap();
    assert_eq!(quiet.poll_timeout(), None, "no timeouts configured");
}

/// Every idle connection of a server holds one `Connection`: it stays small
/// (the settings are shared, state only some connections need is boxed).
/// Grew past this? Measure `cargo xtask bench --only idle` before raising it.
#[test]
fn server_connection_is_small_and_shares_its_config() {
    assert!(
        std::mem::size_of::<Connection>() <= 264,
        "Connection is {} bytes",
        std::mem::size_of::<Connection>()
    );
    let config = std::sync::Arc::new(Config::default().max_message_size(1 << 20));
    let connections: Vec<Connection> = (0..3)
        .map(|_| Connection::new(Role::Server, config.clone()))
        .collect();
    assert_eq!(std::sync::Arc::strong_count(&config), 4);
    assert_eq!(connections[2].config().max_message_size, 1 << 20);
}
