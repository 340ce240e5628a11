//! A client that stays connected: connect, hand the socket to the
//! application, and when it ends connect again after a backoff, as
//! python-websockets' `async for websocket in connect(uri)` does.
//!
//! The policy is plain data and code without I/O ([`Backoff`],
//! [`retry_decision`]); [`Reconnect`] drives it with the runtime's
//! `connect` and timer.

use std::collections::VecDeque;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::pin::Pin;
use std::time::{Duration, Instant};

use ws_core::Message;

use crate::client::{connect, IntoClientRequest};
use crate::config::ClientConfig;
use crate::runtime::{Connect, Timer, Transport};
use crate::socket::WebSocket;
use crate::Error;

/// How a [`Reconnect`] waits between attempts.
///
/// The wait before attempt *n* (counted from 0 since the last reset) is
/// drawn uniformly from zero to `min(max_delay, initial_delay * multiplier^n)`
/// ("full jitter", so that many clients cut off at once do not come back
/// at once). A connection that stayed up for `reset_after` resets it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectConfig {
    /// The cap of the first wait. Default 1 s.
    pub initial_delay: Duration,
    /// The largest wait. Default 60 s.
    pub max_delay: Duration,
    /// How much the cap grows per failed attempt; below 1 (or not a
    /// number) is taken as 1. Default 2.
    pub multiplier: f64,
    /// A connection up this long resets the backoff. Default 30 s.
    pub reset_after: Duration,
    /// Also retry when the server refused the handshake with a status that
    /// will not change by itself (400, 401, 403, 404, 426, ...: see
    /// [`retry_decision`]). Default false: those end the attempts.
    pub retry_refusals: bool,
    /// Give up after this many failed attempts in a row; `None` (the
    /// default) never does.
    pub max_attempts: Option<u32>,
    /// Seeds the jitter, for tests; `None` (the default) seeds it from the
    /// process's randomness.
    pub seed: Option<u64>,
    /// Messages the application [`queue`](Reconnect::queue)s while it has
    /// no connection, to be sent on the next one: at most this many, and
    /// this many bytes of payload. `None` (the default): none are queued,
    /// `queue` hands each back ([`QueueError::Refused`]).
    pub queue_while_disconnected: Option<QueueLimit>,
}

/// How much a [`Reconnect`] queues while disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimit {
    /// The most messages queued.
    pub messages: usize,
    /// The most payload bytes queued, summed over the messages.
    pub bytes: usize,
}

/// A message [`Reconnect::queue`] did not take, handed back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// Queueing is off ([`ReconnectConfig::queue_while_disconnected`] is
    /// `None`): send it on a connection, or drop it knowingly.
    #[error(
        "messages are not queued while disconnected (ReconnectConfig::queue_while_disconnected)"
    )]
    Refused(Message),
    /// The queue is at its [`QueueLimit`].
    #[error("the queue of messages waiting for a connection is full")]
    Full(Message),
}

impl QueueError {
    /// The message that was not queued.
    pub fn into_message(self) -> Message {
        match self {
            QueueError::Refused(message) | QueueError::Full(message) => message,
        }
    }
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        ReconnectConfig {
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            multiplier: 2.0,
            reset_after: Duration::from_secs(30),
            retry_refusals: false,
            max_attempts: None,
            seed: None,
            queue_while_disconnected: None,
        }
    }
}

impl ReconnectConfig {
    /// Sets the first and the largest wait.
    pub fn delays(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_delay = initial;
        self.max_delay = max;
        self
    }

    /// Sets [`ReconnectConfig::reset_after`].
    pub fn reset_after(mut self, up_for: Duration) -> Self {
        self.reset_after = up_for;
        self
    }

    /// Sets [`ReconnectConfig::retry_refusals`].
    pub fn retry_refusals(mut self, retry: bool) -> Self {
        self.retry_refusals = retry;
        self
    }

    /// Sets [`ReconnectConfig::max_attempts`].
    pub fn max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sets [`ReconnectConfig::queue_while_disconnected`].
    pub fn queue_while_disconnected(mut self, limit: Option<QueueLimit>) -> Self {
        self.queue_while_disconnected = limit;
        self
    }
}

/// Exponential backoff with full jitter ([`ReconnectConfig`]), without a
/// clock: it says how long to wait, the caller waits.
///
/// ```
/// use std::time::Duration;
/// use ws_driver::{Backoff, ReconnectConfig};
///
/// let config = ReconnectConfig { seed: Some(7), ..ReconnectConfig::default() };
/// let mut backoff = Backoff::new(&config);
/// let caps = [1, 2, 4, 8, 16, 32, 60, 60];
/// for cap in caps {
///     assert!(backoff.next_delay(None) <= Duration::from_secs(cap));
/// }
/// // A server's Retry-After is honoured (up to the largest wait).
/// assert_eq!(backoff.next_delay(Some(Duration::from_secs(5))), Duration::from_secs(5));
/// backoff.reset();
/// assert!(backoff.next_delay(None) <= Duration::from_secs(1));
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    config: ReconnectConfig,
    attempt: u32,
    state: u64,
}

impl Backoff {
    /// A backoff at its first attempt.
    pub fn new(config: &ReconnectConfig) -> Self {
        let state = config.seed.unwrap_or_else(|| {
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        });
        Backoff {
            config: config.clone(),
            attempt: 0,
            state,
        }
    }

    /// The wait before the next attempt, and one attempt more counted.
    /// `retry_after` (a server's `Retry-After`) replaces the jitter when
    /// given, capped at the largest wait.
    pub fn next_delay(&mut self, retry_after: Option<Duration>) -> Duration {
        let multiplier = match self.config.multiplier {
            m if m.is_finite() && m >= 1.0 => m,
            _ => 1.0,
        };
        let growth = multiplier.powi(self.attempt.min(64) as i32);
        let cap = self
            .config
            .initial_delay
            .mul_f64(growth.min(1e9))
            .min(self.config.max_delay);
        self.attempt = self.attempt.saturating_add(1);
        if let Some(retry_after) = retry_after {
            return retry_after.min(self.config.max_delay);
        }
        cap.mul_f64(self.unit())
    }

    /// How many attempts failed since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Back to the first attempt (a connection stayed up).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// A uniform draw from [0, 1] (SplitMix64).
    fn unit(&mut self) -> f64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Whether an attempt that failed with an error is worth repeating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again after the backoff, or after the server's `Retry-After`.
    Retry {
        /// The server's `Retry-After`, in seconds (429, 503).
        retry_after: Option<Duration>,
    },
    /// Do not: the answer will not change by itself.
    GiveUp,
}

/// Whether to try again after `error`: network errors, timeouts, an end of
/// stream, an unreachable proxy and statuses that say "later" (408, 429,
/// 5xx, from the server or the proxy) are retried; a refusal that will not
/// change (400, 401, 403, 404, 426 and other 4xx), a bad URI, TLS set-up
/// and an answer that is not WebSocket are not, unless `retry_refusals`.
pub fn retry_decision(error: &Error, retry_refusals: bool) -> RetryDecision {
    use ws_handshake::ResponseError;
    use ws_proxy::ProxyError;
    let later = |status: u16| status == 408 || status == 429 || (500..600).contains(&status);
    let retry = RetryDecision::Retry { retry_after: None };
    let refusal = match retry_refusals {
        true => retry,
        false => RetryDecision::GiveUp,
    };
    match error {
        Error::Io(_)
        | Error::HandshakeTimeout
        | Error::HandshakeEof
        | Error::ProxyUnreachable { .. }
        | Error::Protocol(_)
        | Error::Closed => retry,
        Error::Response(response) => match &**response {
            ResponseError::Status {
                status, headers, ..
            } if later(status.as_u16()) => RetryDecision::Retry {
                retry_after: headers
                    .get(http::header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| value.trim().parse().ok())
                    .map(Duration::from_secs),
            },
            _ => refusal,
        },
        Error::Proxy(ProxyError::Refused { status, .. }) if later(*status) => retry,
        // General failure, network or host unreachable, connection refused.
        Error::Proxy(ProxyError::SocksReply {
            code: 1 | 3 | 4 | 5,
        }) => retry,
        Error::Proxy(_) => refusal,
        Error::Uri(_) | Error::Tls(_) | Error::Request(_) | Error::Send(_) | Error::Copy(_) => {
            RetryDecision::GiveUp
        }
    }
}

/// What [`Reconnect::next`] has to say.
#[derive(Debug)]
pub enum ReconnectEvent<S, R: crate::Runtime> {
    /// Connected: the socket and the server's 101 response. Run the
    /// connection's set-up (authenticate, resubscribe) and read it until it
    /// ends; then call `next` again.
    Connected(WebSocket<S, R>, http::Response<()>),
    /// The last connection ended or an attempt failed (`error`, `None` when
    /// the previous connection simply ended); the next call waits `after`
    /// and tries again.
    Retrying {
        /// Why the attempt failed.
        error: Option<Error>,
        /// How long the next call waits before connecting.
        after: Duration,
    },
    /// The attempts are over: an error that retrying cannot help, or
    /// `max_attempts` reached. The next call returns `None`.
    GaveUp(Error),
}

/// What a reconnecting client does next, decided without I/O by
/// [`ReconnectState::next_step`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// The attempts are over ([`ReconnectEvent::GaveUp`] was reported).
    Over,
    /// The connection handed out last has ended: announce the wait before
    /// the next attempt ([`ReconnectEvent::Retrying`] without an error).
    Announce(Duration),
    /// Wait this long (if at all), then connect.
    Connect(Option<Duration>),
}

/// The state of a reconnecting client, without I/O: the backoff, when the
/// last connection came up, the wait announced, whether it gave up. The
/// async [`Reconnect`] and ws-blocking's drive the same one with their own
/// `connect` and way of waiting.
#[derive(Debug)]
pub struct ReconnectState {
    policy: ReconnectConfig,
    backoff: Backoff,
    /// When the connection handed out last came up.
    connected_at: Option<Instant>,
    /// The wait the next attempt starts with.
    wait: Option<Duration>,
    over: bool,
}

impl ReconnectState {
    /// At the first attempt, which connects at once.
    pub fn new(policy: ReconnectConfig) -> Self {
        ReconnectState {
            backoff: Backoff::new(&policy),
            policy,
            connected_at: None,
            wait: None,
            over: false,
        }
    }

    /// The policy.
    pub fn policy(&self) -> &ReconnectConfig {
        &self.policy
    }

    /// What to do next, at `now`.
    pub fn next_step(&mut self, now: Instant) -> NextStep {
        if self.over {
            return NextStep::Over;
        }
        if let Some(up_since) = self.connected_at.take() {
            if now.saturating_duration_since(up_since) >= self.policy.reset_after {
                self.backoff.reset();
            }
            let after = self.backoff.next_delay(None);
            self.wait = Some(after);
            return NextStep::Announce(after);
        }
        NextStep::Connect(self.wait.take())
    }

    /// The attempt connected at `now`.
    pub fn connected(&mut self, now: Instant) {
        self.connected_at = Some(now);
    }

    /// The attempt failed with `error`: `Some(wait)` to announce before
    /// the next, or `None` when the attempts are over.
    pub fn failed(&mut self, error: &Error) -> Option<Duration> {
        let out_of_attempts = self
            .policy
            .max_attempts
            .is_some_and(|max| self.backoff.attempts() + 1 >= max);
        match retry_decision(error, self.policy.retry_refusals) {
            RetryDecision::Retry { retry_after } if !out_of_attempts => {
                let after = self.backoff.next_delay(retry_after);
                self.wait = Some(after);
                Some(after)
            }
            _ => {
                self.over = true;
                None
            }
        }
    }
}

/// Messages kept for the next connection while a reconnecting client has
/// none, within [`ReconnectConfig::queue_while_disconnected`]; in order.
#[derive(Debug, Default)]
pub struct Outbox {
    limit: Option<QueueLimit>,
    queue: VecDeque<Message>,
    bytes: usize,
}

impl Outbox {
    /// An empty outbox that takes what `limit` allows (nothing, for `None`).
    pub fn new(limit: Option<QueueLimit>) -> Self {
        Outbox {
            limit,
            queue: VecDeque::new(),
            bytes: 0,
        }
    }

    /// Keeps `message`, last.
    ///
    /// # Errors
    ///
    /// The message back: [`QueueError::Refused`] when queueing is off,
    /// [`QueueError::Full`] at the [`QueueLimit`].
    pub fn push(&mut self, message: Message) -> Result<(), QueueError> {
        let Some(limit) = self.limit else {
            return Err(QueueError::Refused(message));
        };
        let bytes = message.len();
        if self.queue.len() >= limit.messages || self.bytes.saturating_add(bytes) > limit.bytes {
            return Err(QueueError::Full(message));
        }
        self.bytes += bytes;
        self.queue.push_back(message);
        Ok(())
    }

    /// The message to send first.
    pub fn front(&self) -> Option<&Message> {
        self.queue.front()
    }

    /// Takes the message sent first out (it was sent).
    pub fn pop_front(&mut self) -> Option<Message> {
        let message = self.queue.pop_front()?;
        self.bytes -= message.len();
        Some(message)
    }

    /// How many messages wait.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Every message, in order, emptying the outbox.
    pub fn take_all(&mut self) -> Vec<Message> {
        self.bytes = 0;
        self.queue.drain(..).collect()
    }

    /// Sends the messages on `socket` in order and returns how many went
    /// out. A message whose send failed stays first, for the next
    /// connection, so it is sent at least once; the ones after it wait too.
    ///
    /// Cancel safety: not cancel-safe; a message being sent when cancelled
    /// stays queued (and may go out twice).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send`], for the message that stays queued.
    pub async fn send_on<S: Unpin, R: Transport<S>>(
        &mut self,
        socket: &mut WebSocket<S, R>,
    ) -> Result<usize, Error> {
        let mut sent = 0;
        while let Some(message) = self.front() {
            socket.send(message.clone()).await?;
            self.pop_front();
            sent += 1;
        }
        Ok(sent)
    }
}

/// A client that connects again whenever its connection ends, with
/// exponential backoff and full jitter ([`ReconnectConfig`]). The adapters
/// make one (`ws_tokio::reconnecting`, `ws_async_std::reconnecting`); the
/// loop is the same on each:
///
/// ```
/// use futures_util::StreamExt;
/// use ws_driver::{Connect, Reconnect, ReconnectEvent, Transport};
///
/// async fn follow<R: Connect + Transport<R::Stream>>(mut client: Reconnect<R>) -> ws_driver::Error {
///     while let Some(event) = client.next().await {
///         match event {
///             ReconnectEvent::Connected(mut socket, _) => {
///                 // Runs on every (re)connection: subscribe again here.
///                 if socket.send(ws_core::Message::text("subscribe prices")).await.is_err() {
///                     continue;
///                 }
///                 while let Some(Ok(message)) = socket.next().await {
///                     println!("{message:?}");
///                 }
///             }
///             ReconnectEvent::Retrying { error, after } => eprintln!("retrying in {after:?}: {error:?}"),
///             ReconnectEvent::GaveUp(error) => return error,
///         }
///     }
///     unreachable!("GaveUp comes before the end")
/// }
/// ```
///
/// Messages are sent on the socket of the moment: a send on a connection
/// that ended fails with a typed error, and what was sent but not answered
/// when it ended is the application's to send again. Between connections,
/// [`queue`](Self::queue) keeps messages for the next one, within
/// [`ReconnectConfig::queue_while_disconnected`] (by default it hands them
/// back), and [`send_queued`](Self::send_queued) sends them once the
/// connection is set up; none is dropped silently: what the queue cannot
/// take is handed back, and [`take_queued`](Self::take_queued) hands back
/// what it holds (after [`ReconnectEvent::GaveUp`], say). To stop, stop
/// calling `next` (a clean close of the last socket ends it).
///
/// What every connection needs before the application uses it
/// (authenticate, resubscribe, send what was queued) can also be given once
/// as a hook, [`on_connect`](Self::on_connect): `next` runs it on each new
/// socket and hands out only the sockets it set up.
pub struct Reconnect<R: Connect> {
    request: http::Request<()>,
    config: ClientConfig,
    state: ReconnectState,
    outbox: Outbox,
    hook: Option<ConnectHook<<R as Connect>::Stream, R>>,
}

/// A hook a [`Reconnect`] runs on every new connection
/// ([`Reconnect::on_connect`]): it borrows the socket and the queue of
/// messages kept while disconnected, and its future sets the connection up.
pub type ConnectHook<S, R> = Box<
    dyn for<'a> FnMut(
            &'a mut WebSocket<S, R>,
            &'a mut Outbox,
        ) -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>
        + Send,
>;

impl<R: Connect> std::fmt::Debug for Reconnect<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconnect")
            .field("request", &self.request)
            .field("config", &self.config)
            .field("state", &self.state)
            .field("outbox", &self.outbox)
            .field("hook", &self.hook.as_ref().map(|_| "FnMut"))
            .finish()
    }
}

impl<R> Reconnect<R>
where
    R: Connect + Transport<<R as Connect>::Stream>,
{
    /// A reconnecting client for `request` (connecting with `config`); it
    /// connects on the first call to [`next`](Self::next).
    ///
    /// # Errors
    ///
    /// [`Error::Uri`] when the request is no WebSocket URI.
    pub fn new(
        request: impl IntoClientRequest,
        config: ClientConfig,
        policy: ReconnectConfig,
    ) -> Result<Self, Error> {
        let request = request.into_client_request()?;
        ws_handshake::Target::from_uri(request.uri())?;
        Ok(Reconnect {
            request,
            config,
            outbox: Outbox::new(policy.queue_while_disconnected),
            state: ReconnectState::new(policy),
            hook: None,
        })
    }

    /// Runs `hook` on every new connection before [`next`](Self::next)
    /// hands it out: the place to authenticate, resubscribe and send what
    /// was queued while disconnected ([`Outbox::send_on`]). A hook that
    /// fails counts as a failed attempt: the socket is dropped and its
    /// error decides, as a connect error would ([`retry_decision`]), whether
    /// `next` says [`ReconnectEvent::Retrying`] or
    /// [`ReconnectEvent::GaveUp`]. The backoff is reset only by connections
    /// the hook set up.
    ///
    /// ```
    /// use ws_driver::{Connect, Reconnect, Transport};
    ///
    /// fn subscribing<R: Connect + Transport<R::Stream>>(client: Reconnect<R>) -> Reconnect<R> {
    ///     client.on_connect(|socket, queued| {
    ///         Box::pin(async move {
    ///             socket.send(ws_core::Message::text("subscribe prices")).await?;
    ///             queued.send_on(socket).await?;
    ///             Ok(())
    ///         })
    ///     })
    /// }
    /// ```
    pub fn on_connect<F>(mut self, hook: F) -> Self
    where
        F: for<'a> FnMut(
                &'a mut WebSocket<<R as Connect>::Stream, R>,
                &'a mut Outbox,
            )
                -> Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>
            + Send
            + 'static,
    {
        self.hook = Some(Box::new(hook));
        self
    }

    /// Keeps `message` for the next connection, to be sent by
    /// [`send_queued`](Self::send_queued), in the order queued.
    ///
    /// # Errors
    ///
    /// The message back: [`QueueError::Refused`] when queueing is off,
    /// [`QueueError::Full`] at the [`QueueLimit`].
    pub fn queue(&mut self, message: Message) -> Result<(), QueueError> {
        self.outbox.push(message)
    }

    /// How many messages wait for a connection.
    pub fn queued(&self) -> usize {
        self.outbox.len()
    }

    /// Hands back every queued message, in order, emptying the queue.
    pub fn take_queued(&mut self) -> Vec<Message> {
        self.outbox.take_all()
    }

    /// Sends the queued messages on `socket` in order (call it once the
    /// connection is set up: after authenticating, resubscribing) and
    /// returns how many went out. A message whose send failed stays first
    /// in the queue for the next connection, so it is sent at least once;
    /// the ones after it wait too.
    ///
    /// Cancel safety: not cancel-safe; a message being sent when cancelled
    /// stays queued (and may go out twice).
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send`], for the message that stays queued.
    pub async fn send_queued(
        &mut self,
        socket: &mut WebSocket<<R as Connect>::Stream, R>,
    ) -> Result<usize, Error> {
        self.outbox.send_on(socket).await
    }

    /// Connects (at once the first time; after the announced wait when the
    /// last event was [`ReconnectEvent::Retrying`]), or says why not.
    ///
    /// Cancel safety: cancel-safe while waiting; dropping it mid-connect
    /// drops that attempt.
    pub async fn next(&mut self) -> Option<ReconnectEvent<<R as Connect>::Stream, R>> {
        let wait = match self.state.next_step(Instant::now()) {
            NextStep::Over => return None,
            NextStep::Announce(after) => {
                return Some(ReconnectEvent::Retrying { error: None, after })
            }
            NextStep::Connect(wait) => wait,
        };
        if let Some(wait) = wait {
            let mut timer = R::Timer::at(Instant::now() + wait);
            std::future::poll_fn(|cx| timer.poll_fired(cx)).await;
        }
        let request = clone_request(&self.request);
        let attempt = match connect::<R>(request, &self.config).await {
            Ok((mut socket, response)) => match &mut self.hook {
                Some(hook) => hook(&mut socket, &mut self.outbox)
                    .await
                    .map(|()| (socket, response)),
                None => Ok((socket, response)),
            },
            Err(error) => Err(error),
        };
        match attempt {
            Ok((socket, response)) => {
                self.state.connected(Instant::now());
                Some(ReconnectEvent::Connected(socket, response))
            }
            Err(error) => Some(match self.state.failed(&error) {
                Some(after) => ReconnectEvent::Retrying {
                    error: Some(error),
                    after,
                },
                None => ReconnectEvent::GaveUp(error),
            }),
        }
    }
}

/// A copy of a body-less request (`http::Request` is not `Clone`), for an
/// attempt of a reconnecting client.
pub fn clone_request(request: &http::Request<()>) -> http::Request<()> {
    let mut copy = http::Request::new(());
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    copy
}
