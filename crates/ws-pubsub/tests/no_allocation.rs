//! A publish allocates nothing per subscriber: once the subscribers' queues
//! have grown, publishing to 1,000 of them (and taking the messages out)
//! makes no allocation at all, whatever the count of subscribers.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use ws_core::PreparedMessage;
use ws_pubsub::{Hub, Inbox};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Counting is on for this thread: the test harness's own threads
    /// allocate when they like (printing, timing), and are not the hub.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: forwards to the system allocator unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTED.try_with(Cell::get).unwrap_or(false) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on as is.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn publish_and_drain(
    hub: &Hub,
    inboxes: &mut [Inbox],
    message: &PreparedMessage,
    batch: &mut Vec<PreparedMessage>,
) {
    for _ in 0..4 {
        assert_eq!(hub.publish("t", message), inboxes.len());
    }
    for inbox in inboxes.iter_mut() {
        inbox.try_recv_many(batch).unwrap();
        batch.clear();
    }
}

#[test]
fn publish_to_1000_subscribers_allocates_nothing_once_queues_have_grown() {
    let hub = Hub::default();
    let mut subscriptions = Vec::new();
    let mut inboxes = Vec::new();
    for _ in 0..1000 {
        let (subscription, inbox) = hub.join();
        subscription.subscribe("t");
        subscriptions.push(subscription);
        inboxes.push(inbox);
    }
    let message = PreparedMessage::text("a price");
    let mut batch = Vec::with_capacity(16);
    // Warm up: each queue grows to hold four messages once.
    publish_and_drain(&hub, &mut inboxes, &message, &mut batch);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTED.with(|counted| counted.set(true));
    for _ in 0..10 {
        publish_and_drain(&hub, &mut inboxes, &message, &mut batch);
    }
    COUNTED.with(|counted| counted.set(false));
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert_eq!(
        allocations, 0,
        "40 publishes to 1000 subscribers allocated {allocations} times"
    );
    assert_eq!(hub.counters().delivered, 11 * 4 * 1000);
}
