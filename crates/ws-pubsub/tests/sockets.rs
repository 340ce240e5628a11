//! The hub behind real sockets on loopback: a room where every message
//! reaches every client, on tokio, async-std and ws-blocking; and a client
//! that stops reading, under the close policy.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use ws_core::{CloseCode, Config, Message, PreparedMessage};
use ws_pubsub::{forward, Forwarded, Hub, HubConfig, SlowPolicy};

const ROOM: &str = "room";

/// A tokio server on loopback: every socket joins `ROOM` and every message
/// it sends is published there.
async fn tokio_room_server(hub: Hub, config: ws_driver::ServerConfig) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (hub, config) = (hub.clone(), config.clone());
            tokio::spawn(async move {
                let Ok(socket) = ws_tokio::accept_with(tcp, &config).await else {
                    return;
                };
                let (mut reader, mut writer) = socket.split();
                let (subscription, mut inbox) = hub.join();
                subscription.subscribe(ROOM);
                let sending = tokio::spawn(async move { forward(&mut inbox, &mut writer).await });
                while let Some(Ok(message)) = reader.recv().await {
                    if let Some(message) = PreparedMessage::from_message(message) {
                        hub.publish(ROOM, &message);
                    }
                }
                drop(subscription);
                let _ = sending.await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn tokio_server_room_of_five_clients_each_receives_every_message_in_order_per_sender() {
    let hub = Hub::default();
    let addr = tokio_room_server(hub.clone(), ws_driver::ServerConfig::default()).await;
    let mut clients = Vec::new();
    for _ in 0..5 {
        let (client, _) = ws_tokio::connect(format!("ws://{addr}/")).await.unwrap();
        clients.push(client);
    }
    while hub.subscriber_count(ROOM) < 5 {
        tokio::task::yield_now().await;
    }
    for (c, client) in clients.iter_mut().enumerate() {
        for i in 0..20 {
            client
                .send(Message::Text(format!("{c}:{i}").into()))
                .await
                .unwrap();
        }
    }
    for client in &mut clients {
        let mut next = [0usize; 5];
        for _ in 0..100 {
            let message = tokio::time::timeout(Duration::from_secs(10), client.next())
                .await
                .expect("every message within 10 s")
                .unwrap()
                .unwrap();
            let Message::Text(text) = message else {
                panic!("expected text, got {message:?}");
            };
            let (c, i) = text.as_str().split_once(':').unwrap();
            let c: usize = c.parse().unwrap();
            assert_eq!(i.parse::<usize>().unwrap(), next[c], "in order per sender");
            next[c] += 1;
        }
    }
    let counters = hub.counters();
    assert_eq!((counters.published, counters.delivered), (100, 500));
    for mut client in clients {
        client.close(CloseCode::NORMAL, "").await.unwrap();
    }
    // The server's reader ends with each close: the subscriptions go.
    tokio::time::timeout(Duration::from_secs(10), async {
        while hub.subscriber_count(ROOM) > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("all five left the room");
}

#[tokio::test]
async fn tokio_server_closes_a_client_that_stopped_reading_with_1013_and_keeps_serving_the_others()
{
    let hub = Hub::new(
        HubConfig::default()
            .max_queued_bytes(4 << 20)
            .slow(SlowPolicy::close_try_again_later()),
    );
    let config = ws_driver::ServerConfig::default()
        .connection(Config::default().max_buffered_output(1 << 20));
    let addr = tokio_room_server(hub.clone(), config).await;
    let (mut reader, _) = ws_tokio::connect(format!("ws://{addr}/")).await.unwrap();
    let (mut sleeper, _) = ws_tokio::connect(format!("ws://{addr}/")).await.unwrap();
    while hub.subscriber_count(ROOM) < 2 {
        tokio::task::yield_now().await;
    }
    // 64 MiB in 1 MiB messages: far more than loopback's socket buffers
    // hold for a client that does not read.
    let big = PreparedMessage::binary(vec![7u8; 1 << 20]);
    let mut received = 0;
    for _ in 0..64 {
        hub.publish(ROOM, &big);
        let message = tokio::time::timeout(Duration::from_secs(10), reader.next())
            .await
            .expect("the reading client keeps receiving")
            .unwrap()
            .unwrap();
        assert_eq!(message.len(), 1 << 20);
        received += 1;
    }
    assert_eq!(received, 64);
    let counters = hub.counters();
    assert_eq!(counters.disconnected, 1, "{counters:?}");
    // The sleeper wakes up: what fit in the buffers, then the close.
    let mut got = 0;
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), sleeper.next())
            .await
            .expect("the close arrives")
        {
            Some(Ok(Message::Binary(_))) => got += 1,
            Some(Ok(Message::Close(close))) => break close,
            None => {
                let closed = sleeper.closed().expect("closed");
                break Some(ws_core::CloseFrame {
                    code: closed.code,
                    reason: closed.reason.clone(),
                });
            }
            other => panic!("unexpected {other:?}"),
        }
    };
    let close = close.expect("a close frame with a code");
    assert_eq!(close.code, CloseCode::TRY_AGAIN_LATER);
    assert_eq!(close.reason.as_str(), "subscriber too slow");
    assert!(got < 64, "the sleeper missed messages: got {got}");
}

#[test]
fn async_std_server_room_of_three_clients_each_receives_all_nine_messages() {
    async_std::task::block_on(async {
        let hub = Hub::default();
        let listener = async_std::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let server_hub = hub.clone();
        async_std::task::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let hub = server_hub.clone();
                async_std::task::spawn(async move {
                    let socket = ws_async_std::accept(tcp).await.unwrap();
                    let (mut reader, mut writer) = socket.split();
                    let (subscription, mut inbox) = hub.join();
                    subscription.subscribe(ROOM);
                    let sending =
                        async_std::task::spawn(
                            async move { forward(&mut inbox, &mut writer).await },
                        );
                    while let Some(Ok(message)) = reader.recv().await {
                        if let Some(message) = PreparedMessage::from_message(message) {
                            hub.publish(ROOM, &message);
                        }
                    }
                    drop(subscription);
                    assert_eq!(sending.await.unwrap(), Forwarded::Ended);
                });
            }
        });
        let mut clients = Vec::new();
        for _ in 0..3 {
            let (client, _) = ws_async_std::connect(format!("ws://{addr}/"))
                .await
                .unwrap();
            clients.push(client);
        }
        while hub.subscriber_count(ROOM) < 3 {
            async_std::task::yield_now().await;
        }
        for (c, client) in clients.iter_mut().enumerate() {
            for i in 0..3 {
                client
                    .send(Message::Text(format!("{c}:{i}").into()))
                    .await
                    .unwrap();
            }
        }
        for client in &mut clients {
            let mut texts = Vec::new();
            for _ in 0..9 {
                let message = async_std::future::timeout(Duration::from_secs(10), client.next())
                    .await
                    .expect("within 10 s")
                    .unwrap()
                    .unwrap();
                texts.push(message.as_text().unwrap().to_owned());
            }
            texts.sort();
            let mut expected: Vec<String> = (0..3)
                .flat_map(|c| (0..3).map(move |i| format!("{c}:{i}")))
                .collect();
            expected.sort();
            assert_eq!(texts, expected);
        }
        for mut client in clients {
            client.close(CloseCode::NORMAL, "").await.unwrap();
        }
    });
}

#[cfg(feature = "blocking")]
#[test]
fn blocking_server_thread_alternates_reading_and_forwarding_to_its_client() {
    let hub = Hub::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server_hub = hub.clone();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let mut socket = ws_blocking::accept(tcp).unwrap();
        let (subscription, mut inbox) = server_hub.join();
        subscription.subscribe(ROOM);
        let mut batch = Vec::new();
        loop {
            match socket.read_within(Duration::from_millis(5)) {
                Ok(Some(message)) => {
                    if let Some(message) = PreparedMessage::from_message(message) {
                        server_hub.publish(ROOM, &message);
                    }
                }
                Ok(None) => {}
                Err(_) => break,
            }
            if ws_pubsub::forward_pending(&mut inbox, &mut socket, &mut batch)
                .unwrap()
                .is_some()
            {
                break;
            }
            if socket.state() != ws_core::State::Open {
                break;
            }
        }
    });
    let (mut client, _) = ws_blocking::connect(format!("ws://{addr}/")).unwrap();
    while hub.subscriber_count(ROOM) < 1 {
        std::thread::yield_now();
    }
    client
        .send(Message::Text("echo via the room".into()))
        .unwrap();
    hub.publish(ROOM, &PreparedMessage::text("from the hub"));
    let mut texts = vec![
        client.read().unwrap().as_text().unwrap().to_owned(),
        client.read().unwrap().as_text().unwrap().to_owned(),
    ];
    texts.sort();
    assert_eq!(texts, ["echo via the room", "from the hub"]);
    client.close(CloseCode::NORMAL, "").unwrap();
    server.join().unwrap();
    assert_eq!(hub.subscriber_count(ROOM), 0);
}
