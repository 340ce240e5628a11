//! When a driver must next tell the connection the time.

use std::time::{Duration, Instant};

/// What [`Connection::poll_timeout`](crate::Connection::poll_timeout) asks
/// of the driver: when to call
/// [`handle_timeout`](crate::Connection::handle_timeout) next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// Now: a timer is due to start (a close was sent, a message began to
    /// arrive, output waits, keepalive has no ping scheduled yet) and needs
    /// the current time. `handle_timeout(Instant::now())` starts it and
    /// fires nothing. A driver reads the clock only then, or when a
    /// deadline passes.
    Now,
    /// At this instant: arm a timer for it.
    At(Instant),
}

/// The longest a timeout is taken to be: longer ones (up to
/// `Duration::MAX`) mean "never" in practice, and a deadline this far ahead
/// cannot overflow an `Instant`.
const NEVER: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// `now + after`, for any `after`: a timeout past [`NEVER`] (or one the
/// platform's `Instant` cannot reach) is taken as the farthest reachable.
pub(crate) fn later(now: Instant, after: Duration) -> Instant {
    [
        after.min(NEVER),
        Duration::from_secs(365 * 24 * 60 * 60),
        Duration::from_secs(24 * 60 * 60),
    ]
    .into_iter()
    .find_map(|after| now.checked_add(after))
    .unwrap_or(now)
}
