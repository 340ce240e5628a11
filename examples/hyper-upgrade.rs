//! WebSockets inside a hyper 1.x server, or an axum handler, over HTTP/1.1
//! and HTTP/2 from one port, through ws-hyper: for services whose HTTP
//! already runs on hyper or axum and that want our WebSocket.
//!
//! ```text
//! cargo run --release --example hyper-upgrade -- --addr 127.0.0.1:9003 [--server hyper|axum] [--tls]
//! ```
//!
//! `ws://ADDR/ws` echoes every message; `/` is a small page whose script
//! opens a WebSocket to the same origin and echoes through it; other paths
//! are plain HTTP. A client speaks HTTP/1.1 (an `Upgrade`) or HTTP/2 (an
//! extended CONNECT, RFC 8441): with prior knowledge on plain TCP, or by
//! ALPN (`h2`, `http/1.1`) with `--tls`, which serves `https://` and
//! `wss://` with a self-signed certificate for `localhost` and 127.0.0.1
//! made at start. The server says, for every WebSocket, the version it came
//! over (`websocket over HTTP/1.1`, `websocket over HTTP/2.0`): open
//! `https://127.0.0.1:9003/` in a browser and it is HTTP/2.
//!
//! - hyper: [`ws_hyper::server_builder`] serves both versions with HTTP/2's
//!   extended CONNECT enabled, and [`ws_hyper::on_upgrade`] answers a
//!   request of either version (101 or 200) and runs the socket;
//! - axum: the [`ws_hyper::WebSocketUpgrade`] extractor on a route made
//!   with `any` (a `get` route would refuse HTTP/2's CONNECT with 405),
//!   served by the same builder (`axum::serve` does not enable extended
//!   CONNECT).
//!
//! An invalid upgrade request gets the status `ws_tokio::accept` would give
//! (400, 403, 405, 426).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use ws_hyper::{ServerConfig, WebSocket};
use ws_toolkit::core::DeflateParams;
use ws_toolkit::tokio::http;

struct Args {
    addr: SocketAddr,
    server: String,
    tls: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut parsed = Args {
        addr: "127.0.0.1:9003".parse().expect("valid default"),
        server: "hyper".into(),
        tls: false,
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
            "--tls" => parsed.tls = true,
            "-h" | "--help" => {
                return Err(
                    "usage: hyper-upgrade [--addr 127.0.0.1:9003] [--server hyper|axum] [--tls]"
                        .into(),
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
    let tls = args.tls.then(self_signed_tls);
    let scheme = if args.tls { "https" } else { "http" };
    match args.server.as_str() {
        "hyper" => {
            println!("hyper-upgrade (hyper) listening on {scheme}://{local}/, HTTP/1.1 and HTTP/2");
            let service = move |mut request: http::Request<hyper::body::Incoming>| {
                let response = match request.uri().path() {
                    "/ws" => ws_hyper::on_upgrade(&mut request, &config, echo),
                    "/" => page("hyper"),
                    _ => http::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(
                        b"a plain HTTP page from hyper\n",
                    ))),
                };
                async move { Ok::<_, Infallible>(response) }
            };
            serve(listener, tls, move || {
                hyper::service::service_fn(service.clone())
            })
            .await
        }
        "axum" => {
            println!("hyper-upgrade (axum) listening on {scheme}://{local}/, HTTP/1.1 and HTTP/2");
            let app = axum::Router::new()
                // `any`: GET over HTTP/1.1, CONNECT over HTTP/2.
                .route("/ws", axum::routing::any(axum_ws))
                .route("/", axum::routing::get(|| async { page("axum") }))
                .fallback(|| async { "a plain HTTP page from axum\n" })
                .with_state(config);
            serve(listener, tls, move || {
                hyper_util::service::TowerToHyperService::new(app.clone())
            })
            .await
        }
        other => {
            eprintln!("unknown --server {other:?}: hyper or axum");
            std::process::exit(2);
        }
    }
}

/// Echoes every data message until the connection ends, after saying
/// which HTTP version the WebSocket came over.
async fn echo(mut socket: WebSocket, version: http::Version) {
    println!("websocket over {version:?}");
    while let Some(Ok(message)) = socket.recv().await {
        if message.is_data() && socket.send(message).await.is_err() {
            break;
        }
    }
}

/// The page at `/`: a script that opens a WebSocket to the page's own
/// origin (so over the page's HTTP/2 connection, when it is one) and shows
/// the echo of a greeting.
fn page(server: &str) -> http::Response<http_body_util::Full<bytes::Bytes>> {
    let html = format!(
        r#"<!doctype html>
<meta charset="utf-8">
<title>hyper-upgrade</title>
<p>a plain HTTP page from {server}, with a WebSocket to its own origin:</p>
<pre id="log"></pre>
<script>
const log = (line) => document.getElementById("log").textContent += line + "\n";
const socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/ws");
socket.onopen = () => {{ log("open, extensions: " + socket.extensions); socket.send("hello"); }};
socket.onmessage = (event) => log("echo: " + event.data);
socket.onclose = (event) => log("closed " + event.code);
</script>
"#
    );
    let mut response = http::Response::new(http_body_util::Full::new(bytes::Bytes::from(html)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

/// TLS for `--tls`: a certificate for `localhost` and 127.0.0.1 made now,
/// and ALPN offering `h2` then `http/1.1`, so that browsers use HTTP/2.
fn self_signed_tls() -> tokio_rustls::TlsAcceptor {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let generated = rcgen::generate_simple_self_signed(names).expect("a certificate");
    let cert = generated.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        generated.key_pair.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .expect("a certificate and its key");
    config.alpn_protocols = ws_hyper::alpn_protocols();
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Serves every TCP connection (inside TLS when given) with hyper-util's
/// server for HTTP/1.1 and HTTP/2, extended CONNECT on
/// ([`ws_hyper::server_builder`]).
async fn serve<F, S, B>(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    make_service: F,
) -> std::io::Result<()>
where
    F: Fn() -> S,
    S: hyper::service::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    loop {
        // Survives EMFILE and aborted connections instead of exiting.
        let (tcp, peer) = ws_toolkit::tokio::retry_accept(
            || listener.accept(),
            |error| eprintln!("accept failed, retrying: {error}"),
        )
        .await?;
        // Latency only: a peer already gone fails later, in the handshake.
        let _ = tcp.set_nodelay(true);
        let service = make_service();
        let tls = tls.clone();
        tokio::spawn(async move {
            let builder = ws_hyper::server_builder();
            let served = match tls {
                None => {
                    builder
                        .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                        .await
                }
                Some(tls) => match tls.accept(tcp).await {
                    Ok(stream) => {
                        builder
                            .serve_connection_with_upgrades(TokioIo::new(stream), service)
                            .await
                    }
                    Err(error) => Err(error.into()),
                },
            };
            if let Err(error) = served {
                eprintln!("{peer}: {error}");
            }
        });
    }
}

/// An axum handler: the extractor, with the server's settings.
async fn axum_ws(
    axum::extract::State(config): axum::extract::State<Arc<ServerConfig>>,
    upgrade: ws_hyper::WebSocketUpgrade,
) -> axum::response::Response {
    upgrade.config((*config).clone()).on_upgrade(echo)
}
