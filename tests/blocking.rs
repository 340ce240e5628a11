//! ws-blocking end to end on 127.0.0.1: a blocking server and client against
//! each other and against the tokio adapter, `wss://`, the close handshake,
//! and every deadline of the connection firing while `read` or `send`
//! blocks. Each test starts its peers itself and they end with it.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ws_toolkit::blocking::{self, ClientConfig, Error, ServerConfig, WebSocket};
use ws_toolkit::core::{DeflateParams, ProtocolError};
use ws_toolkit::{CloseCode, Config, Message};

/// A bound on how long a test waits for something that must happen much
/// sooner (a hang fails the test instead of stalling the suite).
const PATIENCE: Duration = Duration::from_secs(20);

fn listen() -> (TcpListener, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// A blocking server that accepts one connection with `config` and hands
/// the socket (or the handshake's error) to `serve` on its own thread.
fn serve_one<T: Send + 'static>(
    config: ServerConfig,
    serve: impl FnOnce(Result<WebSocket<TcpStream>, Error>) -> T + Send + 'static,
) -> (SocketAddr, Finished<T>) {
    let (listener, addr) = listen();
    (
        addr,
        in_thread(move || {
            let (tcp, _) = listener.accept().unwrap();
            serve(blocking::accept_with(tcp, &config))
        }),
    )
}

/// What a thread returns, waited for at most [`PATIENCE`].
struct Finished<T>(std::sync::mpsc::Receiver<std::thread::Result<T>>);

impl<T> Finished<T> {
    fn join(self) -> T {
        match self.0.recv_timeout(PATIENCE) {
            Ok(Ok(value)) => value,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => panic!("the thread did not finish within {PATIENCE:?}: a hang"),
        }
    }
}

fn in_thread<T: Send + 'static>(body: impl FnOnce() -> T + Send + 'static) -> Finished<T> {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)));
    });
    Finished(finished)
}

/// Echoes data messages until the end; returns how the connection ended.
fn echo(socket: Result<WebSocket<TcpStream>, Error>) -> ws_toolkit::core::Closed {
    let mut socket = socket.unwrap();
    while let Some(message) = socket.recv() {
        if let Ok(message) = message {
            if message.is_data() {
                socket.send(message).unwrap();
            }
        }
    }
    socket.closed().unwrap().clone()
}

/// A raw client: TCP, and a valid opening handshake read up to its end.
fn raw_client(addr: SocketAddr) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let head = read_head(&mut tcp);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp
}

/// Reads an HTTP response head, byte by byte (nothing past it is taken).
fn read_head(tcp: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if tcp.read(&mut byte).unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// Everything a raw peer reads until the other side closes.
fn read_to_end(tcp: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let _ = tcp.read_to_end(&mut all);
    all
}

#[test]
fn blocking_server_echoes_a_blocking_client_text_binary_and_a_large_compressed_message() {
    let config = ServerConfig::default().deflate(DeflateParams::default());
    let (addr, server) = serve_one(config, echo);
    let client_config = ClientConfig::default().deflate(DeflateParams::default());
    let (mut socket, response) =
        blocking::connect_with_config(format!("ws://{addr}/"), &client_config).unwrap();
    assert!(response.headers().contains_key("sec-websocket-extensions"));
    socket.send(Message::text("hello")).unwrap();
    assert_eq!(socket.read().unwrap(), Message::text("hello"));
    socket.send(Message::binary(vec![1, 2, 3])).unwrap();
    assert_eq!(socket.read().unwrap(), Message::binary(vec![1, 2, 3]));
    let large: Vec<u8> = (0..(1 << 20)).map(|i| (i % 251) as u8).collect();
    socket.send(Message::binary(large.clone())).unwrap();
    assert_eq!(socket.read().unwrap(), Message::binary(large));
    socket.close(CloseCode::NORMAL, "done").unwrap();
    assert!(socket.closed().unwrap().clean);
    assert!(matches!(socket.read(), Err(Error::Closed)));
    let server_end = server.join();
    assert!(server_end.clean);
    assert_eq!(server_end.code, CloseCode::NORMAL);
}

#[test]
fn blocking_client_fed_messages_leave_in_one_flush_and_come_back_in_order() {
    let (addr, server) = serve_one(ServerConfig::default(), echo);
    let (mut socket, _) = blocking::connect(format!("ws://{addr}/")).unwrap();
    for i in 0..100 {
        socket.feed(Message::text(format!("{i}"))).unwrap();
    }
    assert!(socket.buffered_amount() > 0);
    socket.flush().unwrap();
    assert_eq!(socket.buffered_amount(), 0);
    for i in 0..100 {
        assert_eq!(socket.read().unwrap(), Message::text(format!("{i}")));
    }
    socket.close(CloseCode::NORMAL, "").unwrap();
    assert!(server.join().clean);
}

#[test]
fn blocking_server_closes_and_tokio_client_sees_the_close_then_the_end() {
    let (addr, server) = serve_one(ServerConfig::default(), |socket| {
        let mut socket = socket.unwrap();
        assert_eq!(socket.read().unwrap(), Message::text("bye?"));
        socket.close(CloseCode::GOING_AWAY, "later").unwrap();
        socket.closed().unwrap().clone()
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (mut socket, _) = ws_toolkit::tokio::connect(format!("ws://{addr}/"))
            .await
            .unwrap();
        socket.send(Message::text("bye?")).await.unwrap();
        match socket.next().await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(frame.code, CloseCode::GOING_AWAY);
                assert_eq!(frame.reason.as_str(), "later");
            }
            other => panic!("expected the server's close, got {other:?}"),
        }
        assert!(socket.next().await.is_none());
        assert!(socket.closed().unwrap().clean);
    });
    let end = server.join();
    assert!(end.clean, "{end:?}");
}

#[test]
fn blocking_client_against_a_tokio_server_echoes_and_answers_its_ping() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = in_thread(move || {
        runtime.block_on(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut socket = ws_toolkit::tokio::accept(tcp).await.unwrap();
            socket.send(Message::ping("are you there")).await.unwrap();
            let mut pong = None;
            while let Some(Ok(message)) = socket.next().await {
                match message {
                    Message::Pong(payload) => pong = Some(payload),
                    message if message.is_data() => socket.send(message).await.unwrap(),
                    _ => {}
                }
            }
            pong
        })
    });
    let (mut socket, _) = blocking::connect(format!("ws://{addr}/")).unwrap();
    // The ping arrives first and is answered as it is read.
    assert_eq!(socket.read().unwrap(), Message::ping("are you there"));
    socket.send(Message::text("echo me")).unwrap();
    assert_eq!(socket.read().unwrap(), Message::text("echo me"));
    socket.close(CloseCode::NORMAL, "").unwrap();
    assert_eq!(server.join().as_deref(), Some(&b"are you there"[..]));
}

#[test]
fn blocking_client_and_server_over_wss_echo_and_close_cleanly() {
    let (server_tls, client_tls) = support::self_signed_tls();
    let (listener, addr) = listen();
    let server = in_thread(move || {
        let (tcp, _) = listener.accept().unwrap();
        let tls = rustls::ServerConnection::new(server_tls).unwrap();
        let stream = rustls::StreamOwned::new(tls, tcp);
        let mut socket = blocking::accept(stream).unwrap();
        while let Some(Ok(message)) = socket.recv() {
            if message.is_data() {
                socket.send(message).unwrap();
            }
        }
        socket.closed().unwrap().clean
    });
    let config = ClientConfig::default().tls(client_tls);
    let url = format!("wss://localhost:{}/", addr.port());
    let (mut socket, _) = blocking::connect_with_config(url, &config).unwrap();
    assert!(matches!(
        socket.get_ref(),
        blocking::MaybeTlsStream::Rustls(_)
    ));
    socket.send(Message::text("secret")).unwrap();
    assert_eq!(socket.read().unwrap(), Message::text("secret"));
    socket.close(CloseCode::NORMAL, "").unwrap();
    assert!(socket.closed().unwrap().clean);
    assert!(server.join());
}

#[test]
fn blocking_client_keepalive_fails_with_1011_when_pings_go_unanswered() {
    // The server answers no pings and never sends: only keepalive can end it.
    let server_config = ServerConfig::default().connection(Config::default().auto_pong(false));
    let (addr, server) = serve_one(server_config, |socket| {
        let mut socket = socket.unwrap();
        while socket.recv().is_some() {}
        socket.closed().unwrap().clone()
    });
    let config = ClientConfig::default().connection(
        Config::default().keepalive(Duration::from_millis(100), Duration::from_millis(200)),
    );
    let (mut socket, _) = blocking::connect_with_config(format!("ws://{addr}/"), &config).unwrap();
    let started = Instant::now();
    // The server sees our pings; we see nothing from it until the end.
    let (error, mut socket) = in_thread(move || (socket.read().unwrap_err(), socket)).join();
    assert!(
        matches!(error, Error::Protocol(ProtocolError::KeepaliveTimeout)),
        "{error:?}"
    );
    assert!(started.elapsed() < PATIENCE, "took {:?}", started.elapsed());
    assert!(matches!(socket.read(), Err(Error::Closed)));
    let end = server.join();
    assert_eq!(end.code, CloseCode::INTERNAL_ERROR, "{end:?}");
}

#[test]
fn blocking_server_fails_a_trickled_frame_with_1008_after_the_message_timeout() {
    let config = ServerConfig::default()
        .connection(Config::default().message_timeout(Some(Duration::from_millis(150))));
    let (addr, server) = serve_one(config, |socket| {
        let mut socket = socket.unwrap();
        let started = Instant::now();
        let error = socket.read().unwrap_err();
        (error, started.elapsed())
    });
    let mut tcp = raw_client(addr);
    // The first two bytes of a masked text frame, then nothing.
    tcp.write_all(&[0x81, 0x85]).unwrap();
    let (error, waited) = server.join();
    assert!(
        matches!(error, Error::Protocol(ProtocolError::MessageTimeout)),
        "{error:?}"
    );
    assert!(waited < PATIENCE, "{waited:?}");
    // The close frame the server sent: 1008.
    let rest = read_to_end(&mut tcp);
    assert_eq!(&rest[..4], &[0x88, 0x02, 0x03, 0xf0], "{rest:?}");
}

#[test]
fn blocking_server_send_fails_with_the_write_timeout_when_the_client_stops_reading() {
    let config = ServerConfig::default()
        .connection(Config::default().write_timeout(Some(Duration::from_millis(200))));
    let (addr, server) = serve_one(config, |socket| {
        let mut socket = socket.unwrap();
        let chunk = Message::binary(vec![0u8; 64 << 10]);
        // The client never reads: the socket buffers fill, then a write
        // makes no progress for the write timeout.
        for _ in 0..100_000 {
            if let Err(error) = socket.send(chunk.clone()) {
                return error;
            }
        }
        panic!("a peer that never reads took 6 GiB");
    });
    let tcp = raw_client(addr);
    let error = server.join();
    assert!(
        matches!(error, Error::Protocol(ProtocolError::WriteTimeout)),
        "{error:?}"
    );
    drop(tcp);
}

#[test]
fn blocking_server_drops_a_silent_client_after_the_handshake_timeout() {
    let config = ServerConfig::default().handshake_timeout(Duration::from_millis(150));
    let (addr, server) = serve_one(config, |socket| socket.map(|_| ()));
    let _tcp = TcpStream::connect(addr).unwrap();
    assert!(matches!(server.join(), Err(Error::HandshakeTimeout)));
}

#[test]
fn blocking_server_answers_a_request_without_version_13_with_426() {
    let (addr, server) = serve_one(ServerConfig::default(), |socket| socket.map(|_| ()));
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(PATIENCE)).unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    )
    .unwrap();
    let head = read_head(&mut tcp);
    assert!(head.starts_with("HTTP/1.1 426"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{head}"
    );
    match server.join() {
        Err(Error::Request(error)) => assert_eq!(error.status(), 426),
        other => panic!("{other:?}"),
    }
}

#[test]
fn blocking_server_fails_an_unmasked_client_frame_with_1002() {
    let (addr, server) = serve_one(ServerConfig::default(), |socket| {
        let mut socket = socket.unwrap();
        let error = socket.read().unwrap_err();
        let after = socket.read().unwrap_err();
        (error, after, socket.closed().cloned())
    });
    let mut tcp = raw_client(addr);
    tcp.write_all(&[0x81, 0x02, b'h', b'i']).unwrap();
    let rest = read_to_end(&mut tcp);
    // The server shut its side down and lingers, reading, until ours ends.
    drop(tcp);
    let (error, after, closed) = server.join();
    match &error {
        Error::Protocol(error) => assert_eq!(error.close_code(), CloseCode::PROTOCOL_ERROR),
        other => panic!("{other:?}"),
    }
    assert!(matches!(after, Error::Closed), "{after:?}");
    assert!(!closed.unwrap().clean);
    assert_eq!(&rest[..4], &[0x88, 0x02, 0x03, 0xea], "{rest:?}");
}

/// Autobahn case 3.4 once ended NON-STRICT here: the server failed the
/// connection (a frame with RSV bits) and dropped the socket with the
/// client's next bytes unread, so the kernel reset it, and the client, still
/// writing, met the reset before it read the echo and the close frame. The
/// server now shuts its side down and lingers, reading, until the client
/// ends: a client still sending pings for 200 ms writes every one, then
/// reads the echo, the 1002 close and the end.
#[test]
fn blocking_server_that_failed_lingers_for_a_client_still_sending_and_resets_nothing() {
    let (addr, server) = serve_one(ServerConfig::default(), echo);
    let mut tcp = raw_client(addr);
    let frame = |first: u8, payload: &[u8]| {
        let mut frame = vec![first, 0x80 | payload.len() as u8, 0, 0, 0, 0];
        frame.extend_from_slice(payload);
        frame
    };
    let mut bytes = frame(0x81, b"Hello, world!");
    bytes.extend_from_slice(&frame(0xc1, b"Hello, world!")); // RSV1
    tcp.write_all(&bytes).unwrap();
    let mut written = 0;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(10));
        if tcp.write_all(&frame(0x89, b"")).is_err() {
            break;
        }
        written += 1;
    }
    let rest = read_to_end(&mut tcp);
    drop(tcp);
    let closed = server.join();
    assert_eq!(written, 20, "a write met a reset");
    let mut expected = vec![0x81, 13];
    expected.extend_from_slice(b"Hello, world!");
    expected.extend_from_slice(&[0x88, 0x02, 0x03, 0xea]);
    assert_eq!(rest, expected);
    assert!(!closed.clean);
}

#[test]
fn blocking_server_reports_a_client_that_vanishes_without_a_close_as_1006() {
    let (addr, server) = serve_one(ServerConfig::default(), |socket| {
        let mut socket = socket.unwrap();
        let error = socket.read().unwrap_err();
        // The end comes after the error, as on the async adapters.
        assert!(matches!(socket.read(), Err(Error::Closed)));
        (error, socket.closed().cloned())
    });
    let tcp = raw_client(addr);
    drop(tcp);
    let (error, closed) = server.join();
    assert!(
        matches!(error, Error::Protocol(ProtocolError::UnexpectedEof)),
        "{error:?}"
    );
    let closed = closed.unwrap();
    assert_eq!(closed.code, CloseCode::ABNORMAL);
    assert!(!closed.clean);
}

#[test]
fn blocking_client_read_within_returns_none_when_nothing_came_and_loses_nothing() {
    let (addr, server) = serve_one(ServerConfig::default(), |socket| {
        let mut socket = socket.unwrap();
        // Half a message, a pause longer than the client's limit, the rest.
        let frame = Message::text("split in two");
        socket.feed(frame).unwrap();
        let mut raw = Vec::new();
        raw.extend_from_slice(&[0x81, 12]);
        raw.extend_from_slice(b"split in two");
        let tcp = socket.get_mut();
        tcp.write_all(&raw[..5]).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        tcp.write_all(&raw[5..]).unwrap();
        while socket.recv().is_some() {}
    });
    let (mut socket, _) = blocking::connect(format!("ws://{addr}/")).unwrap();
    assert_eq!(socket.read_within(Duration::from_millis(50)).unwrap(), None);
    let message = loop {
        if let Some(message) = socket.read_within(Duration::from_millis(50)).unwrap() {
            break message;
        }
    };
    assert_eq!(message, Message::text("split in two"));
    // What the server fed (and only wrote out at its next read) follows.
    assert_eq!(socket.read().unwrap(), Message::text("split in two"));
    socket.close(CloseCode::NORMAL, "").unwrap();
    server.join();
}

/// Closes `tcp` with a reset (RST): `SO_LINGER` 0, then close.
fn reset(tcp: TcpStream) {
    socket2::SockRef::from(&tcp)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(tcp);
}

#[test]
fn blocking_server_reports_a_reset_mid_frame_as_connection_reset_after_the_message_before_it() {
    let (addr, server) = serve_one(ServerConfig::default(), |socket| {
        let mut socket = socket.unwrap();
        let first = socket.read();
        let second = socket.read();
        assert!(matches!(socket.read(), Err(Error::Closed)));
        (first, second, socket.closed().cloned())
    });
    let mut tcp = raw_client(addr);
    // "accepted" whole, then 5 of the 10 bytes of the next text frame.
    let mut bytes = vec![0x81, 0x88, 0, 0, 0, 0];
    bytes.extend_from_slice(b"accepted");
    bytes.extend_from_slice(&[0x81, 0x8a, 0, 0, 0, 0, b'h', b'a']);
    tcp.write_all(&bytes).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    reset(tcp);
    let (first, second, closed) = server.join();
    assert_eq!(first.unwrap(), Message::text("accepted"));
    assert!(
        matches!(&second, Err(Error::Io(io)) if io.kind() == std::io::ErrorKind::ConnectionReset),
        "{second:?}"
    );
    let closed = closed.unwrap();
    assert_eq!(closed.code, CloseCode::ABNORMAL);
    assert!(!closed.clean);
}

#[test]
fn blocking_client_reports_a_reset_mid_handshake_as_a_typed_error() {
    let (listener, addr) = listen();
    let server = in_thread(move || {
        let (mut tcp, _) = listener.accept().unwrap();
        let mut request = [0u8; 64];
        let _ = tcp.read(&mut request).unwrap();
        tcp.write_all(b"HTTP/1.1 101 Switching").unwrap();
        std::thread::sleep(Duration::from_millis(100));
        reset(tcp);
    });
    let result = blocking::connect(format!("ws://{addr}/"));
    server.join();
    match result {
        Err(Error::Io(io)) => assert_eq!(io.kind(), std::io::ErrorKind::ConnectionReset),
        Err(Error::HandshakeEof) => {}
        Err(other) => panic!("{other:?}"),
        Ok(_) => panic!("a response cut short was accepted"),
    }
}

/// A client that goes silent (reads nothing, writes nothing, keeps the
/// connection): the blocking server's keepalive fails it with 1011 after
/// `keepalive_interval + keepalive_timeout`.
#[test]
fn blocking_server_keepalive_detects_a_silent_client_within_interval_plus_timeout() {
    let (interval, timeout) = (Duration::from_millis(300), Duration::from_millis(300));
    let config = ServerConfig::default().connection(Config::default().keepalive(interval, timeout));
    let (addr, server) = serve_one(config, |socket| {
        let mut socket = socket.unwrap();
        let started = Instant::now();
        let error = socket.read().unwrap_err();
        (error, started.elapsed())
    });
    let silent = raw_client(addr);
    let (error, elapsed) = server.join();
    println!("silent client detected after {elapsed:?} (interval + timeout = 600 ms)");
    assert!(
        matches!(error, Error::Protocol(ProtocolError::KeepaliveTimeout)),
        "{error:?}"
    );
    assert!(
        elapsed >= interval + timeout - Duration::from_millis(20),
        "{elapsed:?}"
    );
    assert!(
        elapsed <= interval + timeout + Duration::from_secs(2),
        "{elapsed:?}"
    );
    drop(silent);
}

/// A TLS server that ends TCP without `close_notify` (RFC 8446 section
/// 6.1): the blocking client gets the message sent before the cut, then a
/// typed `UnexpectedEof` from TLS, not a clean end.
#[test]
fn blocking_client_reports_a_tls_server_that_ends_without_close_notify_as_truncation() {
    let (server_tls, client_tls) = support::self_signed_tls();
    let (listener, addr) = listen();
    let server = in_thread(move || {
        let (tcp, _) = listener.accept().unwrap();
        let tls = rustls::ServerConnection::new(server_tls).unwrap();
        let mut socket = blocking::accept(rustls::StreamOwned::new(tls, tcp)).unwrap();
        socket.send(Message::text("before the cut")).unwrap();
        // Dropped without close or TLS shutdown: FIN, no close_notify.
    });
    let config = ClientConfig::default().tls(client_tls);
    let url = format!("wss://localhost:{}/", addr.port());
    let (mut socket, _) = blocking::connect_with_config(url, &config).unwrap();
    server.join();
    assert_eq!(socket.read().unwrap(), Message::text("before the cut"));
    let cut = socket.read();
    assert!(
        matches!(&cut, Err(Error::Io(io)) if io.kind() == std::io::ErrorKind::UnexpectedEof),
        "{cut:?}"
    );
    assert!(matches!(socket.read(), Err(Error::Closed)));
    assert!(!socket.closed().unwrap().clean);
}
