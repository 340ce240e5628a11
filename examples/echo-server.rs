//! An echo server: every text and binary message is sent back as it came.
//!
//! ```text
//! cargo run --release --example echo-server -- --addr 127.0.0.1:9001 [--runtime tokio|async-std|smol]
//! ```
//!
//! `tokio` uses ws-tokio; `async-std` and `smol` use ws-async-std on those
//! runtimes. The echo loop is written once, over `Stream + Sink`, which both
//! adapters' sockets are.
//!
//! permessage-deflate (RFC 7692) is accepted when a client offers it.
//! Messages up to 64 MiB are accepted; pings are answered and close
//! handshakes completed by the library. This is the server the Autobahn
//! TestSuite's fuzzing client runs against (`cargo xtask autobahn --mode server`).

use std::net::SocketAddr;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use ws_toolkit::core::DeflateParams;
use ws_toolkit::tokio::{Error, ServerConfig};
use ws_toolkit::{Config, Message};

struct Args {
    addr: SocketAddr,
    runtime: String,
}

fn parse_args() -> Result<Args, String> {
    let mut addr: SocketAddr = "127.0.0.1:9001".parse().expect("valid default");
    let mut runtime = "tokio".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let value = args.next().ok_or("--addr needs a value")?;
                addr = value
                    .parse()
                    .map_err(|error| format!("bad --addr {value:?}: {error}"))?;
            }
            "--runtime" => runtime = args.next().ok_or("--runtime needs a value")?,
            "-h" | "--help" => {
                return Err(
                    "usage: echo-server [--addr 127.0.0.1:9001] [--runtime tokio|async-std|smol]"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(Args { addr, runtime })
}

fn server_config() -> ServerConfig {
    ServerConfig::default()
        .connection(
            Config::default()
                .max_message_size(64 << 20)
                .max_frame_size(64 << 20),
        )
        .deflate(DeflateParams::default())
}

/// Echoes every data message until the connection ends.
async fn echo<W>(mut socket: W, peer: SocketAddr)
where
    W: Stream<Item = Result<Message, Error>> + Sink<Message, Error = Error> + Unpin,
{
    while let Some(message) = socket.next().await {
        match message {
            Ok(message) if message.is_data() => {
                if let Err(error) = socket.send(message).await {
                    eprintln!("{peer}: send failed: {error}");
                    break;
                }
            }
            Ok(_) => {}
            Err(error) => eprintln!("{peer}: {error}"),
        }
    }
}

async fn serve_tokio(addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "echo-server (tokio) listening on ws://{}",
        listener.local_addr()?
    );
    let config = std::sync::Arc::new(server_config());
    loop {
        let (tcp, peer) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let config = config.clone();
        tokio::spawn(async move {
            match ws_toolkit::tokio::accept_with(tcp, &config).await {
                Ok(socket) => echo(socket, peer).await,
                Err(error) => eprintln!("{peer}: handshake failed: {error}"),
            }
        });
    }
}

/// A task for the runtime's executor.
type Task = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Serves on async-std or smol: the same adapter (ws-async-std), the
/// runtime's own listener (its `incoming` stream) and executor.
async fn serve_futures_io<S>(
    runtime: &str,
    local: std::io::Result<SocketAddr>,
    mut incoming: impl Stream<Item = std::io::Result<S>> + Unpin,
    peer_of: impl Fn(&S) -> std::io::Result<SocketAddr>,
    spawn: impl Fn(Task),
) -> std::io::Result<()>
where
    S: futures_util::AsyncRead + futures_util::AsyncWrite + Unpin + Send + 'static,
{
    println!("echo-server ({runtime}) listening on ws://{}", local?);
    let config = std::sync::Arc::new(server_config());
    while let Some(tcp) = incoming.next().await {
        let tcp = tcp?;
        let peer = peer_of(&tcp)?;
        let config = config.clone();
        spawn(Box::pin(async move {
            match ws_toolkit::async_std::accept_with(tcp, &config).await {
                Ok(socket) => echo(socket, peer).await,
                Err(error) => eprintln!("{peer}: handshake failed: {error}"),
            }
        }));
    }
    Ok(())
}

async fn serve_async_std(addr: SocketAddr) -> std::io::Result<()> {
    use async_std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind(addr).await?;
    let peer_of = |tcp: &TcpStream| tcp.set_nodelay(true).and_then(|()| tcp.peer_addr());
    let spawn = |task| drop(async_std::task::spawn(task));
    let local = listener.local_addr();
    serve_futures_io("async-std", local, listener.incoming(), peer_of, spawn).await
}

async fn serve_smol(addr: SocketAddr) -> std::io::Result<()> {
    use smol::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind(addr).await?;
    let peer_of = |tcp: &TcpStream| tcp.set_nodelay(true).and_then(|()| tcp.peer_addr());
    let spawn = |task| smol::spawn(task).detach();
    let local = listener.local_addr();
    serve_futures_io("smol", local, listener.incoming(), peer_of, spawn).await
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let result = match args.runtime.as_str() {
        "tokio" => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(serve_tokio(args.addr)),
        "async-std" => async_std::task::block_on(serve_async_std(args.addr)),
        "smol" => smol::block_on(serve_smol(args.addr)),
        other => {
            eprintln!("unknown runtime {other:?}: choose tokio, async-std or smol");
            std::process::exit(2);
        }
    };
    if let Err(error) = result {
        eprintln!("echo-server: {error}");
        std::process::exit(1);
    }
}
