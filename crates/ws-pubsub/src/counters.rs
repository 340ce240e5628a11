//! What a hub has done: counters any thread updates and reads.

use std::sync::atomic::{AtomicU64, Ordering};

/// What a hub has done so far; read with [`Hub::counters`](crate::Hub::counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// Messages published (once each, however many subscribers).
    pub published: u64,
    /// Messages handed to subscribers' sockets (once per subscriber).
    pub delivered: u64,
    /// Messages dropped for slow subscribers (once per subscriber).
    pub dropped: u64,
    /// Subscribers closed for slowness ([`SlowPolicy::Close`](crate::SlowPolicy::Close)).
    pub disconnected: u64,
    /// Messages published here that the backplane could not take or
    /// lost (it was down, or its connection broke with them queued): the
    /// other processes did not get them. Local subscribers did.
    pub lost: u64,
    /// Messages other processes published, delivered here through the
    /// backplane (once each, however many subscribers).
    pub remote: u64,
}

/// The counters as the hub and the inboxes update them.
#[derive(Debug, Default)]
pub(crate) struct CounterCells {
    pub(crate) published: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) disconnected: AtomicU64,
    pub(crate) lost: AtomicU64,
    pub(crate) remote: AtomicU64,
}

impl CounterCells {
    pub(crate) fn add(cell: &AtomicU64, count: u64) {
        if count > 0 {
            cell.fetch_add(count, Ordering::Relaxed);
        }
    }

    /// A snapshot.
    pub(crate) fn read(&self) -> Counters {
        Counters {
            published: self.published.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            disconnected: self.disconnected.load(Ordering::Relaxed),
            lost: self.lost.load(Ordering::Relaxed),
            remote: self.remote.load(Ordering::Relaxed),
        }
    }
}
