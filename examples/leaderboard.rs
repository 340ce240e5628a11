//! A live leaderboard: a page at `/` shows the top 10 and updates as scores
//! are posted, by `POST /score` (a form: `name=alice&score=42`) or by a
//! WebSocket message `alice 42`; each name keeps its best score.
//!
//! ```text
//! cargo run --release --example leaderboard -- --addr 127.0.0.1:8090 [--redis redis://127.0.0.1:6379/]
//! curl -d 'name=alice&score=42' http://127.0.0.1:8090/score
//! ```
//!
//! Every score is published once on the hub's `scores` topic
//! (`{"name":"alice","score":42}`); the page keeps the board from those
//! events and a snapshot it gets when it connects
//! (`{"board":[["alice",42],...]}`). The server itself subscribes to the
//! topic to keep the scores it snapshots. With `--redis`, several
//! processes behind a load balancer share one board: a score posted to any
//! of them reaches every page and every process's snapshot.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use ws_toolkit::core::PreparedMessage;
use ws_toolkit::pubsub::{Delivery, Hub, HubConfig, RedisBackplane, SlowPolicy};
use ws_toolkit::tokio::{http, read_request, ServerConfig, WebSocket};
use ws_toolkit::{Config, Message};

const TOPIC: &str = "scores";
/// The longest a name may be, in characters.
const MAX_NAME: usize = 32;
/// The largest form body accepted by `POST /score`.
const MAX_BODY: usize = 1024;
/// Entries on the board.
const TOP: usize = 10;

const PAGE: &str = r#"<!doctype html>
<html>
<head><meta charset="utf-8"><title>leaderboard</title>
<style>
body { font: 15px sans-serif; max-width: 30em; margin: 2em auto; }
ol { padding-left: 2em; } li { margin: .2em 0; }
form { display: flex; gap: .5em; margin-top: 1em; } #name { flex: 1; }
</style></head>
<body>
<h1>top 10</h1>
<div id="status">connecting...</div>
<ol id="board"></ol>
<form id="post"><input id="name" placeholder="name"><input id="score" type="number" min="0" placeholder="score"><button>post</button></form>
<script>
const scores = new Map();
const board = document.getElementById("board");
const status = document.getElementById("status");
function render() {
  const top = [...scores].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 10);
  board.replaceChildren(...top.map(([name, score]) => {
    const li = document.createElement("li");
    li.className = "entry";
    li.textContent = `${name} ${score}`;
    return li;
  }));
}
function note(name, score) {
  if (!scores.has(name) || scores.get(name) < score) scores.set(name, score);
}
const ws = new WebSocket(`ws://${location.host}/ws`);
ws.onopen = () => { status.textContent = "live"; };
ws.onclose = () => { status.textContent = "disconnected"; };
ws.onmessage = (event) => {
  const data = JSON.parse(event.data);
  if (data.board) data.board.forEach(([name, score]) => note(name, score));
  else note(data.name, data.score);
  render();
};
document.getElementById("post").onsubmit = (event) => {
  event.preventDefault();
  const name = document.getElementById("name").value, score = document.getElementById("score").value;
  if (name && score && ws.readyState === WebSocket.OPEN) ws.send(`${name} ${score}`);
};
</script>
</body>
</html>
"#;

struct Args {
    addr: SocketAddr,
    redis: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut parsed = Args {
        addr: "127.0.0.1:8090".parse().expect("valid default"),
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
                    "usage: leaderboard [--addr 127.0.0.1:8090] [--redis redis://127.0.0.1:6379/]"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(parsed)
}

/// The best score of each name, as this process has heard of them.
type Scores = Arc<Mutex<HashMap<String, u64>>>;

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
    // Score events are small and each matters: a page that falls 256 KiB
    // behind is closed (1013) and reconnects to a fresh snapshot.
    let hub = Hub::new(
        HubConfig::default()
            .max_queued_bytes(256 * 1024)
            .slow(SlowPolicy::close_try_again_later()),
    );
    if let Some(url) = &args.redis {
        if let Err(error) = RedisBackplane::start(url, &hub) {
            eprintln!("--redis {url}: {error}");
            std::process::exit(2);
        }
    }
    let scores = Scores::default();
    tokio::spawn(keep_scores(hub.clone(), scores.clone()));
    println!(
        "leaderboard listening on http://{}/",
        listener.local_addr()?
    );
    let config =
        Arc::new(ServerConfig::default().connection(Config::default().max_message_size(256)));
    loop {
        // Survives EMFILE and aborted connections instead of exiting.
        let (tcp, peer) = ws_toolkit::tokio::retry_accept(
            || listener.accept(),
            |error| eprintln!("accept failed, retrying: {error}"),
        )
        .await?;
        // Latency only: a peer already gone fails later, in the handshake.
        let _ = tcp.set_nodelay(true);
        let (config, hub, scores) = (config.clone(), hub.clone(), scores.clone());
        tokio::spawn(async move {
            if let Err(error) = serve(tcp, &config, &hub, &scores).await {
                eprintln!("{peer}: {error}");
            }
        });
    }
}

/// The server's own subscriber: every score event, from this process
/// (kept already, kept again: a best score is idempotent) or, with Redis,
/// another, kept for the snapshots.
async fn keep_scores(hub: Hub, scores: Scores) {
    let (subscription, mut inbox) = hub.join();
    subscription.subscribe(TOPIC);
    let mut batch = Vec::new();
    while let Delivery::Messages(_) = inbox.recv_many(&mut batch).await {
        let mut scores = scores.lock().unwrap();
        for event in batch.drain(..) {
            if let Some((name, score)) = parse_event(event.payload()) {
                note(&mut scores, name, score);
            }
        }
    }
}

fn note(scores: &mut HashMap<String, u64>, name: String, score: u64) {
    let best = scores.entry(name).or_insert(score);
    *best = (*best).max(score);
}

async fn serve(
    tcp: tokio::net::TcpStream,
    config: &ServerConfig,
    hub: &Hub,
    scores: &Scores,
) -> Result<(), ws_toolkit::tokio::Error> {
    let request = read_request(tcp, config).await?;
    let path = request.request().uri().path().to_owned();
    let method = request.request().method().clone();
    match (method, path.as_str()) {
        (http::Method::GET, "/ws") if request.is_websocket() => {
            let socket = request.accept(config).await?;
            follow(socket, hub, scores).await;
            Ok(())
        }
        (http::Method::POST, "/score") => post_score(request, hub, scores).await,
        (http::Method::GET, "/" | "/index.html") => {
            let response = http::Response::builder()
                .header(http::header::CONTENT_TYPE, "text/html; charset=utf-8")
                .body(())
                .expect("valid response");
            request.respond(response, PAGE.as_bytes()).await
        }
        _ => {
            let response = http::Response::builder()
                .status(http::StatusCode::NOT_FOUND)
                .body(())
                .expect("valid response");
            request.respond(response, b"not found\n").await
        }
    }
}

/// `POST /score` with a form body `name=...&score=...`: published, then
/// `204 No Content`; `400` for a body that is not one.
async fn post_score(
    request: ws_toolkit::tokio::HttpRequest<tokio::net::TcpStream>,
    hub: &Hub,
    scores: &Scores,
) -> Result<(), ws_toolkit::tokio::Error> {
    let length = request
        .request()
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    let (mut tcp, _, mut body) = request.into_parts();
    let status = match length {
        Some(length) if length <= MAX_BODY => {
            while body.len() < length {
                if tcp.read_buf(&mut body).await? == 0 {
                    break;
                }
            }
            match parse_form(&body[..length.min(body.len())]) {
                Some((name, score)) => {
                    publish(hub, scores, &name, score);
                    "204 No Content"
                }
                None => "400 Bad Request",
            }
        }
        _ => "400 Bad Request",
    };
    let head = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    tcp.write_all(head.as_bytes()).await?;
    tcp.shutdown().await?;
    Ok(())
}

/// Keeps the score here at once (so a snapshot right after has it), then
/// publishes it to every page and, with Redis, every process.
fn publish(hub: &Hub, scores: &Scores, name: &str, score: u64) {
    note(&mut scores.lock().unwrap(), name.to_owned(), score);
    let event = format!("{{\"name\":{},\"score\":{score}}}", json_string(name));
    hub.publish(TOPIC, &PreparedMessage::text(event));
}

/// One page: the snapshot, then every score event, until it closes. What it
/// sends (`name score`) is posted like a form.
async fn follow(mut socket: WebSocket<tokio::net::TcpStream>, hub: &Hub, scores: &Scores) {
    let (subscription, mut inbox) = hub.join();
    subscription.subscribe(TOPIC);
    // Subscribed first, so no event falls between the snapshot and the stream.
    let snapshot = board_json(&scores.lock().unwrap());
    if socket.send(Message::text(snapshot)).await.is_err() {
        return;
    }
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    if let Some((name, score)) = text.as_str().rsplit_once(' ').and_then(|(n, s)| {
                        Some((clean_name(n)?, s.trim().parse().ok()?))
                    }) {
                        publish(hub, scores, &name, score);
                    }
                }
                Some(Ok(_)) => {}
                _ => break,
            },
            delivery = inbox.recv_many(&mut batch) => match delivery {
                Delivery::Messages(_) => {
                    let mut sent = Ok(());
                    for event in batch.drain(..) {
                        sent = sent.and(socket.feed_prepared(&event).await);
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
}

/// `{"board":[["name",score],...]}`: the top entries, best first.
fn board_json(scores: &HashMap<String, u64>) -> String {
    let mut top: Vec<(&String, &u64)> = scores.iter().collect();
    top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let entries: Vec<String> = top
        .iter()
        .take(TOP)
        .map(|(name, score)| format!("[{},{score}]", json_string(name)))
        .collect();
    format!("{{\"board\":[{}]}}", entries.join(","))
}

/// A name as it is kept: at most [`MAX_NAME`] characters, no control
/// characters, trimmed; `None` when nothing is left.
fn clean_name(name: &str) -> Option<String> {
    let name: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME)
        .collect();
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

/// `name=...&score=...`, percent-decoded.
fn parse_form(body: &[u8]) -> Option<(String, u64)> {
    let body = std::str::from_utf8(body).ok()?;
    let (mut name, mut score) = (None, None);
    for pair in body.split('&') {
        match pair.split_once('=') {
            Some(("name", value)) => name = clean_name(&percent_decode(value)),
            Some(("score", value)) => score = value.trim().parse().ok(),
            _ => {}
        }
    }
    Some((name?, score?))
}

/// A score event, as published: `{"name":"...","score":N}`.
fn parse_event(payload: &[u8]) -> Option<(String, u64)> {
    let text = std::str::from_utf8(payload).ok()?;
    let rest = text.strip_prefix("{\"name\":")?;
    let (name, score) = rest.rsplit_once(",\"score\":")?;
    let score = score.strip_suffix('}')?.parse().ok()?;
    Some((json_unescape(name)?, score))
}

fn json_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The inverse of [`json_string`] (the only escapes it writes).
fn json_unescape(quoted: &str) -> Option<String> {
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            '"' => out.push('"'),
            '\\' => out.push('\\'),
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
            }
            _ => return None,
        }
    }
    Some(out)
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                match std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
