//! Accepting the WebSocket upgrade inside a hyper 1.x server, or an axum
//! handler, and handing the upgraded connection to ws-tokio: for services
//! whose HTTP already runs on hyper or axum and that want our WebSocket.
//!
//! ```text
//! cargo run --release --example hyper-upgrade -- --addr 127.0.0.1:9003 [--server hyper|axum]
//! ```
//!
//! `ws://ADDR/ws` echoes every message; any other path is plain HTTP.
//!
//! The recipe is the same for both servers:
//!
//! 1. [`upgrade`] checks the request and gives the 101 response to return
//!    from the handler, plus an [`Upgrade`] (the agreed subprotocol,
//!    permessage-deflate and connection settings);
//! 2. [`hyper::upgrade::on`] yields the connection once hyper has sent that
//!    response;
//! 3. [`WebSocket::from_upgrade`] wraps it (through hyper-util's `TokioIo`)
//!    in a ws-tokio socket.
//!
//! An invalid upgrade request gets the status [`RequestError::status`] says
//! (400, 405, 426, ...), as it would from `ws_tokio::accept`.
//!
//! [`upgrade`]: ws_toolkit::tokio::upgrade
//! [`Upgrade`]: ws_toolkit::tokio::Upgrade
//! [`WebSocket::from_upgrade`]: ws_toolkit::tokio::WebSocket
//! [`RequestError::status`]: ws_toolkit::tokio::RequestError::status

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use futures_util::StreamExt;
use hyper_util::rt::TokioIo;
use ws_toolkit::core::DeflateParams;
use ws_toolkit::tokio::{http, upgrade, ServerConfig, WebSocket};

struct Args {
    addr: SocketAddr,
    server: String,
}

fn parse_args() -> Result<Args, String> {
    let mut parsed = Args {
        addr: "127.0.0.1:9003".parse().expect("valid default"),
        server: "hyper".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let value = args.next().ok_or("--addr needs a value")?;
                parsed.addr = value
                    .parse()
                    .map_err(|error| format!("bad --addr {value:?}: {error}"))?;
            }
            "--server" => parsed.server = args.next().ok_or("--server needs a value")?,
            "-h" | "--help" => {
                return Err(
                    "usage: hyper-upgrade [--addr 127.0.0.1:9003] [--server hyper|axum]".into(),
                )
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let config = Arc::new(ServerConfig::default().deflate(DeflateParams::default()));
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let local = listener.local_addr()?;
    match args.server.as_str() {
        "hyper" => {
            println!("hyper-upgrade (hyper) listening on ws://{local}/ws");
            serve_hyper(listener, config).await
        }
        "axum" => {
            println!("hyper-upgrade (axum) listening on ws://{local}/ws");
            let app = axum::Router::new()
                .route("/ws", axum::routing::get(axum_ws))
                .fallback(|| async { "a plain HTTP page from axum\n" })
                .with_state(config);
            axum::serve(listener, app).await
        }
        other => {
            eprintln!("unknown --server {other:?}: hyper or axum");
            std::process::exit(2);
        }
    }
}

/// Steps 1 and 2 of the recipe, for a request with any body type: the
/// response to return, and a task that runs the WebSocket once hyper hands
/// the connection over.
fn upgrade_to_echo<B>(
    request: &mut http::Request<B>,
    config: &ServerConfig,
) -> http::Response<String> {
    match upgrade(request, config) {
        Ok((response, accepted)) => {
            let on_upgrade = hyper::upgrade::on(request);
            tokio::spawn(async move {
                match on_upgrade.await {
                    Ok(upgraded) => {
                        echo(WebSocket::from_upgrade(TokioIo::new(upgraded), accepted)).await
                    }
                    Err(error) => eprintln!("upgrade failed: {error}"),
                }
            });
            response.map(|()| String::new())
        }
        Err(error) => {
            let mut response = http::Response::new(format!("{error}\n"));
            *response.status_mut() = error.status();
            response
        }
    }
}

/// Echoes every data message until the connection ends.
async fn echo<S>(mut socket: WebSocket<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(Ok(message)) = socket.next().await {
        if message.is_data() && socket.send(message).await.is_err() {
            break;
        }
    }
}

/// A bare hyper 1.x server: one `http1` connection per TCP stream, with
/// upgrades enabled.
async fn serve_hyper(
    listener: tokio::net::TcpListener,
    config: Arc<ServerConfig>,
) -> std::io::Result<()> {
    loop {
        // Survives EMFILE and aborted connections instead of exiting.
        let (tcp, peer) = ws_toolkit::tokio::retry_accept(
            || listener.accept(),
            |error| eprintln!("accept failed, retrying: {error}"),
        )
        .await?;
        // Latency only: a peer already gone fails later, in the handshake.
        let _ = tcp.set_nodelay(true);
        let config = config.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(
                move |mut request: http::Request<hyper::body::Incoming>| {
                    let response = if request.uri().path() == "/ws" {
                        upgrade_to_echo(&mut request, &config)
                    } else {
                        http::Response::new("a plain HTTP page from hyper\n".to_owned())
                    };
                    let response =
                        response.map(|body| http_body_util::Full::new(bytes::Bytes::from(body)));
                    async move { Ok::<_, Infallible>(response) }
                },
            );
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service)
                .with_upgrades();
            if let Err(error) = connection.await {
                eprintln!("{peer}: {error}");
            }
        });
    }
}

/// An axum handler: the same recipe on axum's request type.
async fn axum_ws(
    axum::extract::State(config): axum::extract::State<Arc<ServerConfig>>,
    mut request: axum::extract::Request,
) -> http::Response<String> {
    upgrade_to_echo(&mut request, &config)
}
