//! A WebSocket server ([RFC 6455]) with an event loop of its own, the way
//! uSockets serves uWebSockets: one thread per core, each with its own
//! [mio] poll (epoll on Linux, kqueue on the BSDs and macOS), the
//! connections driven by ws-core directly. There is no task, waker or
//! runtime timer per connection: a readable socket is read once into the
//! thread's buffer, its events go to your [`Handler`], and what the handler
//! sent is written once, right after, before the next socket is served
//! (corked: a client that pipelines ten messages gets its ten answers in
//! one write). Write interest is registered only while a socket has output
//! the kernel did not take.
//!
//! The opening handshake is the one every adapter shares (ws-handshake's
//! rules, [`ServerConfig`] from ws-driver: subprotocols, permessage-deflate
//! with the `deflate` feature, the origin policy, header limits, the
//! handshake timeout); a refused request gets its status (400, 403, 405,
//! 426 with `Sec-WebSocket-Version: 13`, 431). The connection's limits,
//! keepalive and timeouts are ws-core's [`Config`](ws_core::Config), in
//! `ServerConfig::connection`.
//!
//! Choose this adapter for a server that does nothing but WebSockets and
//! wants the most messages per core; choose ws-tokio (or ws-hyper) to share
//! a runtime with other async code, and for clients.
//!
//! ```no_run
//! use ws_mio::{Handler, Message, Server, ServerConfig, Socket};
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     fn message(&mut self, socket: &mut Socket<'_>, message: Message) {
//!         if message.is_data() {
//!             // Queued; written when the handler returns.
//!             let _ = socket.send(message);
//!         }
//!     }
//! }
//!
//! # fn main() -> std::io::Result<()> {
//! let server = Server::new(ServerConfig::default())
//!     .threads(2)
//!     .bind("127.0.0.1:9001".parse().unwrap(), || Echo)?;
//! println!("listening on {}", server.local_addr());
//! server.wait();
//! # Ok(())
//! # }
//! ```
//!
//! [RFC 6455]: https://www.rfc-editor.org/rfc/rfc6455

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use ws_core::{Connection, Event, Timeout};
use ws_handshake::{parse_request, write_response, HeadScanner, Parse, RequestError};

pub use ws_core::{CloseCode, Closed, Message, ProtocolError, SendError};
pub use ws_driver::ServerConfig;

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX);

/// The size of the thread's read buffer: one read per readable socket.
const READ_SIZE: usize = 64 * 1024;
/// Readiness events taken per wait.
const EVENTS: usize = 1024;
/// How long a refused client has to read its answer before the socket is
/// dropped.
const LINGER: Duration = Duration::from_secs(1);
/// How long accepting pauses after an error such as `EMFILE` (out of file
/// descriptors), so that the loop neither spins on it nor stops serving.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);
/// At most this many pieces of queued output go into one vectored write.
const MAX_WRITE_SLICES: usize = 16;

/// A socket's identity on its server: unique among the sockets a server
/// has had, so a handler may keep it (to know which socket closed) without
/// mistaking a later socket for an earlier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId {
    thread: u32,
    slot: u32,
    generation: u64,
}

impl SocketId {
    /// The loop thread that serves the socket (0 to threads - 1).
    pub fn thread(&self) -> usize {
        self.thread as usize
    }
}

/// What a server does with its sockets: one handler per loop thread, made
/// by the factory given to [`Server::bind`] on that thread, and called for
/// that thread's sockets only (so it needs no lock and need not be `Send`).
pub trait Handler: 'static {
    /// Decides on an opening handshake that ws-handshake's rules accepted:
    /// sees the request (path, headers, cookies) and the 101 response
    /// before it is sent, may add headers, or refuses with
    /// [`RequestError::Rejected`] and a status of its choosing. Accepts all
    /// by default.
    ///
    /// # Errors
    ///
    /// The refusal, answered with [`RequestError::status`].
    fn upgrade(
        &mut self,
        request: &http::Request<()>,
        response: &mut http::Response<()>,
    ) -> Result<(), RequestError> {
        let _ = (request, response);
        Ok(())
    }

    /// A socket opened: the 101 response is queued, and so is anything sent
    /// here.
    fn open(&mut self, socket: &mut Socket<'_>) {
        let _ = socket;
    }

    /// A message arrived: text or binary, or a ping, pong or close frame,
    /// which ws-core has already answered as RFC 6455 section 5.5 says.
    fn message(&mut self, socket: &mut Socket<'_>, message: Message);

    /// A socket ended, cleanly or not ([`Closed::clean`]); it is gone. Not
    /// called for sockets still open when a stopping server gives up on
    /// them.
    fn close(&mut self, id: SocketId, closed: &Closed) {
        let _ = (id, closed);
    }
}

/// One open socket, lent to the handler for the length of a call.
#[derive(Debug)]
pub struct Socket<'a> {
    id: SocketId,
    conn: &'a mut Connection,
    subprotocol: Option<&'a str>,
}

impl Socket<'_> {
    /// Its identity.
    pub fn id(&self) -> SocketId {
        self.id
    }

    /// Queues a message; it is written when the handler returns, with
    /// everything else this socket was sent while the loop served it.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] once a close was sent; [`SendError::BufferFull`]
    /// past [`Config::max_buffered_output`](ws_core::Config::max_buffered_output)
    /// (a client that does not read); the others of [`Connection::send`].
    pub fn send(&mut self, message: Message) -> Result<(), SendError> {
        self.conn.send(message)
    }

    /// Starts the close handshake (RFC 6455 section 7.1.2); the socket
    /// ends, and [`Handler::close`] is called, when the client answers or
    /// the close timeout passes.
    ///
    /// # Errors
    ///
    /// [`SendError::Close`] for a code that may not be sent or a reason
    /// over 123 bytes; [`SendError::Closed`] when a close was already sent.
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.conn.close(code, reason)
    }

    /// Bytes queued and not yet taken by the kernel.
    pub fn buffered_amount(&self) -> usize {
        self.conn.buffered_amount()
    }

    /// The subprotocol the handshake agreed on.
    pub fn subprotocol(&self) -> Option<&str> {
        self.subprotocol
    }
}

/// A server to start: its configuration and how many loop threads.
#[derive(Debug, Clone)]
pub struct Server {
    config: Arc<ServerConfig>,
    threads: usize,
}

impl Server {
    /// A server with `config`, one loop thread per available core.
    pub fn new(config: ServerConfig) -> Server {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Server {
            config: Arc::new(config),
            threads,
        }
    }

    /// How many loop threads (at least one).
    pub fn threads(mut self, threads: usize) -> Server {
        self.threads = threads.max(1);
        self
    }

    /// Binds `addr` and starts the loop threads, each with a handler from
    /// `make_handler`, called on that thread.
    ///
    /// # Errors
    ///
    /// Binding, or creating a thread's poll, failed.
    pub fn bind<H, F>(self, addr: SocketAddr, make_handler: F) -> io::Result<Running>
    where
        H: Handler,
        F: Fn() -> H + Send + Sync + 'static,
    {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let make_handler = Arc::new(make_handler);
        let mut wakers = Vec::new();
        let mut threads = Vec::new();
        for thread in 0..self.threads {
            let poll = Poll::new()?;
            let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
            let mut listener = TcpListener::from_std(listener.try_clone()?);
            poll.registry()
                .register(&mut listener, LISTENER, Interest::READABLE)?;
            let (config, stop, make_handler) =
                (self.config.clone(), stop.clone(), make_handler.clone());
            let handle = std::thread::Builder::new()
                .name(format!("ws-mio-{thread}"))
                .spawn(move || {
                    let handler = make_handler();
                    Loop::new(thread as u32, poll, listener, config, handler).run(&stop)
                })?;
            wakers.push(waker);
            threads.push(handle);
        }
        Ok(Running {
            local_addr,
            stop,
            wakers,
            threads,
        })
    }
}

/// A started server. Dropping it stops it, as [`stop`](Self::stop) does.
#[derive(Debug)]
pub struct Running {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    wakers: Vec<Arc<Waker>>,
    threads: Vec<JoinHandle<usize>>,
}

impl Running {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Blocks until the loop threads end (they do not, unless stopped from
    /// another thread or a handler panics).
    pub fn wait(mut self) {
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }

    /// Stops accepting, sends every open socket a close frame with 1001
    /// (going away), and serves on until their close handshakes end or the
    /// close timeout ([`Config::close_timeout`](ws_core::Config::close_timeout))
    /// passes; returns how many sockets were still open then (their
    /// handler's `close` is not called).
    pub fn stop(mut self) -> usize {
        self.shut_down()
    }

    fn shut_down(&mut self) -> usize {
        self.stop.store(true, Ordering::Release);
        for waker in &self.wakers {
            let _ = waker.wake();
        }
        self.threads
            .drain(..)
            .map(|thread| thread.join().unwrap_or(0))
            .sum()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

/// A socket on its way in, open, or being refused.
enum Phase {
    Handshake {
        head: Vec<u8>,
        scanner: HeadScanner,
    },
    Open {
        conn: Box<Connection>,
        subprotocol: Option<Box<str>>,
    },
    Refusing {
        answer: Vec<u8>,
        written: usize,
    },
}

/// What a read leads to, decided while the socket is borrowed.
enum After {
    ReadOn,
    Remove,
    Open(http::Request<()>, Vec<u8>),
    Refuse(RequestError),
    Deliver,
}

struct Slot {
    stream: TcpStream,
    phase: Phase,
    generation: u64,
    /// Whether write interest is registered (only while output waits).
    writable: bool,
    /// The deadline a timer entry was pushed for, if any.
    armed: Option<Instant>,
}

/// One loop thread.
struct Loop<H> {
    thread: u32,
    poll: Poll,
    listener: TcpListener,
    config: Arc<ServerConfig>,
    handler: H,
    slots: Vec<Option<Slot>>,
    free: Vec<usize>,
    next_generation: u64,
    /// Deadlines: (when, slot, generation); stale entries are skipped.
    timers: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    /// Sockets with output or a state change to act on before the next wait.
    dirty: Vec<usize>,
    read_buffer: Vec<u8>,
    /// Set once the server stops: when the loop ends at the latest.
    drain_until: Option<Instant>,
    /// One empty write buffer, given up by a socket that went idle and
    /// taken by the next that sends: idle sockets hold none.
    spare: Option<bytes::BytesMut>,
    accept_paused_until: Option<Instant>,
}

impl<H: Handler> Loop<H> {
    fn new(
        thread: u32,
        poll: Poll,
        listener: TcpListener,
        config: Arc<ServerConfig>,
        handler: H,
    ) -> Self {
        Loop {
            thread,
            poll,
            listener,
            config,
            handler,
            slots: Vec::new(),
            free: Vec::new(),
            next_generation: 0,
            timers: BinaryHeap::new(),
            dirty: Vec::new(),
            read_buffer: vec![0; READ_SIZE],
            drain_until: None,
            spare: None,
            accept_paused_until: None,
        }
    }

    /// Serves until stopped; returns how many sockets were still open
    /// when the drain deadline passed.
    fn run(mut self, stop: &AtomicBool) -> usize {
        let mut events = Events::with_capacity(EVENTS);
        loop {
            let timeout = self.next_wait();
            if let Err(error) = self.poll.poll(&mut events, timeout) {
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return self.open_sockets();
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(),
                    WAKER => {}
                    Token(slot) => {
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.read(slot);
                        }
                        if event.is_writable() {
                            self.mark(slot);
                        }
                    }
                }
            }
            if self.drain_until.is_none() && stop.load(Ordering::Acquire) {
                self.going_away();
            }
            self.fire_timers();
            self.flush_dirty();
            if let Some(deadline) = self.drain_until {
                let open = self.open_sockets();
                if open == 0 || Instant::now() >= deadline {
                    return open;
                }
            }
        }
    }

    /// Sockets past their handshake and not yet closed.
    fn open_sockets(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| {
                matches!(
                    slot,
                    Some(Slot {
                        phase: Phase::Open { .. },
                        ..
                    })
                )
            })
            .count()
    }

    /// How long the next wait may last: until the earliest deadline.
    fn next_wait(&mut self) -> Option<Duration> {
        let mut earliest = match (self.accept_paused_until, self.drain_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        while let Some(Reverse((when, slot, generation))) = self.timers.peek().copied() {
            if self.is_current_timer(slot, generation, when) {
                earliest = Some(earliest.map_or(when, |e| e.min(when)));
                break;
            }
            self.timers.pop();
        }
        earliest.map(|when| when.saturating_duration_since(Instant::now()))
    }

    fn is_current_timer(&self, slot: usize, generation: u64, when: Instant) -> bool {
        matches!(self.slots.get(slot), Some(Some(s)) if s.generation == generation && s.armed == Some(when))
    }

    fn accept(&mut self) {
        if self.accept_paused_until.is_some() {
            return;
        }
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => self.add(stream),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => return,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) if is_per_connection(&error) => {}
                Err(_) => {
                    // Out of descriptors or memory: try again shortly.
                    self.accept_paused_until = Some(Instant::now() + ACCEPT_BACKOFF);
                    return;
                }
            }
        }
    }

    fn add(&mut self, mut stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.slots.len() - 1
        });
        if self
            .poll
            .registry()
            .register(&mut stream, Token(slot), Interest::READABLE)
            .is_err()
        {
            self.free.push(slot);
            return;
        }
        self.next_generation += 1;
        let deadline = Instant::now() + self.config.handshake_timeout;
        self.slots[slot] = Some(Slot {
            stream,
            phase: Phase::Handshake {
                head: Vec::new(),
                scanner: HeadScanner::new(),
            },
            generation: self.next_generation,
            writable: false,
            armed: Some(deadline),
        });
        self.timers
            .push(Reverse((deadline, slot, self.next_generation)));
        // Its request may already be there: edge-triggered readiness was
        // reported before the registration.
        self.read(slot);
    }

    fn mark(&mut self, slot: usize) {
        self.dirty.push(slot);
    }

    /// Reads what a socket has and acts on it: one read into the thread's
    /// buffer, again only when it filled the buffer (a short read means the
    /// kernel had no more, and the next bytes bring a new readiness event).
    fn read(&mut self, slot: usize) {
        loop {
            let Some(Some(s)) = self.slots.get_mut(slot) else {
                return;
            };
            let read = match s.stream.read(&mut self.read_buffer) {
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    // After a read that filled the buffer: what it brought
                    // was delivered, and its answers must go out now.
                    if matches!(s.phase, Phase::Open { .. }) {
                        self.flush(slot);
                    }
                    return;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                // A reset: the end of input, reported as ws-core reports it.
                Err(_) => 0,
            };
            let input = &self.read_buffer[..read];
            let next = match &mut s.phase {
                Phase::Handshake { head, scanner } if read > 0 => {
                    head.extend_from_slice(input);
                    let limits = &self.config.handshake.limits;
                    let parsed = match scanner.should_parse(head, limits.max_header_bytes) {
                        true => parse_request(head, limits),
                        false => Ok(Parse::NeedMore),
                    };
                    match parsed {
                        Ok(Parse::NeedMore) => After::ReadOn,
                        Ok(Parse::Complete((request, used))) => {
                            After::Open(request, head.split_off(used))
                        }
                        Err(error) => After::Refuse(error),
                    }
                }
                // The client left before its request was whole, or after
                // it read its refusal.
                Phase::Handshake { .. } | Phase::Refusing { .. } if read == 0 => After::Remove,
                // Whatever a refused client still sends is discarded.
                Phase::Refusing { .. } => After::ReadOn,
                Phase::Handshake { .. } => After::ReadOn,
                Phase::Open { conn, .. } => {
                    match read {
                        0 => conn.receive_eof(),
                        _ => conn.receive(input),
                    }
                    After::Deliver
                }
            };
            match next {
                After::ReadOn => {}
                After::Remove => return self.remove(slot),
                After::Open(request, rest) => return self.open(slot, &request, &rest),
                After::Refuse(error) => return self.refuse(slot, &error),
                After::Deliver => {
                    if self.deliver(slot) {
                        return;
                    }
                    if read < READ_SIZE {
                        // Corked per read, as uSockets does: the answers
                        // to everything this read brought go out in one
                        // write, now, before the next socket is served.
                        return self.flush(slot);
                    }
                }
            }
            if read < READ_SIZE {
                return;
            }
        }
    }

    /// The handshake's request is complete: answer it.
    fn open(&mut self, slot: usize, request: &http::Request<()>, rest: &[u8]) {
        let handler = &mut self.handler;
        let upgraded = ws_driver::upgrade_with(request, &self.config, |request, response| {
            handler.upgrade(request, response)
        });
        let (response, upgrade) = match upgraded {
            Ok(upgraded) => upgraded,
            Err(error) => return self.refuse(slot, &error),
        };
        let mut answer = Vec::with_capacity(256);
        write_response(&response, &[], &mut answer);
        let (mut conn, subprotocol) = upgrade.into_parts();
        let Some(Some(s)) = self.slots.get_mut(slot) else {
            return;
        };
        // The 101 goes out first; ws-core's frames queue behind it.
        if write_all_now(&mut s.stream, &answer).is_err() {
            self.remove(slot);
            return;
        }
        conn.receive(rest);
        s.phase = Phase::Open {
            conn: Box::new(conn),
            subprotocol: subprotocol.map(String::into_boxed_str),
        };
        s.armed = None;
        let id = self.id(slot);
        if let Some(Some(Slot {
            phase: Phase::Open { conn, subprotocol },
            ..
        })) = self.slots.get_mut(slot)
        {
            let mut socket = Socket {
                id,
                conn,
                subprotocol: subprotocol.as_deref(),
            };
            self.handler.open(&mut socket);
        }
        if !self.deliver(slot) {
            self.flush(slot);
        }
    }

    /// Answers a refused handshake with its status; the socket is dropped
    /// once the answer is out and the client has gone, or after [`LINGER`].
    fn refuse(&mut self, slot: usize, error: &RequestError) {
        let mut answer = Vec::with_capacity(256);
        error.write_response(&mut answer);
        let generation = match self.slots.get_mut(slot) {
            Some(Some(s)) => {
                s.phase = Phase::Refusing { answer, written: 0 };
                s.armed = Some(Instant::now() + LINGER);
                s.generation
            }
            _ => return,
        };
        if let Some(Some(s)) = self.slots.get(slot) {
            if let Some(when) = s.armed {
                self.timers.push(Reverse((when, slot, generation)));
            }
        }
        self.dirty.push(slot);
    }

    fn id(&self, slot: usize) -> SocketId {
        let generation = match self.slots.get(slot) {
            Some(Some(s)) => s.generation,
            _ => 0,
        };
        SocketId {
            thread: self.thread,
            slot: slot as u32,
            generation,
        }
    }

    /// Hands an open socket's events to the handler; true if it closed
    /// (and is gone).
    fn deliver(&mut self, slot: usize) -> bool {
        let id = self.id(slot);
        loop {
            let Some(Some(Slot {
                phase: Phase::Open { conn, subprotocol },
                ..
            })) = self.slots.get_mut(slot)
            else {
                return true;
            };
            match conn.poll_event() {
                None => return false,
                Some(Event::Message(message)) => {
                    if conn.needs_write_buffer() {
                        if let Some(buffer) = self.spare.take() {
                            conn.provide_write_buffer(buffer);
                        }
                    }
                    let mut socket = Socket {
                        id,
                        conn,
                        subprotocol: subprotocol.as_deref(),
                    };
                    self.handler.message(&mut socket, message);
                }
                // Pieces are only handed out when asked for, and this loop
                // never asks; a failure is followed by `Closed`.
                Some(Event::Chunk(_)) | Some(Event::Error(_)) => {}
                Some(Event::Closed(closed)) => {
                    self.handler.close(id, &closed);
                    self.remove(slot);
                    return true;
                }
            }
        }
    }

    /// Fires the deadlines that passed.
    fn fire_timers(&mut self) {
        if self.accept_paused_until.is_none() && self.timers.is_empty() {
            return;
        }
        let now = Instant::now();
        if self.accept_paused_until.is_some_and(|until| until <= now) {
            self.accept_paused_until = None;
            self.accept();
        }
        while let Some(Reverse((when, slot, generation))) = self.timers.peek().copied() {
            if when > now {
                break;
            }
            self.timers.pop();
            if !self.is_current_timer(slot, generation, when) {
                continue;
            }
            let Some(Some(s)) = self.slots.get_mut(slot) else {
                continue;
            };
            s.armed = None;
            if let Phase::Open { conn, .. } = &mut s.phase {
                conn.handle_timeout(now);
                if !self.deliver(slot) {
                    self.dirty.push(slot);
                }
            } else {
                // The handshake timeout, or the refusal's linger: drop it.
                self.remove(slot);
            }
        }
    }

    /// Writes out what the sockets served in this turn queued, and arms
    /// their timers.
    fn flush_dirty(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for &slot in &dirty {
            self.flush(slot);
        }
        dirty.clear();
        if self.dirty.is_empty() {
            self.dirty = dirty;
        }
    }

    fn flush(&mut self, slot: usize) {
        let Some(Some(s)) = self.slots.get_mut(slot) else {
            return;
        };
        let waiting = match &mut s.phase {
            Phase::Handshake { .. } => false,
            Phase::Refusing { answer, written } => {
                match write_some(&mut s.stream, &answer[*written..]) {
                    Ok(n) => *written += n,
                    Err(_) => return self.remove(slot),
                }
                if *written == answer.len() {
                    let _ = s.stream.shutdown(Shutdown::Write);
                }
                *written < answer.len()
            }
            Phase::Open { conn, .. } => {
                let broken = write_out(&mut s.stream, conn).is_err();
                if broken {
                    // The peer is gone: the end of input, as ws-core
                    // reports it (1006 to the handler).
                    conn.receive_eof();
                } else if conn.should_close_transport() {
                    // A FIN; the socket stays registered for reading, so
                    // after a failure it lingers for the peer's end (up to
                    // the close timeout) rather than reset it.
                    let _ = s.stream.shutdown(Shutdown::Write);
                    conn.transport_shut_down();
                }
                if self.deliver(slot) {
                    return;
                }
                let Some(Some(s)) = self.slots.get_mut(slot) else {
                    return;
                };
                let Phase::Open { conn, .. } = &mut s.phase else {
                    return;
                };
                let waiting = conn.buffered_amount() > 0;
                conn.set_transport_flushing(waiting);
                arm(conn, &mut s.armed, slot, s.generation, &mut self.timers);
                if !waiting {
                    // Kept for the next socket on this thread that sends.
                    if let Some(buffer) = conn.release_idle_buffers() {
                        self.spare = Some(buffer);
                    }
                }
                waiting
            }
        };
        let Some(Some(s)) = self.slots.get_mut(slot) else {
            return;
        };
        if waiting != s.writable {
            let interest = match waiting {
                true => Interest::READABLE | Interest::WRITABLE,
                false => Interest::READABLE,
            };
            if self
                .poll
                .registry()
                .reregister(&mut s.stream, Token(slot), interest)
                .is_ok()
            {
                s.writable = waiting;
            }
        }
    }

    fn remove(&mut self, slot: usize) {
        if let Some(mut s) = self.slots.get_mut(slot).and_then(Option::take) {
            let _ = self.poll.registry().deregister(&mut s.stream);
            self.free.push(slot);
        }
    }

    /// The server stops: no more accepting, every open socket is sent
    /// 1001, and the loop goes on until their close handshakes end or the
    /// close timeout passes.
    fn going_away(&mut self) {
        let _ = self.poll.registry().deregister(&mut self.listener);
        self.accept_paused_until = None;
        self.drain_until = Some(Instant::now() + self.config.connection.close_timeout);
        for slot in 0..self.slots.len() {
            match self.slots.get_mut(slot) {
                Some(Some(Slot {
                    phase: Phase::Open { conn, .. },
                    ..
                })) => {
                    let _ = conn.close(CloseCode::GOING_AWAY, "server stopping");
                    self.dirty.push(slot);
                }
                // Not yet a WebSocket: nothing to close politely.
                Some(Some(_)) => self.remove(slot),
                Some(None) | None => {}
            }
        }
    }
}

/// Arms the loop's timer for the connection's next deadline.
fn arm(
    conn: &mut Connection,
    armed: &mut Option<Instant>,
    slot: usize,
    generation: u64,
    timers: &mut BinaryHeap<Reverse<(Instant, usize, u64)>>,
) {
    let mut now = None;
    let deadline = loop {
        match conn.poll_timeout() {
            None => break None,
            Some(Timeout::At(deadline)) => break Some(deadline),
            Some(Timeout::Now) => {
                conn.handle_timeout(*now.get_or_insert_with(Instant::now));
            }
        }
    };
    match (deadline, *armed) {
        // Nothing to wait for: the entry in the heap is stale now.
        (None, _) => *armed = None,
        // A later deadline (keepalive moved on by traffic): the armed
        // entry fires first, finds nothing due, and arms this one then; so
        // the heap holds about one entry per socket, not one per message.
        (Some(when), Some(earlier)) if earlier <= when => {}
        (Some(when), _) => {
            *armed = Some(when);
            timers.push(Reverse((when, slot, generation)));
        }
    }
}

/// Writes what the connection queued until it is all out or the kernel
/// takes no more.
fn write_out(stream: &mut TcpStream, conn: &mut Connection) -> io::Result<()> {
    loop {
        let first = conn.transmit();
        if first.is_empty() {
            return Ok(());
        }
        let written = if first.len() == conn.buffered_amount() {
            stream.write(first)
        } else {
            let mut slices = [IoSlice::new(&[]); MAX_WRITE_SLICES];
            let count = conn.transmit_vectored(&mut slices);
            stream.write_vectored(&slices[..count])
        };
        match written {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => conn.advance_transmit(n),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
}

/// Writes what the kernel takes of `bytes` now.
fn write_some(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while written < bytes.len() {
        match stream.write(&bytes[written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => break,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(written)
}

/// Writes a handshake answer, which a fresh socket's send buffer always
/// holds; a client whose buffer does not is not one to keep.
fn write_all_now(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    match write_some(stream, bytes)? {
        n if n == bytes.len() => Ok(()),
        _ => Err(io::ErrorKind::WouldBlock.into()),
    }
}

/// Accept errors that concern one connection only (it went away while
/// queued), after which accepting goes on at once.
fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    )
}
