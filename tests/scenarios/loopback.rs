// The loopback scenarios, written once and included once per runtime by
// `tests/loopback.rs`, where `rt` names that runtime's helpers (see
// `tests/support`): on tokio, async-std and smol over HTTP/1.1, and on
// tokio as streams of HTTP/2 connections (RFC 8441). What only HTTP/1.1
// has (raw requests on TCP, TLS under the handshake) is in
// `loopback_http1.rs`. Each test starts its own server on 127.0.0.1 and stops it
// with the runtime. Not a module of its own: `cargo fmt` does not see it, so
// `.ci/run` checks it with `rustfmt --check`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use ws_toolkit::core::ProtocolError;
use ws_toolkit::{CloseCode, Config, Message};

use rt::ws::{
    accept_with, accept_with_callback, ClientConfig, Error, RequestError, ResponseError,
    ServerConfig,
};
use rt::{connect, connect_with_config};

/// Starts an echo server on an ephemeral loopback port; it stops with the runtime.
async fn echo_server(config: ServerConfig) -> SocketAddr {
    let (listener, addr) = rt::listen().await;
    let config = Arc::new(config);
    rt::detach(async move {
        loop {
            let Some(tcp) = rt::accept_tcp(&listener).await else {
                return;
            };
            let config = config.clone();
            rt::detach(async move {
                let Ok(mut socket) = accept_with(tcp, &config).await else {
                    return;
                };
                while let Some(Ok(message)) = socket.next().await {
                    if message.is_data() && socket.send(message).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    addr
}

fn big_limits() -> Config {
    Config::default()
        .max_message_size(32 << 20)
        .max_frame_size(32 << 20)
}

#[test]
fn client_echoes_text_and_binary_from_0_bytes_to_16_mib() {
    rt::run(async {
        let addr = echo_server(ServerConfig::default().connection(big_limits())).await;
        let config = ClientConfig::default().connection(big_limits());
        let (mut socket, response) = connect_with_config(format!("ws://{addr}/"), &config)
            .await
            .unwrap();
        assert_eq!(response.status(), rt::UPGRADED);
        for size in [0usize, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20] {
            let binary: Vec<u8> = (0..size).map(|i| (i * 31) as u8).collect();
            socket.send(Message::binary(binary.clone())).await.unwrap();
            assert_eq!(
                socket.next().await.unwrap().unwrap(),
                Message::binary(binary),
                "binary {size}"
            );
            let text = "é".repeat(size / 2);
            socket.send(Message::text(text.clone())).await.unwrap();
            assert_eq!(
                socket.next().await.unwrap().unwrap().as_text(),
                Some(text.as_str()),
                "text {size}"
            );
        }
        socket.close(CloseCode::NORMAL, "done").await.unwrap();
        assert!(socket.closed().unwrap().clean);
    })
}

#[test]
fn client_sends_fragmented_messages_and_server_reassembles_them() {
    rt::run(async {
        let addr = echo_server(ServerConfig::default()).await;
        let config = ClientConfig::default().connection(Config::default().fragment_size(Some(7)));
        let (mut socket, _) = connect_with_config(format!("ws://{addr}/"), &config)
            .await
            .unwrap();
        let text = "fragmented across many small frames ✓".repeat(20);
        socket.send(Message::text(text.clone())).await.unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap().as_text(),
            Some(text.as_str())
        );
    })
}

#[test]
fn server_answers_client_ping_with_pong() {
    rt::run(async {
        let addr = echo_server(ServerConfig::default()).await;
        let (mut socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
        socket.send(Message::ping(&b"hello?"[..])).await.unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Message::pong(&b"hello?"[..])
        );
    })
}

#[test]
fn server_initiated_close_completes_while_the_client_only_reads() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let server = rt::spawn(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            let mut socket = accept_with(tcp, &ServerConfig::default()).await.unwrap();
            socket.send(Message::text("goodbye")).await.unwrap();
            socket
                .close(CloseCode::GOING_AWAY, "shutting down")
                .await
                .unwrap();
            socket.closed().cloned().unwrap()
        });
        let (mut socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Message::text("goodbye")
        );
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Message::close(CloseCode::GOING_AWAY, "shutting down")
        );
        assert!(socket.next().await.is_none());
        assert!(socket.closed().unwrap().clean);
        let server_closed = rt::timeout(Duration::from_secs(5), server).await.unwrap();
        assert!(server_closed.clean);
        assert_eq!(server_closed.code, CloseCode::GOING_AWAY);
    })
}

#[test]
fn client_initiated_close_is_echoed_by_the_server() {
    rt::run(async {
        let addr = echo_server(ServerConfig::default()).await;
        let (mut socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
        socket.close(CloseCode(4001), "custom").await.unwrap();
        let closed = socket.closed().unwrap();
        assert!(closed.clean);
        assert_eq!(closed.code, CloseCode(4001));
        assert!(matches!(
            socket.send(Message::text("late")).await,
            Err(Error::Send(_))
        ));
    })
}

#[test]
fn client_reports_the_server_dropping_its_socket_without_a_close_and_does_not_hang() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        rt::detach(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            let mut socket = accept_with(tcp, &ServerConfig::default()).await.unwrap();
            socket.send(Message::text("before the drop")).await.unwrap();
            drop(socket); // no close frame
        });
        let (mut socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
        let read_all = async {
            let mut seen = Vec::new();
            while let Some(item) = socket.next().await {
                seen.push(item);
            }
            seen
        };
        let seen = rt::timeout(Duration::from_secs(5), read_all)
            .await
            .expect("no hang");
        assert_eq!(
            seen[0].as_ref().unwrap(),
            &Message::text("before the drop"),
            "nothing received is lost"
        );
        assert!(matches!(
            seen[1],
            Err(Error::Protocol(ProtocolError::UnexpectedEof)) | Err(Error::Io(_))
        ));
        assert_eq!(seen.len(), 2);
        assert_eq!(socket.closed().unwrap().code, CloseCode::ABNORMAL);
    })
}

#[test]
fn split_reader_and_writer_run_in_two_tasks() {
    rt::run(async {
        let addr = echo_server(ServerConfig::default()).await;
        let (socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
        let (mut reader, mut writer) = socket.split();
        const COUNT: usize = 2000;
        let writer_task = rt::spawn(async move {
            for i in 0..COUNT {
                writer
                    .send(Message::text(format!("message {i}")))
                    .await
                    .unwrap();
            }
            writer
        });
        let reader_task = rt::spawn(async move {
            for i in 0..COUNT {
                let message = reader.next().await.unwrap().unwrap();
                assert_eq!(message.as_text(), Some(format!("message {i}").as_str()));
            }
            reader
        });
        let mut writer = rt::timeout(Duration::from_secs(20), writer_task)
            .await
            .unwrap();
        let mut reader = rt::timeout(Duration::from_secs(20), reader_task)
            .await
            .unwrap();
        writer.close(CloseCode::NORMAL, "").await.unwrap();
        assert!(matches!(reader.next().await, Some(Ok(Message::Close(_)))));
        assert!(reader.next().await.is_none());
        let socket = rt::ws::WebSocket::reunite(reader, writer).unwrap();
        assert!(socket.closed().unwrap().clean);
    })
}

#[test]
fn split_reader_alone_answers_pings() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let server = rt::spawn(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            let mut socket = accept_with(tcp, &ServerConfig::default()).await.unwrap();
            socket
                .send(Message::ping(&b"still there?"[..]))
                .await
                .unwrap();
            socket.next().await.unwrap().unwrap()
        });
        let (socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
        let (mut reader, _writer) = socket.split();
        let reading = rt::spawn(async move { reader.next().await });
        let answer = rt::timeout(Duration::from_secs(5), server).await.unwrap();
        assert_eq!(answer, Message::pong(&b"still there?"[..]));
        assert_eq!(
            reading.await.unwrap().unwrap(),
            Message::ping(&b"still there?"[..])
        );
    })
}

#[test]
fn split_halves_reunite_into_a_socket_that_keeps_working() {
    rt::run(async {
        let addr = echo_server(ServerConfig::default()).await;
        let (socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
        let (mut reader, mut writer) = socket.split();
        writer.send(Message::text("split")).await.unwrap();
        assert_eq!(
            reader.next().await.unwrap().unwrap(),
            Message::text("split")
        );
        // Received but not yet read when the halves are put back together.
        writer.send(Message::binary(vec![1; 20_000])).await.unwrap();
        let mut socket = rt::ws::WebSocket::reunite(reader, writer).unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Message::binary(vec![1; 20_000])
        );
        socket.send(Message::text("whole")).await.unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Message::text("whole")
        );
        socket.close(CloseCode::NORMAL, "").await.unwrap();
        assert!(socket.closed().unwrap().clean);
    })
}

#[test]
fn split_reader_receives_while_the_writer_waits_on_a_peer_that_does_not_read() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let release = released.clone();
        let server = rt::spawn(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            let mut socket = accept_with(tcp, &ServerConfig::default()).await.unwrap();
            // Sends without reading until told to, so the client's writes back up.
            for i in 0..200 {
                socket.send(Message::text(format!("{i}"))).await.unwrap();
            }
            while !released.load(std::sync::atomic::Ordering::SeqCst) {
                rt::sleep(Duration::from_millis(10)).await;
            }
            let mut bytes = 0;
            while let Some(Ok(message)) = socket.next().await {
                bytes += message.as_bytes().len();
            }
            bytes
        });
        let (socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
        let (mut reader, mut writer) = socket.split();
        let writing = rt::spawn(async move {
            let chunk = Message::binary(vec![0; 1 << 20]);
            for _ in 0..16 {
                writer.send(chunk.clone()).await.unwrap();
            }
            writer.close(CloseCode::NORMAL, "").await.unwrap();
            writer
        });
        // The writer is blocked on a full socket; the reader carries on.
        for i in 0..200 {
            let message = rt::timeout(Duration::from_secs(10), reader.next())
                .await
                .expect("the reader is not held up by the writer")
                .unwrap()
                .unwrap();
            assert_eq!(message.as_text(), Some(format!("{i}").as_str()));
        }
        release.store(true, std::sync::atomic::Ordering::SeqCst);
        let writer = rt::timeout(Duration::from_secs(20), writing).await.unwrap();
        assert!(matches!(reader.next().await, Some(Ok(Message::Close(_)))));
        assert!(reader.next().await.is_none());
        assert!(
            rt::ws::WebSocket::reunite(reader, writer)
                .unwrap()
                .closed()
                .unwrap()
                .clean
        );
        assert_eq!(server.await, 16 << 20);
    })
}

#[test]
fn server_callback_rejects_with_its_status_and_client_sees_it() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let server = rt::spawn(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            accept_with_callback(tcp, &ServerConfig::default(), |request, _| {
                if request.uri().path() == "/private" {
                    return Err(RequestError::Rejected {
                        status: http::StatusCode::FORBIDDEN,
                        reason: "members only".into(),
                    });
                }
                Ok(())
            })
            .await
            .map(|_| ())
        });
        let error = connect(format!("ws://{addr}/private")).await.unwrap_err();
        let Error::Response(response) = error else {
            panic!("{error:?}")
        };
        let ResponseError::Status { status, body, .. } = *response else {
            panic!()
        };
        assert_eq!(status, http::StatusCode::FORBIDDEN);
        assert!(String::from_utf8_lossy(&body).contains("members only"));
        assert!(matches!(server.await, Err(Error::Request(_))));
    })
}

#[test]
fn client_try_send_never_waits_and_stops_at_max_buffered_output_while_the_server_does_not_read() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let read_now = Arc::new(AtomicBool::new(false));
        let received = Arc::new(AtomicUsize::new(0));
        let (flag, count) = (read_now.clone(), received.clone());
        rt::detach(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            let mut socket = accept_with(tcp, &ServerConfig::default()).await.unwrap();
            // Not reading: the client's sends back up into its buffer.
            while !flag.load(Ordering::Acquire) {
                rt::sleep(Duration::from_millis(5)).await;
            }
            while let Some(Ok(message)) = socket.next().await {
                if message.is_data() {
                    count.fetch_add(1, Ordering::Release);
                }
            }
        });
        let limit = 64 * 1024;
        let config =
            ClientConfig::default().connection(Config::default().max_buffered_output(limit));
        let (mut socket, _) = connect_with_config(format!("ws://{addr}/"), &config)
            .await
            .unwrap();
        let mut queued = 0;
        let full = loop {
            match socket.try_send(Message::binary(vec![7u8; 4096])) {
                Ok(()) => queued += 1,
                Err(error) => break error,
            }
            assert!(queued < 100_000, "the kernel took everything?");
        };
        assert!(
            matches!(
                full,
                Error::Send(ws_toolkit::core::SendError::BufferFull { .. })
            ),
            "{full:?}"
        );
        assert!(socket.buffered_amount() > 0);
        assert!(
            socket.buffered_amount() <= limit + 4096 + 14,
            "{}",
            socket.buffered_amount()
        );
        read_now.store(true, Ordering::Release);
        rt::timeout(Duration::from_secs(20), socket.flush())
            .await
            .expect("flushed once the server reads")
            .unwrap();
        assert_eq!(socket.buffered_amount(), 0);
        socket.close(CloseCode::NORMAL, "").await.unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while received.load(Ordering::Acquire) < queued {
            assert!(
                std::time::Instant::now() < deadline,
                "the server got every message"
            );
            rt::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(received.load(Ordering::Acquire), queued);
    })
}

#[test]
fn split_writer_try_send_is_echoed_and_reports_its_buffered_amount() {
    rt::run(async {
        let addr = echo_server(ServerConfig::default()).await;
        let (socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
        let (mut reader, mut writer) = socket.split();
        writer.try_send(Message::text("without waiting")).unwrap();
        writer.flush().await.unwrap();
        assert_eq!(writer.buffered_amount(), 0);
        let echoed = rt::timeout(Duration::from_secs(10), reader.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(echoed.as_text(), Some("without waiting"));
        writer.close(CloseCode::NORMAL, "").await.unwrap();
    })
}

/// A server that requires a subprotocol: a client offering none it speaks
/// is refused with 400, and sees the status and the body naming the ones
/// the server speaks; a client offering one is upgraded with it.
#[test]
fn server_requiring_a_subprotocol_refuses_a_client_without_one_with_400_naming_its_own() {
    rt::run(async {
        let handshake = ws_toolkit::handshake::ServerConfig::default()
            .subprotocols(["chat.v2", "chat.v1"])
            .require_subprotocol(true);
        let addr = echo_server(ServerConfig::default().handshake(handshake)).await;
        let offering = |protocols: &[&str]| {
            ClientConfig::default().handshake(
                ws_toolkit::handshake::ClientConfig::default()
                    .subprotocols(protocols.iter().copied()),
            )
        };
        let refused = connect_with_config(format!("ws://{addr}/"), &offering(&["mqtt"])).await;
        match refused {
            Err(Error::Response(response)) => match *response {
                ResponseError::Status { status, body, .. } => {
                    assert_eq!(status, 400);
                    let body = String::from_utf8(body).unwrap();
                    assert!(body.contains(r#"["chat.v2", "chat.v1"]"#), "{body}");
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{:?}", other.map(|_| "upgraded")),
        }
        let (mut socket, _) = connect_with_config(format!("ws://{addr}/"), &offering(&["chat.v1"]))
            .await
            .unwrap();
        assert_eq!(socket.subprotocol(), Some("chat.v1"));
        socket.close(CloseCode::NORMAL, "").await.unwrap();
    })
}

// ----- messages in pieces -----

/// A server that streams each message it receives into memory
/// (`recv_into`) and sends it back from there (`send_from`).
async fn stream_echo_server() -> SocketAddr {
    let (listener, addr) = rt::listen().await;
    rt::detach(async move {
        let Some(tcp) = rt::accept_tcp(&listener).await else {
            return;
        };
        let Ok(mut socket) = rt::ws::accept(tcp).await else {
            return;
        };
        let mut received = Vec::new();
        while let Some(Ok((kind, size))) = socket.recv_into(&mut received, u64::MAX).await {
            assert_eq!(size, received.len() as u64);
            let sent = socket.send_from(kind, &mut &received[..]).await.unwrap();
            assert_eq!(sent, size);
            received.clear();
        }
    });
    addr
}

#[test]
fn client_sends_messages_from_readers_and_a_server_streams_them_back_through_writers() {
    use ws_toolkit::MessageKind;
    rt::run(async {
        let addr = stream_echo_server().await;
        let (mut socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
        // Over the default max_message_size (64 MiB) would not need lifting
        // here; 3 MiB in 64 KiB pieces, then an empty message, then text
        // whose pieces cut characters in two.
        let binary: Vec<u8> = (0..3 << 20).map(|i: u32| (i % 251) as u8).collect();
        let text = "Grüße, €100! ".repeat(20_000);
        for (kind, data) in [
            (MessageKind::Binary, &binary[..]),
            (MessageKind::Binary, &[][..]),
            (MessageKind::Text, text.as_bytes()),
        ] {
            let sent = socket.send_from(kind, &mut &data[..]).await.unwrap();
            assert_eq!(sent, data.len() as u64);
            let mut echoed = Vec::new();
            let mut pieces = 0;
            loop {
                let chunk = socket.recv_chunk(u64::MAX).await.unwrap().unwrap();
                assert_eq!(chunk.kind, kind);
                assert_eq!(chunk.first, pieces == 0);
                echoed.extend_from_slice(&chunk.data);
                pieces += 1;
                if chunk.fin {
                    break;
                }
            }
            assert!(echoed == data, "{kind:?} of {} bytes", data.len());
            assert!(data.len() < 1 << 20 || pieces > 1, "{pieces} pieces");
        }
        // Whole messages again afterwards.
        socket.send(Message::text("whole")).await.unwrap();
        let mut received = Vec::new();
        let (kind, size) = socket.recv_into(&mut received, 10).await.unwrap().unwrap();
        assert_eq!(
            (kind, size, &received[..]),
            (MessageKind::Text, 5, &b"whole"[..])
        );
        socket.close(CloseCode::NORMAL, "").await.unwrap();
    });
}

#[test]
fn client_back_at_recv_mid_message_drops_its_rest_and_a_cancelled_recv_chunk_changes_nothing() {
    use ws_toolkit::MessageKind;
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        rt::detach(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            let mut socket = rt::ws::accept(tcp).await.unwrap();
            for (piece, fin) in [("first ", false), ("second ", false), ("third", true)] {
                let data = piece.as_bytes();
                socket
                    .send_fragment(MessageKind::Text, data, fin)
                    .await
                    .unwrap();
            }
            socket.send(Message::text("the next one")).await.unwrap();
            // Sent once the client's recv_chunk timed out, as it says.
            let go = socket.next().await.unwrap().unwrap();
            assert_eq!(go, Message::text("go on"));
            socket.send(Message::binary(vec![1, 2, 3])).await.unwrap();
            while socket.next().await.is_some() {}
        });
        let (mut socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
        let first = socket.recv_chunk(u64::MAX).await.unwrap().unwrap();
        assert_eq!(
            (&first.data[..], first.first, first.fin),
            (&b"first "[..], true, false)
        );
        // The application goes back to whole messages: the rest is dropped.
        let next = socket.recv().await.unwrap().unwrap();
        assert_eq!(next, Message::text("the next one"));
        // A recv_chunk given up before its message started leaves the next
        // message whole for recv.
        let nothing = rt::timeout(Duration::from_millis(50), socket.recv_chunk(u64::MAX)).await;
        assert!(nothing.is_none());
        socket.send(Message::text("go on")).await.unwrap();
        let whole = socket.recv().await.unwrap().unwrap();
        assert_eq!(whole, Message::binary(vec![1, 2, 3]));
        socket.close(CloseCode::NORMAL, "").await.unwrap();
    });
}

#[test]
fn split_halves_stream_a_message_each_way_at_once() {
    use ws_toolkit::MessageKind;
    rt::run(async {
        let addr = stream_echo_server().await;
        let (socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
        let (mut reader, mut writer) = socket.split();
        let data: Vec<u8> = (0..5 << 20).map(|i: u32| (i % 253) as u8).collect();
        let expected = data.clone();
        let sending = rt::spawn(async move {
            writer
                .send_from(MessageKind::Binary, &mut &data[..])
                .await
                .unwrap();
            writer
        });
        let mut echoed = Vec::new();
        let (kind, size) = reader
            .recv_into(&mut echoed, u64::MAX)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((kind, size), (MessageKind::Binary, 5 << 20));
        assert!(echoed == expected);
        let mut writer = sending.await;
        writer.close(CloseCode::NORMAL, "").await.unwrap();
        while let Some(message) = reader.recv().await {
            assert!(matches!(message, Ok(Message::Close(_))), "{message:?}");
        }
    });
}

#[test]
fn client_refuses_a_whole_message_while_one_in_pieces_is_under_way() {
    use ws_toolkit::core::SendError;
    use ws_toolkit::MessageKind;
    rt::run(async {
        let addr = echo_server(ServerConfig::default()).await;
        let (mut socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
        socket
            .send_fragment(MessageKind::Binary, b"begun", false)
            .await
            .unwrap();
        let refused = socket.send(Message::text("interleaved")).await.unwrap_err();
        assert!(
            matches!(refused, Error::Send(SendError::MessageInProgress)),
            "{refused:?}"
        );
        assert!(!refused.is_fatal());
        socket
            .send_fragment(MessageKind::Binary, b" and done", true)
            .await
            .unwrap();
        let echoed = socket.next().await.unwrap().unwrap();
        assert_eq!(echoed, Message::binary(&b"begun and done"[..]));
        socket.close(CloseCode::NORMAL, "").await.unwrap();
    });
}
