//! Publishing across processes: what a hub asks of a backplane.

use std::sync::{Arc, Weak};

use ws_core::PreparedMessage;

use crate::hub::HubInner;

/// A message bus between the processes that serve one application (Redis
/// pub/sub, NATS, ...), so that N processes behind a load balancer behave
/// as one [`Hub`](crate::Hub): a hub with a backplane attached
/// ([`Hub::attach_backplane`](crate::Hub::attach_backplane)) hands every
/// publish to it as well as to its own subscribers, and tells it which
/// topics it has subscribers for; the backplane delivers what other
/// processes publish through the hub's [`RemoteHub`].
///
/// Every method is called from inside a publish or a subscribe, so none
/// may wait: a backplane queues and does its I/O elsewhere.
pub trait Backplane: Send + Sync + 'static {
    /// The hub now has a subscriber for `topic` (its first): receive what
    /// other processes publish to it.
    fn subscribe(&self, topic: &str);
    /// The hub's last subscriber of `topic` left.
    fn unsubscribe(&self, topic: &str);
    /// Sends a message published here to the other processes; false when
    /// it cannot be taken now (the bus is down, or its queue is full): the
    /// hub counts it as lost ([`Counters::lost`](crate::Counters::lost)).
    fn publish(&self, topic: &str, message: &PreparedMessage) -> bool;
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
