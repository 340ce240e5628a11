//! WebSockets over HTTP/2 (RFC 8441) beside HTTP/1.1, on one ws-hyper
//! server: echo throughput of 100 sockets (as 100 streams of one HTTP/2
//! connection, or 100 HTTP/1.1 connections), and the server's memory per
//! idle socket. `cargo xtask bench --only h2` drives it.
//!
//! ```text
//! h2bench server [--addr 127.0.0.1:0]        prints `listening ADDR`
//! h2bench load --addr ADDR --mode h1|h2 --sockets 100 --size 20 --seconds 5
//!                                            prints `{"rate": messages per second}`
//! h2bench idle --addr ADDR --mode h1|h2 --sockets 1000
//!                                            prints `ready` once all are open,
//!                                            holds them until stdin closes
//! ```
//!
//! Each socket of `load` keeps one message in flight: it sends, waits for
//! the echo, and sends again; the rate is echoes per second over all.

use std::convert::Infallible;
use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use ws_toolkit::hyper::{self as ws_hyper, Http2Client};
use ws_toolkit::Message;

struct Args {
    command: String,
    addr: String,
    mode: String,
    sockets: usize,
    size: usize,
    seconds: f64,
}

fn parse_args() -> Args {
    let mut args = std::env::args().skip(1);
    let mut parsed = Args {
        command: args.next().expect("h2bench server|load|idle ..."),
        addr: "127.0.0.1:0".into(),
        mode: "h2".into(),
        sockets: 100,
        size: 20,
        seconds: 5.0,
    };
    while let Some(arg) = args.next() {
        let value = args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--addr" => parsed.addr = value,
            "--mode" => parsed.mode = value,
            "--sockets" => parsed.sockets = value.parse().expect("--sockets N"),
            "--size" => parsed.size = value.parse().expect("--size BYTES"),
            "--seconds" => parsed.seconds = value.parse().expect("--seconds S"),
            other => panic!("unknown argument {other:?}"),
        }
    }
    parsed
}

fn main() {
    let args = parse_args();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    match args.command.as_str() {
        "server" => runtime.block_on(server(&args.addr)),
        "load" => runtime.block_on(load(&args)),
        "idle" => runtime.block_on(idle(&args)),
        other => panic!("unknown command {other:?}: server, load or idle"),
    }
}

/// An echo server for both HTTP versions on one port, extended CONNECT on.
async fn server(addr: &str) {
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    println!("listening {}", listener.local_addr().unwrap());
    std::io::stdout().flush().unwrap();
    let config = Arc::new(ws_hyper::ServerConfig::default());
    loop {
        let (tcp, _) = listener.accept().await.unwrap();
        let _ = tcp.set_nodelay(true);
        let config = config.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut request| {
                let response =
                    ws_hyper::on_upgrade(&mut request, &config, |mut socket, _| async move {
                        while let Some(Ok(message)) = socket.recv().await {
                            if message.is_data() && socket.send(message).await.is_err() {
                                break;
                            }
                        }
                    });
                async move { Ok::<_, Infallible>(response) }
            });
            let mut builder = ws_hyper::server_builder();
            builder.http2().max_concurrent_streams(10_000);
            let _ = builder
                .serve_connection_with_upgrades(TokioIo::new(tcp), service)
                .await;
        });
    }
}

/// One HTTP/2 connection for up to this many sockets.
const STREAMS_PER_CONNECTION: usize = 1000;

/// `count` sockets to the server: HTTP/1.1 connections, or streams of as
/// few HTTP/2 connections as hold them.
async fn open(addr: SocketAddr, mode: &str, count: usize) -> Vec<ws_hyper::WebSocket> {
    let url = format!("ws://{addr}/");
    let mut sockets = Vec::with_capacity(count);
    match mode {
        "h2" => {
            let mut client = None;
            for i in 0..count {
                if i % STREAMS_PER_CONNECTION == 0 {
                    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
                    tcp.set_nodelay(true).unwrap();
                    client = Some(
                        Http2Client::handshake(tcp, ws_hyper::ClientConfig::default())
                            .await
                            .unwrap(),
                    );
                }
                let client: &Http2Client = client.as_ref().unwrap();
                sockets.push(client.connect(url.as_str()).await.unwrap().0);
            }
        }
        "h1" => {
            // The same stream type as HTTP/2's: an upgrade through hyper's
            // HTTP/1.1 client, so the comparison is of the protocols.
            for _ in 0..count {
                let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
                tcp.set_nodelay(true).unwrap();
                sockets.push(h1_socket(tcp, &url).await);
            }
        }
        other => panic!("--mode h1 or h2, not {other:?}"),
    }
    sockets
}

/// A WebSocket over an HTTP/1.1 upgrade made by hyper's client.
async fn h1_socket(tcp: tokio::net::TcpStream, url: &str) -> ws_hyper::WebSocket {
    use http_body_util::Empty;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake::<_, Empty<bytes::Bytes>>(TokioIo::new(tcp))
            .await
            .unwrap();
    tokio::spawn(connection.with_upgrades());
    let uri: http::Uri = url.parse().unwrap();
    let request = http::Request::get(uri.path())
        .header("host", uri.authority().unwrap().as_str())
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .body(Empty::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 101);
    let upgraded = hyper::upgrade::on(response).await.unwrap();
    ws_toolkit::tokio::WebSocket::from_raw_socket(
        TokioIo::new(upgraded),
        ws_toolkit::core::Role::Client,
        ws_toolkit::Config::default(),
        &[],
    )
}

async fn load(args: &Args) {
    let addr: SocketAddr = args.addr.parse().unwrap();
    let sockets = open(addr, &args.mode, args.sockets).await;
    let echoed = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(args.seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for mut socket in sockets {
        let echoed = echoed.clone();
        let payload = vec![b'x'; args.size];
        tasks.push(tokio::spawn(async move {
            let message = Message::binary(payload);
            while Instant::now() < deadline {
                socket.send(message.clone()).await.unwrap();
                match socket.recv().await {
                    Some(Ok(_)) => echoed.fetch_add(1, Ordering::Relaxed),
                    other => panic!("no echo: {other:?}"),
                };
            }
            let _ = socket.close(ws_toolkit::CloseCode::NORMAL, "").await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let rate = echoed.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    println!("{{\"rate\": {rate:.1}}}");
}

async fn idle(args: &Args) {
    let addr: SocketAddr = args.addr.parse().unwrap();
    let mut sockets = open(addr, &args.mode, args.sockets).await;
    // One round trip each, so that every socket is fully set up on the server.
    for socket in &mut sockets {
        socket.send(Message::text("up")).await.unwrap();
        socket.recv().await.unwrap().unwrap();
    }
    println!("ready");
    std::io::stdout().flush().unwrap();
    tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
    })
    .await
    .unwrap();
    drop(sockets);
}
