// The loopback scenarios that only HTTP/1.1 has: raw requests written on
// TCP, bytes behind the library's back, TLS under the opening handshake.
// Included after `loopback.rs` (whose imports it shares) by
// `tests/loopback.rs` for tokio, async-std and smol.

use rt::connect_with;

#[test]
fn server_answers_plain_http_with_426_and_garbage_with_400() {
    rt::run(async {
        let addr = echo_server(ServerConfig::default()).await;
        for (request, status) in [
            (&b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"[..], "426"),
            (
                &b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 garbage\r\n\r\n"[..],
                "400",
            ),
        ] {
            let mut tcp = rt::tcp_connect(addr).await;
            rt::write_raw(&mut tcp, request).await;
            let response = rt::timeout(Duration::from_secs(5), rt::read_to_end(&mut tcp))
                .await
                .unwrap();
            let text = String::from_utf8_lossy(&response);
            assert!(text.starts_with(&format!("HTTP/1.1 {status} ")), "{text}");
        }
    })
}

#[test]
fn server_drops_a_client_that_never_finishes_its_handshake() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let server = rt::spawn(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            let config = ServerConfig::default().handshake_timeout(Duration::from_millis(300));
            accept_with(tcp, &config).await.map(|_| ())
        });
        let mut tcp = rt::tcp_connect(addr).await;
        rt::write_raw(&mut tcp, b"GET / HTTP/1.1\r\nHo").await;
        let result = rt::timeout(Duration::from_secs(5), server).await.unwrap();
        assert!(matches!(result, Err(Error::HandshakeTimeout)));
    })
}

#[test]
fn server_fails_a_client_that_sends_invalid_utf8_with_1007() {
    rt::run(async {
        let addr = echo_server(ServerConfig::default()).await;
        let tcp = rt::tcp_connect(addr).await;
        let (mut socket, _) = connect_with(tcp, format!("ws://{addr}/"), &ClientConfig::default())
            .await
            .unwrap();
        // Write a masked text frame with invalid UTF-8 behind the library's back.
        rt::write_raw(socket.get_mut(), &[0x81, 0x82, 0, 0, 0, 0, 0xc0, 0xaf]).await;
        let message = socket.next().await.unwrap().unwrap();
        assert_eq!(
            message,
            Message::Close(Some(ws_toolkit::CloseFrame::new(
                CloseCode::INVALID_PAYLOAD,
                ""
            )))
        );
    })
}

#[test]
fn client_talks_to_a_local_rustls_server_over_wss() {
    rt::run(async {
        let (server_tls, client_tls) = crate::support::self_signed_tls();
        let (listener, addr) = rt::listen().await;
        rt::detach(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            let tls = rt::tls_accept(server_tls, tcp).await.unwrap();
            let mut socket = accept_with(tls, &ServerConfig::default()).await.unwrap();
            while let Some(Ok(message)) = socket.next().await {
                if message.is_data() {
                    socket.send(message).await.unwrap();
                }
            }
        });
        // "localhost" for the certificate's name, connected on 127.0.0.1 only.
        let tls = rt::tls_connect(client_tls.clone(), rt::tcp_connect(addr).await).await;
        let config = ClientConfig::default().tls(client_tls);
        let url = format!("wss://localhost:{}/", addr.port());
        let (mut socket, _) = connect_with(tls, url, &config).await.unwrap();
        socket.send(Message::text("over TLS")).await.unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Message::text("over TLS")
        );
        socket.close(CloseCode::NORMAL, "").await.unwrap();
        assert!(socket.closed().unwrap().clean);
    })
}

#[test]
fn server_reports_tls_garbage_on_a_wss_listener_as_a_clean_error() {
    rt::run(async {
        let (server_tls, _) = crate::support::self_signed_tls();
        let (listener, addr) = rt::listen().await;
        let server = rt::spawn(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            rt::tls_accept(server_tls, tcp).await.map(|_| ())
        });
        let mut tcp = rt::tcp_connect(addr).await;
        rt::write_raw(&mut tcp, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        let result = rt::timeout(Duration::from_secs(5), server).await.unwrap();
        assert!(result.is_err());
    })
}
