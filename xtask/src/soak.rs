//! `cargo xtask soak`: many concurrent connections to the echo server
//! example on 127.0.0.1, each exchanging messages for a bounded time and then
//! closing, in two waves. Every message must come back (sent = echoed), no
//! connection may fail, after each wave the server must be back to its file
//! descriptors, and the second wave may leave no more heap behind than the
//! first: no leaked tasks, buffers or fds. The heap is counted by the server's
//! allocator (see `soak_server`), not read off its resident memory.
//!
//! Past one source address's ephemeral ports, the connections come from
//! several (127.0.0.1, 127.0.0.2, ...: [`CONNS_PER_SOURCE`] each), and the
//! descriptor limit of this process and of the server (which inherits it)
//! is raised to its hard limit first. A count the hard limit cannot hold is
//! refused up front with the figures: raising a hard limit needs
//! `CAP_SYS_RESOURCE`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ws_toolkit::tokio::{ClientConfig, CloseCode, Config, Message};

use crate::soak_server;

pub const USAGE: &str =
    "cargo xtask soak [--conns 10000] [--seconds 10] [--runtime tokio|async-std|smol] [--per-source 25000]";

struct Options {
    conns: usize,
    seconds: u64,
    runtime: String,
    /// Connections per source address (127.0.0.1, .2, ...).
    per_source: usize,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        conns: 10_000,
        seconds: 10,
        runtime: "tokio".into(),
        per_source: CONNS_PER_SOURCE,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--conns" => options.conns = value()?.parse().map_err(|e| format!("--conns: {e}"))?,
            "--seconds" => {
                options.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?
            }
            "--runtime" => options.runtime = value()?.clone(),
            "--per-source" => {
                options.per_source = value()?
                    .parse::<usize>()
                    .map_err(|e| format!("--per-source: {e}"))?
                    .clamp(1, CONNS_PER_SOURCE)
            }
            other => return Err(format!("unknown argument {other:?}\nusage: {USAGE}")),
        }
    }
    Ok(options)
}

/// The echo-server example, run as xtask's soak server (so its live heap can
/// be asked for), killed when dropped.
struct Server {
    child: Child,
    addr: String,
    /// The server's standard output, where heap answers arrive.
    answers: BufReader<ChildStdout>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(runtime: &str) -> Result<Server, String> {
        let root = crate::workspace_root();
        // Built in release like the example (this xtask is a debug build).
        let status = Command::new(env!("CARGO"))
            .args(["build", "--release", "--package", "xtask"])
            .current_dir(&root)
            .status()
            .map_err(|e| format!("cargo build: {e}"))?;
        if !status.success() {
            return Err("building the soak server (xtask, release) failed".into());
        }
        let mut child = Command::new(root.join("target/release/xtask"))
            .env(soak_server::ENV, "1")
            .args(["--addr", "127.0.0.1:0", "--runtime", runtime])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting the soak server: {e}"))?;
        let mut answers = BufReader::new(child.stdout.take().expect("piped"));
        let mut line = String::new();
        answers
            .read_line(&mut line)
            .map_err(|e| format!("reading the echo server's address: {e}"))?;
        let addr = line
            .split("ws://")
            .nth(1)
            .map(|addr| addr.trim().to_owned())
            .ok_or_else(|| format!("the echo server printed {line:?}"))?;
        Ok(Server {
            child,
            addr,
            answers,
        })
    }

    /// Resident memory in bytes and open file descriptors.
    fn usage(&self) -> (u64, usize) {
        let pid = self.child.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss_kib: u64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|dir| dir.count())
            .unwrap_or(0);
        (rss_kib * 1024, fds)
    }

    /// The server's live heap bytes, as its counting allocator has them.
    fn heap(&mut self) -> Result<u64, String> {
        let stdin = self.child.stdin.as_mut().expect("piped");
        writeln!(stdin, "heap")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("asking the soak server for its heap: {e}"))?;
        let mut line = String::new();
        loop {
            line.clear();
            let read = self
                .answers
                .read_line(&mut line)
                .map_err(|e| format!("reading the soak server's heap: {e}"))?;
            if read == 0 {
                return Err("the soak server exited".into());
            }
            // The example's own lines may come first.
            if let Some(bytes) = line.trim().strip_prefix("heap ") {
                return bytes
                    .parse()
                    .map_err(|e| format!("the soak server answered {line:?}: {e}"));
            }
        }
    }

    /// The live heap once it has stopped changing: the last tasks of a wave
    /// may still be dropping their connections (up to 5 s).
    fn settled_heap(&mut self) -> Result<u64, String> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut last = self.heap()?;
        loop {
            std::thread::sleep(Duration::from_millis(250));
            let now = self.heap()?;
            if now == last || Instant::now() > deadline {
                return Ok(now);
            }
            last = now;
        }
    }
}

#[derive(Default)]
struct Counts {
    connected: AtomicU64,
    sent: AtomicU64,
    echoed: AtomicU64,
    clean_closes: AtomicU64,
    errors: AtomicU64,
}

/// Connections per source address at most (the default of `--per-source`):
/// well inside Linux's default ephemeral port range (32768-60999) towards
/// one server address.
const CONNS_PER_SOURCE: usize = 25_000;

/// Raises this process's soft descriptor limit to its hard limit (the
/// server started after inherits it); an error when `conns` connections,
/// plus room for the runtime's own descriptors, do not fit under it.
fn raise_fd_limit(conns: usize) -> Result<u64, String> {
    let needed = conns as u64 + 512;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for getrlimit to write.
    #[allow(unsafe_code)]
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!("getrlimit: {}", std::io::Error::last_os_error()));
    }
    if limit.rlim_max < needed {
        return Err(format!(
            "--conns {conns} needs {needed} file descriptors in this process and in the server, \
             but the hard limit (ulimit -Hn) is {}; raising it needs CAP_SYS_RESOURCE \
             (or run at most --conns {})",
            limit.rlim_max,
            limit.rlim_max.saturating_sub(512)
        ));
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: `limit` is a valid rlimit; only the soft limit changes.
    #[allow(unsafe_code)]
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(format!("setrlimit: {}", std::io::Error::last_os_error()));
    }
    Ok(limit.rlim_cur)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let options = parse(args)?;
    let fd_limit = raise_fd_limit(options.conns)?;
    let sources = options.conns.div_ceil(options.per_source).max(1);
    if sources > 254 {
        return Err(format!(
            "--conns {} needs {sources} source addresses: more than 127.0.0.1-254",
            options.conns
        ));
    }
    println!(
        "soak: {} connections from {sources} source address(es) 127.0.0.1..; descriptor limit {fd_limit}",
        options.conns
    );
    let mut server = Server::start(&options.runtime)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    // A warm-up wave, so the baseline includes the allocator's first growth.
    runtime.block_on(wave(
        &server.addr,
        100,
        Duration::from_millis(500),
        options.per_source,
    ))?;
    std::thread::sleep(Duration::from_millis(500));
    let (base_rss, base_fds) = server.usage();
    let base_heap = server.settled_heap()?;
    println!(
        "soak: {} server, baseline heap {:.1} KiB, resident {:.1} MiB, {base_fds} fds",
        options.runtime,
        kib(base_heap),
        mib(base_rss)
    );
    let mut after = Vec::new();
    for round in 1..=2 {
        let started = Instant::now();
        let (counts, peak) = runtime.block_on(async {
            let wave = tokio::spawn(wave_counted(
                server.addr.clone(),
                options.conns,
                Duration::from_secs(options.seconds),
                options.per_source,
            ));
            let mut peak = (0, 0);
            while !wave.is_finished() {
                let usage = server.usage();
                peak = (peak.0.max(usage.0), peak.1.max(usage.1));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            (wave.await.expect("wave task"), peak)
        });
        let counts = counts?;
        // Let the server finish closing the last connections.
        let (rss, fds) = settle(&server, base_fds);
        let heap = server.settled_heap()?;
        let per_connection = peak.0.saturating_sub(base_rss) / options.conns.max(1) as u64;
        println!(
            "soak: wave {round}: {} connections, {} messages sent, {} echoed, {} clean closes, {} errors in {:.1} s; server peak {:.1} MiB resident ({per_connection} B per connection over the baseline) / {} fds, after: heap {:.1} KiB, {:.1} MiB resident, {fds} fds",
            counts.connected.load(Ordering::SeqCst),
            counts.sent.load(Ordering::SeqCst),
            counts.echoed.load(Ordering::SeqCst),
            counts.clean_closes.load(Ordering::SeqCst),
            counts.errors.load(Ordering::SeqCst),
            started.elapsed().as_secs_f64(),
            mib(peak.0),
            peak.1,
            kib(heap),
            mib(rss),
        );
        let mut problems = Vec::new();
        if counts.connected.load(Ordering::SeqCst) != options.conns as u64 {
            problems.push("not every connection was made".to_owned());
        }
        if counts.sent.load(Ordering::SeqCst) != counts.echoed.load(Ordering::SeqCst) {
            problems.push("messages were lost (sent != echoed)".to_owned());
        }
        if counts.errors.load(Ordering::SeqCst) != 0 {
            problems.push("connections failed".to_owned());
        }
        if counts.clean_closes.load(Ordering::SeqCst) != options.conns as u64 {
            problems.push("not every close handshake completed".to_owned());
        }
        if fds > base_fds {
            problems.push(format!(
                "file descriptors leaked: {fds} open, {base_fds} before"
            ));
        }
        if !problems.is_empty() {
            return Err(format!("soak wave {round}: {}", problems.join("; ")));
        }
        after.push(heap);
    }
    // Memory: the second wave must not leave more heap behind than the
    // first. A leak grows with every wave; what the first wave grew for good
    // (the runtime's slabs and queues sized for 10,000 connections) it does
    // not grow again. A byte per connection is room for the runtime's
    // bookkeeping; any leaked buffer, task or connection is hundreds.
    let growth = after[1].saturating_sub(after[0]);
    let allowed = options.conns as u64 + (16 << 10);
    println!(
        "soak: heap after wave 1 {:.1} KiB, after wave 2 {:.1} KiB (baseline {:.1} KiB): {}",
        kib(after[0]),
        kib(after[1]),
        kib(base_heap),
        if growth <= allowed {
            "no growth between waves"
        } else {
            "GROWING"
        }
    );
    if growth > allowed {
        return Err(format!(
            "the server's heap grew by {:.1} KiB ({} bytes per connection) between two identical waves: a leak",
            kib(growth),
            growth / options.conns.max(1) as u64
        ));
    }
    println!("soak: ok");
    Ok(())
}

fn kib(bytes: u64) -> f64 {
    bytes as f64 / 1024.0
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1 << 20) as f64
}

/// Waits (up to 10 s) for the server's descriptors to come back down.
fn settle(server: &Server, base_fds: usize) -> (u64, usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let usage = server.usage();
        if usage.1 <= base_fds || Instant::now() > deadline {
            std::thread::sleep(Duration::from_millis(300));
            return server.usage();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn wave(
    addr: &str,
    conns: usize,
    duration: Duration,
    per_source: usize,
) -> Result<(), String> {
    let counts = wave_counted(addr.to_owned(), conns, duration, per_source).await?;
    if counts.errors.load(Ordering::SeqCst) == 0 {
        Ok(())
    } else {
        Err("the warm-up wave failed".into())
    }
}

/// `conns` connections at once (`per_source` from each of 127.0.0.1, .2,
/// ...), each echoing messages of varied sizes until `duration` has passed
/// since the last one connected, then closing.
async fn wave_counted(
    addr: String,
    conns: usize,
    duration: Duration,
    per_source: usize,
) -> Result<Counts, String> {
    let counts = Arc::new(Counts::default());
    // Connects in batches the listener's backlog can take.
    let connecting = Arc::new(tokio::sync::Semaphore::new(256));
    let all_connected = Arc::new(tokio::sync::Barrier::new(conns + 1));
    let config = ClientConfig::default()
        .handshake_timeout(Duration::from_secs(60))
        .connection(Config::default().close_timeout(Duration::from_secs(30)));
    let config = Arc::new(config);
    let mut tasks = Vec::with_capacity(conns);
    for id in 0..conns {
        let (counts, connecting, all_connected, config, url) = (
            counts.clone(),
            connecting.clone(),
            all_connected.clone(),
            config.clone(),
            format!("ws://{addr}/"),
        );
        let source = std::net::Ipv4Addr::new(127, 0, 0, 1 + (id / per_source) as u8);
        let server_addr: std::net::SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
        tasks.push(tokio::spawn(async move {
            let permit = connecting.acquire().await.expect("open semaphore");
            let connected = connect_from(source, server_addr, url, &config).await;
            drop(permit);
            all_connected.wait().await;
            let Ok((mut socket, _)) = connected else {
                counts.errors.fetch_add(1, Ordering::SeqCst);
                return;
            };
            counts.connected.fetch_add(1, Ordering::SeqCst);
            let deadline = Instant::now() + duration;
            let mut n = id as u64;
            while Instant::now() < deadline {
                n = n
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let size = (n >> 33) as usize % 4096;
                let message = if n & 1 == 0 {
                    Message::text("x".repeat(size))
                } else {
                    Message::binary(vec![(n >> 8) as u8; size])
                };
                if socket.send(message.clone()).await.is_err() {
                    counts.errors.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                counts.sent.fetch_add(1, Ordering::SeqCst);
                match socket.next().await {
                    Some(Ok(echo)) if echo == message => {
                        counts.echoed.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => {
                        counts.errors.fetch_add(1, Ordering::SeqCst);
                        return;
                    }
                }
                // A short pause: many connections with messages in flight,
                // not a throughput test.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            match socket.close(CloseCode::NORMAL, "soak done").await {
                Ok(()) if socket.closed().is_some_and(|closed| closed.clean) => {
                    counts.clean_closes.fetch_add(1, Ordering::SeqCst);
                }
                _ => {
                    counts.errors.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    all_connected.wait().await;
    for task in tasks {
        task.await
            .map_err(|e| format!("a soak connection panicked: {e}"))?;
    }
    Ok(Arc::try_unwrap(counts).unwrap_or_else(|_| unreachable!("all tasks ended")))
}

/// A client connection from `source` (a loopback address of its own, so
/// that many connections do not run out of one address's ports).
async fn connect_from(
    source: std::net::Ipv4Addr,
    server: std::net::SocketAddr,
    url: String,
    config: &ClientConfig,
) -> Result<
    (
        ws_toolkit::tokio::WebSocket<tokio::net::TcpStream>,
        ws_toolkit::tokio::http::Response<()>,
    ),
    ws_toolkit::tokio::Error,
> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind((source, 0).into())?;
    let tcp = socket.connect(server).await?;
    tcp.set_nodelay(true)?;
    ws_toolkit::tokio::connect_with(tcp, url, config).await
}
