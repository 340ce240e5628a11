//! The reconnecting client's policy, without I/O: the backoff's bounds and
//! growth, its reset, Retry-After, and which failed attempts are retried.

use std::time::Duration;

use ws_driver::{retry_decision, Backoff, Error, ReconnectConfig, RetryDecision};

fn seeded(seed: u64) -> ReconnectConfig {
    ReconnectConfig {
        seed: Some(seed),
        ..ReconnectConfig::default()
    }
    .delays(Duration::from_millis(100), Duration::from_secs(2))
}

#[test]
fn client_backoff_stays_under_a_cap_that_doubles_to_the_maximum_and_is_jittered() {
    let mut waits = Vec::new();
    for seed in 0..200 {
        let mut backoff = Backoff::new(&seeded(seed));
        let delays: Vec<Duration> = (0..8).map(|_| backoff.next_delay(None)).collect();
        for (attempt, delay) in delays.iter().enumerate() {
            let cap = Duration::from_millis(100 << attempt).min(Duration::from_secs(2));
            assert!(*delay <= cap, "attempt {attempt}: {delay:?} over {cap:?}");
        }
        waits.push(delays[5]);
    }
    // Full jitter: the sixth waits spread over [0, 2 s], not one value.
    let (min, max) = (waits.iter().min().unwrap(), waits.iter().max().unwrap());
    assert!(
        *min < Duration::from_millis(300) && *max > Duration::from_millis(1700),
        "{min:?}..{max:?}"
    );
    // The same seed gives the same waits.
    let (mut a, mut b) = (Backoff::new(&seeded(9)), Backoff::new(&seeded(9)));
    assert_eq!(a.next_delay(None), b.next_delay(None));
}

#[test]
fn client_backoff_resets_and_honours_retry_after_up_to_the_maximum() {
    let mut backoff = Backoff::new(&seeded(1));
    for _ in 0..10 {
        backoff.next_delay(None);
    }
    assert_eq!(backoff.attempts(), 10);
    backoff.reset();
    assert!(backoff.next_delay(None) <= Duration::from_millis(100));
    assert_eq!(
        backoff.next_delay(Some(Duration::from_secs(1))),
        Duration::from_secs(1)
    );
    assert_eq!(
        backoff.next_delay(Some(Duration::from_secs(3600))),
        Duration::from_secs(2)
    );
    // A multiplier below 1 or not a number is 1: no growth, no panic.
    for multiplier in [0.0, -3.0, f64::NAN, f64::INFINITY] {
        let config = ReconnectConfig {
            multiplier,
            ..seeded(2)
        };
        let mut flat = Backoff::new(&config);
        for _ in 0..100 {
            assert!(flat.next_delay(None) <= Duration::from_millis(100));
        }
    }
}

/// The error a client gets when the server answers `status` with `headers`.
fn refused(status: u16, headers: &[(&str, &str)]) -> Error {
    let mut map = http::HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    Error::Response(Box::new(ws_driver::ws_handshake::ResponseError::Status {
        status: http::StatusCode::from_u16(status).unwrap(),
        headers: map,
        body: Vec::new(),
    }))
}

#[test]
fn client_retries_network_errors_5xx_and_429_with_retry_after_but_not_refusals() {
    let retry = RetryDecision::Retry { retry_after: None };
    for error in [
        Error::Io(std::io::ErrorKind::ConnectionRefused.into()),
        Error::HandshakeTimeout,
        Error::HandshakeEof,
        refused(502, &[]),
        refused(408, &[]),
    ] {
        assert_eq!(retry_decision(&error, false), retry, "{error:?}");
    }
    assert_eq!(
        retry_decision(&refused(429, &[("retry-after", "7")]), false),
        RetryDecision::Retry {
            retry_after: Some(Duration::from_secs(7))
        }
    );
    assert_eq!(
        retry_decision(
            &refused(503, &[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
            false
        ),
        retry
    );
    for status in [400, 401, 403, 404, 426] {
        assert_eq!(
            retry_decision(&refused(status, &[]), false),
            RetryDecision::GiveUp,
            "{status}"
        );
        assert_eq!(
            retry_decision(&refused(status, &[]), true),
            retry,
            "{status}"
        );
    }
    let socks_refused = Error::Proxy(ws_driver::ws_proxy::ProxyError::SocksReply { code: 5 });
    assert_eq!(retry_decision(&socks_refused, false), retry);
    let bad_password = Error::Proxy(ws_driver::ws_proxy::ProxyError::AuthenticationFailed);
    assert_eq!(retry_decision(&bad_password, false), RetryDecision::GiveUp);
}

#[test]
fn client_state_connects_at_once_then_waits_announces_after_a_drop_and_gives_up_on_a_refusal() {
    use std::time::Instant;
    use ws_driver::{NextStep, ReconnectState};
    let config = seeded(3).reset_after(Duration::from_secs(30));
    let mut state = ReconnectState::new(config);
    let t0 = Instant::now();
    assert_eq!(state.next_step(t0), NextStep::Connect(None));
    let io = Error::Io(std::io::ErrorKind::ConnectionRefused.into());
    let first = state.failed(&io).expect("a network error is retried");
    assert!(first <= Duration::from_millis(100));
    assert_eq!(state.next_step(t0), NextStep::Connect(Some(first)));
    state.connected(t0);
    // Up for less than reset_after: the backoff goes on growing.
    let NextStep::Announce(second) = state.next_step(t0 + Duration::from_secs(1)) else {
        panic!("the end of a connection is announced");
    };
    assert!(second <= Duration::from_millis(200));
    assert_eq!(state.next_step(t0), NextStep::Connect(Some(second)));
    // Up long enough: back to the first wait's cap.
    state.connected(t0);
    let NextStep::Announce(reset) = state.next_step(t0 + Duration::from_secs(31)) else {
        panic!("the end of a connection is announced");
    };
    assert!(reset <= Duration::from_millis(100));
    assert_eq!(state.next_step(t0), NextStep::Connect(Some(reset)));
    // A refusal that will not change ends it.
    assert_eq!(state.failed(&refused(403, &[])), None);
    assert_eq!(state.next_step(t0), NextStep::Over);
}

#[test]
fn client_outbox_refuses_when_off_and_keeps_order_within_its_message_and_byte_bounds() {
    use ws_core::Message;
    use ws_driver::{Outbox, QueueError, QueueLimit};
    let mut off = Outbox::new(None);
    assert_eq!(
        off.push(Message::text("x")),
        Err(QueueError::Refused(Message::text("x")))
    );
    let mut outbox = Outbox::new(Some(QueueLimit {
        messages: 3,
        bytes: 10,
    }));
    outbox.push(Message::text("12345")).unwrap();
    outbox.push(Message::text("1234")).unwrap();
    // Over the bytes: handed back.
    assert_eq!(
        outbox.push(Message::text("12")).unwrap_err().into_message(),
        Message::text("12")
    );
    outbox.push(Message::text("1")).unwrap();
    // Over the count.
    assert!(matches!(
        outbox.push(Message::text("")),
        Err(QueueError::Full(_))
    ));
    assert_eq!(outbox.pop_front(), Some(Message::text("12345")));
    // Room again for what was refused.
    outbox.push(Message::text("12")).unwrap();
    assert_eq!(
        outbox.take_all(),
        ["1234", "1", "12"].map(Message::text).to_vec()
    );
    assert!(outbox.is_empty());
}
