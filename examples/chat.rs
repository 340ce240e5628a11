//! A broadcast chat server: one port serves its own HTML page over plain HTTP
//! (`GET /`) and upgrades `GET /ws?name=...` to a WebSocket. Every text
//! message a user sends is broadcast to everyone, as `name: text`; joins and
//! leaves are announced as `* name joined` / `* name left`.
//!
//! ```text
//! cargo run --release --example chat -- --addr 127.0.0.1:8080
//! ```
//!
//! Then open <http://127.0.0.1:8080/> in two browser tabs.
//!
//! Rooms are topics of a [`Hub`] (`/ws?name=...&room=...`, the room
//! `lobby` by default): a line is framed once and queued for everyone in
//! the room. With `--redis redis://127.0.0.1:6379/` several chat processes
//! share their rooms through Redis (start them on different ports behind
//! one load balancer, or open one tab on each): a line said on one reaches
//! the room on all of them. `GET /stats` answers the hub's counters as JSON.
//!
//! ```text
//! cargo run --release --example chat -- --addr 127.0.0.1:8081 --redis redis://127.0.0.1:6379/
//! ```
//!
//! The routing is [`read_request`]: it reads the request head, and the server
//! either answers it with a page ([`HttpRequest::respond`]) or upgrades it
//! ([`HttpRequest::accept`]). Each connection runs one task that waits on
//! both the socket and its inbox; a user more than 1 MiB of lines behind the
//! room is closed with 1013 (try again later) rather than making the server
//! buffer for them.
//!
//! [`HttpRequest::respond`]: ws_toolkit::tokio::HttpRequest
//! [`HttpRequest::accept`]: ws_toolkit::tokio::HttpRequest

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::StreamExt;
use ws_toolkit::pubsub::{Delivery, Hub, HubConfig, RedisBackplane, SlowPolicy};
use ws_toolkit::tokio::{http, read_request, ServerConfig, WebSocket};
use ws_toolkit::{core::PreparedMessage, Config, Message};

/// The page: a message list, a name, an input line. Messages are shown as
/// text nodes, never as HTML.
const PAGE: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><title>ws-toolkit chat</title>
<style>
body { font: 15px sans-serif; max-width: 40em; margin: 2em auto; }
#log { border: 1px solid #ccc; height: 20em; overflow-y: auto; padding: .5em; }
#log div { margin: .1em 0; }
form { display: flex; gap: .5em; margin-top: .5em; }
#text { flex: 1; }
</style></head>
<body>
<h1>chat</h1>
<div id="status">connecting...</div>
<div id="log"></div>
<form id="send"><input id="text" autocomplete="off" placeholder="say something"><button>send</button></form>
<script>
const params = new URLSearchParams(location.search);
const name = params.get("name") || "guest";
const status = document.getElementById("status");
const log = document.getElementById("log");
const text = document.getElementById("text");
const room = params.get("room") || "lobby";
const ws = new WebSocket(`ws://${location.host}/ws?name=${encodeURIComponent(name)}&room=${encodeURIComponent(room)}`);
ws.onopen = () => { status.textContent = `connected as ${name} in ${room}`; };
ws.onclose = () => { status.textContent = "disconnected"; };
ws.onmessage = (event) => {
  const line = document.createElement("div");
  line.className = "message";
  line.textContent = event.data;
  log.appendChild(line);
  log.scrollTop = log.scrollHeight;
};
document.getElementById("send").onsubmit = (event) => {
  event.preventDefault();
  if (text.value && ws.readyState === WebSocket.OPEN) { ws.send(text.value); text.value = ""; }
};
</script>
</body>
</html>
"#;

/// The longest a name may be, in characters.
const MAX_NAME: usize = 32;
/// The longest a chat line may be, in bytes: the connection's message limit.
const MAX_LINE: usize = 4096;
/// Bytes of lines that may wait for one user before they are closed.
const MAX_BEHIND: usize = 1 << 20;

struct Args {
    addr: SocketAddr,
    redis: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut parsed = Args {
        addr: "127.0.0.1:8080".parse().expect("valid default"),
        redis: None,
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
            "--redis" => parsed.redis = Some(args.next().ok_or("--redis needs a URL")?),
            "-h" | "--help" => {
                return Err(
                    "usage: chat [--addr 127.0.0.1:8080] [--redis redis://127.0.0.1:6379/]".into(),
                )
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(parsed)
}

/// What every connection shares.
struct Server {
    config: ServerConfig,
    hub: Hub,
    redis: Option<Arc<RedisBackplane>>,
    guests: AtomicU64,
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
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    let hub = Hub::new(
        HubConfig::default()
            .max_queued_bytes(MAX_BEHIND)
            .slow(SlowPolicy::close_try_again_later()),
    );
    let redis = match &args.redis {
        Some(url) => match RedisBackplane::start(url, &hub) {
            Ok(backplane) => Some(backplane),
            Err(error) => {
                eprintln!("--redis {url}: {error}");
                std::process::exit(2);
            }
        },
        None => None,
    };
    println!("chat listening on http://{}/", listener.local_addr()?);
    let server = Arc::new(Server {
        config: ServerConfig::default().connection(Config::default().max_message_size(MAX_LINE)),
        hub,
        redis,
        guests: AtomicU64::new(0),
    });
    loop {
        // Survives EMFILE and aborted connections instead of exiting.
        let (tcp, peer) = ws_toolkit::tokio::retry_accept(
            || listener.accept(),
            |error| eprintln!("accept failed, retrying: {error}"),
        )
        .await?;
        // Latency only: a peer already gone fails later, in the handshake.
        let _ = tcp.set_nodelay(true);
        let server = server.clone();
        tokio::spawn(async move {
            if let Err(error) = serve(tcp, &server).await {
                eprintln!("{peer}: {error}");
            }
        });
    }
}

/// Routes one connection: the page, the WebSocket, the counters, or 404.
async fn serve(
    tcp: tokio::net::TcpStream,
    server: &Server,
) -> Result<(), ws_toolkit::tokio::Error> {
    let config = &server.config;
    let request = read_request(tcp, config).await?;
    let path = request.request().uri().path().to_owned();
    let query = request.request().uri().query().map(str::to_owned);
    match path.as_str() {
        "/ws" if request.is_websocket() => {
            let name = query_value(query.as_deref(), "name").unwrap_or_else(|| {
                format!("guest-{}", server.guests.fetch_add(1, Ordering::Relaxed))
            });
            let room = query_value(query.as_deref(), "room").unwrap_or_else(|| "lobby".into());
            let socket = request.accept(config).await?;
            chat(socket, name, room, &server.hub).await;
            Ok(())
        }
        "/" | "/index.html" => {
            let response = http::Response::builder()
                .header(http::header::CONTENT_TYPE, "text/html; charset=utf-8")
                .body(())
                .expect("valid response");
            request.respond(response, PAGE.as_bytes()).await
        }
        "/stats" => {
            let c = server.hub.counters();
            let redis = server.redis.as_ref().map_or("null".to_owned(), |r| {
                let s = r.status();
                format!(
                    r#"{{"connected":{},"connections":{},"sent":{},"received":{}}}"#,
                    s.connected, s.connections, s.sent, s.received
                )
            });
            let body = format!(
                r#"{{"published":{},"delivered":{},"dropped":{},"disconnected":{},"lost":{},"remote":{},"redis":{redis}}}"#,
                c.published, c.delivered, c.dropped, c.disconnected, c.lost, c.remote
            );
            let response = http::Response::builder()
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(())
                .expect("valid response");
            request.respond(response, body.as_bytes()).await
        }
        _ => {
            let response = http::Response::builder()
                .status(http::StatusCode::NOT_FOUND)
                .header(http::header::CONTENT_TYPE, "text/plain")
                .body(())
                .expect("valid response");
            request.respond(response, b"not found\n").await
        }
    }
}

/// A query parameter (`name`, `room`), percent-decoded, trimmed to
/// [`MAX_NAME`] characters without control characters; `None` if absent or
/// empty.
fn query_value(query: Option<&str>, key: &str) -> Option<String> {
    let value = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))?;
    let decoded = percent_decode(value);
    let name: String = decoded
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    let name = name.trim().to_owned();
    (!name.is_empty()).then_some(name)
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One user in a room: what they send goes to everyone in it (on every
/// process, with Redis), what anyone says there comes to them, until either
/// side closes or they fall too far behind.
async fn chat(mut socket: WebSocket<tokio::net::TcpStream>, name: String, room: String, hub: &Hub) {
    let (subscription, mut inbox) = hub.join();
    subscription.subscribe(&room);
    let say = |line: String| hub.publish(&room, &PreparedMessage::text(line));
    say(format!("* {name} joined"));
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            // Both branches are cancel-safe: a message is taken out of the
            // socket or the inbox only when its branch runs.
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    say(format!("{name}: {text}"));
                }
                Some(Ok(_)) => {} // binary ignored; pings answered by the library
                Some(Err(error)) => {
                    eprintln!("{name}: {error}");
                    break;
                }
                None => break,
            },
            delivery = inbox.recv_many(&mut batch) => match delivery {
                Delivery::Messages(_) => {
                    // Everything that waited, in one write.
                    let mut sent = Ok(());
                    for line in batch.drain(..) {
                        sent = sent.and(socket.feed_prepared(&line).await);
                    }
                    if sent.and(socket.flush().await).is_err() {
                        break;
                    }
                }
                Delivery::TooSlow(close) => {
                    let _ = socket.close(close.code, close.reason.as_str()).await;
                    break;
                }
                _ => break,
            },
        }
    }
    drop(subscription);
    say(format!("* {name} left"));
}
