//! The reconnecting client against a server that keeps dying: the
//! echo-server example, killed (SIGKILL) at random points of a stream of
//! echoes and restarted on the same port after a random pause, and once a
//! server that dies in the middle of the opening handshake. The client
//! reconnects each time within the backoff's bounds, its per-connection
//! set-up runs on every connection, and every message it sent is either
//! echoed or on a connection that it saw fail: none disappears silently.
//! What it queues while disconnected goes out, in order, on the next
//! connection; what the queue cannot take is handed back.

mod support;

use std::io::Read;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use support::example::Running;
use support::free_port;
use ws_toolkit::tokio::{ClientConfig, Message, ReconnectConfig, ReconnectEvent};

const INITIAL: Duration = Duration::from_millis(50);
const MAX: Duration = Duration::from_millis(400);
const RESTARTS: usize = 5;

/// A small random source for the kill points (seeded from the clock; the
/// seed is printed).
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound.max(1)
    }
}

/// A listener that accepts one connection, reads part of its request and
/// closes it: a server that dies mid-handshake. Returns once it did.
fn die_mid_handshake(addr: SocketAddr) {
    let listener = std::net::TcpListener::bind(addr).unwrap();
    let (mut tcp, _) = listener.accept().unwrap();
    // Read the whole request (closing with unread input would reset the
    // connection instead), answer nothing, close.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && tcp.read(&mut byte).unwrap_or(0) == 1 {
        head.push(byte[0]);
    }
}

#[test]
fn reconnecting_client_follows_a_server_killed_and_restarted_at_random_points() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("seed {seed}");
    let mut random = Random(seed);
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let final_life = Arc::new(AtomicBool::new(false));

    // The server's life: up for a random while, killed, down for a random
    // while; once, a listener that dies mid-handshake instead.
    let controller_done = done.clone();
    let last_started = final_life.clone();
    let controller = std::thread::spawn(move || {
        let mut lives = 0;
        for round in 0..RESTARTS {
            if round == 2 {
                die_mid_handshake(addr);
            }
            let server = Running::start("echo-server", &["--addr", &addr.to_string()]);
            lives += 1;
            std::thread::sleep(Duration::from_millis(200 + random.below(500)));
            drop(server); // SIGKILL, mid-stream
            std::thread::sleep(Duration::from_millis(random.below(300)));
        }
        // The last life: the client finishes on it.
        let last = Running::start("echo-server", &["--addr", &addr.to_string()]);
        lives += 1;
        last_started.store(true, Ordering::SeqCst);
        while !controller_done.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(last);
        lives
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(async {
        let policy = ReconnectConfig {
            seed: Some(seed),
            ..ReconnectConfig::default()
        }
        .delays(INITIAL, MAX);
        let config = ClientConfig::default()
            .proxy(None)
            .handshake_timeout(Duration::from_secs(5));
        // The per-connection set-up, as a hook: a "hello", echoed, before
        // the socket is handed out; counted each time it completes.
        let setups = Arc::new(AtomicU64::new(0));
        let hook_setups = setups.clone();
        let mut client =
            ws_toolkit::tokio::reconnecting_with_config(format!("ws://{addr}/"), config, policy)
                .unwrap()
                .on_connect(move |socket, _queued| {
                    let setups = hook_setups.clone();
                    Box::pin(async move {
                        socket.send(Message::text("hello")).await?;
                        match socket.next().await {
                            Some(Ok(echo)) => assert_eq!(echo, Message::text("hello")),
                            Some(Err(error)) => return Err(error),
                            None => return Err(ws_toolkit::tokio::Error::Closed),
                        }
                        setups.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    })
                });
        let (mut connections, mut retries) = (0, 0);
        let (mut sent, mut echoed, mut failed_unacknowledged) = (0u64, 0u64, 0u64);
        let mut handshake_failures = 0;
        let mut last_retry: Option<(Instant, Duration)> = None;
        // Announced waits, and how long each attempt after one took to connect.
        let (mut announced, mut reconnected_after) = (Vec::new(), Vec::new());
        let started = Instant::now();
        while let Some(event) = client.next().await {
            // Each wait announced was waited (the attempt came after it).
            if let Some((at, after)) = last_retry.take() {
                assert!(at.elapsed() >= after, "{:?} < {after:?}", at.elapsed());
                if matches!(event, ReconnectEvent::Connected(..)) {
                    reconnected_after.push(at.elapsed());
                }
            }
            match event {
                ReconnectEvent::Connected(mut socket, _) => {
                    connections += 1;
                    // The hook has set this connection up.
                    assert_eq!(setups.load(Ordering::SeqCst), connections);
                    let mut n = 1u64;
                    let clean_end = loop {
                        let message = Message::binary(vec![n as u8; (n * 7919) as usize % 65_536]);
                        n += 1;
                        if socket.send(message.clone()).await.is_err() {
                            break false;
                        }
                        sent += 1;
                        match socket.next().await {
                            Some(Ok(echo)) => {
                                assert_eq!(echo, message, "an echo out of order");
                                echoed += 1;
                            }
                            // The message sent last was not answered: the
                            // application is told by the error (or the end).
                            Some(Err(_)) | None => {
                                failed_unacknowledged += 1;
                                break false;
                            }
                        }
                        if final_life.load(Ordering::SeqCst) && n > 20 {
                            // The last server: finish cleanly.
                            socket
                                .close(ws_toolkit::CloseCode::NORMAL, "done")
                                .await
                                .unwrap();
                            assert!(socket.closed().unwrap().clean);
                            break true;
                        }
                    };
                    if clean_end {
                        break;
                    }
                }
                ReconnectEvent::Retrying { error, after } => {
                    retries += 1;
                    announced.push(after);
                    assert!(after <= MAX, "{after:?} over the maximum");
                    if matches!(error, Some(ws_toolkit::tokio::Error::HandshakeEof)) {
                        handshake_failures += 1;
                    }
                    last_retry = Some((Instant::now(), after));
                }
                ReconnectEvent::GaveUp(error) => panic!("gave up: {error}"),
            }
            assert!(started.elapsed() < Duration::from_secs(60), "took too long");
        }
        announced.sort();
        reconnected_after.sort();
        // Within the backoff's bounds: an attempt after a wait of at most
        // MAX connected (a server that is up answers on loopback at once;
        // a second of slack for a shared machine).
        assert!(
            reconnected_after
                .iter()
                .all(|took| *took <= MAX + Duration::from_secs(1)),
            "{reconnected_after:?}"
        );
        println!("announced waits {announced:?}; connected after a retry in {reconnected_after:?}");
        (
            connections,
            setups.load(Ordering::SeqCst),
            retries,
            sent,
            echoed,
            failed_unacknowledged,
            handshake_failures,
        )
    });
    done.store(true, Ordering::SeqCst);
    let lives = controller.join().unwrap();
    let (connections, setups, retries, sent, echoed, unacknowledged, handshake_failures) = report;
    println!(
        "{lives} server lives: {connections} connections ({setups} set-ups), {retries} retries \
         ({handshake_failures} after a handshake cut short), {sent} messages sent, {echoed} echoed, \
         {unacknowledged} unanswered on connections that failed"
    );
    // At most one connection per life of the server (a short life may be
    // missed while the client waits), set up every time.
    assert!(
        connections >= 2 && connections <= lives,
        "{connections} for {lives}"
    );
    assert_eq!(setups, connections);
    assert_eq!(handshake_failures, 1);
    // Every message is echoed or reported on a failed connection.
    assert_eq!(sent, echoed + unacknowledged);
    assert!(unacknowledged <= connections);
}

#[test]
fn reconnecting_client_queues_what_it_sends_while_disconnected_and_sends_it_on_the_next_connection()
{
    use ws_toolkit::tokio::{QueueError, QueueLimit};
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = ClientConfig::default().proxy(None);
        // Off by default: a message is handed back, not dropped.
        let mut plain = ws_toolkit::tokio::reconnecting_with_config(
            format!("ws://{addr}/"),
            config.clone(),
            ReconnectConfig::default(),
        )
        .unwrap();
        assert_eq!(
            plain.queue(Message::text("nowhere")),
            Err(QueueError::Refused(Message::text("nowhere")))
        );
        // The byte bound counts payloads.
        let mut small = ws_toolkit::tokio::reconnecting_with_config(
            format!("ws://{addr}/"),
            config.clone(),
            ReconnectConfig::default().queue_while_disconnected(Some(QueueLimit {
                messages: 100,
                bytes: 10,
            })),
        )
        .unwrap();
        small.queue(Message::binary(vec![0; 10])).unwrap();
        assert!(matches!(
            small.queue(Message::binary(vec![0; 1])),
            Err(QueueError::Full(_))
        ));
        assert_eq!(small.take_queued(), vec![Message::binary(vec![0; 10])]);
        small.queue(Message::binary(vec![0; 10])).unwrap();

        let policy = ReconnectConfig {
            seed: Some(11),
            ..ReconnectConfig::default()
        }
        .delays(INITIAL, MAX)
        .queue_while_disconnected(Some(QueueLimit {
            messages: 5,
            bytes: 1 << 20,
        }));
        let mut client =
            ws_toolkit::tokio::reconnecting_with_config(format!("ws://{addr}/"), config, policy)
                .unwrap();
        let server = Running::start("echo-server", &["--addr", &addr.to_string()]);
        let Some(ReconnectEvent::Connected(mut socket, _)) = client.next().await else {
            panic!("not connected");
        };
        socket.send(Message::text("before")).await.unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Message::text("before")
        );
        drop(server); // SIGKILL
        assert!(socket.next().await.is_none_or(|end| end.is_err()));
        drop(socket);
        let Some(ReconnectEvent::Retrying { .. }) = client.next().await else {
            panic!("no retry announced");
        };
        // Disconnected: five messages wait, the sixth is handed back.
        for i in 0..5 {
            client.queue(Message::text(format!("queued {i}"))).unwrap();
        }
        let sixth = client.queue(Message::text("one too many")).unwrap_err();
        assert_eq!(sixth.into_message(), Message::text("one too many"));
        assert_eq!(client.queued(), 5);

        let _server = Running::start("echo-server", &["--addr", &addr.to_string()]);
        let mut socket = loop {
            match client.next().await {
                Some(ReconnectEvent::Connected(socket, _)) => break socket,
                Some(ReconnectEvent::Retrying { .. }) => continue,
                other => panic!("{other:?}"),
            }
        };
        // The set-up first, then what waited, in order.
        socket.send(Message::text("hello again")).await.unwrap();
        assert_eq!(client.send_queued(&mut socket).await.unwrap(), 5);
        assert_eq!(client.queued(), 0);
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Message::text("hello again")
        );
        for i in 0..5 {
            let echo = socket.next().await.unwrap().unwrap();
            assert_eq!(echo, Message::text(format!("queued {i}")));
        }
        socket
            .close(ws_toolkit::CloseCode::NORMAL, "")
            .await
            .unwrap();
    });
}

#[test]
fn blocking_reconnecting_client_follows_a_restarted_server_and_sends_what_it_queued() {
    use ws_toolkit::blocking::{self as ws, QueueLimit};
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let policy = ws::ReconnectConfig {
        seed: Some(5),
        ..ws::ReconnectConfig::default()
    }
    .delays(INITIAL, MAX)
    .queue_while_disconnected(Some(QueueLimit {
        messages: 10,
        bytes: 1 << 20,
    }));
    let config = ws::ClientConfig::default().proxy(None);
    // The hook on every connection: a numbered hello, then what was
    // queued; each echo is kept.
    let echoed = Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook_echoed = echoed.clone();
    let mut hellos = 0;
    let mut client = ws::reconnecting_with_config(format!("ws://{addr}/"), config, policy)
        .unwrap()
        .on_connect(move |socket, queued| {
            hellos += 1;
            socket.send(Message::text(format!("hello {hellos}")))?;
            let mut echoes = vec![socket.read()?];
            for _ in 0..ws::send_queued_on(queued, socket)? {
                echoes.push(socket.read()?);
            }
            hook_echoed.lock().unwrap().extend(echoes);
            Ok(())
        });
    // Nothing listens yet: the first attempt fails and announces its wait.
    let Some(ws::ReconnectEvent::Retrying {
        error: Some(_),
        after,
    }) = client.next()
    else {
        panic!("no retry announced");
    };
    assert!(after <= INITIAL);
    let mut server = Some(Running::start(
        "echo-server",
        &["--addr", &addr.to_string()],
    ));
    let mut connections = 0;
    while let Some(event) = client.next() {
        match event {
            ws::ReconnectEvent::Connected(mut socket, _) => {
                connections += 1;
                if connections == 1 {
                    // The server dies; the client sees the end.
                    drop(server.take());
                    assert!(socket.read().is_err());
                    continue;
                }
                assert_eq!(client.queued(), 0);
                socket.close(ws_toolkit::CloseCode::NORMAL, "").unwrap();
                break;
            }
            ws::ReconnectEvent::Retrying { after, .. } => {
                assert!(after <= MAX, "{after:?}");
                if server.is_none() {
                    // Disconnected: two messages wait for the next
                    // connection; then the server comes back.
                    client.queue(Message::text("queued 1")).unwrap();
                    client.queue(Message::text("queued 2")).unwrap();
                    server = Some(Running::start(
                        "echo-server",
                        &["--addr", &addr.to_string()],
                    ));
                }
            }
            ws::ReconnectEvent::GaveUp(error) => panic!("gave up: {error}"),
        }
    }
    assert_eq!(connections, 2);
    assert_eq!(
        *echoed.lock().unwrap(),
        ["hello 1", "hello 2", "queued 1", "queued 2"].map(Message::text)
    );
}

/// A hook that fails is a failed attempt: the socket is dropped, the
/// error is announced with the wait, and the next connection is set up
/// again; a refusal the hook reports as not worth retrying ends it.
#[test]
fn reconnecting_client_counts_a_failed_hook_as_a_failed_attempt() {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let _server = Running::start("echo-server", &["--addr", &addr.to_string()]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let policy = ReconnectConfig {
            seed: Some(3),
            ..ReconnectConfig::default()
        }
        .delays(INITIAL, MAX);
        let config = ClientConfig::default().proxy(None);
        let mut runs = 0;
        let mut client =
            ws_toolkit::tokio::reconnecting_with_config(format!("ws://{addr}/"), config, policy)
                .unwrap()
                .on_connect(move |socket, _| {
                    runs += 1;
                    let run = runs;
                    Box::pin(async move {
                        match run {
                            // The server's answer to the log-in was not
                            // what it should be: try again.
                            1 => Err(ws_toolkit::tokio::Error::Closed),
                            2 => {
                                socket.send(Message::text("log in")).await?;
                                Ok(())
                            }
                            // An error that retrying will not change (a
                            // token that is no valid header value).
                            _ => Err(ws_toolkit::tokio::Error::Uri(
                                ws_handshake::ClientError::Header("authorization"),
                            )),
                        }
                    })
                });
        let Some(ReconnectEvent::Retrying {
            error: Some(ws_toolkit::tokio::Error::Closed),
            after,
        }) = client.next().await
        else {
            panic!("the failed hook was not announced");
        };
        assert!(after <= INITIAL);
        let Some(ReconnectEvent::Connected(mut socket, _)) = client.next().await else {
            panic!("not connected after the hook succeeded");
        };
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Message::text("log in")
        );
        drop(socket);
        assert!(matches!(
            client.next().await,
            Some(ReconnectEvent::Retrying { error: None, .. })
        ));
        assert!(matches!(
            client.next().await,
            Some(ReconnectEvent::GaveUp(ws_toolkit::tokio::Error::Uri(_)))
        ));
        assert!(client.next().await.is_none());
    });
}
