//! An echo server: every text and binary message is sent back as it came.
//!
//! ```text
//! cargo run --release --example echo-server -- --addr 127.0.0.1:9001 [--runtime tokio|async-std|smol|blocking|mio] [--log]
//! ```
//!
//! `--log` prints the toolkit's `tracing` events to stderr (the `tracing`
//! feature): each connection's handshake, close codes sent and received,
//! protocol errors and timeouts, inside a `client` span with the peer's
//! address and the toolkit's own `websocket` span.
//!
//! `tokio` uses ws-tokio; `async-std` and `smol` use ws-async-std on those
//! runtimes. The echo loop is written once, over `Stream + Sink`, which both
//! adapters' sockets are. `blocking` uses ws-blocking, a thread per
//! connection and no runtime, with the same configuration.
//!
//! Ctrl-C (SIGINT) or SIGTERM shuts it down gracefully: it stops accepting,
//! closes every connection with 1001 Going Away, waits up to 10 s for their
//! close handshakes ([`Shutdown`], `drain`), and exits 0.
//!
//! permessage-deflate (RFC 7692) is accepted when a client offers it.
//! Messages up to 64 MiB are accepted; pings are answered and close
//! handshakes completed by the library. This is the server the Autobahn
//! TestSuite's fuzzing client runs against (`cargo xtask autobahn --mode server`).

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::future::{select, Either};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use tracing::Instrument;
use ws_toolkit::core::DeflateParams;
use ws_toolkit::tokio::{Error, ServerConfig, Shutdown};
use ws_toolkit::{CloseCode, Config, Message};

/// How long a shutdown waits for the close handshakes.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);

/// How often a blocking connection looks up from reading to see whether
/// the server is shutting down.
const SHUTDOWN_POLL: Duration = Duration::from_millis(100);

struct Args {
    addr: SocketAddr,
    runtime: String,
    log: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut addr: SocketAddr = "127.0.0.1:9001".parse().expect("valid default");
    let mut runtime = "tokio".to_owned();
    let mut log = false;
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
            "--log" => log = true,
            "-h" | "--help" => {
                return Err(
                    "usage: echo-server [--addr 127.0.0.1:9001] [--runtime tokio|async-std|smol|blocking|mio] [--log]"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(Args { addr, runtime, log })
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

/// Echoes every data message until the connection ends, or until the
/// shutdown: then it closes with 1001 and reads on until the close handshake
/// is done.
async fn echo<W>(mut socket: W, peer: SocketAddr, shutdown: Shutdown)
where
    W: Stream<Item = Result<Message, Error>> + Sink<Message, Error = Error> + Unpin,
{
    let _tracked = shutdown.track();
    let mut stop = std::pin::pin!(shutdown.triggered());
    loop {
        let message = match select(socket.next(), stop.as_mut()).await {
            Either::Left((Some(message), _)) => message,
            Either::Left((None, _)) => return,
            Either::Right(((), _)) => break,
        };
        match message {
            Ok(message) if message.is_data() => {
                if let Err(error) = socket.send(message).await {
                    eprintln!("{peer}: send failed: {error}");
                    return;
                }
            }
            Ok(_) => {}
            Err(error) => eprintln!("{peer}: {error}"),
        }
    }
    if socket
        .send(Message::close(
            CloseCode::GOING_AWAY,
            "server shutting down",
        ))
        .await
        .is_ok()
    {
        // The peer's answer ends the stream (or the close timeout does).
        while socket.next().await.is_some() {}
    }
}

async fn serve_tokio(addr: SocketAddr, shutdown: Shutdown) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "echo-server (tokio) listening on ws://{}",
        listener.local_addr()?
    );
    let config = std::sync::Arc::new(server_config());
    let mut stop = std::pin::pin!(shutdown.triggered());
    loop {
        // Survives EMFILE and aborted connections instead of exiting.
        let accept = ws_toolkit::tokio::retry_accept(|| listener.accept(), log_accept_error);
        let (tcp, peer) = match select(std::pin::pin!(accept), stop.as_mut()).await {
            Either::Left((accepted, _)) => accepted?,
            Either::Right(((), _)) => break,
        };
        let _ = tcp.set_nodelay(true);
        let (config, shutdown) = (config.clone(), shutdown.clone());
        tokio::spawn(
            async move {
                match ws_toolkit::tokio::accept_with(tcp, &config).await {
                    Ok(socket) => echo(socket, peer, shutdown).await,
                    Err(error) => eprintln!("{peer}: handshake failed: {error}"),
                }
            }
            .instrument(tracing::info_span!("client", %peer)),
        );
    }
    stopping(&shutdown);
    let left = ws_toolkit::tokio::drain(&shutdown, DRAIN_DEADLINE).await;
    stopped(left);
    Ok(())
}

/// What every accept loop here does with an error it survives (a client
/// that gave up, no descriptor left): say so and go on.
fn log_accept_error(error: &std::io::Error) {
    eprintln!("echo-server: accept failed, retrying: {error}");
}

fn stopping(shutdown: &Shutdown) {
    println!(
        "echo-server: shutting down, closing {} connections",
        shutdown.connections()
    );
}

fn stopped(left: usize) {
    println!("echo-server: stopped ({left} connections did not finish closing in time)");
}

/// A task for the runtime's executor.
type Task = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Serves on async-std or smol: the same adapter (ws-async-std), the
/// runtime's own listener (`accept` is its `accept`) and executor.
async fn serve_futures_io<S, A>(
    runtime: &str,
    local: std::io::Result<SocketAddr>,
    mut accept: impl FnMut() -> A,
    nodelay: impl Fn(&S),
    spawn: impl Fn(Task),
    shutdown: Shutdown,
) -> std::io::Result<()>
where
    S: futures_util::AsyncRead + futures_util::AsyncWrite + Unpin + Send + 'static,
    A: std::future::Future<Output = std::io::Result<(S, SocketAddr)>>,
{
    println!("echo-server ({runtime}) listening on ws://{}", local?);
    let config = std::sync::Arc::new(server_config());
    let mut stop = std::pin::pin!(shutdown.triggered());
    loop {
        // Survives EMFILE and aborted connections instead of exiting.
        let accepted = ws_toolkit::async_std::retry_accept(&mut accept, log_accept_error);
        let (tcp, peer) = match select(std::pin::pin!(accepted), stop.as_mut()).await {
            Either::Left((accepted, _)) => accepted?,
            Either::Right(((), _)) => break,
        };
        nodelay(&tcp);
        let (config, shutdown) = (config.clone(), shutdown.clone());
        spawn(Box::pin(
            async move {
                match ws_toolkit::async_std::accept_with(tcp, &config).await {
                    Ok(socket) => echo(socket, peer, shutdown).await,
                    Err(error) => eprintln!("{peer}: handshake failed: {error}"),
                }
            }
            .instrument(tracing::info_span!("client", %peer)),
        ));
    }
    stopping(&shutdown);
    let left = ws_toolkit::async_std::drain(&shutdown, DRAIN_DEADLINE).await;
    stopped(left);
    Ok(())
}

async fn serve_async_std(addr: SocketAddr, shutdown: Shutdown) -> std::io::Result<()> {
    use async_std::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind(addr).await?;
    let nodelay = |tcp: &TcpStream| drop(tcp.set_nodelay(true));
    let spawn = |task| drop(async_std::task::spawn(task));
    let local = listener.local_addr();
    serve_futures_io(
        "async-std",
        local,
        || listener.accept(),
        nodelay,
        spawn,
        shutdown,
    )
    .await
}

async fn serve_smol(addr: SocketAddr, shutdown: Shutdown) -> std::io::Result<()> {
    use smol::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind(addr).await?;
    let nodelay = |tcp: &TcpStream| drop(tcp.set_nodelay(true));
    // An executor of our own, run on this thread, rather than smol's global
    // one: that one also drives async-process, whose first use opens a pipe
    // and panics its thread when descriptors have run out (EMFILE).
    let executor = smol::Executor::new();
    let spawn = |task| executor.spawn(task).detach();
    let local = listener.local_addr();
    let serving = serve_futures_io(
        "smol",
        local,
        || listener.accept(),
        nodelay,
        spawn,
        shutdown,
    );
    executor.run(serving).await
}

/// Serves on ws-blocking: a thread per connection, each a plain loop of
/// reads and sends, no runtime. Reads wait at most [`SHUTDOWN_POLL`], so
/// that a connection sees the shutdown and closes with 1001 like the
/// others.
fn serve_blocking(addr: SocketAddr, shutdown: Shutdown) -> std::io::Result<()> {
    use ws_toolkit::blocking::{self, WebSocket};
    let listener = std::net::TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    println!("echo-server (blocking) listening on ws://{local}");
    // The accept below blocks: a signal wakes it with a connection of its own.
    let on_signal = shutdown.clone();
    std::thread::spawn(move || {
        smol::block_on(on_signal.triggered());
        let _ = std::net::TcpStream::connect(local);
    });
    let config = std::sync::Arc::new(server_config());
    let echo =
        |mut socket: WebSocket<std::net::TcpStream>, peer: SocketAddr, shutdown: Shutdown| {
            while !shutdown.is_triggered() {
                match socket.read_within(SHUTDOWN_POLL) {
                    Ok(Some(message)) if message.is_data() => {
                        if let Err(error) = socket.send(message) {
                            eprintln!("{peer}: send failed: {error}");
                            return;
                        }
                    }
                    Ok(_) => {}
                    Err(blocking::Error::Closed) => return,
                    Err(error) => eprintln!("{peer}: {error}"),
                }
            }
            // The peer's answer ends the connection (or the close timeout does).
            let _ = socket.close(CloseCode::GOING_AWAY, "server shutting down");
        };
    loop {
        // Survives EMFILE and aborted connections instead of exiting.
        let (tcp, peer) = blocking::retry_accept(|| listener.accept(), log_accept_error)?;
        if shutdown.is_triggered() {
            break;
        }
        let _ = tcp.set_nodelay(true);
        let (config, shutdown) = (config.clone(), shutdown.clone());
        std::thread::spawn(move || {
            let _tracked = shutdown.track();
            let _client = tracing::info_span!("client", %peer).entered();
            match blocking::accept_with(tcp, &config) {
                Ok(socket) => echo(socket, peer, shutdown),
                Err(error) => eprintln!("{peer}: handshake failed: {error}"),
            }
        });
    }
    stopping(&shutdown);
    let started = std::time::Instant::now();
    while shutdown.connections() > 0 && started.elapsed() < DRAIN_DEADLINE {
        std::thread::sleep(Duration::from_millis(10));
    }
    stopped(shutdown.connections());
    Ok(())
}

/// Serves on ws-mio: its own event loop, one thread per core, no runtime;
/// the handler echoes. On a signal it stops, sending every open socket a
/// close frame with 1001 and waiting for their answers (up to the close
/// timeout).
fn serve_mio(addr: SocketAddr, shutdown: Shutdown) -> std::io::Result<()> {
    struct Echo;

    impl ws_mio::Handler for Echo {
        fn message(&mut self, socket: &mut ws_mio::Socket<'_>, message: Message) {
            if message.is_data() {
                if let Err(error) = socket.send(message) {
                    eprintln!("{:?}: send failed: {error}", socket.id());
                }
            }
        }
    }

    let running = ws_mio::Server::new(server_config()).bind(addr, || Echo)?;
    println!(
        "echo-server (mio) listening on ws://{}",
        running.local_addr()
    );
    smol::block_on(shutdown.triggered());
    stopping(&shutdown);
    let left = running.stop();
    stopped(left);
    Ok(())
}

/// Parses the arguments and serves until a signal. Public because `cargo xtask
/// soak` runs this same server under a counting allocator
/// (xtask/src/soak_server.rs).
pub fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if args.log {
        // Debug level: close frames too, not only handshakes and failures.
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    let shutdown = Shutdown::new();
    let on_signal = shutdown.clone();
    if let Err(error) = ctrlc::set_handler(move || on_signal.trigger()) {
        eprintln!("echo-server: cannot handle Ctrl-C: {error}");
    }
    let result = match args.runtime.as_str() {
        "tokio" => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(serve_tokio(args.addr, shutdown)),
        "async-std" => async_std::task::block_on(serve_async_std(args.addr, shutdown)),
        "smol" => smol::block_on(serve_smol(args.addr, shutdown)),
        "blocking" => serve_blocking(args.addr, shutdown),
        "mio" => serve_mio(args.addr, shutdown),
        other => {
            eprintln!("unknown runtime {other:?}: choose tokio, async-std, smol, blocking or mio");
            std::process::exit(2);
        }
    };
    if let Err(error) = result {
        eprintln!("echo-server: {error}");
        std::process::exit(1);
    }
}
