//! A backplane on Redis pub/sub ([`RedisBackplane`]).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;
use ws_core::PreparedMessage;

use crate::backplane::Backplane;
use crate::hub::{Hub, RemoteHub};

/// Channels are the topic names with this prefix, so that other users of
/// the same Redis are not disturbed.
const CHANNEL_PREFIX: &str = "ws-pubsub:";
/// Publishes queued for Redis at most; past it, a publish is lost (and
/// counted), never waited for.
const QUEUE: usize = 64 * 1024;
/// Publishes sent to Redis in one pipeline at most.
const BATCH: usize = 256;
/// Reconnection backoff: first wait, longest wait.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often a connected backplane checks that Redis still answers.
const PING_EVERY: Duration = Duration::from_secs(1);

enum Command {
    Publish { channel: String, payload: Vec<u8> },
    Subscribe(String),
    Unsubscribe(String),
}

/// What a [`RedisBackplane`] has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisStatus {
    /// Whether it is connected to Redis now.
    pub connected: bool,
    /// Times it connected (1 after the first connection; each reconnection
    /// adds one).
    pub connections: u64,
    /// Messages published through Redis.
    pub sent: u64,
    /// Messages from other processes received from Redis.
    pub received: u64,
}

#[derive(Default)]
struct Shared {
    connected: AtomicBool,
    connections: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
    /// The topics the hub has subscribers for: subscribed again on every
    /// reconnection.
    topics: Mutex<HashSet<String>>,
}

/// A [`Backplane`] on Redis pub/sub: every process publishes through Redis
/// and subscribes to the topics its sockets use, so the hubs of N
/// processes behave as one. Needs a tokio runtime (it runs one task).
///
/// - A publish is queued for Redis without waiting and sent in pipelines,
///   in order; each process receives every other process's messages in the
///   order they were published there, and not its own (a message carries
///   the id of the process that published it).
/// - While Redis is unreachable a publish is not queued but counted as lost
///   ([`Counters::lost`](crate::Counters::lost)); so are those queued when
///   the connection broke. Local subscribers receive them regardless.
/// - It reconnects with a backoff from 50 ms to 5 s and subscribes again to
///   every topic the hub has subscribers for.
///
/// ```no_run
/// # async fn demo() -> Result<(), redis::RedisError> {
/// let hub = ws_pubsub::Hub::default();
/// let backplane = ws_pubsub::RedisBackplane::start("redis://127.0.0.1:6379/", &hub)?;
/// assert!(backplane.status().connections <= 1);
/// # Ok(()) }
/// ```
pub struct RedisBackplane {
    commands: mpsc::Sender<Command>,
    shared: Arc<Shared>,
    origin: [u8; 16],
}

impl std::fmt::Debug for RedisBackplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackplane")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl RedisBackplane {
    /// Starts the backplane for `hub` on the Redis at `url`
    /// (`redis://host:port/`) and attaches it to the hub. It connects in
    /// the background: until it has, publishes count as lost.
    ///
    /// # Errors
    ///
    /// The URL is not a Redis URL. A hub that already has a backplane is
    /// reported as [`redis::ErrorKind::InvalidClientConfig`] too.
    pub fn start(url: &str, hub: &Hub) -> Result<Arc<Self>, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let (commands, queue) = mpsc::channel(QUEUE);
        let shared = Arc::new(Shared::default());
        let origin: [u8; 16] = rand::random();
        let backplane = Arc::new(RedisBackplane {
            commands,
            shared: shared.clone(),
            origin,
        });
        hub.attach_backplane(backplane.clone()).map_err(|_| {
            redis::RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "the hub already has a backplane",
            ))
        })?;
        tokio::spawn(run(client, queue, shared, hub.remote(), origin));
        Ok(backplane)
    }

    /// Whether it is connected, and what it has sent and received.
    pub fn status(&self) -> RedisStatus {
        let shared = &self.shared;
        RedisStatus {
            connected: shared.connected.load(Ordering::Acquire),
            connections: shared.connections.load(Ordering::Relaxed),
            sent: shared.sent.load(Ordering::Relaxed),
            received: shared.received.load(Ordering::Relaxed),
        }
    }
}

impl Backplane for RedisBackplane {
    fn subscribe(&self, topic: &str) {
        let mut topics = self.shared.topics.lock().unwrap_or_else(|p| p.into_inner());
        if topics.insert(topic.to_owned()) {
            // When the queue is full or the task is reconnecting, the
            // reconnection subscribes from the set.
            let _ = self.commands.try_send(Command::Subscribe(channel(topic)));
        }
    }

    fn unsubscribe(&self, topic: &str) {
        let mut topics = self.shared.topics.lock().unwrap_or_else(|p| p.into_inner());
        if topics.remove(topic) {
            let _ = self.commands.try_send(Command::Unsubscribe(channel(topic)));
        }
    }

    fn publish(&self, topic: &str, message: &PreparedMessage) -> bool {
        if !self.shared.connected.load(Ordering::Acquire) {
            return false;
        }
        let payload = encode(&self.origin, message);
        self.commands
            .try_send(Command::Publish {
                channel: channel(topic),
                payload,
            })
            .is_ok()
    }
}

fn channel(topic: &str) -> String {
    format!("{CHANNEL_PREFIX}{topic}")
}

/// On the wire: 16 bytes of origin, one byte of kind (0 text, 1 binary),
/// the payload.
fn encode(origin: &[u8; 16], message: &PreparedMessage) -> Vec<u8> {
    let payload = message.payload();
    let mut out = Vec::with_capacity(17 + payload.len());
    out.extend_from_slice(origin);
    out.push(u8::from(!message.is_text()));
    out.extend_from_slice(payload);
    out
}

/// A message from Redis, unless it is ours or malformed.
fn decode(origin: &[u8; 16], bytes: &[u8]) -> Option<PreparedMessage> {
    if bytes.len() < 17 || bytes[..16] == origin[..] {
        return None;
    }
    let payload = Bytes::copy_from_slice(&bytes[17..]);
    match bytes[16] {
        0 => {
            let text = ws_core::Utf8Bytes::try_from_bytes(payload).ok()?;
            Some(PreparedMessage::text(text))
        }
        1 => Some(PreparedMessage::binary(payload)),
        _ => None,
    }
}

/// Connects, serves, and reconnects with backoff, until the hub is gone.
async fn run(
    client: redis::Client,
    mut queue: mpsc::Receiver<Command>,
    shared: Arc<Shared>,
    hub: RemoteHub,
    origin: [u8; 16],
) {
    let mut backoff = BACKOFF_MIN;
    while hub.is_alive() {
        let connections = shared.connections.load(Ordering::Relaxed);
        if let Ok(()) = serve(&client, &mut queue, &shared, &hub, &origin).await {
            return;
        }
        if shared.connections.load(Ordering::Relaxed) != connections {
            // It was connected: the outage starts now.
            backoff = BACKOFF_MIN;
        }
        shared.connected.store(false, Ordering::Release);
        // What was queued for the broken connection is lost.
        let mut lost = 0;
        while let Ok(command) = queue.try_recv() {
            if let Command::Publish { .. } = command {
                lost += 1;
            }
        }
        hub.count_lost(lost);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// One connection's life: `Ok` when the hub is gone, `Err` when Redis is.
async fn serve(
    client: &redis::Client,
    queue: &mut mpsc::Receiver<Command>,
    shared: &Shared,
    hub: &RemoteHub,
    origin: &[u8; 16],
) -> Result<(), redis::RedisError> {
    let (mut sink, mut stream) = client.get_async_pubsub().await?.split();
    let mut conn = client.get_multiplexed_async_connection().await?;
    // Publishing works from here on: what the hub publishes meanwhile waits
    // in the queue instead of being counted lost, so a process whose
    // subscriptions other processes can already see (PUBSUB NUMSUB) never
    // drops what it publishes next.
    shared.connected.store(true, Ordering::Release);
    shared.connections.fetch_add(1, Ordering::Relaxed);
    let topics: Vec<String> = shared
        .topics
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|t| channel(t))
        .collect();
    if !topics.is_empty() {
        sink.subscribe(&topics).await?;
    }
    let mut ping = tokio::time::interval(PING_EVERY);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            received = stream.next() => {
                let Some(message) = received else {
                    return Err(redis::RedisError::from((redis::ErrorKind::Io, "subscription connection closed")));
                };
                let channel: String = message.get_channel_name().to_owned();
                let Some(topic) = channel.strip_prefix(CHANNEL_PREFIX) else { continue };
                if let Some(message) = decode(origin, message.get_payload_bytes()) {
                    shared.received.fetch_add(1, Ordering::Relaxed);
                    if hub.deliver(topic, &message).is_none() {
                        return Ok(());
                    }
                }
            }
            count = queue.recv_many(&mut batch, BATCH) => {
                if count == 0 {
                    return Ok(()); // every sender gone: the backplane was dropped
                }
                let mut pipe = redis::pipe();
                let mut publishes = 0u64;
                for command in batch.drain(..) {
                    match command {
                        Command::Publish { channel, payload } => {
                            pipe.cmd("PUBLISH").arg(channel).arg(payload).ignore();
                            publishes += 1;
                        }
                        Command::Subscribe(channel) => sink.subscribe(channel).await?,
                        Command::Unsubscribe(channel) => sink.unsubscribe(channel).await?,
                    }
                }
                if publishes > 0 {
                    if let Err(error) = pipe.query_async::<()>(&mut conn).await {
                        hub.count_lost(publishes);
                        return Err(error);
                    }
                    shared.sent.fetch_add(publishes, Ordering::Relaxed);
                }
            }
            _ = ping.tick() => {
                redis::cmd("PING").query_async::<()>(&mut conn).await?;
            }
        }
    }
}
