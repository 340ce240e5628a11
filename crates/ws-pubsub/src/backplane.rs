//! Publishing across processes: what a hub asks of a backplane.

use ws_core::PreparedMessage;

/// A message bus between the processes that serve one application (Redis
/// pub/sub, NATS, ...), so that N processes behind a load balancer behave
/// as one [`Hub`](crate::Hub): a hub with a backplane attached
/// ([`Hub::attach_backplane`](crate::Hub::attach_backplane)) hands every
/// publish to it as well as to its own subscribers, and tells it which
/// topics it has subscribers for; the backplane delivers what other
/// processes publish through the hub's [`RemoteHub`](crate::RemoteHub).
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
