//! Random message sequences, control frames among them, cut at random points,
//! arrive intact and in order.

mod common;

use common::drain;
use proptest::prelude::*;
use ws_core::{Config, Connection, Event, Message, Role};

fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        "\\PC{0,300}".prop_map(Message::text),
        proptest::collection::vec(any::<u8>(), 0..3000).prop_map(Message::binary),
        proptest::collection::vec(any::<u8>(), 0..125).prop_map(Message::ping),
        proptest::collection::vec(any::<u8>(), 0..125).prop_map(Message::pong),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn messages_arrive_intact_and_in_order(
        messages in proptest::collection::vec(message(), 1..20),
        cuts in proptest::collection::vec(1usize..200, 1..50),
        client_sends in any::<bool>(),
        fragment in proptest::option::of(1usize..100),
    ) {
        let (sender_role, receiver_role) =
            if client_sends { (Role::Client, Role::Server) } else { (Role::Server, Role::Client) };
        let mut sender = Connection::new(sender_role, Config::default().fragment_size(fragment).auto_pong(false));
        let mut receiver = Connection::new(receiver_role, Config::default());
        for message in &messages {
            sender.send(message.clone()).unwrap();
        }
        let bytes = sender.take_transmit();
        let mut received = Vec::new();
        let mut at = 0;
        let mut cut = cuts.iter().cycle();
        while at < bytes.len() {
            let end = (at + cut.next().unwrap()).min(bytes.len());
            receiver.receive(&bytes[at..end]);
            received.extend(drain(&mut receiver));
            at = end;
        }
        let expected: Vec<Event> = messages.into_iter().map(Event::Message).collect();
        prop_assert_eq!(received, expected);
    }
}
