//! Fan-out for WebSocket servers: topics, messages framed once for every
//! subscriber, and a policy for subscribers that read too slowly.
//!
//! ```text
//!   publish("prices", m) --> Hub --> Inbox (bounded, per socket) --> forward --> socket
//!                             |          full? SlowPolicy: drop oldest,
//!                             |          conflate per topic, or close 1008/1013
//!                          topics: name -> subscribers
//! ```
//!
//! A [`Hub`] holds topics and their subscribers. Each socket joins it and
//! gets a [`Subscription`] (which topics) and an [`Inbox`] (what they
//! publish); [`forward`] writes an inbox to a ws-driver socket or write
//! half on any runtime (ws-tokio, ws-async-std on async-std or smol), and
//! with the `blocking` feature `forward_pending` does it for ws-blocking.
//!
//! A publish frames the message once ([`PreparedMessage`], from ws-core:
//! the header encoded once, the payload shared, with permessage-deflate
//! compressed once for the subscribers that keep no context) and queues a
//! reference to it per subscriber; it never waits for a subscriber. A
//! subscriber's queue is bounded in bytes ([`HubConfig::max_queued_bytes`]);
//! what happens when it is full is the hub's [`SlowPolicy`]. [`Counters`]
//! say how many messages were published, delivered, dropped, and how many
//! subscribers were closed for slowness.
//!
//! Across processes, a [`Backplane`] (with the `redis` feature,
//! `RedisBackplane` on Redis pub/sub) makes the hubs of N server processes
//! behind a load balancer behave as one. Not done (yet): wildcard topics.
#![deny(missing_docs)]
#![warn(unreachable_pub)]
#![deny(unsafe_code)]

mod backplane;
mod config;
mod counters;
mod forward;
mod hub;
mod inbox;
#[cfg(feature = "redis")]
mod redis;

pub use backplane::Backplane;
pub use config::{HubConfig, SlowPolicy};
pub use counters::Counters;
#[cfg(feature = "blocking")]
pub use forward::forward_pending;
pub use forward::{forward, Forwarded, PreparedSink};
pub use hub::{Hub, RemoteHub, Subscription};
pub use inbox::{Delivery, Inbox};
#[cfg(feature = "redis")]
pub use redis::{RedisBackplane, RedisStatus};
pub use ws_core::PreparedMessage;
