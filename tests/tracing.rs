//! The `tracing` feature: the events of real sessions over loopback,
//! captured by a subscriber of the test's own, with the fields of the span
//! each was recorded in. Server and client on tokio, the blocking adapter,
//! and the hub's slow-subscriber events. No payload may appear anywhere.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;
use ws_toolkit::core::DeflateParams;
use ws_toolkit::tokio::{accept_with, connect_with_config, ClientConfig, ServerConfig};
use ws_toolkit::{CloseCode, Config, Message};

/// The payload the sessions send: it must never be recorded.
const SECRET: &str = "secret payload 7f3a";

/// One captured event: its message, its fields, and the fields of the
/// `websocket` span it was in (empty outside one).
#[derive(Debug, Clone)]
struct Captured {
    target: String,
    message: String,
    fields: BTreeMap<String, String>,
    span: BTreeMap<String, String>,
}

impl Captured {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    fn span_field(&self, name: &str) -> Option<&str> {
        self.span.get(name).map(String::as_str)
    }
}

#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(
            field.name().to_owned(),
            format!("{value:?}").trim_matches('"').to_owned(),
        );
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

/// Records every event with the fields of its innermost `websocket` span.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Captured>>>);

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        ctx.span(id).unwrap().extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let span = ctx.span(id).unwrap();
        let mut extensions = span.extensions_mut();
        values.record(extensions.get_mut::<Fields>().unwrap());
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let span = ctx
            .event_scope(event)
            .and_then(|mut scope| scope.find(|span| span.name() == "websocket"))
            .map(|span| span.extensions().get::<Fields>().unwrap().0.clone())
            .unwrap_or_default();
        let message = fields.0.remove("message").unwrap_or_default();
        self.0.lock().unwrap().push(Captured {
            target: event.metadata().target().to_owned(),
            message,
            fields: fields.0,
            span,
        });
    }
}

impl Recorder {
    /// Runs `body` with this recorder as the thread's subscriber; returns
    /// everything it captured.
    fn capture(body: impl FnOnce()) -> Vec<Captured> {
        let recorder = Recorder::default();
        let subscriber = tracing_subscriber::registry().with(recorder.clone());
        tracing::subscriber::with_default(subscriber, body);
        let captured = recorder.0.lock().unwrap().clone();
        for event in &captured {
            let all = format!("{event:?}");
            assert!(!all.contains(SECRET), "a payload was recorded: {all}");
        }
        captured
    }
}

/// Events with `message` recorded in a span of `role`.
fn of<'a>(events: &'a [Captured], role: &str, message: &str) -> Vec<&'a Captured> {
    events
        .iter()
        .filter(|event| event.message == message && event.span_field("role") == Some(role))
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn tokio_server_and_client_record_a_session_with_spans_and_close_codes_but_no_payload() {
    let events = Recorder::capture(|| {
        runtime().block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                let config = ServerConfig::default()
                    .handshake(
                        ws_toolkit::handshake::ServerConfig::default().subprotocols(["chat"]),
                    )
                    .deflate(DeflateParams::default());
                let mut socket = accept_with(tcp, &config).await.unwrap();
                while let Some(Ok(message)) = socket.next().await {
                    if message.is_data() {
                        socket.send(message).await.unwrap();
                    }
                }
            });
            let config = ClientConfig::default()
                .handshake(ws_toolkit::handshake::ClientConfig::default().subprotocols(["chat"]))
                .deflate(DeflateParams::default());
            let (mut client, _) = connect_with_config(format!("ws://{addr}/"), &config)
                .await
                .unwrap();
            client.send(Message::text(SECRET)).await.unwrap();
            assert_eq!(client.next().await.unwrap().unwrap(), Message::text(SECRET));
            client.close(CloseCode::NORMAL, "bye").await.unwrap();
            server.await.unwrap();
        })
    });

    // One span per side, with what the handshake agreed.
    let accepted_server = of(&events, "server", "handshake accepted");
    let accepted_client = of(&events, "client", "handshake accepted");
    assert_eq!(accepted_server.len(), 1, "{events:#?}");
    assert_eq!(accepted_client.len(), 1, "{events:#?}");
    for accepted in [accepted_server[0], accepted_client[0]] {
        assert_eq!(accepted.target, "ws_driver");
        assert_eq!(accepted.span_field("subprotocol"), Some("chat"));
        assert_eq!(accepted.span_field("http_version"), Some("HTTP/1.1"));
        assert!(
            accepted
                .span_field("extensions")
                .is_some_and(|value| value.starts_with("permessage-deflate")),
            "{accepted:?}"
        );
    }
    let peer = accepted_client[0].span_field("peer").unwrap();
    assert!(peer.starts_with("127.0.0.1:"), "{peer}");

    // The close handshake, each side's view of it.
    let sent = of(&events, "client", "close sent");
    assert_eq!(sent.len(), 1, "{events:#?}");
    assert_eq!(sent[0].field("code"), Some("1000"));
    assert_eq!(sent[0].field("reason"), Some("bye"));
    assert_eq!(sent[0].field("cause"), Some("application"));
    let received = of(&events, "server", "close received");
    assert_eq!(received.len(), 1, "{events:#?}");
    assert_eq!(received[0].field("code"), Some("1000"));
    assert_eq!(received[0].field("reason"), Some("bye"));
    let echoed = of(&events, "server", "close sent");
    assert_eq!(echoed[0].field("cause"), Some("echo"));
    assert_eq!(echoed[0].field("code"), Some("1000"));
    for role in ["server", "client"] {
        let closed = of(&events, role, "closed");
        assert_eq!(closed.len(), 1, "{role}: {events:#?}");
        assert_eq!(closed[0].target, "ws_core");
        assert_eq!(closed[0].field("code"), Some("1000"));
        assert_eq!(closed[0].field("clean"), Some("true"));
    }
}

#[test]
fn tokio_server_records_a_refused_handshake_a_protocol_error_and_a_keepalive_timeout() {
    let events = Recorder::capture(|| {
        runtime().block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let config = ServerConfig::default().connection(
                    Config::default()
                        .keepalive(Duration::from_millis(100), Duration::from_millis(100)),
                );
                for _ in 0..3 {
                    let (tcp, _) = listener.accept().await.unwrap();
                    if let Ok(mut socket) = accept_with(tcp, &config).await {
                        while socket.next().await.is_some() {}
                    }
                }
            });
            let upgrade = |version: u8| {
                format!(
                    "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n\r\n"
                )
            };
            // 1. An unsupported version: refused with 426.
            let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            tcp.write_all(upgrade(8).as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            tcp.read_to_end(&mut answer).await.unwrap();
            assert!(answer.starts_with(b"HTTP/1.1 426"));
            // 2. A reserved opcode after the handshake: failed with 1002.
            let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
            tcp.write_all(upgrade(13).as_bytes()).await.unwrap();
            tcp.write_all(&[0x83, 0x80, 0, 0, 0, 0]).await.unwrap();
            let mut answer = Vec::new();
            let _ = tcp.read_to_end(&mut answer).await;
            // The server lingers until this client ends too.
            drop(tcp);
            // 3. A client that answers no ping: timed out with 1011.
            let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
            silent.write_all(upgrade(13).as_bytes()).await.unwrap();
            tokio::time::timeout(Duration::from_secs(10), server)
                .await
                .unwrap()
                .unwrap();
        })
    });
    let refused: Vec<_> = events
        .iter()
        .filter(|event| event.message == "handshake refused")
        .collect();
    assert_eq!(refused.len(), 1, "{events:#?}");
    assert_eq!(refused[0].field("status"), Some("426"));
    assert_eq!(refused[0].field("role"), Some("server"));

    let failed = of(&events, "server", "connection failed");
    assert_eq!(failed.len(), 1, "{events:#?}");
    assert_eq!(failed[0].field("code"), Some("1002"));
    let timed_out = of(&events, "server", "timed out");
    assert_eq!(timed_out.len(), 1, "{events:#?}");
    assert_eq!(timed_out[0].field("code"), Some("1011"));
    let failures: Vec<_> = of(&events, "server", "close sent")
        .into_iter()
        .filter(|event| event.field("cause") == Some("failure"))
        .map(|event| event.field("code").unwrap().to_owned())
        .collect();
    assert_eq!(failures, ["1002", "1011"]);
    let unclean = of(&events, "server", "closed")
        .into_iter()
        .filter(|event| event.field("clean") == Some("false"))
        .count();
    assert_eq!(unclean, 2);
}

#[test]
fn blocking_client_records_its_session_in_a_span() {
    let events = Recorder::capture(|| {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // The server's thread records into the same subscriber. Left
        // without one, it could be the first to reach an event's callsite
        // (the handshake's events are the same callsites for both roles)
        // while this test's subscriber is the only one alive, and tracing
        // would cache that callsite as disabled for every thread: the
        // client's event would then go unrecorded.
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        let server = std::thread::spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || {
                let (tcp, _) = listener.accept().unwrap();
                let mut socket = ws_toolkit::blocking::accept(tcp).unwrap();
                while let Some(Ok(message)) = socket.recv() {
                    if message.is_data() {
                        socket.send(message).unwrap();
                    }
                }
            })
        });
        let (mut client, _) = ws_toolkit::blocking::connect(format!("ws://{addr}/")).unwrap();
        client
            .send(Message::binary(SECRET.as_bytes().to_vec()))
            .unwrap();
        assert_eq!(
            client.read().unwrap(),
            Message::binary(SECRET.as_bytes().to_vec())
        );
        client.close(CloseCode::GOING_AWAY, "done").unwrap();
        server.join().unwrap();
    });
    for role in ["client", "server"] {
        let accepted = of(&events, role, "handshake accepted");
        assert_eq!(accepted.len(), 1, "{role}: {events:#?}");
        let closed = of(&events, role, "closed");
        assert_eq!(closed.len(), 1, "{role}: {events:#?}");
        assert_eq!(closed[0].field("clean"), Some("true"), "{role}");
    }
    let sent = of(&events, "client", "close sent");
    assert_eq!(sent.len(), 1, "{events:#?}");
    assert_eq!(sent[0].field("code"), Some("1001"));
    assert_eq!(sent[0].field("reason"), Some("done"));
    let received = of(&events, "server", "close received");
    assert_eq!(received.len(), 1, "{events:#?}");
    assert_eq!(received[0].field("code"), Some("1001"));
}

#[test]
fn hub_records_slow_subscribers_dropped_from_and_closed() {
    use ws_toolkit::pubsub::{Hub, HubConfig, PreparedMessage, SlowPolicy};
    let events = Recorder::capture(|| {
        let message = PreparedMessage::text("x".repeat(60));
        let dropping = Hub::new(HubConfig::default().max_queued_bytes(100));
        let (subscription, _inbox) = dropping.join();
        subscription.subscribe("prices");
        dropping.publish("prices", &message);
        dropping.publish("prices", &message);

        let closing = Hub::new(
            HubConfig::default()
                .max_queued_bytes(100)
                .slow(SlowPolicy::close_try_again_later()),
        );
        let (subscription, _inbox) = closing.join();
        subscription.subscribe("scores");
        closing.publish("scores", &message);
        closing.publish("scores", &message);
    });
    let dropped: Vec<_> = events
        .iter()
        .filter(|event| event.message == "slow subscribers: messages dropped")
        .collect();
    assert_eq!(dropped.len(), 1, "{events:#?}");
    assert_eq!(dropped[0].field("topic"), Some("prices"));
    assert_eq!(dropped[0].field("dropped"), Some("1"));
    let closed: Vec<_> = events
        .iter()
        .filter(|event| event.message == "slow subscribers closed")
        .collect();
    assert_eq!(closed.len(), 1, "{events:#?}");
    assert_eq!(closed[0].field("topic"), Some("scores"));
    assert_eq!(closed[0].field("disconnected"), Some("1"));
}
