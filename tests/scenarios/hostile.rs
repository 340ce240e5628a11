// Hostile peers and faults, written once and included once per runtime by
// `tests/hostile.rs` (`rt` names that runtime's helpers). The hostile side is
// raw TCP on 127.0.0.1 driven byte by byte; the side under test is ours, in
// the server role and in the client role. Each case checks the typed error
// and the close code or HTTP status the peer was sent, and that nothing
// hangs (every wait is bounded by `within`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use ws_toolkit::core::{DeflateParams, ProtocolError};
use ws_toolkit::{CloseCode, Config, Message};

use rt::ws::{accept_with, ClientConfig, Error, ServerConfig};
use rt::{connect_with, connect_with_config};

/// Bounds every wait of these tests: a hang fails instead of blocking CI.
async fn within<F: std::future::Future>(seconds: u64, future: F) -> F::Output {
    rt::timeout(Duration::from_secs(seconds), future)
        .await
        .expect("finished in time (no hang)")
}

const REQUEST: &str = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

/// A raw server's 101 answer to the request head it read.
fn response_to(head: &str) -> String {
    let key = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("sec-websocket-key")
                .then(|| value.trim())
        })
        .expect("the client sent a key");
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        ws_toolkit::handshake::accept_key(key.as_bytes())
    )
}

/// Reads an HTTP head (up to the blank line) one byte at a time, so that no
/// frame byte after it is consumed.
async fn read_head(tcp: &mut rt::Tcp) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if rt::read_some(tcp, &mut byte).await == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Reads `len` bytes (fewer if the input ends first).
async fn read_exactly(tcp: &mut rt::Tcp, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match rt::read_some(tcp, &mut out[filled..]).await {
            0 => break,
            n => filled += n,
        }
    }
    out.truncate(filled);
    out
}

/// Reads until the end of input; returns the close code of the first close
/// frame among the frames read (server frames are unmasked), if any.
async fn close_code_sent_to(tcp: &mut rt::Tcp) -> Option<u16> {
    let data = rt::read_until_closed(tcp).await;
    let mut at = 0;
    while at + 2 <= data.len() {
        let (opcode, masked, len7) = (
            data[at] & 0x0f,
            data[at + 1] & 0x80 != 0,
            data[at + 1] & 0x7f,
        );
        let (len, mut start) = match len7 {
            126 => (
                u16::from_be_bytes([data[at + 2], data[at + 3]]) as usize,
                at + 4,
            ),
            127 => return None,
            n => (n as usize, at + 2),
        };
        if masked {
            start += 4;
        }
        if opcode == 0x8 {
            return (len >= 2).then(|| u16::from_be_bytes([data[start], data[start + 1]]));
        }
        at = start + len;
    }
    None
}

/// A masked client frame (mask key 0, so the payload reads as it is).
fn client_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![first_byte];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0, 0, 0, 0]);
    frame.extend_from_slice(payload);
    frame
}

/// A raw client that has completed the opening handshake.
async fn raw_client(addr: SocketAddr) -> rt::Tcp {
    let mut tcp = rt::tcp_connect(addr).await;
    rt::write_raw(&mut tcp, REQUEST.as_bytes()).await;
    let head = read_head(&mut tcp).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    tcp
}

/// A server of ours on one connection, returning what `recv` gave first and
/// how the connection ended.
async fn serve_one(
    config: ServerConfig,
) -> (
    SocketAddr,
    impl std::future::Future<Output = Result<Option<Result<Message, Error>>, Error>>,
) {
    let (listener, addr) = rt::listen().await;
    let served = rt::spawn(async move {
        let tcp = rt::accept_tcp(&listener).await.unwrap();
        let mut socket = accept_with(tcp, &config).await?;
        let first = socket.next().await;
        while socket.next().await.is_some() {}
        Ok(first)
    });
    (addr, served)
}

/// Our server on one connection, sent `bytes` by a raw client after the
/// handshake: what `recv` gave first, and the close code the client got.
async fn server_answer_to(
    config: ServerConfig,
    bytes: &[u8],
) -> (Option<Result<Message, Error>>, Option<u16>) {
    let (addr, served) = serve_one(config).await;
    let mut tcp = raw_client(addr).await;
    rt::write_raw(&mut tcp, bytes).await;
    // Read to the server's end first, then end ours: a server that failed
    // lingers, reading, until its client ends (instead of resetting it).
    let close_code = within(10, close_code_sent_to(&mut tcp)).await;
    drop(tcp);
    let first = within(10, served).await.unwrap();
    (first, close_code)
}

/// A binary frame header announcing `len` bytes (64-bit length form),
/// masked with key 0 when it is a client's.
fn long_header(len: u64, masked: bool) -> Vec<u8> {
    let mut header = vec![0x82, if masked { 0x80 | 127 } else { 127 }];
    header.extend_from_slice(&len.to_be_bytes());
    if masked {
        header.extend_from_slice(&[0, 0, 0, 0]);
    }
    header
}

fn quick_message_timeout() -> Config {
    Config::default().message_timeout(Some(Duration::from_millis(300)))
}

#[test]
fn server_drops_a_one_byte_at_a_time_handshake_and_keeps_serving_others() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let config =
            Arc::new(ServerConfig::default().handshake_timeout(Duration::from_millis(500)));
        let (tx, rx) = futures_channel_like();
        rt::detach(async move {
            loop {
                let Some(tcp) = rt::accept_tcp(&listener).await else {
                    return;
                };
                let (config, tx) = (config.clone(), tx.clone());
                rt::detach(async move {
                    match accept_with(tcp, &config).await {
                        Ok(mut socket) => {
                            while let Some(Ok(message)) = socket.next().await {
                                if message.is_data() && socket.send(message).await.is_err() {
                                    break;
                                }
                            }
                        }
                        Err(error) => tx.send(error.to_string()).unwrap(),
                    }
                });
            }
        });
        // The slowloris: one byte every 100 ms, far slower than needed.
        let slow = rt::spawn(async move {
            let mut tcp = rt::tcp_connect(addr).await;
            for byte in REQUEST.bytes().take(30) {
                if !rt::try_write_raw(&mut tcp, &[byte]).await {
                    break;
                }
                rt::sleep(Duration::from_millis(100)).await;
            }
            rt::read_until_closed(&mut tcp).await
        });
        // Meanwhile a normal client is served.
        let (mut socket, _) = within(
            10,
            connect_with(
                rt::tcp_connect(addr).await,
                format!("ws://{addr}/"),
                &ClientConfig::default(),
            ),
        )
        .await
        .unwrap();
        socket.send(Message::text("still served")).await.unwrap();
        assert_eq!(
            within(10, socket.next()).await.unwrap().unwrap(),
            Message::text("still served")
        );
        let error = within(10, async {
            loop {
                match rx.try_recv() {
                    Ok(error) => break error,
                    Err(_) => rt::sleep(Duration::from_millis(10)).await,
                }
            }
        })
        .await;
        assert_eq!(error, Error::HandshakeTimeout.to_string());
        // The slowloris was disconnected, having been sent nothing.
        assert!(within(10, slow).await.is_empty());
        socket.close(CloseCode::NORMAL, "").await.unwrap();
    })
}

/// A std channel is enough: the receiving side polls it from a bounded wait.
fn futures_channel_like() -> (
    std::sync::mpsc::Sender<String>,
    std::sync::mpsc::Receiver<String>,
) {
    std::sync::mpsc::channel()
}

#[test]
fn server_fails_a_client_that_never_finishes_a_frame_with_1008() {
    rt::run(async {
        let config = ServerConfig::default().connection(quick_message_timeout());
        // The first 4 bytes of a 10-byte text frame, then nothing.
        let (first, close_code) =
            server_answer_to(config, &client_frame(0x81, b"0123456789")[..10]).await;
        assert!(
            matches!(
                first,
                Some(Err(Error::Protocol(ProtocolError::MessageTimeout)))
            ),
            "{first:?}"
        );
        assert_eq!(close_code, Some(1008));
    })
}

#[test]
fn client_fails_a_server_that_never_finishes_a_frame_with_1008() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let server = rt::spawn(async move {
            let mut tcp = rt::accept_tcp(&listener).await.unwrap();
            let head = read_head(&mut tcp).await;
            rt::write_raw(&mut tcp, response_to(&head).as_bytes()).await;
            // A 100-byte binary frame's header and 10 bytes of it.
            rt::write_raw(&mut tcp, &[0x82, 100]).await;
            rt::write_raw(&mut tcp, &[0u8; 10]).await;
            read_exactly(&mut tcp, 8).await
        });
        let config = ClientConfig::default().connection(quick_message_timeout());
        let (mut socket, _) = within(10, connect_with_config(format!("ws://{addr}/"), &config))
            .await
            .unwrap();
        let first = within(10, socket.next()).await;
        assert!(
            matches!(
                first,
                Some(Err(Error::Protocol(ProtocolError::MessageTimeout)))
            ),
            "{first:?}"
        );
        assert!(within(10, socket.next()).await.is_none());
        // The client's close frame is masked: 0x88, 0x82, key, code ^ key.
        let sent = within(10, server).await;
        assert_eq!(sent[0], 0x88, "{sent:?}");
        let code = [sent[6] ^ sent[2], sent[7] ^ sent[3]];
        assert_eq!(u16::from_be_bytes(code), 1008);
    })
}

#[test]
fn client_drops_a_server_that_trickles_its_handshake_response() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        rt::detach(async move {
            let Some(mut tcp) = rt::accept_tcp(&listener).await else {
                return;
            };
            let head = read_head(&mut tcp).await;
            for byte in response_to(&head).bytes() {
                rt::write_raw(&mut tcp, &[byte]).await;
                rt::sleep(Duration::from_millis(100)).await;
            }
        });
        let config = ClientConfig::default().handshake_timeout(Duration::from_millis(500));
        let result = within(10, connect_with_config(format!("ws://{addr}/"), &config)).await;
        assert!(matches!(result, Err(Error::HandshakeTimeout)), "{result:?}");
    })
}

#[test]
fn server_refuses_an_oversized_head_with_431() {
    rt::run(async {
        let (addr, served) = serve_one(ServerConfig::default()).await;
        let mut tcp = rt::tcp_connect(addr).await;
        let mut request = REQUEST.trim_end().to_owned();
        for i in 0..200 {
            request.push_str(&format!("\r\nX-Padding-{i}: {}", "a".repeat(60)));
        }
        request.push_str("\r\n\r\n");
        rt::write_raw(&mut tcp, request.as_bytes()).await;
        let answer = String::from_utf8_lossy(&within(10, rt::read_until_closed(&mut tcp)).await)
            .into_owned();
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
        assert!(within(10, served).await.is_err());
    })
}

#[test]
fn server_fails_a_2_pow_63_length_with_1009_before_any_payload() {
    rt::run(async {
        let (first, close_code) =
            server_answer_to(ServerConfig::default(), &long_header(1 << 63, true)).await;
        assert!(matches!(first, Some(Err(Error::Protocol(_)))), "{first:?}");
        // 2^63 is not even a valid length (RFC 6455 section 5.2): 1002; a
        // large valid one is 1009 (next test).
        assert_eq!(close_code, Some(1002));
    })
}

#[test]
fn server_fails_a_frame_past_the_limit_with_1009_from_its_header_alone() {
    rt::run(async {
        let config = ServerConfig::default().connection(Config::default().max_frame_size(1 << 20));
        let (first, close_code) = server_answer_to(config, &long_header(1 << 40, true)).await;
        assert!(
            matches!(
                first,
                Some(Err(Error::Protocol(ProtocolError::FrameTooBig { .. })))
            ),
            "{first:?}"
        );
        assert_eq!(close_code, Some(1009));
    })
}

#[test]
fn client_fails_a_server_frame_past_the_limit_with_1009() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let server = rt::spawn(async move {
            let mut tcp = rt::accept_tcp(&listener).await.unwrap();
            let head = read_head(&mut tcp).await;
            rt::write_raw(&mut tcp, response_to(&head).as_bytes()).await;
            rt::write_raw(&mut tcp, &long_header(1 << 40, false)).await;
            read_exactly(&mut tcp, 8).await
        });
        let (mut socket, _) = within(
            10,
            connect_with_config(format!("ws://{addr}/"), &ClientConfig::default()),
        )
        .await
        .unwrap();
        let first = within(10, socket.next()).await;
        assert!(
            matches!(
                first,
                Some(Err(Error::Protocol(ProtocolError::FrameTooBig { .. })))
            ),
            "{first:?}"
        );
        let sent = within(10, server).await;
        assert_eq!(
            u16::from_be_bytes([sent[6] ^ sent[2], sent[7] ^ sent[3]]),
            1009
        );
    })
}

#[test]
fn server_fails_a_flood_of_tiny_fragments_with_1009() {
    rt::run(async {
        let config = ServerConfig::default().connection(Config::default().max_fragments(1000));
        let mut flood = client_frame(0x01, b"a"); // text, not final
        for _ in 0..2000 {
            flood.extend_from_slice(&client_frame(0x00, b"a"));
        }
        let (first, close_code) = server_answer_to(config, &flood).await;
        assert!(
            matches!(
                first,
                Some(Err(Error::Protocol(ProtocolError::TooManyFragments { .. })))
            ),
            "{first:?}"
        );
        assert_eq!(close_code, Some(1009));
    })
}

/// Autobahn case 3.4 (a text message, a frame with RSV bits, a ping, sent
/// a byte at a time) once ended NON-STRICT on ws-blocking: the server failed
/// the connection and dropped the socket with the ping's bytes unread, the
/// kernel answered them with a reset, and the client, still writing, met
/// the reset before it read the close frame already delivered to it. Where
/// a shutdown shows the client our end at once (tokio), the server lingers,
/// reading, until the client ends: a client still sending pings for 200 ms
/// after the failure writes every one, then reads the 1002 close.
#[test]
fn server_that_failed_lingers_for_a_client_still_sending_and_resets_nothing() {
    rt::run(async {
        let (addr, served) = serve_one(ServerConfig::default()).await;
        let mut tcp = raw_client(addr).await;
        let mut bytes = client_frame(0x81, b"Hello, world!");
        bytes.extend_from_slice(&client_frame(0xc1, b"Hello, world!")); // RSV1
        rt::write_raw(&mut tcp, &bytes).await;
        let mut written = 0;
        for _ in 0..20 {
            rt::sleep(Duration::from_millis(10)).await;
            if !rt::try_write_raw(&mut tcp, &client_frame(0x89, b"")).await {
                break;
            }
            written += 1;
        }
        let close_code = within(10, close_code_sent_to(&mut tcp)).await;
        drop(tcp);
        let first = within(10, served).await.unwrap();
        assert_eq!(first.unwrap().unwrap(), Message::text("Hello, world!"));
        if rt::SERVER_LINGERS {
            assert_eq!(written, 20, "a write met a reset");
            assert_eq!(close_code, Some(1002));
        }
    })
}

#[test]
fn server_fails_a_deflate_bomb_with_1009() {
    rt::run(async {
        let limit = 1 << 20;
        let config = ServerConfig::default()
            .connection(Config::default().max_message_size(limit))
            .deflate(DeflateParams::default());
        let (addr, served) = serve_one(config).await;
        let client = ClientConfig::default().deflate(DeflateParams::default());
        let (mut socket, _) = within(10, connect_with_config(format!("ws://{addr}/"), &client))
            .await
            .unwrap();
        // 64 MiB of zeros compress to some 64 KiB: under the frame limit on
        // the wire, 64 times the message limit once inflated.
        socket
            .send(Message::binary(vec![0u8; 64 << 20]))
            .await
            .unwrap();
        let closing = within(30, socket.next()).await;
        assert!(
            matches!(&closing, Some(Ok(Message::Close(Some(frame)))) if frame.code == CloseCode::MESSAGE_TOO_BIG),
            "{closing:?}"
        );
        // Our end after the server's: a server that failed lingers until then.
        while within(10, socket.next()).await.is_some() {}
        drop(socket);
        let first = within(10, served).await.unwrap();
        assert!(
            matches!(
                first,
                Some(Err(Error::Protocol(ProtocolError::MessageTooBig { .. })))
            ),
            "{first:?}"
        );
    })
}

/// RUSTSEC-2020-0043 (ws-rs): a peer that never reads while the application
/// keeps sending made the server buffer without bound. Ours refuses past
/// `max_buffered_output` (`send` waits) and fails the connection once
/// `write_timeout` passes without progress; other clients stay served.
#[test]
fn server_gives_up_on_a_client_that_stopped_reading_after_the_write_timeout() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let config = Arc::new(
            ServerConfig::default()
                .connection(Config::default().write_timeout(Some(Duration::from_millis(300)))),
        );
        let echo_config = config.clone();
        let server = rt::spawn(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            // The second connection is an ordinary echo client, served
            // while the first is stalled.
            rt::detach(async move {
                let tcp = rt::accept_tcp(&listener).await.unwrap();
                let mut socket = accept_with(tcp, &echo_config).await.unwrap();
                while let Some(Ok(message)) = socket.next().await {
                    if message.is_data() && socket.send(message).await.is_err() {
                        break;
                    }
                }
            });
            let mut socket = accept_with(tcp, &config).await.unwrap();
            // Send until the peer's window and ours are full and the write
            // timeout ends it; bounded so a broken timeout fails, not hangs.
            for sent in 0..10_000usize {
                if let Err(error) = socket.send(Message::binary(vec![1u8; 256 << 10])).await {
                    return (sent, error);
                }
            }
            panic!("the write timeout never fired");
        });
        // The client completes the handshake and then reads nothing.
        let stalled = raw_client(addr).await;
        let (mut other, _) = within(
            10,
            connect_with_config(format!("ws://{addr}/"), &ClientConfig::default()),
        )
        .await
        .unwrap();
        for i in 0..20 {
            let message = Message::text(format!("unaffected {i}"));
            other.send(message.clone()).await.unwrap();
            assert_eq!(within(10, other.next()).await.unwrap().unwrap(), message);
        }
        let (sent, error) = within(60, server).await;
        assert!(
            matches!(error, Error::Protocol(ProtocolError::WriteTimeout)),
            "{error:?}"
        );
        // The socket buffers held a bounded amount; it was not all queued.
        assert!(
            sent < 1000,
            "sent {sent} messages of 256 KiB to a peer that read nothing"
        );
        // And the other client is still served after the stalled one is gone.
        other.send(Message::text("after")).await.unwrap();
        assert_eq!(
            within(10, other.next()).await.unwrap().unwrap(),
            Message::text("after")
        );
        drop(stalled);
    })
}

#[test]
fn server_ends_when_the_client_vanishes_mid_handshake() {
    rt::run(async {
        let (addr, served) = serve_one(ServerConfig::default()).await;
        let mut tcp = rt::tcp_connect(addr).await;
        rt::write_raw(&mut tcp, &REQUEST.as_bytes()[..40]).await;
        drop(tcp);
        let result = within(10, served).await;
        assert!(matches!(result, Err(Error::HandshakeEof)), "{result:?}");
    })
}

#[test]
fn server_ends_when_the_client_vanishes_mid_frame() {
    rt::run(async {
        let (addr, served) = serve_one(ServerConfig::default()).await;
        let mut tcp = raw_client(addr).await;
        rt::write_raw(&mut tcp, &client_frame(0x81, b"0123456789")[..9]).await;
        drop(tcp);
        let first = within(10, served).await.unwrap();
        assert!(
            matches!(
                first,
                Some(Err(Error::Protocol(ProtocolError::UnexpectedEof)) | Err(Error::Io(_)))
            ),
            "{first:?}"
        );
    })
}

#[test]
fn server_ends_when_the_client_vanishes_mid_close() {
    rt::run(async {
        let (addr, served) = serve_one(ServerConfig::default()).await;
        let mut tcp = raw_client(addr).await;
        let mut close = client_frame(0x88, &1000u16.to_be_bytes());
        close.truncate(close.len() - 1); // half the close frame
        rt::write_raw(&mut tcp, &close).await;
        drop(tcp);
        let first = within(10, served).await.unwrap();
        assert!(
            matches!(
                first,
                Some(Err(Error::Protocol(ProtocolError::UnexpectedEof)) | Err(Error::Io(_)))
            ),
            "{first:?}"
        );
    })
}

#[test]
fn client_ends_when_the_server_vanishes_mid_frame() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        rt::detach(async move {
            let Some(mut tcp) = rt::accept_tcp(&listener).await else {
                return;
            };
            let head = read_head(&mut tcp).await;
            rt::write_raw(&mut tcp, response_to(&head).as_bytes()).await;
            rt::write_raw(&mut tcp, &[0x81, 10, b'h', b'a']).await;
        });
        let (mut socket, _) = within(
            10,
            connect_with_config(format!("ws://{addr}/"), &ClientConfig::default()),
        )
        .await
        .unwrap();
        let first = within(10, socket.next()).await;
        assert!(
            matches!(
                first,
                Some(Err(Error::Protocol(ProtocolError::UnexpectedEof)) | Err(Error::Io(_)))
            ),
            "{first:?}"
        );
        assert!(within(10, socket.next()).await.is_none());
        assert!(!socket.closed().unwrap().clean);
    })
}

#[test]
fn graceful_shutdown_closes_every_connection_with_1001_within_the_deadline() {
    use futures_util::future::{select, Either};
    use rt::ws::Shutdown;

    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let shutdown = Shutdown::new();
        let config = Arc::new(
            ServerConfig::default()
                .connection(Config::default().close_timeout(Duration::from_millis(300))),
        );
        let server_shutdown = shutdown.clone();
        let clean_closes = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let server_clean = clean_closes.clone();
        rt::detach(async move {
            loop {
                let Some(tcp) = rt::accept_tcp(&listener).await else {
                    return;
                };
                let (config, shutdown) = (config.clone(), server_shutdown.clone());
                let clean = server_clean.clone();
                let tracked = shutdown.track();
                rt::detach(async move {
                    let _tracked = tracked;
                    let Ok(mut socket) = accept_with(tcp, &config).await else {
                        return;
                    };
                    let mut stop = std::pin::pin!(shutdown.triggered());
                    loop {
                        match select(socket.next(), stop.as_mut()).await {
                            Either::Left((Some(Ok(message)), _)) => {
                                if message.is_data() && socket.send(message).await.is_err() {
                                    break;
                                }
                            }
                            Either::Left((_, _)) => break,
                            Either::Right(((), next)) => {
                                drop(next);
                                let _ = socket.close(CloseCode::GOING_AWAY, "shutting down").await;
                                if socket.closed().is_some_and(|closed| closed.clean) {
                                    clean.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                }
                                break;
                            }
                        }
                    }
                });
            }
        });
        // Twenty clients, each reading in its own task until the end.
        let mut clients = Vec::new();
        for i in 0..20 {
            let (mut socket, _) = within(
                10,
                connect_with_config(format!("ws://{addr}/"), &ClientConfig::default()),
            )
            .await
            .unwrap();
            socket
                .send(Message::text(format!("hello {i}")))
                .await
                .unwrap();
            assert!(within(10, socket.next()).await.unwrap().is_ok());
            clients.push(rt::spawn(async move {
                let mut close_code = None;
                while let Some(message) = socket.next().await {
                    if let Ok(Message::Close(Some(frame))) = message {
                        close_code = Some(frame.code);
                    }
                }
                (close_code, socket.closed().unwrap().clean)
            }));
        }
        // One peer that will never answer the close: given up on after the
        // close timeout, not waited for until the deadline.
        let silent = raw_client(addr).await;
        assert_eq!(shutdown.connections(), 21);

        shutdown.trigger();
        let left = within(10, rt::ws::drain(&shutdown, Duration::from_secs(5))).await;
        assert_eq!(left, 0, "every connection ended before the deadline");
        for client in clients {
            assert_eq!(
                within(10, client).await,
                (Some(CloseCode::GOING_AWAY), true)
            );
        }
        // The twenty finished the close handshake; the silent one did not.
        assert_eq!(clean_closes.load(std::sync::atomic::Ordering::SeqCst), 20);
        drop(silent);
    })
}

#[test]
fn server_refuses_too_many_header_fields_with_431() {
    rt::run(async {
        let (addr, served) = serve_one(ServerConfig::default()).await;
        let mut tcp = rt::tcp_connect(addr).await;
        let mut request = REQUEST.trim_end().to_owned();
        for i in 0..100 {
            request.push_str(&format!("\r\nX-{i}: y"));
        }
        request.push_str("\r\n\r\n");
        rt::write_raw(&mut tcp, request.as_bytes()).await;
        let answer = String::from_utf8_lossy(&within(10, rt::read_until_closed(&mut tcp)).await)
            .into_owned();
        assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
        assert!(within(10, served).await.is_err());
    })
}

#[test]
fn server_survives_a_ping_flood_from_a_client_that_does_not_read() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let server = rt::spawn(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            let mut socket = accept_with(tcp, &ServerConfig::default()).await.unwrap();
            let mut echoed = 0;
            while let Some(Ok(message)) = socket.next().await {
                if message.is_data() {
                    socket.send(message).await.unwrap();
                    echoed += 1;
                }
            }
            echoed
        });
        let mut tcp = raw_client(addr).await;
        // 50,000 pings of 125 bytes (6.5 MB) written without reading a pong.
        let ping = client_frame(0x89, &[b'p'; 125]);
        let flood: Vec<u8> = ping
            .iter()
            .copied()
            .cycle()
            .take(ping.len() * 1000)
            .collect();
        let writer = rt::spawn(async move {
            for _ in 0..50 {
                rt::write_raw(&mut tcp, &flood).await;
            }
            rt::write_raw(&mut tcp, &client_frame(0x81, b"after the flood")).await;
            tcp
        });
        // Read the pongs only once the whole flood is written: the server
        // must not have queued one pong per ping meanwhile.
        let mut tcp = within(60, writer).await;
        let mut pongs = 0usize;
        let mut data = Vec::new();
        let mut buffer = vec![0u8; 64 * 1024];
        let text = loop {
            let n = within(30, rt::read_some(&mut tcp, &mut buffer)).await;
            assert!(n > 0, "the server ended the connection");
            data.extend_from_slice(&buffer[..n]);
            // Unmasked server frames, all short: 2-byte headers.
            let mut at = 0;
            let mut found = None;
            while at + 2 <= data.len() && at + 2 + (data[at + 1] & 0x7f) as usize <= data.len() {
                let len = (data[at + 1] & 0x7f) as usize;
                match data[at] & 0x0f {
                    0xA => pongs += 1,
                    0x1 => found = Some(data[at + 2..at + 2 + len].to_vec()),
                    other => panic!("unexpected opcode {other:#x}"),
                }
                at += 2 + len;
            }
            data.drain(..at);
            if let Some(text) = found {
                break text;
            }
        };
        assert_eq!(text, b"after the flood");
        assert!(pongs <= 50_000, "{pongs} pongs for 50,000 pings");
        rt::write_raw(&mut tcp, &client_frame(0x88, &1000u16.to_be_bytes())).await;
        assert_eq!(within(10, server).await, 1);
    })
}

#[test]
fn client_fails_a_deflate_bomb_from_the_server_with_1009() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let server = rt::spawn(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            let config = ServerConfig::default()
                .connection(Config::default().max_message_size(128 << 20))
                .deflate(DeflateParams::default());
            let mut socket = accept_with(tcp, &config).await.unwrap();
            socket
                .send(Message::binary(vec![0u8; 64 << 20]))
                .await
                .unwrap();
            let mut close_code = None;
            while let Some(message) = socket.next().await {
                if let Ok(Message::Close(Some(frame))) = message {
                    close_code = Some(frame.code);
                }
            }
            close_code
        });
        let client = ClientConfig::default()
            .connection(Config::default().max_message_size(1 << 20))
            .deflate(DeflateParams::default());
        let (mut socket, _) = within(10, connect_with_config(format!("ws://{addr}/"), &client))
            .await
            .unwrap();
        let first = within(30, socket.next()).await;
        assert!(
            matches!(
                first,
                Some(Err(Error::Protocol(ProtocolError::MessageTooBig { .. })))
            ),
            "{first:?}"
        );
        while within(30, socket.next()).await.is_some() {}
        assert_eq!(within(30, server).await, Some(CloseCode::MESSAGE_TOO_BIG));
    })
}

/// Our server on one connection, split at once: everything its reader
/// half receives (the writer half stays idle), and the raw bytes a raw
/// client that sent `bytes` got back.
async fn split_server_answer_to(
    config: ServerConfig,
    bytes: &[u8],
) -> (Vec<Result<Message, Error>>, Vec<u8>) {
    let (listener, addr) = rt::listen().await;
    let served = rt::spawn(async move {
        let tcp = rt::accept_tcp(&listener).await.unwrap();
        let socket = accept_with(tcp, &config).await.unwrap();
        let (mut reader, _writer) = socket.split();
        let mut seen = Vec::new();
        while let Some(item) = reader.next().await {
            seen.push(item);
        }
        seen
    });
    let mut tcp = raw_client(addr).await;
    rt::write_raw(&mut tcp, bytes).await;
    // As in `server_answer_to`: our end after the server's, then its result.
    let answer = within(10, rt::read_until_closed(&mut tcp)).await;
    drop(tcp);
    let seen = within(10, served).await;
    (seen, answer)
}

#[test]
fn split_server_reader_alone_answers_a_ping_between_messages_and_fails_a_bad_opcode_with_1002() {
    rt::run(async {
        let mut bytes = client_frame(0x81, b"a");
        bytes.extend(client_frame(0x89, b"p"));
        bytes.extend(client_frame(0x81, b"b"));
        bytes.extend(client_frame(0x83, b"reserved opcode"));
        let (seen, sent) = split_server_answer_to(ServerConfig::default(), &bytes).await;
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert_eq!(seen[0].as_ref().unwrap(), &Message::text("a"));
        assert_eq!(seen[1].as_ref().unwrap(), &Message::ping(&b"p"[..]));
        assert_eq!(seen[2].as_ref().unwrap(), &Message::text("b"));
        assert!(matches!(seen[3], Err(Error::Protocol(_))), "{:?}", seen[3]);
        // The pong, then the close frame with 1002, then the end.
        assert_eq!(sent, [0x8a, 0x01, b'p', 0x88, 0x02, 0x03, 0xea]);
    })
}

#[test]
fn split_server_reader_fails_a_client_that_never_finishes_a_frame_with_1008() {
    rt::run(async {
        let config = ServerConfig::default().connection(quick_message_timeout());
        let (seen, sent) =
            split_server_answer_to(config, &client_frame(0x81, b"0123456789")[..10]).await;
        assert!(
            matches!(
                seen[..],
                [Err(Error::Protocol(ProtocolError::MessageTimeout))]
            ),
            "{seen:?}"
        );
        assert_eq!(sent, [0x88, 0x02, 0x03, 0xf0]);
    })
}

#[test]
fn split_server_reader_echoes_a_clients_close_and_ends_cleanly() {
    rt::run(async {
        let mut bytes = client_frame(0x82, &[7; 300]);
        bytes.extend(client_frame(0x88, &[0x03, 0xe8]));
        let (seen, sent) = split_server_answer_to(ServerConfig::default(), &bytes).await;
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0].as_ref().unwrap(), &Message::binary(vec![7; 300]));
        assert!(matches!(seen[1], Ok(Message::Close(_))), "{:?}", seen[1]);
        assert_eq!(sent, [0x88, 0x02, 0x03, 0xe8]);
    })
}

/// A split client whose server answers the close at once but ends TCP only
/// later: the reader sees the close, then waits (without spinning) for the
/// end, and the stream ends cleanly once it comes. (A stopped receiver used
/// to send the reader back to the connection for ever, at 100% CPU, when
/// the FIN did not arrive with the close frame.)
#[test]
fn split_client_reader_waits_for_a_late_fin_after_the_close_and_ends_cleanly() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let server = rt::spawn(async move {
            let mut tcp = rt::accept_tcp(&listener).await.unwrap();
            let head = read_head(&mut tcp).await;
            rt::write_raw(&mut tcp, response_to(&head).as_bytes()).await;
            // The client's close: 0x88, masked, 2-byte code (8 bytes).
            let close = read_exactly(&mut tcp, 8).await;
            rt::write_raw(&mut tcp, &[0x88, 0x02, 0x03, 0xe8]).await;
            rt::sleep(Duration::from_millis(300)).await;
            drop(tcp);
            close
        });
        let (socket, _) = within(
            10,
            connect_with(
                rt::tcp_connect(addr).await,
                format!("ws://{addr}/"),
                &ClientConfig::default(),
            ),
        )
        .await
        .unwrap();
        let (mut reader, mut writer) = socket.split();
        within(10, writer.close(CloseCode::NORMAL, ""))
            .await
            .unwrap();
        let answer = within(10, reader.next()).await;
        assert!(matches!(answer, Some(Ok(Message::Close(_)))), "{answer:?}");
        let started = std::time::Instant::now();
        assert!(within(10, reader.next()).await.is_none());
        assert!(
            started.elapsed() >= Duration::from_millis(200),
            "ended before the FIN"
        );
        assert!(reader.closed().unwrap().clean);
        assert_eq!(within(10, server).await[0], 0x88);
    })
}
