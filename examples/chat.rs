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
//! The routing is [`read_request`]: it reads the request head, and the server
//! either answers it with a page ([`HttpRequest::respond`]) or upgrades it
//! ([`HttpRequest::accept`]). Each connection runs one task that waits on
//! both the socket and the room's broadcast channel; a user too slow to keep
//! up with the room is told how many messages it missed instead of making the
//! server buffer them.
//!
//! [`HttpRequest::respond`]: ws_toolkit::tokio::HttpRequest
//! [`HttpRequest::accept`]: ws_toolkit::tokio::HttpRequest

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use futures_util::StreamExt;
use tokio::sync::broadcast;
use ws_toolkit::tokio::{http, read_request, ServerConfig, WebSocket};
use ws_toolkit::{Config, Message, Utf8Bytes};

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
const ws = new WebSocket(`ws://${location.host}/ws?name=${encodeURIComponent(name)}`);
ws.onopen = () => { status.textContent = `connected as ${name}`; };
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
/// Messages the room keeps for its slowest reader before that reader skips.
const ROOM_BACKLOG: usize = 256;

fn parse_args() -> Result<SocketAddr, String> {
    let mut addr: SocketAddr = "127.0.0.1:8080".parse().expect("valid default");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let value = args.next().ok_or("--addr needs a value")?;
                addr = value
                    .parse()
                    .map_err(|error| format!("bad --addr {value:?}: {error}"))?;
            }
            "-h" | "--help" => return Err("usage: chat [--addr 127.0.0.1:8080]".into()),
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(addr)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = match parse_args() {
        Ok(addr) => addr,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!("chat listening on http://{}/", listener.local_addr()?);

    let config =
        Arc::new(ServerConfig::default().connection(Config::default().max_message_size(MAX_LINE)));
    let (room, _) = broadcast::channel::<Utf8Bytes>(ROOM_BACKLOG);
    let guests = Arc::new(AtomicU64::new(0));
    loop {
        let (tcp, peer) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let (config, room, guests) = (config.clone(), room.clone(), guests.clone());
        tokio::spawn(async move {
            if let Err(error) = serve(tcp, &config, room, &guests).await {
                eprintln!("{peer}: {error}");
            }
        });
    }
}

/// Routes one connection: the page, the WebSocket, or 404.
async fn serve(
    tcp: tokio::net::TcpStream,
    config: &ServerConfig,
    room: broadcast::Sender<Utf8Bytes>,
    guests: &AtomicU64,
) -> Result<(), ws_toolkit::tokio::Error> {
    let request = read_request(tcp, config).await?;
    let path = request.request().uri().path().to_owned();
    match path.as_str() {
        "/ws" if request.is_websocket() => {
            let name = name_from_query(request.request().uri().query())
                .unwrap_or_else(|| format!("guest-{}", guests.fetch_add(1, Ordering::Relaxed)));
            let socket = request.accept(config).await?;
            chat(socket, name, room).await;
            Ok(())
        }
        "/" | "/index.html" => {
            let response = http::Response::builder()
                .header(http::header::CONTENT_TYPE, "text/html; charset=utf-8")
                .body(())
                .expect("valid response");
            request.respond(response, PAGE.as_bytes()).await
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

/// The `name` query parameter, percent-decoded, trimmed to [`MAX_NAME`]
/// characters without control characters; `None` if absent or empty.
fn name_from_query(query: Option<&str>) -> Option<String> {
    let value = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("name="))?;
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

/// One user in the room: what they send goes to everyone, what anyone sends
/// comes to them, until either side closes.
async fn chat(
    mut socket: WebSocket<tokio::net::TcpStream>,
    name: String,
    room: broadcast::Sender<Utf8Bytes>,
) {
    let mut inbox = room.subscribe();
    let _ = room.send(format!("* {name} joined").into());
    loop {
        tokio::select! {
            // Both branches are cancel-safe: a message is taken out of the
            // socket or the channel only when its branch runs.
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let _ = room.send(format!("{name}: {text}").into());
                }
                Some(Ok(_)) => {} // binary ignored; pings answered by the library
                Some(Err(error)) => {
                    eprintln!("{name}: {error}");
                    break;
                }
                None => break,
            },
            outgoing = inbox.recv() => {
                let line = match outgoing {
                    Ok(line) => line,
                    // This user fell more than ROOM_BACKLOG messages behind:
                    // the room did not wait for them, and they are told.
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        format!("* you missed {missed} messages").into()
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                };
                if socket.send(Message::Text(line)).await.is_err() {
                    break;
                }
            }
        }
    }
    let _ = room.send(format!("* {name} left").into());
}
