//! The axum extractor over both HTTP versions: a route that takes GET and
//! CONNECT (`any`) gets the HTTP/1.1 upgrade and the HTTP/2 extended
//! CONNECT alike; a `get` route refuses the CONNECT browsers send over
//! HTTP/2 with 405 (axum's own routing), which is why the docs say `any`.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::response::Response;
use axum::routing::{any, get};
use axum::Router;
use http::{StatusCode, Version};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use ws_core::{CloseCode, Message};
use ws_hyper::{Http2Client, WebSocketUpgrade};

type Seen = Arc<Mutex<Vec<(Version, Option<String>)>>>;

async fn echo(State(seen): State<Seen>, upgrade: WebSocketUpgrade) -> Response {
    upgrade
        .protocols(["echo.v1"])
        .on_upgrade(move |mut socket, version| async move {
            seen.lock()
                .unwrap()
                .push((version, socket.subprotocol().map(str::to_owned)));
            while let Some(Ok(message)) = socket.recv().await {
                if message.is_data() && socket.send(message).await.is_err() {
                    break;
                }
            }
        })
}

async fn serve(app: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let service = TowerToHyperService::new(app.clone());
            tokio::spawn(async move {
                let _ = ws_hyper::server_builder()
                    .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn axum_route_with_any_takes_websockets_over_http_1_1_and_http_2_and_get_only_refuses_connect(
) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/ws", any(echo))
        .route("/get-only", get(echo))
        .with_state(seen.clone());
    let addr = serve(app).await;

    let config = ws_hyper::ClientConfig::default()
        .handshake(ws_handshake::ClientConfig::default().subprotocols(["echo.v1"]));
    let (mut socket, _) = ws_tokio::connect_with_config(format!("ws://{addr}/ws"), &config)
        .await
        .unwrap();
    socket.send(Message::text("1.1")).await.unwrap();
    assert_eq!(socket.recv().await.unwrap().unwrap(), Message::text("1.1"));
    socket.close(CloseCode::NORMAL, "").await.unwrap();

    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let client = Http2Client::handshake(tcp, config).await.unwrap();
    let (mut socket, response) = client.connect(format!("ws://{addr}/ws")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(socket.subprotocol(), Some("echo.v1"));
    socket.send(Message::binary(vec![2; 70_000])).await.unwrap();
    assert_eq!(
        socket.recv().await.unwrap().unwrap(),
        Message::binary(vec![2; 70_000])
    );
    socket.close(CloseCode::NORMAL, "").await.unwrap();

    // axum's pitfall: a GET route does not route the CONNECT.
    let error = client
        .connect(format!("ws://{addr}/get-only"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            ws_hyper::Error::Response(response)
                if matches!(**response, ws_handshake::ResponseError::Status {
                    status: StatusCode::METHOD_NOT_ALLOWED,
                    ..
                })
        ),
        "{error:?}"
    );
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            (Version::HTTP_11, Some("echo.v1".to_owned())),
            (Version::HTTP_2, Some("echo.v1".to_owned())),
        ]
    );
}
