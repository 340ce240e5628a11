//! ws-mio's server on 127.0.0.1 with ws-blocking clients: echo of every
//! size, many clients over two loop threads, pipelined messages, refusals
//! with their statuses, the handshake timeout, a client that breaks the
//! protocol, the close handshake both ways, and stopping the server.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use ws_blocking::{connect, connect_with_config, ClientConfig, Error};
use ws_core::{CloseCode, Config, Message};
use ws_mio::{Closed, Handler, Running, Server, ServerConfig, Socket, SocketId};

/// Echoes data messages; reports each socket's end on a channel; refuses
/// `/private` with 403; closes with 4000 when told "bye".
struct Echo {
    closed: mpsc::Sender<(SocketId, Closed)>,
}

impl Handler for Echo {
    fn upgrade(
        &mut self,
        request: &http::Request<()>,
        _: &mut http::Response<()>,
    ) -> Result<(), ws_handshake::RequestError> {
        if request.uri().path() == "/private" {
            return Err(ws_handshake::RequestError::Rejected {
                status: http::StatusCode::FORBIDDEN,
                reason: "members only".into(),
            });
        }
        Ok(())
    }

    fn message(&mut self, socket: &mut Socket<'_>, message: Message) {
        if message == Message::text("bye") {
            socket.close(CloseCode(4000), "as asked").unwrap();
        } else if message.is_data() {
            socket.send(message).unwrap();
        }
    }

    fn close(&mut self, id: SocketId, closed: &Closed) {
        let _ = self.closed.send((id, closed.clone()));
    }
}

fn start(config: ServerConfig) -> (Running, mpsc::Receiver<(SocketId, Closed)>) {
    let (sender, closed) = mpsc::channel();
    let sender = std::sync::Mutex::new(sender);
    let running = Server::new(config)
        .threads(2)
        .bind("127.0.0.1:0".parse().unwrap(), move || Echo {
            closed: sender.lock().unwrap().clone(),
        })
        .unwrap();
    (running, closed)
}

fn url(addr: SocketAddr) -> String {
    format!("ws://{addr}/")
}

fn big() -> Config {
    Config::default()
        .max_message_size(32 << 20)
        .max_frame_size(32 << 20)
}

#[test]
fn server_echoes_text_and_binary_from_0_bytes_to_16_mib() {
    let (server, _) = start(ServerConfig::default().connection(big()));
    let config = ClientConfig::default().connection(big());
    let (mut socket, response) = connect_with_config(url(server.local_addr()), &config).unwrap();
    assert_eq!(response.status(), 101);
    for size in [0usize, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20] {
        let binary: Vec<u8> = (0..size).map(|i| (i * 31) as u8).collect();
        socket.send(Message::binary(binary.clone())).unwrap();
        assert_eq!(socket.read().unwrap(), Message::binary(binary), "{size}");
        let text = "é".repeat(size / 2);
        socket.send(Message::text(text.clone())).unwrap();
        assert_eq!(socket.read().unwrap().as_text(), Some(text.as_str()));
    }
    socket.close(CloseCode::NORMAL, "").unwrap();
    assert!(socket.closed().unwrap().clean);
}

#[test]
fn server_serves_200_clients_at_once_over_two_threads() {
    let (server, _) = start(ServerConfig::default());
    let addr = server.local_addr();
    let clients: Vec<_> = (0..200)
        .map(|i| {
            std::thread::spawn(move || {
                let (mut socket, _) = connect(url(addr)).unwrap();
                for n in 0..20 {
                    let text = format!("client {i} message {n}");
                    socket.send(Message::text(text.clone())).unwrap();
                    assert_eq!(socket.read().unwrap().as_text(), Some(text.as_str()));
                }
                socket.close(CloseCode::NORMAL, "").unwrap();
            })
        })
        .collect();
    for client in clients {
        client.join().unwrap();
    }
}

/// A client that sends 100 messages before reading gets 100 answers, in
/// order (written together at the end of the turn that read them).
#[test]
fn server_answers_pipelined_messages_in_order() {
    let (server, _) = start(ServerConfig::default());
    let (mut socket, _) = connect(url(server.local_addr())).unwrap();
    for n in 0..100 {
        socket.feed(Message::text(format!("{n}"))).unwrap();
    }
    socket.flush().unwrap();
    for n in 0..100 {
        assert_eq!(socket.read().unwrap(), Message::text(format!("{n}")));
    }
}

fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.write_all(request).unwrap();
    let mut response = Vec::new();
    let _ = tcp.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

#[test]
fn server_refuses_plain_http_with_426_garbage_with_400_and_the_handler_s_no_with_403() {
    let (server, _) = start(ServerConfig::default());
    let addr = server.local_addr();
    let plain = raw_exchange(addr, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(plain.starts_with("HTTP/1.1 426 "), "{plain}");
    assert!(
        plain.to_ascii_lowercase().contains("upgrade: websocket"),
        "{plain}"
    );
    let garbage = raw_exchange(addr, b"\x16\x03\x01\x00\xa5 not http\r\n\r\n");
    assert!(garbage.starts_with("HTTP/1.1 400 "), "{garbage}");
    let Err(Error::Response(response)) = connect(format!("ws://{addr}/private")) else {
        panic!("upgraded");
    };
    let ws_handshake::ResponseError::Status { status, body, .. } = *response else {
        panic!("{response:?}");
    };
    assert_eq!(status, 403);
    assert!(String::from_utf8_lossy(&body).contains("members only"));
}

#[test]
fn server_refuses_a_head_over_its_limit_with_431() {
    let (server, _) = start(ServerConfig::default());
    let mut request = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..2_000 {
        request.extend_from_slice(format!("x-filler-{i}: {}\r\n", "y".repeat(40)).as_bytes());
    }
    request.extend_from_slice(b"\r\n");
    let answer = raw_exchange(server.local_addr(), &request);
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
}

#[test]
fn server_drops_a_client_that_never_finishes_its_handshake() {
    let config = ServerConfig::default().handshake_timeout(Duration::from_millis(200));
    let (server, _) = start(config);
    let mut tcp = TcpStream::connect(server.local_addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHo").unwrap();
    let mut rest = Vec::new();
    let started = std::time::Instant::now();
    let _ = tcp.read_to_end(&mut rest);
    assert!(rest.is_empty(), "{rest:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "dropped, not kept"
    );
}

#[test]
fn server_fails_a_client_that_sends_invalid_utf8_with_1007() {
    let (server, closed) = start(ServerConfig::default());
    let tcp = TcpStream::connect(server.local_addr()).unwrap();
    let (mut socket, _) =
        ws_blocking::connect_with(tcp, url(server.local_addr()), &ClientConfig::default()).unwrap();
    // A masked text frame with invalid UTF-8, behind the library's back.
    socket
        .get_mut()
        .write_all(&[0x81, 0x82, 0, 0, 0, 0, 0xc0, 0xaf])
        .unwrap();
    let message = socket.read().unwrap();
    assert_eq!(
        message,
        Message::Close(Some(ws_core::CloseFrame::new(
            CloseCode::INVALID_PAYLOAD,
            ""
        )))
    );
    // The server shut its side down and lingers, reading, until the client
    // ends too (rather than reset a client that may still be sending).
    assert!(matches!(socket.read(), Err(ws_blocking::Error::Closed)));
    drop(socket);
    let (_, seen) = closed.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        !seen.clean || seen.code == CloseCode::INVALID_PAYLOAD,
        "{seen:?}"
    );
}

#[test]
fn client_and_server_initiated_closes_reach_the_handler_with_their_codes() {
    let (server, closed) = start(ServerConfig::default());
    let (mut socket, _) = connect(url(server.local_addr())).unwrap();
    socket.close(CloseCode(4001), "client done").unwrap();
    let (first, seen) = closed.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(seen.clean);
    assert_eq!(seen.code, CloseCode(4001));

    let (mut socket, _) = connect(url(server.local_addr())).unwrap();
    socket.send(Message::text("bye")).unwrap();
    assert_eq!(
        socket.read().unwrap(),
        Message::Close(Some(ws_core::CloseFrame::new(CloseCode(4000), "as asked")))
    );
    assert!(socket.read().is_err(), "closed after the handshake");
    let (second, seen) = closed.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(seen.clean, "{seen:?}");
    assert_ne!(first, second, "a later socket has an identity of its own");
}

#[test]
fn client_vanishing_is_reported_to_the_handler_as_1006() {
    let (server, closed) = start(ServerConfig::default());
    let (socket, _) = connect(url(server.local_addr())).unwrap();
    drop(socket);
    let (_, seen) = closed.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(!seen.clean);
    assert_eq!(seen.code, CloseCode::ABNORMAL);
}

#[test]
fn stopping_the_server_sends_open_sockets_1001() {
    let (server, _) = start(ServerConfig::default());
    let (mut socket, _) = connect(url(server.local_addr())).unwrap();
    socket.send(Message::text("still here")).unwrap();
    assert_eq!(socket.read().unwrap(), Message::text("still here"));
    let stopping = std::thread::spawn(move || server.stop());
    assert_eq!(
        socket.read().unwrap(),
        Message::Close(Some(ws_core::CloseFrame::new(
            CloseCode::GOING_AWAY,
            "server stopping"
        )))
    );
    // The client's answer ends the handshake, and the server waits for it.
    assert!(matches!(socket.read(), Err(Error::Closed)));
    assert!(socket.closed().unwrap().clean);
    assert_eq!(stopping.join().unwrap(), 0, "no socket left open");
}

/// A client that never answers the 1001 keeps a stopping server only until
/// the close timeout, and is counted as left open.
#[test]
fn stopping_the_server_gives_up_on_a_client_that_does_not_answer_at_the_close_timeout() {
    let connection = Config::default().close_timeout(Duration::from_millis(300));
    let (server, _) = start(ServerConfig::default().connection(connection));
    let (mut socket, _) = connect(url(server.local_addr())).unwrap();
    socket.send(Message::text("here")).unwrap();
    assert_eq!(socket.read().unwrap(), Message::text("here"));
    let started = std::time::Instant::now();
    let left = server.stop();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(left <= 1, "{left}");
    drop(socket);
}

#[test]
fn server_refuses_an_unsupported_version_with_426_naming_13() {
    let (server, _) = start(ServerConfig::default());
    let answer = raw_exchange(
        server.local_addr(),
        b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 426 "), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{answer}"
    );
}

/// The loop's timers: keepalive pings an idle client, whose library
/// answers; a client that stops answering is dropped with 1006 once the
/// keepalive timeout passes.
#[test]
fn server_pings_an_idle_client_and_drops_one_that_stops_answering() {
    let connection =
        Config::default().keepalive(Duration::from_millis(100), Duration::from_millis(200));
    let (server, closed) = start(ServerConfig::default().connection(connection));
    // A read timeout, so that a loop whose timers do not fire fails here
    // instead of hanging.
    let tcp = TcpStream::connect(server.local_addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let (mut socket, _) =
        ws_blocking::connect_with(tcp, url(server.local_addr()), &ClientConfig::default()).unwrap();
    let ping = socket.read().unwrap();
    assert!(matches!(ping, Message::Ping(_)), "{ping:?}");
    // Answered by the read above; now the client goes silent (it reads no
    // more, so it answers no more pings).
    let (_, seen) = closed.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(seen.code, CloseCode::ABNORMAL, "{seen:?}");
    drop(socket);
}

/// A message that fills the loop's 64 KiB read buffer exactly (its frame
/// is 65,536 bytes: 8 bytes of masked header, 65,528 of payload): the read
/// after it finds nothing, and the answer must still go out then, not wait
/// for the client's next bytes.
#[test]
fn server_answers_a_frame_that_fills_its_read_buffer_exactly() {
    let (server, _) = start(ServerConfig::default());
    let (mut socket, _) = connect(url(server.local_addr())).unwrap();
    for round in 0..5 {
        let payload = vec![round as u8; 65_528];
        socket.send(Message::binary(payload.clone())).unwrap();
        let answer = socket.read_within(Duration::from_secs(5)).unwrap();
        assert_eq!(answer, Some(Message::binary(payload)), "round {round}");
    }
}

/// Autobahn case 3.4's lesson (it once ended NON-STRICT on ws-blocking): a
/// server that fails a connection and drops the socket with the client's
/// next bytes unread has the kernel reset it, and a client still writing
/// meets the reset before it reads the echo and the close frame. ws-mio
/// shuts its side down and keeps the socket, reading, until the client
/// ends: a raw client still sending pings for 200 ms after a frame with RSV
/// bits writes every one, then reads the echo, the 1002 close and the end.
#[test]
fn server_that_failed_lingers_for_a_client_still_sending_and_resets_nothing() {
    let (server, closed) = start(ServerConfig::default());
    let mut tcp = TcpStream::connect(server.local_addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    tcp.write_all(
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(tcp.read(&mut byte).unwrap(), 1, "the answer ended early");
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
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
    let mut rest = Vec::new();
    let _ = tcp.read_to_end(&mut rest);
    drop(tcp);
    assert_eq!(written, 20, "a write met a reset");
    let mut expected = vec![0x81, 13];
    expected.extend_from_slice(b"Hello, world!");
    expected.extend_from_slice(&[0x88, 0x02, 0x03, 0xea]);
    assert_eq!(rest, expected);
    let (_, seen) = closed.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(!seen.clean, "{seen:?}");
}
