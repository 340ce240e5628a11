//! The hub: topics, who is subscribed to them, and publishing.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak};

use ws_core::PreparedMessage;

use crate::backplane::Backplane;
use crate::config::HubConfig;
use crate::counters::{CounterCells, Counters};
use crate::inbox::{Inbox, Mailbox, Push};

#[derive(Debug)]
struct Topic {
    id: u32,
    subscribers: Vec<Arc<Mailbox>>,
}

#[derive(Debug, Default)]
struct Topics {
    by_name: HashMap<Box<str>, Topic>,
    next_id: u32,
}

pub(crate) struct HubInner {
    config: HubConfig,
    topics: RwLock<Topics>,
    counters: Arc<CounterCells>,
    backplane: OnceLock<Arc<dyn Backplane>>,
}

impl std::fmt::Debug for HubInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("config", &self.config)
            .field("counters", &self.counters)
            .field("backplane", &self.backplane.get().is_some())
            .finish_non_exhaustive()
    }
}

impl HubInner {
    fn read(&self) -> RwLockReadGuard<'_, Topics> {
        self.topics.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Topics> {
        self.topics.write().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn count_lost(&self, count: u64) {
        self.counters.lost.fetch_add(count, Ordering::Relaxed);
    }

    /// Queues `message` for this process's subscribers of `topic`.
    pub(crate) fn deliver(&self, topic: &str, message: &PreparedMessage, remote: bool) -> usize {
        if remote {
            self.counters.remote.fetch_add(1, Ordering::Relaxed);
        }
        let (limit, policy) = (self.config.max_queued_bytes, &self.config.slow);
        let (mut queued, mut dropped, mut disconnected) = (0, 0, 0);
        {
            let topics = self.read();
            let Some(entry) = topics.by_name.get(topic) else {
                return 0;
            };
            for mailbox in &entry.subscribers {
                match mailbox.push(entry.id, message, limit, policy) {
                    Push::Queued { dropped: d } => {
                        queued += 1;
                        dropped += d;
                    }
                    Push::Dropped => dropped += 1,
                    Push::Closed { dropped: d } => {
                        dropped += d;
                        disconnected += 1;
                    }
                    Push::Ignored => {}
                }
            }
        }
        if dropped > 0 {
            self.counters.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
        if disconnected > 0 {
            self.counters
                .disconnected
                .fetch_add(disconnected, Ordering::Relaxed);
        }
        slow_consumers(topic, dropped, disconnected);
        queued
    }

    fn unsubscribe(&self, topic: &str, mailbox: &Arc<Mailbox>) {
        let mut topics = self.write();
        let Some(entry) = topics.by_name.get_mut(topic) else {
            return;
        };
        if let Some(at) = entry
            .subscribers
            .iter()
            .position(|m| Arc::ptr_eq(m, mailbox))
        {
            entry.subscribers.swap_remove(at);
        }
        if entry.subscribers.is_empty() {
            topics.by_name.remove(topic);
            if let Some(backplane) = self.backplane.get() {
                backplane.unsubscribe(topic);
            }
        }
    }
}

/// Topics and their subscribers, in one process: what a chat room, a price
/// feed or a leaderboard publishes through. Cheap to clone (one shared
/// hub); share it between connection tasks.
///
/// Each socket [`join`](Self::join)s the hub and gets a [`Subscription`]
/// (subscribe and unsubscribe, from the task that reads the socket) and an
/// [`Inbox`] (what was published to its topics, for the task that writes
/// it, with the crate's `forward`). A [`publish`](Self::publish)
/// frames the message once ([`PreparedMessage`]) and queues a reference to
/// it for every subscriber of the topic: O(subscribers), no allocation per
/// subscriber once their queues have grown, and it never waits for one.
///
/// ```
/// use ws_core::PreparedMessage;
/// use ws_pubsub::{Delivery, Hub, HubConfig};
///
/// let hub = Hub::new(HubConfig::default());
/// let (alice, mut alice_inbox) = hub.join();
/// let (bob, _bob_inbox) = hub.join();
/// alice.subscribe("room:1");
/// bob.subscribe("room:2");
/// assert_eq!(hub.publish("room:1", &PreparedMessage::text("hi")), 1);
///
/// let mut batch = Vec::new();
/// assert_eq!(alice_inbox.try_recv_many(&mut batch), Some(Delivery::Messages(1)));
/// assert_eq!(batch[0].payload().as_ref(), b"hi");
/// assert_eq!(hub.counters().delivered, 1);
/// ```
#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<HubInner>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(HubConfig::default())
    }
}

impl Hub {
    /// A hub with no topics.
    pub fn new(config: HubConfig) -> Self {
        Hub {
            inner: Arc::new(HubInner {
                config,
                topics: RwLock::default(),
                counters: Arc::default(),
                backplane: OnceLock::new(),
            }),
        }
    }

    /// Its settings.
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// A new subscriber, subscribed to nothing yet: the [`Subscription`]
    /// that chooses its topics and the [`Inbox`] that receives them.
    /// Dropping every clone of the subscription unsubscribes it from all of
    /// its topics (the inbox then ends once empty); dropping the inbox
    /// stops queueing for it.
    pub fn join(&self) -> (Subscription, Inbox) {
        let mailbox = Arc::new(Mailbox::default());
        let member = Member {
            hub: self.inner.clone(),
            mailbox: mailbox.clone(),
            topics: Mutex::default(),
        };
        (
            Subscription {
                member: Arc::new(member),
            },
            Inbox::new(mailbox, self.inner.counters.clone()),
        )
    }

    /// Queues `message` for every subscriber of `topic` and returns how
    /// many took it (0 for a topic nobody is subscribed to). Slow
    /// subscribers are handled by the hub's [`SlowPolicy`](crate::SlowPolicy) here, without
    /// waiting.
    pub fn publish(&self, topic: &str, message: &PreparedMessage) -> usize {
        let inner = &*self.inner;
        inner.counters.published.fetch_add(1, Ordering::Relaxed);
        if let Some(backplane) = inner.backplane.get() {
            if !backplane.publish(topic, message) {
                inner.count_lost(1);
            }
        }
        inner.deliver(topic, message, false)
    }

    /// Attaches the bus to the other processes of this application: from
    /// now on every publish also goes to it, and it is told which topics
    /// have subscribers here (those that already do, at once). A hub has at
    /// most one; `Err` gives the backplane back when one is attached.
    ///
    /// # Errors
    ///
    /// The backplane itself, when the hub already has one.
    pub fn attach_backplane(
        &self,
        backplane: Arc<dyn Backplane>,
    ) -> Result<(), Arc<dyn Backplane>> {
        let topics = self.inner.write();
        self.inner.backplane.set(backplane.clone())?;
        for topic in topics.by_name.keys() {
            backplane.subscribe(topic);
        }
        Ok(())
    }

    /// The hub as a backplane holds it, to deliver what other processes
    /// publish.
    pub fn remote(&self) -> RemoteHub {
        RemoteHub::new(&self.inner)
    }

    /// The counters so far.
    pub fn counters(&self) -> Counters {
        self.inner.counters.read()
    }

    /// How many subscribers `topic` has.
    pub fn subscriber_count(&self, topic: &str) -> usize {
        self.inner
            .read()
            .by_name
            .get(topic)
            .map_or(0, |t| t.subscribers.len())
    }

    /// How many topics have at least one subscriber.
    pub fn topic_count(&self) -> usize {
        self.inner.read().by_name.len()
    }
}

#[derive(Debug)]
struct Member {
    hub: Arc<HubInner>,
    mailbox: Arc<Mailbox>,
    topics: Mutex<Vec<Box<str>>>,
}

impl Member {
    fn topics(&self) -> std::sync::MutexGuard<'_, Vec<Box<str>>> {
        self.topics.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        let topics = std::mem::take(&mut *self.topics());
        for topic in &topics {
            self.hub.unsubscribe(topic, &self.mailbox);
        }
        self.mailbox.end();
    }
}

/// The topics one subscriber is subscribed to; made by [`Hub::join`].
/// Clones share the subscriber. When the last clone is dropped (typically
/// when the task that reads the socket sees it close), the subscriber
/// leaves every topic and its [`Inbox`] ends.
#[derive(Debug, Clone)]
pub struct Subscription {
    member: Arc<Member>,
}

impl Subscription {
    /// Subscribes to `topic`; false when already subscribed.
    pub fn subscribe(&self, topic: &str) -> bool {
        let member = &*self.member;
        let mut mine = member.topics();
        if mine.iter().any(|t| &**t == topic) {
            return false;
        }
        let mut topics = member.hub.write();
        let topics = &mut *topics;
        let entry = topics.by_name.entry(topic.into()).or_insert_with(|| {
            topics.next_id = topics.next_id.wrapping_add(1);
            if let Some(backplane) = member.hub.backplane.get() {
                backplane.subscribe(topic);
            }
            Topic {
                id: topics.next_id,
                subscribers: Vec::new(),
            }
        });
        entry.subscribers.push(member.mailbox.clone());
        mine.push(topic.into());
        true
    }

    /// Unsubscribes from `topic`; false when not subscribed. Messages of
    /// it already queued are still delivered.
    pub fn unsubscribe(&self, topic: &str) -> bool {
        let member = &*self.member;
        let mut mine = member.topics();
        let Some(at) = mine.iter().position(|t| &**t == topic) else {
            return false;
        };
        mine.swap_remove(at);
        member.hub.unsubscribe(topic, &member.mailbox);
        true
    }

    /// Whether it is subscribed to `topic`.
    pub fn is_subscribed(&self, topic: &str) -> bool {
        self.member.topics().iter().any(|t| &**t == topic)
    }

    /// The topics it is subscribed to.
    pub fn topics(&self) -> Vec<String> {
        self.member.topics().iter().map(|t| t.to_string()).collect()
    }

    /// How many bytes of frames wait in its queue.
    pub fn queued_bytes(&self) -> usize {
        self.member.mailbox.queued_bytes()
    }

    /// The hub it belongs to.
    pub fn hub(&self) -> Hub {
        Hub {
            inner: self.member.hub.clone(),
        }
    }
}

/// The hub as a backplane sees it: where it delivers what other processes
/// published, and where it reports what it lost after accepting it. Holds
/// the hub weakly: a backplane does not keep a dropped hub alive.
#[derive(Debug, Clone)]
pub struct RemoteHub {
    hub: Weak<HubInner>,
}

impl RemoteHub {
    pub(crate) fn new(hub: &Arc<HubInner>) -> Self {
        RemoteHub {
            hub: Arc::downgrade(hub),
        }
    }

    /// Delivers a message another process published to this process's
    /// subscribers of `topic` (not back to the backplane); returns how many
    /// took it, `None` once the hub is gone.
    pub fn deliver(&self, topic: &str, message: &PreparedMessage) -> Option<usize> {
        let hub = self.hub.upgrade()?;
        Some(hub.deliver(topic, message, true))
    }

    /// Counts `count` messages the backplane had accepted but could not
    /// send (the connection broke with them queued).
    pub fn count_lost(&self, count: u64) {
        if let Some(hub) = self.hub.upgrade() {
            hub.count_lost(count);
        }
    }

    /// Whether the hub still exists.
    pub fn is_alive(&self) -> bool {
        self.hub.strong_count() > 0
    }
}

/// The `tracing` event of one delivery that met slow subscribers (the
/// `tracing` feature; a no-op without it): `dropped` messages dropped from
/// their queues, `disconnected` subscribers closed by the slow policy.
#[inline]
fn slow_consumers(topic: &str, dropped: u64, disconnected: u64) {
    #[cfg(feature = "tracing")]
    {
        if disconnected > 0 {
            tracing::warn!(target: "ws_pubsub", topic, dropped, disconnected, "slow subscribers closed");
        } else if dropped > 0 {
            tracing::debug!(target: "ws_pubsub", topic, dropped, "slow subscribers: messages dropped");
        }
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (topic, dropped, disconnected);
}
