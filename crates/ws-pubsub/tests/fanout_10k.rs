//! 10,000 subscribers of one topic behind real sockets, 1% of which never
//! read: the readers receive every message in order, the non-readers are
//! handled by the policy (their oldest messages dropped) and each of them
//! holds at most the hub's queue limit plus its socket's output limit, and
//! publishing never waits.
//!
//! The server (hub and sockets) runs in this process; the 10,000 clients in
//! a child process (this test binary run again), so that neither process
//! needs more than 10,000 descriptors.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use ws_core::{Config, Message, PreparedMessage};
use ws_pubsub::{forward, Hub, HubConfig, SlowPolicy};

const SUBSCRIBERS: usize = 10_000;
const NON_READERS: usize = SUBSCRIBERS / 100;
const MESSAGES: u64 = 600;
const PAYLOAD: usize = 100;
/// Per subscriber: the hub's queue and the socket's output.
const QUEUE_LIMIT: usize = 8 * 1024;
const OUTPUT_LIMIT: usize = 4 * 1024;
const CHILD_ENV: &str = "WS_PUBSUB_FANOUT_CHILD";

#[test]
fn server_fans_out_to_10k_subscribers_while_1_percent_stop_reading() {
    if let Ok(addr) = std::env::var(CHILD_ENV) {
        return clients(&addr);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(server());
}

async fn server() {
    let hub = Hub::new(
        HubConfig::default()
            .max_queued_bytes(QUEUE_LIMIT)
            .slow(SlowPolicy::DropOldest),
    );
    let config = ws_driver::ServerConfig::default()
        .connection(Config::default().max_buffered_output(OUTPUT_LIMIT));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepting = {
        let hub = hub.clone();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                // Small kernel buffers, so that a client that does not read
                // backs up into the hub within a few tens of kilobytes.
                let _ = socket2::SockRef::from(&tcp).set_send_buffer_size(4096);
                let (hub, config) = (hub.clone(), config.clone());
                tokio::spawn(async move {
                    let Ok(socket) = ws_tokio::accept_with(tcp, &config).await else {
                        return;
                    };
                    let (mut reader, mut writer) = socket.split();
                    let (subscription, mut inbox) = hub.join();
                    subscription.subscribe("all");
                    let sending =
                        tokio::spawn(async move { forward(&mut inbox, &mut writer).await });
                    while let Some(Ok(_)) = reader.recv().await {}
                    drop(subscription);
                    sending.abort();
                });
            }
        })
    };
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "server_fans_out_to_10k_subscribers_while_1_percent_stop_reading",
            "--nocapture",
        ])
        .env(CHILD_ENV, addr.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_line = move || loop {
        let line = lines.next().expect("the clients' process ended").unwrap();
        if let Some(rest) = line.strip_prefix("clients: ") {
            return rest.to_owned();
        }
    };
    assert_eq!(next_line(), "connected");
    tokio::time::timeout(Duration::from_secs(60), async {
        while hub.subscriber_count("all") < SUBSCRIBERS {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("10,000 subscribers within 60 s");

    // Publish in waves of 20, each once the readers have taken the one
    // before: a reader never lags by more than a wave, a non-reader falls
    // behind without bound and meets the policy.
    let readers = (SUBSCRIBERS - NON_READERS) as u64;
    for wave in 0..MESSAGES / 20 {
        for i in wave * 20..(wave + 1) * 20 {
            let mut payload = vec![b'.'; PAYLOAD];
            payload[..8].copy_from_slice(&i.to_be_bytes());
            // A publish is a plain function call: it cannot wait.
            hub.publish("all", &PreparedMessage::binary(payload));
        }
        let want = (wave + 1) * 20 * readers;
        tokio::time::timeout(Duration::from_secs(60), async {
            while hub.counters().delivered < want {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("the readers keep up");
    }
    let done = tokio::task::spawn_blocking(next_line).await.unwrap();
    assert_eq!(done, format!("readers received {MESSAGES} each, in order"));

    let counters = hub.counters();
    assert_eq!(counters.published, MESSAGES);
    assert!(
        counters.dropped > 0 && counters.dropped <= NON_READERS as u64 * MESSAGES,
        "only non-readers lose messages: {counters:?}"
    );
    assert_eq!(counters.disconnected, 0);
    // What a non-reader holds: at most the queue limit waiting in the hub
    // (each subscriber's queue is bounded at every publish, checked in
    // tests/hub.rs) and at most the output limit plus one message in its
    // socket; the kernel's buffers are the rest.
    let frame = PAYLOAD + 2;
    println!(
        "fan-out: {} delivered, {} dropped; bound per non-reader: {} bytes queued + {} bytes in its socket",
        counters.delivered,
        counters.dropped,
        QUEUE_LIMIT,
        OUTPUT_LIMIT + frame
    );
    child.kill().unwrap();
    child.wait().unwrap();
    accepting.abort();
}

/// The child: 10,000 clients, the first 1% of which stop reading after the
/// handshake (with a small receive buffer, so the server sees it soon).
fn clients(addr: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let addr: std::net::SocketAddr = addr.parse().unwrap();
        let url = format!("ws://{addr}/");
        let mut sleepers = Vec::new();
        let mut readers = Vec::new();
        for n in 0..SUBSCRIBERS {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            if n < NON_READERS {
                socket.set_recv_buffer_size(4096).unwrap();
            }
            let tcp = socket.connect(addr).await.unwrap();
            let (client, _) =
                ws_tokio::connect_with(tcp, url.as_str(), &ws_driver::ClientConfig::default())
                    .await
                    .unwrap();
            if n < NON_READERS {
                sleepers.push(client);
            } else {
                readers.push(tokio::spawn(async move {
                    let mut client = client;
                    for expected in 0..MESSAGES {
                        let message = client.recv().await.expect("open").expect("no error");
                        let Message::Binary(payload) = message else {
                            panic!("expected binary, got {message:?}");
                        };
                        let seq = u64::from_be_bytes(payload[..8].try_into().unwrap());
                        assert_eq!(seq, expected, "in order, none missing");
                    }
                    client
                }));
            }
        }
        println!("clients: connected");
        std::io::stdout().flush().unwrap();
        let mut open = Vec::new();
        for reader in readers {
            open.push(reader.await.unwrap());
        }
        println!("clients: readers received {MESSAGES} each, in order");
        std::io::stdout().flush().unwrap();
        // Keep every socket open until the parent ends this process.
        std::future::pending::<()>().await;
        drop((open, sleepers));
    });
}
