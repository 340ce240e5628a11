//! Every `Config` a user can write, zero and `usize::MAX` and
//! `Duration::MAX` included, drives a client/server pair through random
//! input, commands and time without a panic: a setting is validated or
//! clamped where it is read, never trusted to be sane.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use ws_core::{CloseCode, Config, Connection, DeflateParams, Event, Message, Role, Timeout};

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(125),
        Just(usize::MAX),
        Just(usize::MAX - 1),
        0usize..100_000,
    ]
}

fn duration() -> impl Strategy<Value = Duration> {
    prop_oneof![
        Just(Duration::ZERO),
        Just(Duration::from_nanos(1)),
        Just(Duration::MAX),
        (0u64..5_000).prop_map(Duration::from_millis),
    ]
}

prop_compose! {
    fn config()(
        max_frame_size in size(),
        max_message_size in size(),
        max_fragments in size(),
        max_buffered_output in size(),
        fragment_size in proptest::option::of(size()),
        auto_pong in any::<bool>(),
        keepalive_interval in proptest::option::of(duration()),
        keepalive_timeout in duration(),
        close_timeout in duration(),
        compression_threshold in size(),
        compression_level in prop_oneof![Just(0u32), Just(9), Just(10), Just(u32::MAX), any::<u32>()],
        message_timeout in proptest::option::of(duration()),
        write_timeout in proptest::option::of(duration()),
        rng_seed in proptest::option::of(any::<u64>()),
    ) -> Config {
        // The fields are public: set them directly, bypassing the builder's clamps.
        let mut config = Config::default();
        config.max_frame_size = max_frame_size;
        config.max_message_size = max_message_size;
        config.max_fragments = max_fragments;
        config.max_buffered_output = max_buffered_output;
        config.fragment_size = fragment_size;
        config.auto_pong = auto_pong;
        config.keepalive_interval = keepalive_interval;
        config.keepalive_timeout = keepalive_timeout;
        config.close_timeout = close_timeout;
        config.compression_threshold = compression_threshold;
        config.compression_level = compression_level;
        config.message_timeout = message_timeout;
        config.write_timeout = write_timeout;
        config.rng_seed = rng_seed;
        config
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// One side queues a message.
    Send { client: bool, message: Message },
    /// One side starts the close handshake.
    Close { client: bool },
    /// Up to this many bytes move from one side to the other.
    Transfer { from_client: bool, bytes: usize },
    /// Bytes no peer would send arrive at one side.
    Garbage { to_client: bool, bytes: Vec<u8> },
    /// One side's transport ends.
    Eof { client: bool },
    /// Time passes.
    Wait(Duration),
}

fn op() -> impl Strategy<Value = Op> {
    let message = prop_oneof![
        "\\PC{0,200}".prop_map(Message::text),
        proptest::collection::vec(any::<u8>(), 0..2000).prop_map(Message::binary),
        proptest::collection::vec(any::<u8>(), 0..130).prop_map(Message::ping),
        proptest::collection::vec(any::<u8>(), 0..130).prop_map(Message::pong),
    ];
    prop_oneof![
        4 => (any::<bool>(), message).prop_map(|(client, message)| Op::Send { client, message }),
        1 => any::<bool>().prop_map(|client| Op::Close { client }),
        4 => (any::<bool>(), prop_oneof![Just(usize::MAX), 1usize..300])
            .prop_map(|(from_client, bytes)| Op::Transfer { from_client, bytes }),
        1 => (any::<bool>(), proptest::collection::vec(any::<u8>(), 1..40))
            .prop_map(|(to_client, bytes)| Op::Garbage { to_client, bytes }),
        1 => any::<bool>().prop_map(|client| Op::Eof { client }),
        2 => duration().prop_map(Op::Wait),
    ]
}

/// Runs what a driver runs after every step: events, timers.
fn settle(conn: &mut Connection, now: Instant) {
    while let Some(event) = conn.poll_event() {
        if let Event::Closed(_) = event {
            break;
        }
    }
    conn.handle_timeout(now);
    // A driver loops on Timeout::Now: once told the time, nothing may still
    // be due to start, or it would spin.
    assert_ne!(conn.poll_timeout(), Some(Timeout::Now), "{conn:?}");
    if conn.should_close_transport() {
        conn.transport_closed();
    }
}

fn pair(config: &Config, deflate: bool) -> (Connection, Connection) {
    if deflate && cfg!(feature = "deflate") {
        #[cfg(feature = "deflate")]
        {
            let params = DeflateParams::default();
            return (
                Connection::with_deflate(Role::Client, config.clone(), &params),
                Connection::with_deflate(Role::Server, config.clone(), &params),
            );
        }
    }
    let _ = DeflateParams::default();
    (
        Connection::new(Role::Client, config.clone()),
        Connection::new(Role::Server, config.clone()),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn client_and_server_with_any_config_never_panic(
        config in config(),
        deflate in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let (mut client, mut server) = pair(&config, deflate);
        let start = Instant::now();
        let mut now = start;
        for op in ops {
            match op {
                Op::Send { client: true, message } => drop(client.send(message)),
                Op::Send { client: false, message } => drop(server.send(message)),
                Op::Close { client: true } => drop(client.close(CloseCode::NORMAL, "bye")),
                Op::Close { client: false } => drop(server.close(CloseCode::GOING_AWAY, "")),
                Op::Transfer { from_client, bytes } => {
                    let (from, to) = if from_client {
                        (&mut client, &mut server)
                    } else {
                        (&mut server, &mut client)
                    };
                    let chunk = from.transmit();
                    let take = chunk.len().min(bytes);
                    to.receive(&chunk[..take]);
                    from.advance_transmit(take);
                }
                Op::Garbage { to_client, bytes } => {
                    if to_client { client.receive(&bytes) } else { server.receive(&bytes) }
                }
                Op::Eof { client: true } => client.receive_eof(),
                Op::Eof { client: false } => server.receive_eof(),
                Op::Wait(duration) => now = now.checked_add(duration).unwrap_or(now),
            }
            settle(&mut client, now);
            settle(&mut server, now);
            // Whatever was queued can always be taken.
            prop_assert_eq!(client.buffered_amount() == 0, client.transmit().is_empty());
        }
    }
}

/// `fragment_size = Some(0)` set on the public field (the builder clamps it;
/// the field cannot) sends one-byte fragments, not a panic.
#[test]
fn server_with_zero_fragment_size_set_on_the_field_sends_one_byte_fragments() {
    let mut config = Config::default();
    config.fragment_size = Some(0);
    let mut server = Connection::new(Role::Server, config);
    server.send_text("abc").unwrap();
    let bytes = server.take_transmit();
    assert_eq!(&bytes[..], b"\x01\x01a\x00\x01b\x80\x01c");
}

/// Timeouts of `Duration::MAX` mean "never": deadlines a century away, no
/// overflow, and no timer left asking to start.
#[test]
fn client_with_maximal_timeouts_arms_distant_deadlines_without_overflow() {
    let mut config = Config::default();
    config.keepalive_interval = Some(Duration::MAX);
    config.keepalive_timeout = Duration::MAX;
    config.close_timeout = Duration::MAX;
    config.message_timeout = Some(Duration::MAX);
    config.write_timeout = Some(Duration::MAX);
    let mut client = Connection::new(Role::Client, config);
    client.send_text("partial").unwrap();
    client.receive(&[0x81]);
    client.close(CloseCode::NORMAL, "").unwrap();
    let now = Instant::now();
    assert_eq!(client.poll_timeout(), Some(Timeout::Now));
    assert!(!client.handle_timeout(now));
    match client.poll_timeout() {
        Some(Timeout::At(deadline)) => {
            assert!(
                deadline > now + Duration::from_secs(365 * 24 * 3600),
                "{deadline:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(client.poll_event(), None);
}
