//! A server's accept loop that survives the errors `accept` gives under
//! load: it retries at once when one incoming connection failed, backs off
//! when the process or the system ran out of something (descriptors,
//! buffers, memory), and gives up only when the listener itself is broken.

use std::future::{poll_fn, Future};
use std::io;
use std::time::{Duration, Instant};

use crate::runtime::{Runtime, Timer};

/// What to do after a listener's `accept` failed, and for how long to wait:
/// the policy of [`retry_accept`], for an accept loop written by hand (as
/// `ws_blocking::retry_accept` does with `std::thread::sleep`).
///
/// - An error of one incoming connection (`ECONNABORTED`, `ECONNRESET`,
///   `EINTR`, `ETIMEDOUT`, `EPROTO`: the client gave up before it was
///   accepted) is retried at once.
/// - An error of the listener itself (`EINVAL`: it is not listening;
///   `EBADF`, `ENOTSOCK`; an unsupported operation) is returned: retrying
///   cannot help.
/// - Any other error, chiefly `EMFILE`/`ENFILE` (no descriptor left for the
///   new connection), `ENOBUFS` and `ENOMEM`, is waited out: the connection
///   stays in the kernel's backlog while descriptors are freed, and the
///   wait doubles from 5 ms to 1 s so that the loop neither spins nor exits.
///   A success resets it. (`EAGAIN` from a non-blocking listener is waited
///   out too, rather than retried in a busy loop.)
///
/// ```
/// use std::io;
/// use std::time::Duration;
/// use ws_driver::{AcceptBackoff, AfterAcceptError};
///
/// let mut backoff = AcceptBackoff::new();
/// let emfile = io::Error::from_raw_os_error(24); // EMFILE on Linux
/// assert_eq!(backoff.after_error(&emfile), AfterAcceptError::Wait(Duration::from_millis(5)));
/// assert_eq!(backoff.after_error(&emfile), AfterAcceptError::Wait(Duration::from_millis(10)));
/// let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
/// assert_eq!(backoff.after_error(&aborted), AfterAcceptError::Retry);
/// let not_listening = io::Error::from(io::ErrorKind::InvalidInput);
/// assert_eq!(backoff.after_error(&not_listening), AfterAcceptError::GiveUp);
/// backoff.accepted();
/// assert_eq!(backoff.after_error(&emfile), AfterAcceptError::Wait(Duration::from_millis(5)));
/// ```
#[derive(Debug, Clone)]
pub struct AcceptBackoff {
    next: Duration,
}

/// What [`AcceptBackoff::after_error`] says to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAcceptError {
    /// Accept again now: the error belonged to one incoming connection.
    Retry,
    /// Wait this long, then accept again: a resource ran out.
    Wait(Duration),
    /// Return the error: the listener cannot accept any more.
    GiveUp,
}

impl AcceptBackoff {
    /// The first wait after a resource error.
    pub const FIRST_WAIT: Duration = Duration::from_millis(5);
    /// The longest wait, reached after eight resource errors in a row.
    pub const MAX_WAIT: Duration = Duration::from_secs(1);

    /// A backoff that waits [`FIRST_WAIT`](Self::FIRST_WAIT) first.
    pub fn new() -> Self {
        AcceptBackoff {
            next: Self::FIRST_WAIT,
        }
    }

    /// Classifies `error` (see the type's documentation) and, for a
    /// resource error, doubles the next wait up to [`MAX_WAIT`](Self::MAX_WAIT).
    pub fn after_error(&mut self, error: &io::Error) -> AfterAcceptError {
        let after = self.classify(error);
        crate::trace::accept_failed(error, after);
        after
    }

    fn classify(&mut self, error: &io::Error) -> AfterAcceptError {
        use io::ErrorKind::*;
        match error.kind() {
            ConnectionAborted | ConnectionReset | Interrupted | TimedOut => AfterAcceptError::Retry,
            InvalidInput | Unsupported => AfterAcceptError::GiveUp,
            _ if is_protocol_error(error) => AfterAcceptError::Retry,
            _ if is_not_a_listener(error) => AfterAcceptError::GiveUp,
            _ => {
                let wait = self.next;
                self.next = (self.next * 2).min(Self::MAX_WAIT);
                AfterAcceptError::Wait(wait)
            }
        }
    }

    /// The step of an accept loop after `error`: `on_error` is told of it
    /// unless the listener is broken; then `Ok(Some(wait))` to wait before
    /// accepting again, `Ok(None)` to accept again at once, or the error
    /// back to end the loop. What [`retry_accept`] and
    /// `ws_blocking::retry_accept` do between their accepts.
    ///
    /// # Errors
    ///
    /// `error` itself when the listener cannot accept any more.
    pub fn handle(
        &mut self,
        error: io::Error,
        on_error: &mut impl FnMut(&io::Error),
    ) -> io::Result<Option<Duration>> {
        match self.after_error(&error) {
            AfterAcceptError::GiveUp => Err(error),
            AfterAcceptError::Retry => {
                on_error(&error);
                Ok(None)
            }
            AfterAcceptError::Wait(wait) => {
                on_error(&error);
                Ok(Some(wait))
            }
        }
    }

    /// A connection was accepted: the next resource error waits
    /// [`FIRST_WAIT`](Self::FIRST_WAIT) again.
    pub fn accepted(&mut self) {
        self.next = Self::FIRST_WAIT;
    }
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        Self::new()
    }
}

/// `EPROTO` (a connection that failed in the kernel before `accept` took
/// it; Linux documents it among the errors to retry).
fn is_protocol_error(error: &io::Error) -> bool {
    cfg!(target_os = "linux") && error.raw_os_error() == Some(71)
}

/// `EBADF` and `ENOTSOCK`: the descriptor is no listening socket.
fn is_not_a_listener(error: &io::Error) -> bool {
    cfg!(target_os = "linux") && matches!(error.raw_os_error(), Some(9 | 88))
}

/// Calls `accept` until it gives a connection, as [`AcceptBackoff`] says:
/// an accept loop that survives `EMFILE` and the like instead of exiting
/// on them with `?`, waiting with the runtime `R`'s timer. Each error
/// waited out or retried is handed to `on_error` first (to log it).
///
/// # Errors
///
/// The error of a listener that cannot accept any more (see
/// [`AfterAcceptError::GiveUp`]).
///
/// The adapters wrap it for their runtime: `ws_tokio::retry_accept`,
/// `ws_async_std::retry_accept`.
pub async fn retry_accept<R, T, F, Fut>(
    mut accept: F,
    mut on_error: impl FnMut(&io::Error),
) -> io::Result<T>
where
    R: Runtime,
    F: FnMut() -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut backoff = AcceptBackoff::new();
    loop {
        let error = match accept().await {
            Ok(accepted) => return Ok(accepted),
            Err(error) => error,
        };
        if let Some(wait) = backoff.handle(error, &mut on_error)? {
            let mut timer = R::Timer::at(Instant::now() + wait);
            poll_fn(|cx| timer.poll_fired(cx)).await;
        }
    }
}
