//! WebSockets inside hyper over HTTP/1.1 and HTTP/2 (RFC 8441), on
//! 127.0.0.1: one server port for both versions (hyper-util's auto server
//! with extended CONNECT enabled), our HTTP/1.1 client and our HTTP/2
//! client, many sockets as streams of one HTTP/2 connection, refusals with
//! their statuses, and the ends an HTTP/2 stream can have (reset, the whole
//! connection gone, a peer that stops granting flow-control window).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode, Version};
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use ws_core::{CloseCode, Config, Message};
use ws_hyper::{Http2Client, ServerConfig};

/// What the test server saw: the HTTP version of every WebSocket, and how
/// many TCP connections it accepted.
#[derive(Default)]
struct Seen {
    versions: Mutex<Vec<Version>>,
    connections: AtomicUsize,
}

/// What the server does with a socket.
#[derive(Clone, Copy)]
enum Behaviour {
    Echo,
    /// Drops the socket (and its stream) after the first message.
    DropAfterFirst,
    /// Never reads: the stream's flow-control window is never opened again.
    NeverRead,
}

/// A hyper server on 127.0.0.1 for both HTTP versions, WebSockets at
/// `/ws`; `extended_connect` says whether HTTP/2 enables them.
async fn server(behaviour: Behaviour, extended_connect: bool) -> (SocketAddr, Arc<Seen>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let state = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            state.connections.fetch_add(1, Ordering::SeqCst);
            let seen = state.clone();
            let service = hyper::service::service_fn(move |request| {
                let seen = seen.clone();
                async move { Ok::<_, Infallible>(handle(request, behaviour, &seen)) }
            });
            let mut builder = match extended_connect {
                true => ws_hyper::server_builder(),
                false => hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()),
            };
            builder.http2().max_concurrent_streams(200);
            tokio::spawn(async move {
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    (addr, seen)
}

fn handle(
    mut request: Request<Incoming>,
    behaviour: Behaviour,
    seen: &Arc<Seen>,
) -> Response<Full<Bytes>> {
    if request.uri().path() != "/ws" {
        return Response::new(Full::new(Bytes::from_static(b"plain HTTP\n")));
    }
    let config = ServerConfig::default().connection(Config::default().max_message_size(2 << 20));
    let seen = seen.clone();
    ws_hyper::on_upgrade(
        &mut request,
        &config,
        move |mut socket, version| async move {
            seen.versions.lock().unwrap().push(version);
            match behaviour {
                Behaviour::Echo => {
                    while let Some(Ok(message)) = socket.recv().await {
                        if message.is_data() && socket.send(message).await.is_err() {
                            break;
                        }
                    }
                }
                Behaviour::DropAfterFirst => {
                    let _ = socket.recv().await;
                    drop(socket);
                }
                Behaviour::NeverRead => {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            }
        },
    )
}

async fn h2_client(addr: SocketAddr, config: ws_hyper::ClientConfig) -> Http2Client {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    Http2Client::handshake(tcp, config).await.unwrap()
}

async fn echo_round(socket: &mut ws_hyper::WebSocket, tag: usize) {
    for message in [
        Message::text(format!("stream {tag}")),
        Message::binary(vec![tag as u8; 64 << 10]),
    ] {
        socket.send(message.clone()).await.unwrap();
        assert_eq!(socket.recv().await.unwrap().unwrap(), message);
    }
}

#[tokio::test]
async fn server_takes_an_http_1_1_upgrade_and_an_http_2_extended_connect_on_one_port() {
    let (addr, seen) = server(Behaviour::Echo, true).await;
    // HTTP/1.1: our tokio client, an Upgrade.
    let (mut socket, response) = ws_tokio::connect(format!("ws://{addr}/ws")).await.unwrap();
    assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
    socket.send(Message::text("over 1.1")).await.unwrap();
    assert_eq!(
        socket.recv().await.unwrap().unwrap(),
        Message::text("over 1.1")
    );
    socket.close(CloseCode::NORMAL, "").await.unwrap();
    // HTTP/2, prior knowledge: an extended CONNECT, answered with 200.
    let client = h2_client(addr, ws_hyper::ClientConfig::default()).await;
    let (mut socket, response) = client.connect(format!("ws://{addr}/ws")).await.unwrap();
    assert!(client.supports_websockets());
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), Version::HTTP_2);
    socket.send(Message::text("over 2")).await.unwrap();
    assert_eq!(
        socket.recv().await.unwrap().unwrap(),
        Message::text("over 2")
    );
    socket.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(socket.closed().unwrap().clean);
    assert_eq!(
        *seen.versions.lock().unwrap(),
        vec![Version::HTTP_11, Version::HTTP_2]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_client_multiplexes_100_websockets_over_one_tcp_connection() {
    let (addr, seen) = server(Behaviour::Echo, true).await;
    let client = h2_client(addr, ws_hyper::ClientConfig::default()).await;
    let mut tasks = Vec::new();
    for tag in 0..100 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let (mut socket, _) = client.connect(format!("ws://{addr}/ws")).await.unwrap();
            echo_round(&mut socket, tag).await;
            socket.close(CloseCode::NORMAL, "").await.unwrap();
            socket.closed().unwrap().clean
        }));
    }
    for task in tasks {
        assert!(task.await.unwrap(), "a close was not clean");
    }
    assert_eq!(
        seen.connections.load(Ordering::SeqCst),
        1,
        "one TCP connection"
    );
    let versions = seen.versions.lock().unwrap();
    assert_eq!(versions.len(), 100);
    assert!(versions.iter().all(|v| *v == Version::HTTP_2));
}

#[tokio::test]
async fn server_refuses_bad_http2_websocket_requests_with_the_http_1_1_statuses() {
    let (addr, _) = server(Behaviour::Echo, true).await;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake::<_, _, Empty<Bytes>>(
        TokioExecutor::new(),
        TokioIo::new(tcp),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let connect = |version: &str, origin: Option<&str>| {
        let mut request = Request::connect(format!("http://{addr}/ws"))
            .version(Version::HTTP_2)
            .header("sec-websocket-version", version);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        let mut request = request.body(Empty::new()).unwrap();
        request
            .extensions_mut()
            .insert(hyper::ext::Protocol::from_static("websocket"));
        request
    };
    // Wait for the server's SETTINGS before the first extended CONNECT.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let cases = [
        (connect("8", None), StatusCode::UPGRADE_REQUIRED),
        (
            connect("13", Some("https://evil.example")),
            StatusCode::FORBIDDEN,
        ),
        (
            Request::get(format!("http://{addr}/ws"))
                .version(Version::HTTP_2)
                .body(Empty::new())
                .unwrap(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (request, expected) in cases {
        sender.ready().await.unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), expected);
        let headers = response.headers().clone();
        assert!(!headers.contains_key("connection") && !headers.contains_key("upgrade"));
        match expected {
            StatusCode::UPGRADE_REQUIRED => assert_eq!(headers["sec-websocket-version"], "13"),
            StatusCode::METHOD_NOT_ALLOWED => assert_eq!(headers["allow"], "CONNECT"),
            _ => {}
        }
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert!(!body.is_empty(), "the body names the rule");
    }
}

#[tokio::test]
async fn http2_client_reports_a_server_without_extended_connect_as_a_typed_error() {
    let (addr, _) = server(Behaviour::Echo, false).await;
    let client = h2_client(addr, ws_hyper::ClientConfig::default()).await;
    let error = client.connect(format!("ws://{addr}/ws")).await.unwrap_err();
    assert!(
        matches!(
            &error,
            ws_hyper::Error::Response(response)
                if matches!(**response, ws_handshake::ResponseError::NoExtendedConnect)
        ),
        "{error:?}"
    );
    assert!(!client.supports_websockets());
}

#[tokio::test]
async fn http2_client_socket_ends_with_an_error_when_its_stream_is_reset_or_the_connection_goes() {
    // The server drops the socket mid-conversation: the stream ends
    // without a close frame.
    let (addr, _) = server(Behaviour::DropAfterFirst, true).await;
    let client = h2_client(addr, ws_hyper::ClientConfig::default()).await;
    let (mut socket, _) = client.connect(format!("ws://{addr}/ws")).await.unwrap();
    socket.send(Message::text("hello")).await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(10), socket.recv())
        .await
        .expect("the end of a reset stream within 10 s");
    assert!(matches!(end, Some(Err(_)) | None), "{end:?}");
    while socket.recv().await.is_some() {}
    let closed = socket.closed().expect("closed");
    assert_eq!(closed.code, CloseCode::ABNORMAL);
    assert!(!closed.clean);

    // The whole connection goes (GOAWAY, then the TCP connection closed):
    // every socket on it ends.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (close_tx, close_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let service = hyper::service::service_fn(|mut request: Request<Incoming>| async move {
            Ok::<_, Infallible>(ws_hyper::on_upgrade(
                &mut request,
                &ServerConfig::default(),
                |mut socket, _| async move { while let Some(Ok(_)) = socket.recv().await {} },
            ))
        });
        let builder = ws_hyper::server_builder();
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
        tokio::select! {
            _ = connection => {}
            _ = close_rx => {} // dropped: the connection is gone
        }
    });
    let client = h2_client(addr, ws_hyper::ClientConfig::default()).await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(client.connect(format!("ws://{addr}/ws")).await.unwrap().0);
    }
    close_tx.send(()).unwrap();
    for mut socket in sockets {
        let end = tokio::time::timeout(Duration::from_secs(10), socket.recv())
            .await
            .expect("the end of a socket whose connection went");
        assert!(matches!(end, Some(Err(_)) | None), "{end:?}");
        while socket.recv().await.is_some() {}
        assert_eq!(socket.closed().unwrap().code, CloseCode::ABNORMAL);
    }
}

#[tokio::test]
async fn http2_client_times_out_writing_to_a_peer_that_stops_granting_window() {
    let (addr, _) = server(Behaviour::NeverRead, true).await;
    let config = ws_hyper::ClientConfig::default().connection(
        Config::default()
            .write_timeout(Some(Duration::from_millis(300)))
            .max_buffered_output(64 << 10),
    );
    let client = h2_client(addr, config).await;
    let (mut socket, _) = client.connect(format!("ws://{addr}/ws")).await.unwrap();
    let started = std::time::Instant::now();
    let mut sent = 0u64;
    let error = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if let Err(error) = socket.send(Message::binary(vec![0u8; 256 << 10])).await {
                return error;
            }
            sent += 1;
            if sent % 100 == 0 {
                eprintln!("DEBUG sent {sent} at {:?}", started.elapsed());
            }
        }
    })
    .await
    .expect("the write timeout, not a hang");
    assert!(
        matches!(
            error,
            ws_hyper::Error::Protocol(ws_core::ProtocolError::WriteTimeout)
        ),
        "{error:?}"
    );
    println!(
        "write timeout after {:?}, {sent} messages of 256 KiB accepted",
        started.elapsed()
    );
}
