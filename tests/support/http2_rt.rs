//! WebSockets as streams of HTTP/2 connections (RFC 8441) on tokio: a
//! hyper server that takes extended CONNECTs only over HTTP/2, and
//! ws-hyper's `Http2Client`. The same names as the other runtimes' modules,
//! so that the transport-independent scenarios run over HTTP/2 too: an
//! accepted "connection" is one extended CONNECT waiting for its answer,
//! and `accept_with` answers it.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::sync::{mpsc, oneshot, Mutex};

pub use super::tokio_rt::{detach, run, sleep, spawn, timeout};

/// The status of an accepted WebSocket over HTTP/2 (RFC 8441 section 5).
pub const UPGRADED: u16 = 200;

/// One extended CONNECT, waiting for [`ws::accept_with`] to answer it.
pub struct Connect {
    request: Request<Incoming>,
    respond: oneshot::Sender<Response<Full<Bytes>>>,
}

/// The requests of every HTTP/2 connection the server accepts.
pub struct Listener {
    requests: Mutex<mpsc::Receiver<Connect>>,
}

/// A server on 127.0.0.1 that speaks HTTP/2 only (prior knowledge), with
/// extended CONNECT enabled; it stops with the runtime.
pub async fn listen() -> (Listener, SocketAddr) {
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let (sender, requests) = mpsc::channel(64);
    detach(async move {
        while let Ok((stream, _)) = tcp.accept().await {
            let sender = sender.clone();
            let service = hyper::service::service_fn(move |request| {
                let sender = sender.clone();
                async move {
                    let (respond, response) = oneshot::channel();
                    let unanswered = Response::builder()
                        .status(503)
                        .body(Full::new(Bytes::from_static(b"not accepted\n")))
                        .unwrap();
                    if sender.send(Connect { request, respond }).await.is_err() {
                        return Ok::<_, Infallible>(unanswered);
                    }
                    Ok(response.await.unwrap_or(unanswered))
                }
            });
            let mut builder = ws_hyper::server_builder().http2_only();
            builder.http2().max_concurrent_streams(200);
            detach(async move {
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let listener = Listener {
        requests: Mutex::new(requests),
    };
    (listener, addr)
}

/// The next extended CONNECT; `None` once the server is gone.
pub async fn accept_tcp(listener: &Listener) -> Option<Connect> {
    listener.requests.lock().await.recv().await
}

/// A new HTTP/2 connection to the server of `url`, and a WebSocket as its
/// first stream.
pub async fn connect(url: String) -> Result<(ws::WebSocket, Response<()>), ws::Error> {
    connect_with_config(url, &ws::ClientConfig::default()).await
}

pub async fn connect_with_config(
    url: String,
    config: &ws::ClientConfig,
) -> Result<(ws::WebSocket, Response<()>), ws::Error> {
    let client = ws_hyper::Http2Client::dial(url.as_str(), config.clone()).await?;
    client.connect(url.as_str()).await
}

pub mod ws {
    use http::{Request, Response};
    use hyper::body::Incoming;

    pub use ws_toolkit::tokio::{ClientConfig, Error, RequestError, ResponseError, ServerConfig};

    /// Both ends' socket: over a stream of an HTTP/2 connection.
    pub type WebSocket = ws_hyper::WebSocket;

    pub async fn accept(connect: super::Connect) -> Result<WebSocket, Error> {
        accept_with(connect, &ServerConfig::default()).await
    }

    pub async fn accept_with(
        connect: super::Connect,
        config: &ServerConfig,
    ) -> Result<WebSocket, Error> {
        accept_with_callback(connect, config, |_, _| Ok(())).await
    }

    /// Answers the CONNECT: 200 and the socket, or the refusal's status.
    pub async fn accept_with_callback<F>(
        connect: super::Connect,
        config: &ServerConfig,
        callback: F,
    ) -> Result<WebSocket, Error>
    where
        F: FnOnce(&Request<Incoming>, &mut Response<()>) -> Result<(), RequestError>,
    {
        let super::Connect {
            mut request,
            respond,
        } = connect;
        assert_eq!(request.version(), http::Version::HTTP_2);
        match ws_hyper::upgrade_with(&mut request, config, callback) {
            Ok((response, pending)) => {
                let _ = respond.send(response);
                pending.into_websocket().await
            }
            Err(rejected) => {
                let error = Error::Request(Box::new(rejected.error.clone()));
                let _ = respond.send(rejected.into_response());
                Err(error)
            }
        }
    }
}
