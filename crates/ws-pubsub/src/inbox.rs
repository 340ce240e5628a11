//! One subscriber's bounded queue, and the receiving end that forwards it
//! to the socket.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;
use ws_core::{CloseFrame, PreparedMessage};

use crate::config::SlowPolicy;
use crate::counters::CounterCells;

/// What [`Inbox::recv_many`] has for its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery {
    /// This many messages were appended to the batch, oldest first: write
    /// them, then flush once.
    Messages(usize),
    /// The subscriber fell behind by more than the hub's queue limit under
    /// [`SlowPolicy::Close`]: what was queued is dropped; send this close
    /// frame (1008 or 1013 with a reason) and stop.
    TooSlow(CloseFrame),
    /// Every [`Subscription`](crate::Subscription) handle is gone and the
    /// queue is empty: nothing more will come.
    Ended,
}

/// What a publish did to one queue.
pub(crate) enum Push {
    /// Queued; `dropped` older messages made room for it.
    Queued { dropped: u64 },
    /// Not queued: larger than the limit on its own.
    Dropped,
    /// The queue overflowed under the close policy: emptied and closed.
    Closed { dropped: u64 },
    /// The subscriber is closing or gone.
    Ignored,
}

#[derive(Debug)]
struct Queued {
    topic: u32,
    message: PreparedMessage,
}

#[derive(Debug, Default)]
struct Queue {
    items: VecDeque<Queued>,
    bytes: usize,
    too_slow: Option<CloseFrame>,
    /// All subscription handles dropped.
    ended: bool,
    /// The inbox dropped: nobody reads.
    unread: bool,
    /// A thread waits in `recv_many_blocking`.
    thread_waiting: bool,
}

/// The queue a publish writes into and an [`Inbox`] reads from.
#[derive(Debug, Default)]
pub(crate) struct Mailbox {
    queue: Mutex<Queue>,
    waker: AtomicWaker,
    thread: Condvar,
}

impl Mailbox {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // A panic elsewhere while holding the lock leaves a queue that is
        // still consistent (every change is one step): keep using it.
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Queues `message` for `topic` under the hub's limit and policy.
    pub(crate) fn push(
        &self,
        topic: u32,
        message: &PreparedMessage,
        limit: usize,
        policy: &SlowPolicy,
    ) -> Push {
        let len = message.frame_len();
        let mut queue = self.lock();
        if queue.too_slow.is_some() || queue.ended || queue.unread {
            return Push::Ignored;
        }
        if len > limit {
            // Could never fit: dropped for this subscriber whatever the
            // policy, without touching what waits.
            return Push::Dropped;
        }
        let mut dropped = 0;
        if queue.bytes.saturating_add(len) > limit {
            match policy {
                SlowPolicy::DropOldest => {}
                SlowPolicy::Conflate => {
                    // Only the newest message of a topic matters: the
                    // older ones of this topic go first.
                    let before = queue.items.len();
                    let mut freed = 0;
                    queue.items.retain(|item| {
                        let keep = item.topic != topic;
                        if !keep {
                            freed += item.message.frame_len();
                        }
                        keep
                    });
                    queue.bytes -= freed;
                    dropped += (before - queue.items.len()) as u64;
                }
                SlowPolicy::Close { code, reason } => {
                    let dropped = queue.items.len() as u64 + 1;
                    queue.items.clear();
                    queue.bytes = 0;
                    queue.too_slow = Some(CloseFrame {
                        code: *code,
                        reason: reason.clone(),
                    });
                    self.wake(queue);
                    return Push::Closed { dropped };
                }
            }
            while queue.bytes.saturating_add(len) > limit {
                let Some(old) = queue.items.pop_front() else {
                    break;
                };
                queue.bytes -= old.message.frame_len();
                dropped += 1;
            }
        }
        let was_empty = queue.items.is_empty();
        queue.items.push_back(Queued {
            topic,
            message: message.clone(),
        });
        queue.bytes += len;
        if was_empty {
            // Only an empty queue has a reader that may be waiting: one
            // that is busy writing a batch comes back for more by itself.
            self.wake(queue);
        }
        Push::Queued { dropped }
    }

    /// Wakes the reader, after letting go of the lock.
    fn wake(&self, queue: MutexGuard<'_, Queue>) {
        let thread_waiting = queue.thread_waiting;
        drop(queue);
        self.waker.wake();
        if thread_waiting {
            self.thread.notify_one();
        }
    }

    /// No more subscription handles: the reader ends once the queue is empty.
    pub(crate) fn end(&self) {
        let mut queue = self.lock();
        queue.ended = true;
        self.wake(queue);
    }

    pub(crate) fn queued_bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Moves what waits into `batch`; `None` when nothing does.
    fn take(queue: &mut Queue, batch: &mut Vec<PreparedMessage>) -> Option<Delivery> {
        if let Some(close) = &queue.too_slow {
            return Some(Delivery::TooSlow(close.clone()));
        }
        if !queue.items.is_empty() {
            let count = queue.items.len();
            batch.extend(queue.items.drain(..).map(|item| item.message));
            queue.bytes = 0;
            return Some(Delivery::Messages(count));
        }
        queue.ended.then_some(Delivery::Ended)
    }
}

/// The receiving end of one subscriber: what was published to its topics,
/// in order, to write to its socket. Made by [`Hub::join`](crate::Hub::join)
/// with the [`Subscription`](crate::Subscription) that chooses the topics.
///
/// A publish never waits for an inbox: it queues into it, and when the
/// queue would pass the hub's [`max_queued_bytes`](crate::HubConfig::max_queued_bytes)
/// the hub's [`SlowPolicy`] decides. The crate's `forward` is the
/// loop that writes an inbox to a socket; `recv_many` is for a loop of
/// one's own.
#[derive(Debug)]
pub struct Inbox {
    mailbox: Arc<Mailbox>,
    counters: Arc<CounterCells>,
}

impl Inbox {
    pub(crate) fn new(mailbox: Arc<Mailbox>, counters: Arc<CounterCells>) -> Self {
        Inbox { mailbox, counters }
    }

    /// Waits until something is queued, then appends all of it to `batch`
    /// (which it does not clear): take everything at once, write it, flush
    /// once.
    ///
    /// Cancel safety: cancel-safe; messages leave the queue only when this
    /// returns them.
    pub async fn recv_many(&mut self, batch: &mut Vec<PreparedMessage>) -> Delivery {
        poll_fn(|cx| self.poll_recv_many(cx, batch)).await
    }

    /// [`recv_many`](Self::recv_many) as a poll function.
    pub fn poll_recv_many(
        &mut self,
        cx: &mut Context<'_>,
        batch: &mut Vec<PreparedMessage>,
    ) -> Poll<Delivery> {
        if let Some(delivery) = self.try_recv_many(batch) {
            return Poll::Ready(delivery);
        }
        self.mailbox.waker.register(cx.waker());
        // A publish between the check above and the registration woke no
        // one: look again.
        match self.try_recv_many(batch) {
            Some(delivery) => Poll::Ready(delivery),
            None => Poll::Pending,
        }
    }

    /// What waits now, without waiting: `None` when nothing does.
    pub fn try_recv_many(&mut self, batch: &mut Vec<PreparedMessage>) -> Option<Delivery> {
        let delivery = Mailbox::take(&mut self.mailbox.lock(), batch);
        self.count(&delivery);
        delivery
    }

    /// Blocks the thread until something is queued or `timeout` passes
    /// (`None` when it passed first), for a blocking server
    /// (a thread that only forwards; a thread that also reads its socket uses
    /// `forward_pending` with the `blocking` feature).
    pub fn recv_many_blocking(
        &mut self,
        batch: &mut Vec<PreparedMessage>,
        timeout: Option<Duration>,
    ) -> Option<Delivery> {
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        let mut queue = self.mailbox.lock();
        let delivery = loop {
            if let Some(delivery) = Mailbox::take(&mut queue, batch) {
                break Some(delivery);
            }
            queue.thread_waiting = true;
            queue = match deadline {
                None => (self.mailbox.thread.wait(queue)).unwrap_or_else(|p| p.into_inner()),
                Some(deadline) => {
                    let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                        queue.thread_waiting = false;
                        break None;
                    };
                    match self.mailbox.thread.wait_timeout(queue, left) {
                        Ok((queue, _)) => queue,
                        Err(poisoned) => poisoned.into_inner().0,
                    }
                }
            };
            queue.thread_waiting = false;
        };
        drop(queue);
        self.count(&delivery);
        delivery
    }

    /// How many bytes of frames wait in the queue (not yet taken).
    pub fn queued_bytes(&self) -> usize {
        self.mailbox.queued_bytes()
    }

    fn count(&self, delivery: &Option<Delivery>) {
        if let Some(Delivery::Messages(count)) = delivery {
            CounterCells::add(&self.counters.delivered, *count as u64);
        }
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        let mut queue = self.mailbox.lock();
        queue.unread = true;
        queue.items.clear();
        queue.bytes = 0;
    }
}
