//! Graceful server shutdown: tell every connection to close with 1001, then
//! wait for their close handshakes up to a deadline.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use event_listener::Event;

use crate::runtime::{timeout, Runtime};

/// A shutdown signal shared by a server and its connections, on any runtime.
///
/// Each connection task holds a [`Tracked`] from [`Shutdown::track`], waits
/// for [`Shutdown::triggered`] next to its socket, and when it fires closes
/// with 1001 Going Away ([RFC 6455 section 7.4.1]):
///
/// ```text
/// let _tracked = shutdown.track();
/// loop {
///     select! {
///         message = socket.next() => { /* handle it; None ends the loop */ }
///         () = shutdown.triggered() => {
///             let _ = socket.close(CloseCode::GOING_AWAY, "server shutting down").await;
///             break;
///         }
///     }
/// }
/// ```
///
/// The server then calls [`Shutdown::trigger`] and
/// [`Shutdown::drain`]`(deadline)`, which returns once every tracked
/// connection has ended (their close handshakes done, or given up on after
/// the connection's close timeout), or at the deadline.
///
/// [RFC 6455 section 7.4.1]: https://www.rfc-editor.org/rfc/rfc6455#section-7.4.1
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    triggered: AtomicBool,
    live: AtomicUsize,
    on_trigger: Event,
    on_drained: Event,
}

impl std::fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shutdown")
            .field("triggered", &self.is_triggered())
            .field("connections", &self.connections())
            .finish()
    }
}

impl Shutdown {
    /// A signal not yet triggered, tracking no connection.
    pub fn new() -> Self {
        Shutdown::default()
    }

    /// Counts a connection until the returned guard is dropped.
    pub fn track(&self) -> Tracked {
        self.inner.live.fetch_add(1, Ordering::SeqCst);
        Tracked {
            inner: self.inner.clone(),
        }
    }

    /// How many tracked connections are still alive.
    pub fn connections(&self) -> usize {
        self.inner.live.load(Ordering::SeqCst)
    }

    /// Starts the shutdown: every [`Shutdown::triggered`] future completes.
    pub fn trigger(&self) {
        self.inner.triggered.store(true, Ordering::SeqCst);
        self.inner.on_trigger.notify(usize::MAX);
    }

    /// Whether [`Shutdown::trigger`] was called.
    pub fn is_triggered(&self) -> bool {
        self.inner.triggered.load(Ordering::SeqCst)
    }

    /// Completes once the shutdown is triggered (at once if it already was).
    ///
    /// Cancel safety: cancel-safe; it only waits.
    pub fn triggered(&self) -> impl Future<Output = ()> + Send + 'static {
        let inner = self.inner.clone();
        async move {
            loop {
                if inner.triggered.load(Ordering::SeqCst) {
                    return;
                }
                let listener = inner.on_trigger.listen();
                if inner.triggered.load(Ordering::SeqCst) {
                    return;
                }
                listener.await;
            }
        }
    }

    /// Waits until no tracked connection is left, or `deadline` passes;
    /// returns how many were still alive (0 when all closed in time).
    ///
    /// Cancel safety: cancel-safe; it only waits.
    pub async fn drain<R: Runtime>(&self, deadline: Duration) -> usize {
        let inner = self.inner.clone();
        let drained = async move {
            loop {
                if inner.live.load(Ordering::SeqCst) == 0 {
                    return;
                }
                let listener = inner.on_drained.listen();
                if inner.live.load(Ordering::SeqCst) == 0 {
                    return;
                }
                listener.await;
            }
        };
        let _ = timeout::<R, _>(deadline, drained).await;
        self.connections()
    }
}

/// A connection counted by a [`Shutdown`] until this is dropped.
#[derive(Debug)]
#[must_use = "the connection is counted only while this is held"]
pub struct Tracked {
    inner: Arc<Inner>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if self.inner.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.inner.on_drained.notify(usize::MAX);
        }
    }
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner").finish_non_exhaustive()
    }
}
