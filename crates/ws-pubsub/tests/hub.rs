//! The hub without sockets: who receives a publish, in what order, and what
//! each slow-consumer policy does when a subscriber's queue is full.

use std::time::Duration;

use ws_core::{CloseCode, PreparedMessage};
use ws_pubsub::{Counters, Delivery, Hub, HubConfig, Inbox, SlowPolicy, Subscription};

fn texts(inbox: &mut Inbox) -> Vec<String> {
    let mut batch = Vec::new();
    match inbox.try_recv_many(&mut batch) {
        Some(Delivery::Messages(n)) => assert_eq!(n, batch.len()),
        None | Some(Delivery::TooSlow(_)) => return Vec::new(),
        other => panic!("expected messages, got {other:?}"),
    }
    batch
        .iter()
        .map(|m| String::from_utf8(m.payload().to_vec()).unwrap())
        .collect()
}

fn text(s: &str) -> PreparedMessage {
    PreparedMessage::text(s.to_owned())
}

#[test]
fn publish_reaches_every_subscriber_of_the_topic_and_no_one_else() {
    let hub = Hub::default();
    let (a, mut a_in) = hub.join();
    let (b, mut b_in) = hub.join();
    let (c, mut c_in) = hub.join();
    a.subscribe("room:1");
    b.subscribe("room:1");
    b.subscribe("room:2");
    c.subscribe("room:2");
    assert_eq!(hub.publish("room:1", &text("one")), 2);
    assert_eq!(hub.publish("room:2", &text("two")), 2);
    assert_eq!(hub.publish("room:3", &text("nobody")), 0);
    assert_eq!(texts(&mut a_in), ["one"]);
    assert_eq!(texts(&mut b_in), ["one", "two"]);
    assert_eq!(texts(&mut c_in), ["two"]);
    let Counters {
        published,
        delivered,
        dropped,
        disconnected,
        ..
    } = hub.counters();
    assert_eq!((published, delivered, dropped, disconnected), (3, 4, 0, 0));
}

#[test]
fn subscriber_receives_each_publishers_messages_in_order() {
    let hub = Hub::default();
    let (sub, mut inbox) = hub.join();
    sub.subscribe("t");
    let publishers: Vec<_> = (0..4)
        .map(|p| {
            let hub = hub.clone();
            std::thread::spawn(move || {
                for i in 0..500 {
                    hub.publish("t", &text(&format!("{p}:{i}")));
                }
            })
        })
        .collect();
    let mut seen = vec![Vec::new(); 4];
    let mut batch = Vec::new();
    while seen.iter().map(Vec::len).sum::<usize>() < 2000 {
        if let Some(Delivery::Messages(_)) =
            inbox.recv_many_blocking(&mut batch, Some(Duration::from_secs(10)))
        {
            for m in batch.drain(..) {
                let s = String::from_utf8(m.payload().to_vec()).unwrap();
                let (p, i) = s.split_once(':').unwrap();
                seen[p.parse::<usize>().unwrap()].push(i.parse::<usize>().unwrap());
            }
        } else {
            panic!("no delivery within 10 s");
        }
    }
    for p in publishers {
        p.join().unwrap();
    }
    for order in seen {
        assert_eq!(order, (0..500).collect::<Vec<_>>());
    }
}

#[test]
fn subscriber_that_unsubscribes_receives_no_more_of_that_topic() {
    let hub = Hub::default();
    let (sub, mut inbox) = hub.join();
    assert!(sub.subscribe("a"));
    assert!(!sub.subscribe("a"), "already subscribed");
    sub.subscribe("b");
    hub.publish("a", &text("a1"));
    assert!(sub.unsubscribe("a"));
    assert!(!sub.unsubscribe("a"));
    hub.publish("a", &text("a2"));
    hub.publish("b", &text("b1"));
    assert_eq!(
        texts(&mut inbox),
        ["a1", "b1"],
        "queued before unsubscribing: kept"
    );
    assert_eq!(sub.topics(), ["b"]);
    assert_eq!(hub.subscriber_count("a"), 0);
}

#[test]
fn dropping_the_subscription_leaves_every_topic_and_ends_the_inbox_after_what_was_queued() {
    let hub = Hub::default();
    let (sub, mut inbox) = hub.join();
    for topic in ["x", "y", "z"] {
        sub.subscribe(topic);
    }
    let clone = sub.clone();
    hub.publish("x", &text("last"));
    drop(sub);
    assert_eq!(hub.topic_count(), 3, "a clone still holds the subscription");
    drop(clone);
    assert_eq!(hub.topic_count(), 0);
    assert_eq!(hub.publish("x", &text("gone")), 0);
    assert_eq!(texts(&mut inbox), ["last"]);
    let mut batch = Vec::new();
    assert_eq!(inbox.try_recv_many(&mut batch), Some(Delivery::Ended));
}

#[test]
fn dropping_the_inbox_stops_queueing_for_that_subscriber() {
    let hub = Hub::default();
    let (sub, inbox) = hub.join();
    sub.subscribe("t");
    drop(inbox);
    assert_eq!(hub.publish("t", &text("unread")), 0);
    assert_eq!(sub.queued_bytes(), 0);
}

/// 10 messages of 100 bytes (102 on the wire) into a queue of 500 bytes.
fn overflow(policy: SlowPolicy, topics: &[&str]) -> (Hub, Subscription, Inbox, Vec<String>) {
    let hub = Hub::new(HubConfig::default().max_queued_bytes(500).slow(policy));
    let (sub, mut inbox) = hub.join();
    for topic in topics {
        sub.subscribe(topic);
    }
    for i in 0..10 {
        let topic = topics[i % topics.len()];
        let body = format!("{topic}{i:0>width$}", width = 100 - topic.len());
        hub.publish(topic, &text(&body));
        assert!(sub.queued_bytes() <= 500, "queue bound held");
    }
    let got = texts(&mut inbox);
    (hub, sub, inbox, got)
}

#[test]
fn slow_subscriber_under_drop_oldest_keeps_the_newest_that_fit() {
    let (hub, _sub, _inbox, got) = overflow(SlowPolicy::DropOldest, &["t"]);
    let ends: Vec<&str> = got.iter().map(|s| &s[s.len() - 1..]).collect();
    assert_eq!(ends, ["6", "7", "8", "9"]);
    let counters = hub.counters();
    assert_eq!((counters.dropped, counters.delivered), (6, 4));
}

#[test]
fn slow_subscriber_under_conflate_keeps_the_latest_of_each_topic() {
    let (hub, _sub, _inbox, got) = overflow(SlowPolicy::Conflate, &["aa", "bb"]);
    let ends: Vec<&str> = got.iter().map(|s| &s[..2]).collect();
    // Each overflow replaces the older message of the same topic.
    assert!(got.len() <= 4 && got.len() >= 2, "{got:?}");
    assert!(ends.contains(&"aa") && ends.contains(&"bb"), "{got:?}");
    assert!(got.iter().any(|s| s.ends_with('9')) && got.iter().any(|s| s.ends_with('8')));
    assert_eq!(hub.counters().dropped, 10 - got.len() as u64);
}

#[test]
fn slow_subscriber_under_close_gets_1013_and_nothing_more() {
    let (hub, _sub, mut inbox, got) = overflow(SlowPolicy::close_try_again_later(), &["t"]);
    assert!(got.is_empty());
    let mut batch = Vec::new();
    let Some(Delivery::TooSlow(close)) = inbox.try_recv_many(&mut batch) else {
        panic!("expected the slow close");
    };
    assert_eq!(close.code, CloseCode::TRY_AGAIN_LATER);
    assert_eq!(close.reason.as_str(), "subscriber too slow");
    let counters = hub.counters();
    assert_eq!(counters.disconnected, 1);
    assert_eq!(counters.dropped, 5, "4 queued, the one that overflowed");
    assert!(batch.is_empty());
}

#[test]
fn close_policy_with_1008_and_a_reason_of_ones_own() {
    let policy = SlowPolicy::Close {
        code: CloseCode::POLICY_VIOLATION,
        reason: "read faster".into(),
    };
    let (_hub, _sub, mut inbox, _) = overflow(policy, &["t"]);
    let mut batch = Vec::new();
    let Some(Delivery::TooSlow(close)) = inbox.try_recv_many(&mut batch) else {
        panic!("expected the slow close");
    };
    assert_eq!(
        (close.code, close.reason.as_str()),
        (CloseCode::POLICY_VIOLATION, "read faster")
    );
}

#[test]
fn message_larger_than_the_queue_limit_is_dropped_and_counted() {
    let hub = Hub::new(HubConfig::default().max_queued_bytes(100));
    let (sub, mut inbox) = hub.join();
    sub.subscribe("t");
    assert_eq!(hub.publish("t", &text(&"x".repeat(200))), 0);
    assert_eq!(hub.publish("t", &text("small")), 1);
    assert_eq!(texts(&mut inbox), ["small"]);
    assert_eq!(hub.counters().dropped, 1);
}

#[test]
fn blocking_receive_waits_for_a_publish_from_another_thread_and_times_out_when_none() {
    let hub = Hub::default();
    let (sub, mut inbox) = hub.join();
    sub.subscribe("t");
    let mut batch = Vec::new();
    assert_eq!(
        inbox.recv_many_blocking(&mut batch, Some(Duration::from_millis(20))),
        None
    );
    let publisher = {
        let hub = hub.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            hub.publish("t", &text("wake"))
        })
    };
    assert_eq!(
        inbox.recv_many_blocking(&mut batch, None),
        Some(Delivery::Messages(1))
    );
    assert_eq!(publisher.join().unwrap(), 1);
}

#[test]
fn async_receive_wakes_on_publish() {
    let hub = Hub::default();
    let (sub, mut inbox) = hub.join();
    sub.subscribe("t");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let waiting = tokio::spawn(async move {
            let mut batch = Vec::new();
            let delivery = inbox.recv_many(&mut batch).await;
            (delivery, batch)
        });
        tokio::task::yield_now().await;
        hub.publish("t", &text("woken"));
        let (delivery, batch) = waiting.await.unwrap();
        assert_eq!(delivery, Delivery::Messages(1));
        assert_eq!(batch[0].payload().as_ref(), b"woken");
    });
}
