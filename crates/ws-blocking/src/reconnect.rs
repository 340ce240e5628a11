//! A client that stays connected, on `std::net`: the same policy as the
//! async adapters' (`ws_driver::ReconnectState`: exponential backoff with
//! full jitter, `Retry-After`, no retry on refusals that will not change),
//! waited out with `std::thread::sleep`, as an [`Iterator`] of events.

use std::time::{Duration, Instant};

use ws_core::Message;
use ws_driver::{
    clone_request, ClientConfig, Error, IntoClientRequest, NextStep, Outbox, QueueError,
    ReconnectConfig, ReconnectState,
};

use crate::{MaybeTlsStream, WebSocket};

/// What [`Reconnect::next`] has to say.
// The socket is moved out once per connection; boxing it would cost every
// user a `*socket` for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum ReconnectEvent {
    /// Connected: the socket and the server's 101 response. Run the
    /// connection's set-up (authenticate, resubscribe, then
    /// [`Reconnect::send_queued`]) and read it until it ends; then call
    /// `next` again.
    Connected(WebSocket<MaybeTlsStream>, http::Response<()>),
    /// The last connection ended or an attempt failed (`error`, `None` when
    /// the previous connection simply ended); the next call sleeps `after`
    /// and tries again.
    Retrying {
        /// Why the attempt failed.
        error: Option<Error>,
        /// How long the next call sleeps before connecting.
        after: Duration,
    },
    /// The attempts are over: an error that retrying cannot help, or
    /// `max_attempts` reached. The next call returns `None`.
    GaveUp(Error),
}

/// A blocking client that connects again whenever its connection ends, as
/// `ws_tokio::reconnecting` does on tokio:
///
/// ```no_run
/// use ws_blocking::{Message, ReconnectConfig, ReconnectEvent};
///
/// let feed = ws_blocking::reconnecting("ws://127.0.0.1:9001/feed", ReconnectConfig::default())?;
/// for event in feed {
///     match event {
///         ReconnectEvent::Connected(mut socket, _) => {
///             // Every (re)connection: subscribe again.
///             if socket.send(Message::text("subscribe prices")).is_err() {
///                 continue;
///             }
///             while let Some(Ok(message)) = socket.recv() {
///                 println!("{message:?}");
///             }
///         }
///         ReconnectEvent::Retrying { error, after } => eprintln!("retrying in {after:?} ({error:?})"),
///         ReconnectEvent::GaveUp(error) => return Err(error),
///     }
/// }
/// # Ok::<(), ws_blocking::Error>(())
/// ```
///
/// What every connection needs first (authenticate, resubscribe, send
/// what was queued) can be given once as [`Reconnect::on_connect`].
pub struct Reconnect {
    request: http::Request<()>,
    config: ClientConfig,
    state: ReconnectState,
    outbox: Outbox,
    hook: Option<ConnectHook>,
}

/// A hook a [`Reconnect`] runs on every new connection
/// ([`Reconnect::on_connect`]), with the queue of messages kept while
/// disconnected.
pub type ConnectHook =
    Box<dyn FnMut(&mut WebSocket<MaybeTlsStream>, &mut Outbox) -> Result<(), Error> + Send>;

impl std::fmt::Debug for Reconnect {
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

/// A reconnecting client for `request` with the default client settings;
/// it connects on the first call to `next`.
///
/// # Errors
///
/// [`Error::Uri`] when the request is no WebSocket URI.
pub fn reconnecting(
    request: impl IntoClientRequest,
    policy: ReconnectConfig,
) -> Result<Reconnect, Error> {
    reconnecting_with_config(request, ClientConfig::default(), policy)
}

/// [`reconnecting`] with a client configuration (TLS roots, proxy,
/// limits, handshake timeout) used for every attempt.
///
/// # Errors
///
/// As [`reconnecting`].
pub fn reconnecting_with_config(
    request: impl IntoClientRequest,
    config: ClientConfig,
    policy: ReconnectConfig,
) -> Result<Reconnect, Error> {
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

impl Reconnect {
    /// Runs `hook` on every new connection before `next` hands it out:
    /// the place to authenticate, resubscribe and send what was queued
    /// ([`send_queued_on`]). A hook that fails counts as a failed attempt:
    /// the socket is dropped and its error decides, as a connect error
    /// would, whether `next` says [`ReconnectEvent::Retrying`] or
    /// [`ReconnectEvent::GaveUp`].
    ///
    /// ```no_run
    /// use ws_blocking::{Message, ReconnectConfig};
    ///
    /// let feed = ws_blocking::reconnecting("ws://127.0.0.1:9001/feed", ReconnectConfig::default())?
    ///     .on_connect(|socket, queued| {
    ///         socket.send(Message::text("subscribe prices"))?;
    ///         ws_blocking::send_queued_on(queued, socket)?;
    ///         Ok(())
    ///     });
    /// # drop(feed);
    /// # Ok::<(), ws_blocking::Error>(())
    /// ```
    pub fn on_connect<F>(mut self, hook: F) -> Self
    where
        F: FnMut(&mut WebSocket<MaybeTlsStream>, &mut Outbox) -> Result<(), Error> + Send + 'static,
    {
        self.hook = Some(Box::new(hook));
        self
    }

    /// Keeps `message` for the next connection, to be sent by
    /// [`send_queued`](Self::send_queued), in the order queued.
    ///
    /// # Errors
    ///
    /// The message back: [`QueueError::Refused`] when queueing is off
    /// ([`ReconnectConfig::queue_while_disconnected`]), [`QueueError::Full`]
    /// at its limit.
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

    /// Sends the queued messages on `socket` in order (once the connection
    /// is set up) and returns how many went out. A message whose send
    /// failed stays first in the queue for the next connection.
    ///
    /// # Errors
    ///
    /// As [`WebSocket::send`], for the message that stays queued.
    pub fn send_queued(&mut self, socket: &mut WebSocket<MaybeTlsStream>) -> Result<usize, Error> {
        send_queued_on(&mut self.outbox, socket)
    }
}

/// Sends what `queued` holds on `socket` in order and returns how many
/// went out (for an [`on_connect`](Reconnect::on_connect) hook). A message
/// whose send failed stays first in the queue for the next connection.
///
/// # Errors
///
/// As [`WebSocket::send`], for the message that stays queued.
pub fn send_queued_on(
    queued: &mut Outbox,
    socket: &mut WebSocket<MaybeTlsStream>,
) -> Result<usize, Error> {
    let mut sent = 0;
    while let Some(message) = queued.front() {
        socket.send(message.clone())?;
        queued.pop_front();
        sent += 1;
    }
    Ok(sent)
}

impl Iterator for Reconnect {
    type Item = ReconnectEvent;

    /// Connects (at once the first time; after sleeping the announced wait
    /// when the last event was [`ReconnectEvent::Retrying`]), or says why
    /// not.
    fn next(&mut self) -> Option<ReconnectEvent> {
        let wait = match self.state.next_step(Instant::now()) {
            NextStep::Over => return None,
            NextStep::Announce(after) => {
                return Some(ReconnectEvent::Retrying { error: None, after })
            }
            NextStep::Connect(wait) => wait,
        };
        if let Some(wait) = wait {
            std::thread::sleep(wait);
        }
        let attempt = crate::connect_with_config(clone_request(&self.request), &self.config)
            .and_then(|(mut socket, response)| match &mut self.hook {
                Some(hook) => hook(&mut socket, &mut self.outbox).map(|()| (socket, response)),
                None => Ok((socket, response)),
            });
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
