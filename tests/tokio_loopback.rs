//! ws-tokio end to end over real loopback sockets: each test starts its own
//! server on 127.0.0.1 and stops it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use ws_toolkit::core::ProtocolError;
use ws_toolkit::tokio::{
    accept_with, accept_with_callback, connect, connect_with, connect_with_config, ClientConfig,
    Error, RequestError, ResponseError, ServerConfig,
};
use ws_toolkit::{CloseCode, Config, Message};

/// Starts an echo server on an ephemeral loopback port; it stops with the runtime.
async fn echo_server(config: ServerConfig) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let config = Arc::new(config);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let config = config.clone();
            tokio::spawn(async move {
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

#[tokio::test]
async fn client_echoes_text_and_binary_from_0_bytes_to_16_mib() {
    let addr = echo_server(ServerConfig::default().connection(big_limits())).await;
    let config = ClientConfig::default().connection(big_limits());
    let (mut socket, response) = connect_with_config(format!("ws://{addr}/"), &config)
        .await
        .unwrap();
    assert_eq!(response.status(), 101);
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
}

#[tokio::test]
async fn client_sends_fragmented_messages_and_server_reassembles_them() {
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
}

#[tokio::test]
async fn server_answers_client_ping_with_pong() {
    let addr = echo_server(ServerConfig::default()).await;
    let (mut socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
    socket.send(Message::ping(&b"hello?"[..])).await.unwrap();
    assert_eq!(
        socket.next().await.unwrap().unwrap(),
        Message::pong(&b"hello?"[..])
    );
}

#[tokio::test]
async fn server_initiated_close_completes_while_the_client_only_reads() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
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
    let server_closed = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap();
    assert!(server_closed.clean);
    assert_eq!(server_closed.code, CloseCode::GOING_AWAY);
}

#[tokio::test]
async fn client_initiated_close_is_echoed_by_the_server() {
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
}

#[tokio::test]
async fn client_reports_an_abrupt_tcp_drop_without_hanging() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
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
    let seen = tokio::time::timeout(Duration::from_secs(5), read_all)
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
}

#[tokio::test]
async fn split_reader_and_writer_run_in_two_tasks() {
    let addr = echo_server(ServerConfig::default()).await;
    let (socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
    let (mut reader, mut writer) = socket.split();
    const COUNT: usize = 2000;
    let writer_task = tokio::spawn(async move {
        for i in 0..COUNT {
            writer
                .send(Message::text(format!("message {i}")))
                .await
                .unwrap();
        }
        writer
    });
    let reader_task = tokio::spawn(async move {
        for i in 0..COUNT {
            let message = reader.next().await.unwrap().unwrap();
            assert_eq!(message.as_text(), Some(format!("message {i}").as_str()));
        }
        reader
    });
    let mut writer = tokio::time::timeout(Duration::from_secs(20), writer_task)
        .await
        .unwrap()
        .unwrap();
    let mut reader = tokio::time::timeout(Duration::from_secs(20), reader_task)
        .await
        .unwrap()
        .unwrap();
    writer.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(matches!(reader.next().await, Some(Ok(Message::Close(_)))));
    assert!(reader.next().await.is_none());
    let socket = reader.reunite(writer).unwrap();
    assert!(socket.closed().unwrap().clean);
}

#[tokio::test]
async fn split_reader_alone_answers_pings() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut socket = accept_with(tcp, &ServerConfig::default()).await.unwrap();
        socket
            .send(Message::ping(&b"still there?"[..]))
            .await
            .unwrap();
        socket.next().await.unwrap().unwrap()
    });
    let (socket, _) = connect(format!("ws://{addr}/")).await.unwrap();
    let (mut reader, _writer) = socket.split();
    let reading = tokio::spawn(async move { reader.next().await });
    let answer = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer, Message::pong(&b"still there?"[..]));
    assert_eq!(
        reading.await.unwrap().unwrap().unwrap(),
        Message::ping(&b"still there?"[..])
    );
}

#[tokio::test]
async fn server_callback_rejects_with_its_status_and_client_sees_it() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
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
    assert!(matches!(server.await.unwrap(), Err(Error::Request(_))));
}

#[tokio::test]
async fn server_answers_plain_http_with_426_and_garbage_with_400() {
    let addr = echo_server(ServerConfig::default()).await;
    for (request, status) in [
        (&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], "426"),
        (
            &b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 garbage\r\n\r\n"[..],
            "400",
        ),
    ] {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(request).await.unwrap();
        let mut response = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut response))
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&response);
        assert!(text.starts_with(&format!("HTTP/1.1 {status} ")), "{text}");
    }
}

#[tokio::test]
async fn server_drops_a_client_that_never_finishes_its_handshake() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let config = ServerConfig::default().handshake_timeout(Duration::from_millis(300));
        accept_with(tcp, &config).await.map(|_| ())
    });
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHo").await.unwrap();
    let result = tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(result, Err(Error::HandshakeTimeout)));
}

#[tokio::test]
async fn server_fails_a_client_that_sends_invalid_utf8_with_1007() {
    let addr = echo_server(ServerConfig::default()).await;
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let (mut socket, _) = connect_with(&mut tcp, format!("ws://{addr}/"), &ClientConfig::default())
        .await
        .unwrap();
    // Write a masked text frame with invalid UTF-8 behind the library's back.
    socket
        .get_mut()
        .write_all(&[0x81, 0x82, 0, 0, 0, 0, 0xc0, 0xaf])
        .await
        .unwrap();
    let message = socket.next().await.unwrap().unwrap();
    assert_eq!(
        message,
        Message::Close(Some(ws_toolkit::CloseFrame::new(
            CloseCode::INVALID_PAYLOAD,
            ""
        )))
    );
}

mod wss {
    use super::*;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

    fn provider() -> Arc<rustls::crypto::CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    /// A TLS acceptor for "localhost" with a certificate made at run time.
    fn self_signed_acceptor() -> (CertificateDer<'static>, tokio_rustls::TlsAcceptor) {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert: CertificateDer<'static> = generated.cert.der().clone();
        let key =
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.key_pair.serialize_der()));
        let server_tls = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .unwrap();
        (cert, tokio_rustls::TlsAcceptor::from(Arc::new(server_tls)))
    }

    #[tokio::test]
    async fn client_talks_to_a_local_rustls_server_over_wss() {
        let (cert, acceptor) = self_signed_acceptor();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let tls = acceptor.accept(tcp).await.unwrap();
            let mut socket = accept_with(tls, &ServerConfig::default()).await.unwrap();
            while let Some(Ok(message)) = socket.next().await {
                if message.is_data() {
                    socket.send(message).await.unwrap();
                }
            }
        });

        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert).unwrap();
        let client_tls = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let config = ClientConfig::default().tls(Arc::new(client_tls));
        // "localhost" for the certificate's name, connected on 127.0.0.1 only.
        let tcp = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let connector = tokio_rustls::TlsConnector::from(config.tls.clone().unwrap());
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let tls = connector.connect(name, tcp).await.unwrap();
        let (mut socket, _) = connect_with(tls, format!("wss://localhost:{port}/"), &config)
            .await
            .unwrap();
        socket.send(Message::text("over TLS")).await.unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Message::text("over TLS")
        );
        socket.close(CloseCode::NORMAL, "").await.unwrap();
        assert!(socket.closed().unwrap().clean);
    }

    #[tokio::test]
    async fn wss_connect_refuses_an_untrusted_certificate() {
        let (_, acceptor) = self_signed_acceptor();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let _ = acceptor.accept(tcp).await;
        });
        // The default config trusts only public roots.
        let result = connect(format!("wss://127.0.0.1:{port}/")).await;
        assert!(
            matches!(result, Err(Error::Io(_)) | Err(Error::Tls(_))),
            "{result:?}"
        );
    }
}
