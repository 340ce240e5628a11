//! Two chat processes and one real redis-server on loopback: the hubs of
//! both behave as one (a line said on one reaches the room on the other,
//! in order per sender), and when Redis goes away and comes back both
//! reconnect, resubscribe, and count what was lost meanwhile. Two
//! leaderboard processes share one board the same way.
//!
//! redis-server is Debian's package: installed here when missing, started
//! on a port of its own, stopped when the test ends.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use support::example::Running;
use ws_toolkit::tokio::{connect, MaybeTlsStream, WebSocket};
use ws_toolkit::{CloseCode, Message};

type Client = WebSocket<MaybeTlsStream<tokio::net::TcpStream>>;

/// A redis-server of the test's own on 127.0.0.1; killed when dropped.
struct Redis {
    child: Child,
    port: u16,
}

fn redis_server_binary() -> std::path::PathBuf {
    support::apt::ensure_installed("/usr/bin/redis-server", "redis-server")
}

impl Redis {
    fn start(port: Option<u16>) -> Redis {
        let port = port.unwrap_or_else(|| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        });
        let child = Command::new(redis_server_binary())
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let redis = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        while redis.command("PING").as_deref() != Some("+PONG") {
            assert!(Instant::now() < deadline, "redis-server did not answer");
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn command(&self, command: &str) -> Option<String> {
        redis_command(self.port, command)
    }
}

/// One inline command to the redis-server on `port`; the last line of its
/// reply (enough for PING and PUBSUB NUMSUB).
fn redis_command(port: u16, command: &str) -> Option<String> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).ok()?;
    tcp.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    tcp.write_all(format!("{command}\r\n").as_bytes()).ok()?;
    let mut reply = Vec::new();
    let mut buffer = [0u8; 512];
    // A simple reply is one line; NUMSUB's is an array of a channel name
    // and a count: `*2`, `$N`, the name, `:count`.
    let lines = if command.starts_with("PUBSUB") { 4 } else { 1 };
    while reply.iter().filter(|&&b| b == b'\n').count() < lines {
        let n = tcp.read(&mut buffer).ok()?;
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&buffer[..n]);
    }
    let text = String::from_utf8_lossy(&reply).into_owned();
    text.trim_end().lines().last().map(str::to_owned)
}

/// How many subscribers `room`'s channel has in the Redis on `port`.
fn subscribers(port: u16, room: &str) -> usize {
    redis_command(port, &format!("PUBSUB NUMSUB ws-pubsub:{room}"))
        .and_then(|line| line.strip_prefix(':').and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET /stats` of a chat process, as text.
fn stats(addr: SocketAddr) -> String {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.write_all(b"GET /stats HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).unwrap();
    response.split("\r\n\r\n").nth(1).unwrap_or("").to_owned()
}

/// A number from the stats JSON (`"key":N`), the first occurrence.
fn stat(stats: &str, key: &str) -> u64 {
    let at = stats
        .find(&format!("\"{key}\":"))
        .unwrap_or_else(|| panic!("{key} in {stats}"));
    stats[at + key.len() + 3..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn join(chat: &Running, name: &str, room: &str) -> Client {
    let (client, _) = connect(format!("ws://{}/ws?name={name}&room={room}", chat.addr))
        .await
        .unwrap();
    client
}

/// The next chat line that is not a join or leave announcement.
async fn next_line(client: &mut Client) -> String {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), client.next())
            .await
            .expect("a line within 10 s")
            .expect("open")
            .expect("no error");
        if let Message::Text(text) = message {
            if !text.as_str().starts_with("* ") {
                return text.as_str().to_owned();
            }
        }
    }
}

/// A chat process on the Redis server, once its backplane is connected:
/// until then what it publishes (a join announcement, say) is counted
/// lost, as documented, which the test of a healthy run must not see.
async fn chat_with(redis: &Redis) -> Running {
    let chat = Running::start("chat", &["--addr", "127.0.0.1:0", "--redis", &redis.url()]);
    wait_until("the chat process connected to Redis", || {
        stats(chat.addr).contains("\"connected\":true")
    })
    .await;
    chat
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_processes_share_a_room_through_redis_in_order_per_sender() {
    let redis = Redis::start(None);
    let (a, b) = (chat_with(&redis).await, chat_with(&redis).await);
    let mut alice = join(&a, "alice", "r1").await;
    let mut bob = join(&b, "bob", "r1").await;
    let mut carol = join(&b, "carol", "r2").await;
    wait_until("both processes subscribed to r1 in Redis", || {
        subscribers(redis.port, "r1") == 2
    })
    .await;
    // Sent from both processes interleaved; each sender's order must hold.
    for i in 0..50 {
        alice.send(Message::text(format!("a{i}"))).await.unwrap();
        bob.send(Message::text(format!("b{i}"))).await.unwrap();
    }
    for (who, client) in [("alice", &mut alice), ("bob", &mut bob)] {
        let (mut from_alice, mut from_bob) = (0, 0);
        while from_alice < 50 || from_bob < 50 {
            let line = next_line(client).await;
            if let Some(i) = line.strip_prefix("alice: a") {
                assert_eq!(
                    i.parse::<usize>().unwrap(),
                    from_alice,
                    "{who}: alice's order"
                );
                from_alice += 1;
            } else if let Some(i) = line.strip_prefix("bob: b") {
                assert_eq!(i.parse::<usize>().unwrap(), from_bob, "{who}: bob's order");
                from_bob += 1;
            } else {
                panic!("{who} got {line:?}");
            }
        }
    }
    // r2 heard none of it.
    carol.send(Message::text("anyone?")).await.unwrap();
    assert_eq!(next_line(&mut carol).await, "carol: anyone?");
    let (a_stats, b_stats) = (stats(a.addr), stats(b.addr));
    assert_eq!(stat(&a_stats, "lost"), 0, "{a_stats}");
    assert!(stat(&a_stats, "remote") >= 50, "{a_stats}");
    assert!(stat(&b_stats, "remote") >= 50, "{b_stats}");
    for client in [&mut alice, &mut bob, &mut carol] {
        client.close(CloseCode::NORMAL, "").await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_processes_reconnect_after_redis_restarts_and_count_what_was_lost() {
    let mut redis = Redis::start(None);
    let port = redis.port;
    let (a, b) = (chat_with(&redis).await, chat_with(&redis).await);
    let mut alice = join(&a, "alice", "room").await;
    let mut bob = join(&b, "bob", "room").await;
    wait_until("both subscribed", || subscribers(port, "room") == 2).await;
    alice.send(Message::text("before")).await.unwrap();
    assert_eq!(next_line(&mut bob).await, "alice: before");

    // Redis goes away.
    let _ = redis.child.kill();
    let _ = redis.child.wait();
    wait_until("process A sees Redis gone", || {
        stats(a.addr).contains("\"connected\":false")
    })
    .await;
    for i in 0..5 {
        alice
            .send(Message::text(format!("during {i}")))
            .await
            .unwrap();
    }
    // Alice's own process still delivers locally.
    for i in 0..6 {
        let line = next_line(&mut alice).await;
        if i == 0 {
            assert_eq!(line, "alice: before");
        } else {
            assert_eq!(line, format!("alice: during {}", i - 1));
        }
    }
    wait_until("the five lines counted as lost", || {
        stat(&stats(a.addr), "lost") >= 5
    })
    .await;

    // Redis comes back on the same port: both reconnect and resubscribe.
    redis = Redis::start(Some(port));
    wait_until("both reconnected and resubscribed", || {
        subscribers(port, "room") == 2
    })
    .await;
    for chat in [&a, &b] {
        let s = stats(chat.addr);
        assert!(stat(&s, "connections") >= 2, "{s}");
    }
    alice.send(Message::text("after")).await.unwrap();
    assert_eq!(
        next_line(&mut bob).await,
        "alice: after",
        "what was said during the outage never arrives; what follows does"
    );
    let a_stats = stats(a.addr);
    assert_eq!(stat(&a_stats, "lost"), 5, "{a_stats}");
    drop(redis);
}

/// `POST /score` to a leaderboard process.
fn post_score(addr: SocketAddr, form: &str) -> String {
    let mut tcp = TcpStream::connect(addr).unwrap();
    let request = format!(
        "POST /score HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{form}",
        form.len()
    );
    tcp.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).unwrap();
    response
}

async fn next_text(client: &mut Client) -> String {
    let message = tokio::time::timeout(Duration::from_secs(10), client.next())
        .await
        .expect("a message within 10 s")
        .expect("open")
        .expect("no error");
    message.as_text().expect("text").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaderboard_processes_share_one_board_through_redis() {
    let redis = Redis::start(None);
    let url = redis.url();
    let a = Running::start("leaderboard", &["--addr", "127.0.0.1:0", "--redis", &url]);
    let b = Running::start("leaderboard", &["--addr", "127.0.0.1:0", "--redis", &url]);
    // Each process subscribes itself; its pages add nothing in Redis.
    wait_until("both subscribed to scores", || {
        subscribers(redis.port, "scores") == 2
    })
    .await;
    let (mut page_on_b, _) = connect(format!("ws://{}/ws", b.addr)).await.unwrap();
    assert_eq!(next_text(&mut page_on_b).await, r#"{"board":[]}"#);
    let response = post_score(a.addr, "name=alice&score=7");
    assert!(response.starts_with("HTTP/1.1 204"), "{response}");
    assert_eq!(
        next_text(&mut page_on_b).await,
        r#"{"name":"alice","score":7}"#,
        "a score posted on A reaches a page on B"
    );
    // B's own snapshot has it too, once its subscriber has kept it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (mut late, _) = connect(format!("ws://{}/ws", b.addr)).await.unwrap();
        let snapshot = next_text(&mut late).await;
        late.close(CloseCode::NORMAL, "").await.unwrap();
        if snapshot == r#"{"board":[["alice",7]]}"# {
            break;
        }
        assert!(Instant::now() < deadline, "B's snapshot: {snapshot}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    page_on_b.close(CloseCode::NORMAL, "").await.unwrap();
}
