//! The echo servers the benchmark compares: for each library, the simplest
//! idiomatic echo server, each on a single-threaded runtime (tokio's
//! `current_thread` with IO and time enabled; async-std with
//! `ASYNC_STD_THREAD_COUNT=1`, set by the harness), TCP_NODELAY on every
//! accepted socket, every text and binary message sent back as it came.
//!
//! ```text
//! bench-server --lib ours-tokio|ours-async-std|ours-smol|tokio-tungstenite|fastwebsockets|tokio-websockets --addr 127.0.0.1:0
//! ```
//!
//! Prints `listening ADDR` on stdout once bound.
//!
//! `--lib tokio-floor` is no WebSocket library: it answers the handshake and
//! one 20-byte message with fixed bytes, then waits on the bare `TcpStream`.
//! It is the idle-memory floor of any library on tokio (a task and a
//! registered socket), measured beside the others; it cannot echo.
//!
//! `--lib ours-tokio-feed` is ours on tokio with `feed` in place of `send`:
//! answers queue, and reading flushes them before it waits for the peer, so
//! the answers to the messages one read brought leave in one write. Not a
//! peer's idiom (each peer's own loop is above), shown beside ours.
//!
//! `--lib tokio-ceiling` and `--lib async-std-ceiling` are no WebSocket
//! library either: a bare socket loop that answers the handshake with fixed
//! bytes and echoes every frame unmasked, checking nothing, as each read
//! brings it (one read, one write). With small messages, the most an echo
//! server can serve on that runtime, so the most any library on it can
//! reach (the harness runs them with 20-byte messages only).
//!
//! Broadcast servers (the behaviour of uWebSockets' `uws_broadcast`, which
//! its `broadcast_test` drives): every socket is subscribed to one topic and
//! every data message received is published to all sockets, the sender
//! included. `--lib ours-hub` does it with ws-pubsub (one `PreparedMessage`
//! per publish, a `forward` task per socket writing its inbox in batches);
//! `--lib ours-naive` is the loop an application writes without it: for each
//! message, `send` it to every socket in turn, each behind its own lock.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};

const LIBRARIES: &str = "ours-hub|ours-naive|ours-tokio|ours-mio|ours-tokio-feed|ours-async-std|ours-smol|tokio-tungstenite|fastwebsockets|tokio-websockets|tokio-floor|tokio-ceiling|async-std-ceiling";

fn main() {
    let mut lib = None;
    let mut addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--lib" => lib = args.next(),
            "--addr" => addr = args.next().and_then(|a| a.parse().ok()).expect("--addr IP:PORT"),
            other => panic!("unknown argument {other:?}; usage: bench-server --lib {LIBRARIES} [--addr IP:PORT]"),
        }
    }
    let lib = lib.unwrap_or_else(|| panic!("--lib {LIBRARIES} is required"));
    match lib.as_str() {
        "ours-tokio" => tokio_server(addr, ours_tokio),
        "ours-mio" => ours_mio(addr),
        "ours-tokio-feed" => tokio_server(addr, ours_tokio_feed),
        "tokio-floor" => tokio_server(addr, tokio_floor),
        "tokio-tungstenite" => tokio_server(addr, tungstenite),
        "fastwebsockets" => tokio_server(addr, fastwebsockets_echo),
        "tokio-websockets" => tokio_server(addr, tokio_websockets_echo),
        "ours-async-std" => async_std::task::block_on(ours_async_std(addr)),
        "ours-smol" => ours_smol(addr),
        "tokio-ceiling" => tokio_server(addr, tokio_ceiling),
        "async-std-ceiling" => async_std::task::block_on(async_std_ceiling(addr)),
        "ours-hub" => {
            let hub = ws_toolkit::pubsub::Hub::new(
                // uws_broadcast allows 64 MiB of backpressure per socket.
                ws_toolkit::pubsub::HubConfig::default().max_queued_bytes(64 << 20),
            );
            tokio_server(addr, move |tcp| broadcast_hub(hub.clone(), tcp))
        }
        "ours-naive" => {
            let sockets = NaiveSockets::default();
            tokio_server(addr, move |tcp| broadcast_naive(sockets.clone(), tcp))
        }
        other => panic!("unknown --lib {other:?}; choose {LIBRARIES}"),
    }
}

fn announce(addr: SocketAddr) {
    let mut out = std::io::stdout();
    writeln!(out, "listening {addr}").unwrap();
    out.flush().unwrap();
}

/// Accepts on a current-thread tokio runtime and spawns `serve` per connection.
fn tokio_server<F, Fut>(addr: SocketAddr, serve: F)
where
    F: Fn(TcpStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let listener = TcpListener::bind(addr).await.unwrap();
        announce(listener.local_addr().unwrap());
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            tcp.set_nodelay(true).unwrap();
            tokio::spawn(serve(tcp));
        }
    });
}

/// The least any library on tokio holds per connection: the task and the
/// registered socket. Answers the handshake (the generator only checks the
/// status line) and the idle run's one message, then only waits.
async fn tokio_floor(mut tcp: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // Boxed, so that the request's buffer is not part of the task.
    if Box::pin(floor_handshake(&mut tcp)).await.is_err() {
        return;
    }
    // One masked 20-byte binary frame in (2 + 4 + 20 bytes), one unmasked out.
    let mut frame = [0u8; 26];
    if tcp.read_exact(&mut frame).await.is_err() {
        return;
    }
    frame[..2].copy_from_slice(&[0x82, 20]);
    if tcp.write_all(&frame[..22]).await.is_err() {
        return;
    }
    while tcp.readable().await.is_ok() {
        match tcp.try_read(&mut frame) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

async fn floor_handshake(tcp: &mut TcpStream) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = [0u8; 1024];
    let mut len = 0;
    while !head[..len].windows(4).any(|w| w == b"\r\n\r\n") {
        match tcp.read(&mut head[len..]).await? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => len += n,
        }
    }
    let reply =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    tcp.write_all(reply).await
}

/// The frame echo of the `*-ceiling` servers: the least work that echoes,
/// with no checks (not a WebSocket implementation). Each frame's header is
/// answered unmasked, and its payload unmasked as it arrives, so that a
/// large message streams through without being gathered.
#[derive(Default)]
struct BareEcho {
    handshake_done: bool,
    header: Vec<u8>,
    remaining: u64,
    key: [u8; 4],
    offset: usize,
}

impl BareEcho {
    const REPLY: &'static [u8] =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";

    /// Appends to `out` what answers `input`.
    fn answer(&mut self, mut input: &[u8], out: &mut Vec<u8>) {
        if !self.handshake_done {
            // Requests arrive whole here; the header buffer holds the head.
            self.header.extend_from_slice(input);
            let Some(end) = self.header.windows(4).position(|w| w == b"\r\n\r\n") else {
                return;
            };
            self.handshake_done = true;
            out.extend_from_slice(Self::REPLY);
            let rest = self.header.split_off(end + 4);
            self.header.clear();
            return self.answer(&rest, out);
        }
        while !input.is_empty() {
            if self.remaining > 0 {
                let n = input
                    .len()
                    .min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
                let start = out.len();
                out.extend_from_slice(&input[..n]);
                ws_toolkit::frame::apply_mask(&mut out[start..], self.key, self.offset);
                self.offset += n;
                self.remaining -= n as u64;
                input = &input[n..];
                continue;
            }
            // A client's header: 2 bytes, the extended length, the key.
            let need = |h: &[u8]| match h.get(1).map(|b| b & 0x7f) {
                None => 2,
                Some(126) => 8,
                Some(127) => 14,
                Some(_) => 6,
            };
            while self.header.len() < need(&self.header) && !input.is_empty() {
                let take = (need(&self.header) - self.header.len()).min(input.len());
                self.header.extend_from_slice(&input[..take]);
                input = &input[take..];
            }
            let h = &self.header;
            if h.len() < need(h) {
                return;
            }
            let key_at = h.len() - 4;
            self.remaining = match key_at {
                2 => u64::from(h[1] & 0x7f),
                _ => h[2..key_at]
                    .iter()
                    .fold(0, |len, &b| len << 8 | u64::from(b)),
            };
            self.key = h[key_at..].try_into().unwrap();
            self.offset = 0;
            out.push(h[0]);
            out.push(h[1] & 0x7f);
            out.extend_from_slice(&h[2..key_at]);
            self.header.clear();
        }
    }
}

async fn tokio_ceiling(mut tcp: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut echo, mut input, mut out) = (BareEcho::default(), vec![0; 64 << 10], Vec::new());
    while let Ok(n @ 1..) = tcp.read(&mut input).await {
        echo.answer(&input[..n], &mut out);
        if tcp.write_all(&out).await.is_err() {
            return;
        }
        out.clear();
    }
}

async fn async_std_ceiling(addr: SocketAddr) {
    use futures_util::{AsyncReadExt, AsyncWriteExt};
    let listener = async_std::net::TcpListener::bind(addr).await.unwrap();
    announce(listener.local_addr().unwrap());
    let mut incoming = listener.incoming();
    while let Some(Ok(mut tcp)) = incoming.next().await {
        tcp.set_nodelay(true).unwrap();
        async_std::task::spawn(async move {
            let (mut echo, mut input, mut out) =
                (BareEcho::default(), vec![0; 64 << 10], Vec::new());
            while let Ok(n @ 1..) = tcp.read(&mut input).await {
                echo.answer(&input[..n], &mut out);
                if tcp.write_all(&out).await.is_err() {
                    return;
                }
                out.clear();
            }
        });
    }
}

/// Ours accepts permessage-deflate when offered (only the deflate workload
/// offers it); everything else is the default configuration.
fn ours_config() -> &'static ws_toolkit::tokio::ServerConfig {
    static CONFIG: std::sync::OnceLock<ws_toolkit::tokio::ServerConfig> =
        std::sync::OnceLock::new();
    CONFIG.get_or_init(|| {
        ws_toolkit::tokio::ServerConfig::default()
            .deflate(ws_toolkit::core::DeflateParams::default())
    })
}

async fn ours_tokio(tcp: TcpStream) {
    if let Ok(ws) = ws_toolkit::tokio::accept_with(tcp, ours_config()).await {
        echo_ours(ws).await;
    }
}

/// Ours on tokio, answers fed rather than sent: reading flushes them.
async fn ours_tokio_feed(tcp: TcpStream) {
    let Ok(mut ws) = ws_toolkit::tokio::accept_with(tcp, ours_config()).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if message.is_data() && ws.feed(message).await.is_err() {
            break;
        }
    }
}

/// Ours over futures-io (async-std and smol: the same adapter).
async fn ours_futures_io<S>(tcp: S)
where
    S: futures_util::AsyncRead + futures_util::AsyncWrite + Unpin,
{
    if let Ok(ws) = ws_toolkit::async_std::accept_with(tcp, ours_config()).await {
        echo_ours(ws).await;
    }
}

/// Our echo loop, the same on every runtime.
async fn echo_ours<W>(mut ws: W)
where
    W: futures_util::Stream<Item = Result<ws_toolkit::Message, ws_toolkit::tokio::Error>>
        + futures_util::Sink<ws_toolkit::Message, Error = ws_toolkit::tokio::Error>
        + Unpin,
{
    while let Some(Ok(message)) = ws.next().await {
        if message.is_data() && ws.send(message).await.is_err() {
            break;
        }
    }
}

async fn ours_async_std(addr: SocketAddr) {
    let listener = async_std::net::TcpListener::bind(addr).await.unwrap();
    announce(listener.local_addr().unwrap());
    let mut incoming = listener.incoming();
    while let Some(tcp) = incoming.next().await {
        let Ok(tcp) = tcp else { continue };
        tcp.set_nodelay(true).unwrap();
        async_std::task::spawn(ours_futures_io(tcp));
    }
}

/// ws-async-std (the same adapter as on async-std) on smol, single-threaded:
/// a `LocalExecutor` run by `block_on` on the main thread, which then also
/// drives the reactor, as tokio's `current_thread` runtime does.
fn ours_smol(addr: SocketAddr) {
    let executor = smol::LocalExecutor::new();
    smol::block_on(executor.run(async {
        let listener = smol::net::TcpListener::bind(addr).await.unwrap();
        announce(listener.local_addr().unwrap());
        let mut incoming = listener.incoming();
        while let Some(tcp) = incoming.next().await {
            let Ok(tcp) = tcp else { continue };
            tcp.set_nodelay(true).unwrap();
            executor.spawn(ours_futures_io(tcp)).detach();
        }
    }));
}

async fn tungstenite(tcp: TcpStream) {
    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            break;
        }
    }
}

async fn tokio_websockets_echo(tcp: TcpStream) {
    let Ok((_request, mut ws)) = tokio_websockets::ServerBuilder::new().accept(tcp).await else {
        return;
    };
    while let Some(Ok(message)) = ws.next().await {
        if (message.is_text() || message.is_binary()) && ws.send(message).await.is_err() {
            break;
        }
    }
}

/// fastwebsockets upgrades through hyper, as its own echo example does.
async fn fastwebsockets_echo(tcp: TcpStream) {
    use fastwebsockets::{upgrade, FragmentCollector, OpCode, WebSocketError};
    use http_body_util::Empty;
    use hyper::body::{Bytes, Incoming};
    use hyper::{Request, Response};

    async fn echo(upgrade: upgrade::UpgradeFut) -> Result<(), WebSocketError> {
        let mut ws = FragmentCollector::new(upgrade.await?);
        loop {
            let frame = ws.read_frame().await?;
            match frame.opcode {
                OpCode::Close => return Ok(()),
                OpCode::Text | OpCode::Binary => ws.write_frame(frame).await?,
                _ => {}
            }
        }
    }

    async fn upgrade(
        mut request: Request<Incoming>,
    ) -> Result<Response<Empty<Bytes>>, WebSocketError> {
        let (response, upgrade) = upgrade::upgrade(&mut request)?;
        tokio::spawn(async move {
            let _ = echo(upgrade).await;
        });
        Ok(response)
    }

    let io = hyper_util::rt::TokioIo::new(tcp);
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, hyper::service::service_fn(upgrade))
        .with_upgrades()
        .await;
}

/// Broadcast through the hub: every socket in the topic "all", every message
/// published to it. One task per socket waits on both the socket and its
/// inbox (both cancel-safe), and writes what waits in one flush.
async fn broadcast_hub(hub: ws_toolkit::pubsub::Hub, tcp: TcpStream) {
    use ws_toolkit::pubsub::Delivery;
    let Ok(mut ws) = ws_toolkit::tokio::accept_with(tcp, ours_config()).await else {
        return;
    };
    let (subscription, mut inbox) = hub.join();
    subscription.subscribe("all");
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            incoming = ws.recv() => match incoming {
                Some(Ok(message)) => {
                    if let Some(message) = ws_toolkit::core::PreparedMessage::from_message(message) {
                        hub.publish("all", &message);
                    }
                }
                _ => break,
            },
            delivery = inbox.recv_many(&mut batch) => {
                if !matches!(delivery, Delivery::Messages(_)) {
                    break;
                }
                let mut sent = Ok(());
                for message in batch.drain(..) {
                    sent = sent.and(ws.feed_prepared(&message).await);
                }
                if sent.and(ws.flush().await).is_err() {
                    break;
                }
            }
        }
    }
}

type NaiveWriter = ws_toolkit::tokio::WebSocketWriter<TcpStream>;

/// Every connected socket's writer, each behind its own lock.
#[derive(Default, Clone)]
struct NaiveSockets {
    writers: std::sync::Arc<
        std::sync::Mutex<
            std::collections::HashMap<u64, std::sync::Arc<tokio::sync::Mutex<NaiveWriter>>>,
        >,
    >,
    next: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// Broadcast as an application writes it by hand: each message sent to
/// every socket in turn.
async fn broadcast_naive(sockets: NaiveSockets, tcp: TcpStream) {
    let Ok(ws) = ws_toolkit::tokio::accept_with(tcp, ours_config()).await else {
        return;
    };
    let (mut reader, writer) = ws.split();
    let id = sockets
        .next
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let writer = std::sync::Arc::new(tokio::sync::Mutex::new(writer));
    sockets.writers.lock().unwrap().insert(id, writer);
    while let Some(Ok(message)) = reader.recv().await {
        if !message.is_data() {
            continue;
        }
        let all: Vec<_> = sockets.writers.lock().unwrap().values().cloned().collect();
        for writer in all {
            let _ = writer.lock().await.send(message.clone()).await;
        }
    }
    sockets.writers.lock().unwrap().remove(&id);
}

/// ws-mio: its own loop on one thread (the benchmark pins the server to
/// one core), echoing data messages; answers are written once per turn.
fn ours_mio(addr: SocketAddr) {
    use ws_toolkit::mio::{Handler, Message, Server, Socket};

    struct Echo;

    impl Handler for Echo {
        fn message(&mut self, socket: &mut Socket<'_>, message: Message) {
            if message.is_data() {
                let _ = socket.send(message);
            }
        }
    }

    let running = Server::new(ours_config().clone())
        .threads(1)
        .bind(addr, || Echo)
        .expect("bind");
    announce(running.local_addr());
    running.wait();
}
