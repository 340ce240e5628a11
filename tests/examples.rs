//! Every example, run as its own process on 127.0.0.1 with the command line
//! its documentation gives, and checked by a client of ours: echo-server (on
//! each runtime), client, chat (page, 404, broadcast), ticker (subscription,
//! symbols, conflated sequence), leaderboard (scores posted by form and by
//! WebSocket, the top-10 snapshot), hyper-upgrade (hyper and axum). The
//! autobahn-client example is exercised by `cargo xtask autobahn`, and the
//! chat page in a real browser by `tests/chat_browser.rs`.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::StreamExt;
use support::example::{binary, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use ws_toolkit::tokio::connect;
use ws_toolkit::{CloseCode, Message};

/// Sends a plain HTTP/1.1 GET and returns the whole response (the
/// examples close after answering).
async fn http_get(addr: std::net::SocketAddr, path: &str, extra: &str) -> String {
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
    http_exchange(addr, &request).await
}

/// Writes `request`, reads the response until the server closes.
async fn http_exchange(addr: std::net::SocketAddr, request: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut response))
        .await
        .expect("the server answers and closes")
        .unwrap();
    String::from_utf8(response).unwrap()
}

/// The next text message, skipping nothing; panics after 10 s.
async fn next_text<S>(socket: &mut ws_toolkit::tokio::WebSocket<S>) -> String
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
        .await
        .expect("a message within 10 s")
        .expect("the connection is open")
        .unwrap();
    message.as_text().expect("a text message").to_owned()
}

/// The echo server on `runtime` echoes text and binary and closes cleanly.
async fn echo_server_on(runtime: &str) {
    let server = Running::start(
        "echo-server",
        &["--addr", "127.0.0.1:0", "--runtime", runtime],
    );
    let (mut socket, _) = connect(format!("ws://{}/", server.addr)).await.unwrap();
    let messages = [
        Message::text("hello"),
        Message::binary(vec![0u8; 0]),
        Message::binary((0..=255u8).cycle().take(200_000).collect::<Vec<u8>>()),
    ];
    for message in messages {
        socket.send(message.clone()).await.unwrap();
        assert_eq!(socket.next().await.unwrap().unwrap(), message);
    }
    socket.close(CloseCode::NORMAL, "done").await.unwrap();
    assert!(socket.closed().unwrap().clean);
}

#[tokio::test]
async fn echo_server_example_echoes_on_tokio() {
    echo_server_on("tokio").await;
}

#[tokio::test]
async fn echo_server_example_echoes_on_async_std() {
    echo_server_on("async-std").await;
}

#[tokio::test]
async fn echo_server_example_echoes_on_smol() {
    echo_server_on("smol").await;
}

#[tokio::test]
async fn echo_server_example_echoes_on_blocking() {
    echo_server_on("blocking").await;
}

#[tokio::test]
async fn echo_server_example_echoes_on_mio() {
    echo_server_on("mio").await;
}

/// Ctrl-C: the echo server closes every connection with 1001, waits for the
/// close handshakes and exits 0.
async fn echo_server_shuts_down_gracefully_on(runtime: &str) {
    let mut server = Running::start(
        "echo-server",
        &["--addr", "127.0.0.1:0", "--runtime", runtime],
    );
    let mut clients = Vec::new();
    for i in 0..5 {
        let (mut socket, _) = connect(format!("ws://{}/", server.addr)).await.unwrap();
        socket
            .send(Message::text(format!("before {i}")))
            .await
            .unwrap();
        assert!(socket.next().await.unwrap().is_ok());
        clients.push(tokio::spawn(async move {
            let mut code = None;
            while let Some(message) = socket.next().await {
                if let Ok(Message::Close(Some(frame))) = message {
                    code = Some(frame.code);
                }
            }
            (code, socket.closed().unwrap().clean)
        }));
    }
    server.interrupt();
    for client in clients {
        let outcome = tokio::time::timeout(Duration::from_secs(15), client)
            .await
            .expect("closed in time")
            .unwrap();
        assert_eq!(outcome, (Some(CloseCode::GOING_AWAY), true));
    }
    let code = tokio::task::block_in_place(|| server.wait_exit(Duration::from_secs(15)));
    assert_eq!(code, Some(0), "exit code; output {:?}", server.output());
    let output = server.output();
    // How many are still open when the accept loop reports it depends on how
    // fast the connections' own tasks closed: anything from 0 to 5.
    assert!(
        output
            .iter()
            .any(|line| line.starts_with("echo-server: shutting down, closing ")),
        "{output:?}"
    );
    assert!(
        output
            .iter()
            .any(|line| line.starts_with("echo-server: stopped (0 connections")),
        "{output:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_server_example_shuts_down_gracefully_on_tokio() {
    echo_server_shuts_down_gracefully_on("tokio").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_server_example_shuts_down_gracefully_on_async_std() {
    echo_server_shuts_down_gracefully_on("async-std").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_server_example_shuts_down_gracefully_on_smol() {
    echo_server_shuts_down_gracefully_on("smol").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_server_example_shuts_down_gracefully_on_blocking() {
    echo_server_shuts_down_gracefully_on("blocking").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_server_example_shuts_down_gracefully_on_mio() {
    echo_server_shuts_down_gracefully_on("mio").await;
}

#[test]
fn echo_server_example_refuses_unknown_arguments() {
    let output = Command::new(binary("echo-server"))
        .arg("--nope")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown argument"));
}

/// `echo-server --log` prints the `tracing` events of each connection on
/// stderr, in a span with the peer's address: the handshake, the close
/// received and echoed with its code and reason, the end. Never a payload.
#[tokio::test]
async fn echo_server_example_logs_each_connection_with_log() {
    use std::io::BufRead;
    let mut child = Command::new(binary("echo-server"))
        .args(["--addr", "127.0.0.1:0", "--log"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line.trim().rsplit("ws://").next().unwrap().to_owned();
    let (mut socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
    let local = socket_local_addr(&socket);
    socket
        .send(Message::text("not to be logged"))
        .await
        .unwrap();
    assert_eq!(next_text(&mut socket).await, "not to be logged");
    socket.close(CloseCode::NORMAL, "done here").await.unwrap();
    // Let the server record the end, then stop it and read all it wrote.
    tokio::time::sleep(Duration::from_millis(300)).await;
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = log.lines().collect();
    let find = |what: &str| {
        lines
            .iter()
            .find(|line| line.contains(what))
            .unwrap_or_else(|| panic!("no {what:?} in the log:\n{log}"))
            .to_owned()
    };
    let accepted = find("handshake accepted");
    assert!(
        accepted.contains(&format!("client{{peer={local}}}")),
        "{accepted}"
    );
    assert!(accepted.contains(r#"role="server""#), "{accepted}");
    let received = find("close received");
    assert!(received.contains("code=1000"), "{received}");
    assert!(received.contains(r#"reason="done here""#), "{received}");
    assert!(find("close sent").contains(r#"cause="echo""#));
    assert!(find(" closed ").contains("clean=true"));
    assert!(!log.contains("not to be logged"), "{log}");
}

/// The local address of a client socket's TCP stream.
fn socket_local_addr(
    socket: &ws_toolkit::tokio::WebSocket<ws_toolkit::tokio::MaybeTlsStream<tokio::net::TcpStream>>,
) -> std::net::SocketAddr {
    match socket.get_ref() {
        ws_toolkit::tokio::MaybeTlsStream::Plain(tcp) => tcp.local_addr().unwrap(),
        _ => unreachable!("ws:// is plain TCP"),
    }
}

/// The client example sends each stdin line, prints each echo, and at the
/// end of input closes cleanly and exits 0.
#[test]
fn client_example_sends_lines_prints_echoes_and_exits_zero() {
    let server = Running::start("echo-server", &["--addr", "127.0.0.1:0"]);
    let mut client = Command::new(binary("client"))
        .arg(format!("ws://{}/", server.addr))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    client
        .stdin
        .take()
        .unwrap()
        .write_all("first line\nsecond, with ünïcode\n".as_bytes())
        .unwrap();
    let output = client.wait_with_output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout, "first line\nsecond, with ünïcode\n");
}

/// `client --http2` opens its WebSocket as a stream of an HTTP/2
/// connection (prior knowledge), which the hyper-upgrade example sees as
/// HTTP/2.
#[test]
fn client_example_with_http2_echoes_through_the_hyper_upgrade_example() {
    let server = Running::start("hyper-upgrade", &["--addr", "127.0.0.1:0"]);
    let mut client = Command::new(binary("client"))
        .args(["--http2", &format!("ws://{}/ws", server.addr)])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    client
        .stdin
        .take()
        .unwrap()
        .write_all("over one stream\nof HTTP/2\n".as_bytes())
        .unwrap();
    let output = client.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        "over one stream\nof HTTP/2\n"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.output().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(server.output(), ["websocket over HTTP/2.0"]);
}

#[test]
fn client_example_exits_nonzero_when_nobody_listens() {
    // A port that was just free: bind, note it, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = Command::new(binary("client"))
        .arg(format!("ws://127.0.0.1:{port}/"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot connect"));
}

/// The chat example serves its page on `/`, 404 elsewhere, and broadcasts
/// each user's lines to everyone, names included.
#[tokio::test]
async fn chat_example_serves_its_page_and_broadcasts_between_users() {
    let chat = Running::start("chat", &["--addr", "127.0.0.1:0"]);

    let page = http_get(chat.addr, "/", "").await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(
        page.contains("content-type: text/html; charset=utf-8\r\n"),
        "{page}"
    );
    assert!(page.contains("new WebSocket("), "{page}");
    let missing = http_get(chat.addr, "/nope", "").await;
    assert!(
        missing.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{missing}"
    );
    // /ws without the upgrade headers is not a page either.
    let plain_ws = http_get(chat.addr, "/ws", "").await;
    assert!(
        plain_ws.starts_with("HTTP/1.1 404 Not Found\r\n"),
        "{plain_ws}"
    );

    let (mut alice, _) = connect(format!("ws://{}/ws?name=alice", chat.addr))
        .await
        .unwrap();
    assert_eq!(next_text(&mut alice).await, "* alice joined");
    let (mut bob, _) = connect(format!("ws://{}/ws?name=bob%20b", chat.addr))
        .await
        .unwrap();
    assert_eq!(next_text(&mut bob).await, "* bob b joined");
    assert_eq!(next_text(&mut alice).await, "* bob b joined");

    bob.send(Message::text("hi alice")).await.unwrap();
    assert_eq!(next_text(&mut alice).await, "bob b: hi alice");
    assert_eq!(next_text(&mut bob).await, "bob b: hi alice");
    alice.send(Message::text("hi bob ✓")).await.unwrap();
    assert_eq!(next_text(&mut bob).await, "alice: hi bob ✓");
    assert_eq!(next_text(&mut alice).await, "alice: hi bob ✓");

    bob.close(CloseCode::NORMAL, "bye").await.unwrap();
    assert_eq!(next_text(&mut alice).await, "* bob b left");

    // A line past the chat's 4 KiB limit ends that user's connection with 1009.
    alice.send(Message::text("x".repeat(5000))).await.unwrap();
    let closed = loop {
        match alice.next().await {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected the server's close, got {other:?}"),
        }
    };
    assert_eq!(closed.unwrap().code, CloseCode::MESSAGE_TOO_BIG);
}

/// Parses `{"seq":N,"prices":{...}}` into the sequence number and the symbols.
fn parse_tick(text: &str) -> (u64, Vec<String>) {
    let rest = text.strip_prefix("{\"seq\":").expect("starts with seq");
    let (seq, prices) = rest.split_once(",\"prices\":{").expect("has prices");
    let symbols = prices
        .trim_end_matches("}}")
        .split(',')
        .map(|pair| {
            let (symbol, price) = pair.split_once(':').unwrap();
            assert!(price.parse::<f64>().unwrap() > 0.0, "{text}");
            symbol.trim_matches('"').to_owned()
        })
        .collect();
    (seq.parse().unwrap(), symbols)
}

/// The ticker pushes the symbols asked for (one topic each), with rising
/// sequence numbers per symbol, to several subscribers at once.
#[tokio::test]
async fn ticker_example_pushes_updates_to_every_subscriber() {
    let ticker = Running::start("ticker", &["--addr", "127.0.0.1:0", "--interval-ms", "5"]);
    let mut subscribers = Vec::new();
    for _ in 0..20 {
        let (socket, _) = connect(format!("ws://{}/?symbols=msft,AAPL,nope", ticker.addr))
            .await
            .unwrap();
        subscribers.push(socket);
    }
    let (mut everything, _) = connect(format!("ws://{}/", ticker.addr)).await.unwrap();
    for socket in &mut subscribers {
        let mut last = std::collections::BTreeMap::new();
        for _ in 0..10 {
            let (seq, symbols) = parse_tick(&next_text(socket).await);
            assert_eq!(symbols.len(), 1);
            let previous = last.insert(symbols[0].clone(), seq).unwrap_or(0);
            assert!(
                seq > previous,
                "sequence numbers rise: {seq} after {previous}"
            );
        }
        let seen: Vec<&String> = last.keys().collect();
        assert_eq!(seen, ["AAPL", "MSFT"]);
    }
    let mut all = std::collections::BTreeSet::new();
    while all.len() < 6 {
        let (_, symbols) = parse_tick(&next_text(&mut everything).await);
        all.extend(symbols);
    }
    let all: Vec<String> = all.into_iter().collect();
    assert_eq!(all, ["AAPL", "AMZN", "GOOG", "MSFT", "NVDA", "TSLA"]);
    everything.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(everything.closed().unwrap().clean);
}

/// The hyper-upgrade example on `server`: `/ws` upgrades and echoes (with
/// permessage-deflate agreed) over HTTP/1.1 and over HTTP/2 on the same
/// port, logging the version of each; other paths are the server's own
/// HTTP, and an invalid upgrade gets its status.
async fn hyper_upgrade_on(server: &str) {
    let running = Running::start(
        "hyper-upgrade",
        &["--addr", "127.0.0.1:0", "--server", server],
    );
    let page = http_get(running.addr, "/", "").await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(
        page.contains(&format!("a plain HTTP page from {server}")),
        "{page}"
    );

    let bad = http_get(
        running.addr,
        "/ws",
        "Upgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Version: 13\r\n",
    )
    .await;
    assert!(bad.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{bad}");

    let config = ws_toolkit::tokio::ClientConfig::default()
        .deflate(ws_toolkit::core::DeflateParams::default());
    let (mut socket, response) =
        ws_toolkit::tokio::connect_with_config(format!("ws://{}/ws", running.addr), &config)
            .await
            .unwrap();
    assert!(response.headers()["sec-websocket-extensions"]
        .to_str()
        .unwrap()
        .starts_with("permessage-deflate"));
    for message in [
        Message::text("through hyper"),
        Message::binary(vec![42u8; 300_000]),
    ] {
        socket.send(message.clone()).await.unwrap();
        assert_eq!(socket.next().await.unwrap().unwrap(), message);
    }
    socket.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(socket.closed().unwrap().clean);

    // HTTP/2 on the same port (prior knowledge): an extended CONNECT, with
    // permessage-deflate agreed too.
    let tcp = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    let client = ws_hyper::Http2Client::handshake(tcp, config).await.unwrap();
    let (mut socket, response) = client
        .connect(format!("ws://{}/ws", running.addr))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["sec-websocket-extensions"]
        .to_str()
        .unwrap()
        .starts_with("permessage-deflate"));
    socket.send(Message::text("over HTTP/2")).await.unwrap();
    assert_eq!(
        socket.recv().await.unwrap().unwrap(),
        Message::text("over HTTP/2")
    );
    socket.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(socket.closed().unwrap().clean);

    // The server said which version each WebSocket came over.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let expected = ["websocket over HTTP/1.1", "websocket over HTTP/2.0"];
    while running.output() != expected && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(running.output(), expected);
}

#[tokio::test]
async fn hyper_upgrade_example_on_hyper() {
    hyper_upgrade_on("hyper").await;
}

#[tokio::test]
async fn hyper_upgrade_example_on_axum() {
    hyper_upgrade_on("axum").await;
}

/// Posts a form to `path` and returns the whole response.
async fn http_post(addr: std::net::SocketAddr, path: &str, form: &str) -> String {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\n\r\n{form}",
        form.len()
    );
    http_exchange(addr, &request).await
}

/// The leaderboard serves its page, takes scores by `POST /score` and by
/// WebSocket message, pushes each to every page, and gives a page that
/// connects later the top 10 of the best score per name.
#[tokio::test]
async fn leaderboard_example_pushes_scores_and_snapshots_the_top_10() {
    let board = Running::start("leaderboard", &["--addr", "127.0.0.1:0"]);
    let page = http_get(board.addr, "/", "").await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n") && page.contains("new WebSocket("));

    let (mut watcher, _) = connect(format!("ws://{}/ws", board.addr)).await.unwrap();
    assert_eq!(next_text(&mut watcher).await, r#"{"board":[]}"#);
    for (i, name) in [
        "ann", "bo", "cy", "di", "ed", "flo", "gus", "hal", "ivy", "jo", "kim", "lu",
    ]
    .iter()
    .enumerate()
    {
        let response = http_post(
            board.addr,
            "/score",
            &format!("name={name}&score={}", i * 10),
        )
        .await;
        assert!(
            response.starts_with("HTTP/1.1 204 No Content\r\n"),
            "{response}"
        );
        assert_eq!(
            next_text(&mut watcher).await,
            format!(r#"{{"name":"{name}","score":{}}}"#, i * 10)
        );
    }
    // A lower score does not replace a name's best; a form that is not one is refused.
    let response = http_post(board.addr, "/score", "name=lu&score=1").await;
    assert!(response.starts_with("HTTP/1.1 204"), "{response}");
    assert_eq!(next_text(&mut watcher).await, r#"{"name":"lu","score":1}"#);
    let response = http_post(board.addr, "/score", "name=&score=x").await;
    assert!(
        response.starts_with("HTTP/1.1 400 Bad Request\r\n"),
        "{response}"
    );

    // A score sent over the WebSocket, with a name needing escapes.
    watcher
        .send(Message::text(r#"zoë "z" 1000"#))
        .await
        .unwrap();
    assert_eq!(
        next_text(&mut watcher).await,
        r#"{"name":"zoë \"z\"","score":1000}"#
    );
    let (mut late, _) = connect(format!("ws://{}/ws", board.addr)).await.unwrap();
    assert_eq!(
        next_text(&mut late).await,
        r#"{"board":[["zoë \"z\"",1000],["lu",110],["kim",100],["jo",90],["ivy",80],["hal",70],["gus",60],["flo",50],["ed",40],["di",30]]}"#
    );
    watcher.close(CloseCode::NORMAL, "").await.unwrap();
    late.close(CloseCode::NORMAL, "").await.unwrap();
}

/// How many descriptors a server example may open in the `EMFILE` tests:
/// its runtime's own and a few dozen connections.
const FD_LIMIT: u64 = 64;
/// Clients opened at once against that limit: more than it allows.
const CLIENTS: usize = 120;

/// An upgrade request for `path` on `addr`, written whole.
fn raw_upgrade(addr: std::net::SocketAddr, path: &str) -> std::net::TcpStream {
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).unwrap();
    tcp
}

/// The first line of the server's answer on `tcp`, waiting up to 20 s.
fn status_line(tcp: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n") {
        match tcp.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).trim_end().to_owned()
}

/// Runs example `name` with `args` under a descriptor limit of [`FD_LIMIT`]
/// and opens [`CLIENTS`] upgrades to `path` at once: past the limit its
/// `accept` fails with `EMFILE`, the connections wait in the kernel's
/// backlog, and the example must neither exit nor spin (its CPU time over
/// two seconds of `EMFILE` stays under a quarter of a core). As clients
/// hang up, the waiting ones are accepted and upgraded in turn, and so is a
/// new one at the end.
fn survives_emfile(name: &str, args: &[&str], path: &str) {
    let mut running = Running::start_with_fd_limit(name, args, FD_LIMIT);
    let addr = running.addr;
    let mut clients: Vec<_> = (0..CLIENTS).map(|_| raw_upgrade(addr, path)).collect();
    // Let the example accept what it can and meet EMFILE.
    std::thread::sleep(Duration::from_millis(500));
    let before = running.cpu_time();
    std::thread::sleep(Duration::from_secs(2));
    let spent = running.cpu_time() - before;
    println!("{name} {args:?}: {spent:?} of CPU in 2 s at EMFILE");
    assert!(running.is_running(), "{name} exited on EMFILE");
    assert!(
        spent < Duration::from_millis(500),
        "{name} spun at EMFILE: {spent:?} of CPU in 2 s"
    );
    // Some were upgraded before the limit, the rest wait in the backlog.
    // Each client hung up frees a descriptor, with which the example takes
    // the next waiting connection: all are upgraded in their turn.
    for (i, mut tcp) in clients.drain(..).enumerate() {
        assert_eq!(
            status_line(&mut tcp),
            "HTTP/1.1 101 Switching Protocols",
            "client {i} of {CLIENTS}"
        );
    }
    drop(clients);
    std::thread::sleep(Duration::from_millis(200));
    let mut fresh = raw_upgrade(addr, path);
    assert_eq!(status_line(&mut fresh), "HTTP/1.1 101 Switching Protocols");
    assert!(running.is_running());
}

#[test]
fn echo_server_example_survives_emfile_on_tokio() {
    survives_emfile(
        "echo-server",
        &["--addr", "127.0.0.1:0", "--runtime", "tokio"],
        "/",
    );
}

#[test]
fn echo_server_example_survives_emfile_on_async_std() {
    survives_emfile(
        "echo-server",
        &["--addr", "127.0.0.1:0", "--runtime", "async-std"],
        "/",
    );
}

#[test]
fn echo_server_example_survives_emfile_on_smol() {
    survives_emfile(
        "echo-server",
        &["--addr", "127.0.0.1:0", "--runtime", "smol"],
        "/",
    );
}

#[test]
fn echo_server_example_survives_emfile_on_blocking() {
    survives_emfile(
        "echo-server",
        &["--addr", "127.0.0.1:0", "--runtime", "blocking"],
        "/",
    );
}

#[test]
fn echo_server_example_survives_emfile_on_mio() {
    survives_emfile(
        "echo-server",
        &["--addr", "127.0.0.1:0", "--runtime", "mio"],
        "/",
    );
}

#[test]
fn chat_example_survives_emfile() {
    survives_emfile("chat", &["--addr", "127.0.0.1:0"], "/ws?name=many");
}

#[test]
fn ticker_example_survives_emfile() {
    survives_emfile("ticker", &["--addr", "127.0.0.1:0"], "/");
}

#[test]
fn leaderboard_example_survives_emfile() {
    survives_emfile("leaderboard", &["--addr", "127.0.0.1:0"], "/ws");
}

#[test]
fn hyper_upgrade_example_survives_emfile_on_hyper() {
    survives_emfile(
        "hyper-upgrade",
        &["--addr", "127.0.0.1:0", "--server", "hyper"],
        "/ws",
    );
}

#[test]
fn hyper_upgrade_example_survives_emfile_on_axum() {
    survives_emfile(
        "hyper-upgrade",
        &["--addr", "127.0.0.1:0", "--server", "axum"],
        "/ws",
    );
}
