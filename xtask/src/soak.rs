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
//! descriptor limit is raised to its hard limit first. The clients run in
//! worker processes (this binary again, [`CLIENT_ENV`]), which connect,
//! report, and start echoing only once every worker's connections are open,
//! so all of them are held at once. When one process cannot hold them
//! under the hard limit (raising a hard limit needs `CAP_SYS_RESOURCE`), as
//! many echo servers as it takes share the load (`--servers`), each with
//! its own port and its own worker, and the figures are summed over them.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ws_toolkit::tokio::{ClientConfig, CloseCode, Config, Message};

use crate::soak_server;

pub const USAGE: &str =
    "cargo xtask soak [--conns 10000] [--seconds 10] [--runtime tokio|async-std|smol|mio] [--per-source 25000] [--servers N]";

/// The environment variable that makes xtask a soak client worker.
pub const CLIENT_ENV: &str = "XTASK_SOAK_CLIENT";

struct Options {
    conns: usize,
    seconds: u64,
    runtime: String,
    /// Connections per source address (127.0.0.1, .2, ...).
    per_source: usize,
    /// Server processes (and client workers); `None`: as few as the
    /// descriptor limit allows.
    servers: Option<usize>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        conns: 10_000,
        seconds: 10,
        runtime: "tokio".into(),
        per_source: CONNS_PER_SOURCE,
        servers: None,
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
            "--servers" => {
                options.servers = Some(
                    value()?
                        .parse::<usize>()
                        .map_err(|e| format!("--servers: {e}"))?
                        .max(1),
                )
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
    fn start(binary: &std::path::Path, runtime: &str) -> Result<Server, String> {
        let mut child = Command::new(binary)
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

/// Builds xtask in release (the soak server and the client workers are
/// this binary; `cargo xtask` itself is a debug build) and returns its path.
fn release_binary() -> Result<std::path::PathBuf, String> {
    let root = crate::workspace_root();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--package", "xtask"])
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    if !status.success() {
        return Err("building the soak server (xtask, release) failed".into());
    }
    Ok(root.join("target/release/xtask"))
}

/// Descriptors a process needs beside its connections (the runtime's,
/// the listener, standard streams).
const SPARE_FDS: u64 = 512;

/// Raises this process's soft descriptor limit to its hard limit (the
/// servers and workers started after inherit it) and returns it.
fn raise_fd_limit() -> Result<u64, String> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid rlimit for getrlimit to write.
    #[allow(unsafe_code)]
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(format!("getrlimit: {}", std::io::Error::last_os_error()));
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: `limit` is a valid rlimit; only the soft limit changes.
    #[allow(unsafe_code)]
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(format!("setrlimit: {}", std::io::Error::last_os_error()));
    }
    Ok(limit.rlim_cur)
}

/// A client worker process: its slice of the connections, to one server.
struct Worker {
    child: Child,
    stdin: ChildStdin,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a worker said, with its index; `None` when its output ended.
type Said = (usize, Option<String>);

impl Worker {
    /// Starts worker `index` for `conns` connections to `addr`, the first
    /// numbered `first_id` (which picks their source addresses); its lines
    /// go to `said`.
    fn start(
        binary: &std::path::Path,
        index: usize,
        addr: &str,
        conns: usize,
        first_id: usize,
        options: &Options,
        said: mpsc::Sender<Said>,
    ) -> Result<Worker, String> {
        let mut child = Command::new(binary)
            .env(CLIENT_ENV, "1")
            .args([
                addr.to_owned(),
                conns.to_string(),
                first_id.to_string(),
                options.seconds.to_string(),
                options.per_source.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting a soak client: {e}"))?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(line) => {
                        if said.send((index, Some(line))).is_err() {
                            return;
                        }
                    }
                    Err(_) => break,
                }
            }
            let _ = said.send((index, None));
        });
        Ok(Worker { child, stdin })
    }
}

/// Counts as a worker reports them: connected, sent, echoed, clean
/// closes, errors.
fn parse_counts(line: &str) -> Option<[u64; 5]> {
    let mut fields = line.strip_prefix("counts ")?.split(' ').map(str::parse);
    let mut counts = [0; 5];
    for count in &mut counts {
        *count = fields.next()?.ok()?;
    }
    Some(counts)
}

/// A soak client worker ([`CLIENT_ENV`]): `ADDR CONNS FIRST_ID SECONDS
/// PER_SOURCE`. Connects, prints `connected N`, waits for `go` on its
/// standard input, echoes, closes, prints `counts ...`.
pub fn client_worker() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [addr, conns, first_id, seconds, per_source] = args.as_slice() else {
        return Err(format!("a soak client takes 5 arguments, not {args:?}"));
    };
    let number = |text: &str| text.parse::<usize>().map_err(|e| format!("{text}: {e}"));
    raise_fd_limit()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    let counts = runtime.block_on(wave_counted(
        addr.clone(),
        number(conns)?,
        number(first_id)?,
        Duration::from_secs(number(seconds)? as u64),
        number(per_source)?,
        |connected| async move {
            println!("connected {connected}");
            let go = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                std::io::stdin().read_line(&mut line).map(|_| line)
            })
            .await;
            matches!(go, Ok(Ok(line)) if line.trim() == "go")
        },
    ))?;
    println!(
        "counts {} {} {} {} {}",
        counts.connected.load(Ordering::SeqCst),
        counts.sent.load(Ordering::SeqCst),
        counts.echoed.load(Ordering::SeqCst),
        counts.clean_closes.load(Ordering::SeqCst),
        counts.errors.load(Ordering::SeqCst),
    );
    Ok(())
}

pub fn run(args: &[String]) -> Result<(), String> {
    let options = parse(args)?;
    let fd_limit = raise_fd_limit()?;
    let per_process = fd_limit.saturating_sub(SPARE_FDS).max(1) as usize;
    let servers = options
        .servers
        .unwrap_or_else(|| options.conns.div_ceil(per_process))
        .clamp(1, options.conns.max(1));
    let share = options.conns.div_ceil(servers);
    if share > per_process {
        return Err(format!(
            "--conns {} over {servers} server(s) is {share} connections per process, but the \
             hard descriptor limit (ulimit -Hn) {fd_limit} holds {per_process}; raising it needs \
             CAP_SYS_RESOURCE (or use more --servers)",
            options.conns
        ));
    }
    let sources = options.conns.div_ceil(options.per_source).max(1);
    if sources > 254 {
        return Err(format!(
            "--conns {} needs {sources} source addresses: more than 127.0.0.1-254",
            options.conns
        ));
    }
    println!(
        "soak: {} connections from {sources} source address(es) 127.0.0.1.. to {servers} {} \
         server process(es); descriptor limit {fd_limit} per process",
        options.conns, options.runtime
    );
    let binary = release_binary()?;
    let mut fleet = Vec::with_capacity(servers);
    for _ in 0..servers {
        fleet.push(Server::start(&binary, &options.runtime)?);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    // A warm-up wave on each, so the baseline includes the allocator's
    // first growth.
    for server in &fleet {
        runtime.block_on(wave(
            &server.addr,
            100,
            Duration::from_millis(500),
            options.per_source,
        ))?;
    }
    std::thread::sleep(Duration::from_millis(500));
    let usage = |fleet: &[Server]| {
        fleet
            .iter()
            .map(Server::usage)
            .fold((0, 0), |sum, one| (sum.0 + one.0, sum.1 + one.1))
    };
    let base_fds: Vec<usize> = fleet.iter().map(|server| server.usage().1).collect();
    let base_rss = usage(&fleet).0;
    let mut base_heap = 0;
    for server in &mut fleet {
        base_heap += server.settled_heap()?;
    }
    println!(
        "soak: {} server(s), baseline heap {:.1} KiB, resident {:.1} MiB, {} fds",
        options.runtime,
        kib(base_heap),
        mib(base_rss),
        base_fds.iter().sum::<usize>()
    );
    let mut after = Vec::new();
    for round in 1..=2 {
        let started = Instant::now();
        let (said_tx, said) = mpsc::channel();
        let mut workers = Vec::with_capacity(servers);
        for (index, server) in fleet.iter().enumerate() {
            let first_id = index * share;
            let conns = share.min(options.conns.saturating_sub(first_id));
            workers.push(Worker::start(
                &binary,
                index,
                &server.addr,
                conns,
                first_id,
                &options,
                said_tx.clone(),
            )?);
        }
        drop(said_tx);
        // Until every worker has reported: all connected, then go, then
        // the counts; the servers' memory sampled all along.
        let (mut connected, mut reported) = (vec![None; servers], vec![None; servers]);
        let mut ended = 0;
        let mut peak = (0, 0);
        let mut held = (0, 0.0);
        while ended < servers {
            let usage = usage(&fleet);
            peak = (peak.0.max(usage.0), peak.1.max(usage.1));
            match said.recv_timeout(Duration::from_millis(200)) {
                Ok((index, Some(line))) => {
                    if let Some(count) = line.strip_prefix("connected ") {
                        connected[index] = count.parse::<u64>().ok();
                        if connected.iter().all(Option::is_some) {
                            held = (
                                connected.iter().flatten().sum(),
                                started.elapsed().as_secs_f64(),
                            );
                            for worker in &mut workers {
                                let _ = writeln!(worker.stdin, "go")
                                    .and_then(|()| worker.stdin.flush());
                            }
                        }
                    } else if let Some(counts) = parse_counts(&line) {
                        reported[index] = Some(counts);
                    }
                }
                Ok((index, None)) if reported[index].is_none() => {
                    return Err(format!(
                        "soak wave {round}: client worker {index} ended without its counts"
                    ))
                }
                Ok((_, None)) => ended += 1,
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        drop(workers);
        let Some(reported) = reported.into_iter().collect::<Option<Vec<_>>>() else {
            return Err(format!(
                "soak wave {round}: a client worker ended without its counts"
            ));
        };
        let total = |field: usize| reported.iter().map(|counts| counts[field]).sum::<u64>();
        let (conns, sent, echoed, clean, errors) =
            (total(0), total(1), total(2), total(3), total(4));
        // Let the servers finish closing the last connections.
        let mut fds = 0;
        let mut leaked_fds = Vec::new();
        for (server, &base) in fleet.iter().zip(&base_fds) {
            let (_, now) = settle(server, base);
            fds += now;
            if now > base {
                leaked_fds.push(format!("{now} open, {base} before"));
            }
        }
        let rss = usage(&fleet).0;
        let mut heap = 0;
        for server in &mut fleet {
            heap += server.settled_heap()?;
        }
        let per_connection = peak.0.saturating_sub(base_rss) / options.conns.max(1) as u64;
        println!(
            "soak: wave {round}: {conns} connections ({} held open at once after {:.1} s), {sent} messages sent, {echoed} echoed, {clean} clean closes, {errors} errors in {:.1} s; servers' peak {:.1} MiB resident ({per_connection} B per connection over the baseline) / {} fds, after: heap {:.1} KiB, {:.1} MiB resident, {fds} fds",
            held.0,
            held.1,
            started.elapsed().as_secs_f64(),
            mib(peak.0),
            peak.1,
            kib(heap),
            mib(rss),
        );
        let mut problems = Vec::new();
        if conns != options.conns as u64 || held.0 != options.conns as u64 {
            problems.push("not every connection was made".to_owned());
        }
        if sent != echoed {
            problems.push("messages were lost (sent != echoed)".to_owned());
        }
        if errors != 0 {
            problems.push("connections failed".to_owned());
        }
        if clean != options.conns as u64 {
            problems.push("not every close handshake completed".to_owned());
        }
        if !leaked_fds.is_empty() {
            problems.push(format!(
                "file descriptors leaked: {}",
                leaked_fds.join(", ")
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
    let allowed = options.conns as u64 + (16 << 10) * servers as u64;
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
            "the servers' heap grew by {:.1} KiB ({} bytes per connection) between two identical waves: a leak",
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
    let counts = wave_counted(addr.to_owned(), conns, 0, duration, per_source, |_| async {
        true
    })
    .await?;
    if counts.errors.load(Ordering::SeqCst) == 0 {
        Ok(())
    } else {
        Err("the warm-up wave failed".into())
    }
}

/// `conns` connections at once (numbered from `first_id`, `per_source`
/// from each of 127.0.0.1, .2, ...), each echoing messages of varied sizes
/// until `duration` has passed since the last one connected, then closing.
/// Once all are connected (or failed to), `ready` is told how many are and
/// says whether to go on; until then every connection waits, open.
async fn wave_counted<F, Ready>(
    addr: String,
    conns: usize,
    first_id: usize,
    duration: Duration,
    per_source: usize,
    ready: F,
) -> Result<Counts, String>
where
    F: FnOnce(u64) -> Ready,
    Ready: std::future::Future<Output = bool>,
{
    let counts = Arc::new(Counts::default());
    // Connects in batches the listener's backlog can take.
    let connecting = Arc::new(tokio::sync::Semaphore::new(256));
    let all_connected = Arc::new(tokio::sync::Barrier::new(conns + 1));
    let (go_tx, go) = tokio::sync::watch::channel(false);
    let config = ClientConfig::default()
        .handshake_timeout(Duration::from_secs(60))
        .connection(Config::default().close_timeout(Duration::from_secs(30)));
    let config = Arc::new(config);
    let mut tasks = Vec::with_capacity(conns);
    for id in first_id..first_id + conns {
        let (counts, connecting, all_connected, config, url, mut go) = (
            counts.clone(),
            connecting.clone(),
            all_connected.clone(),
            config.clone(),
            format!("ws://{addr}/"),
            go.clone(),
        );
        let source = std::net::Ipv4Addr::new(127, 0, 0, 1 + (id / per_source) as u8);
        let server_addr: std::net::SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
        tasks.push(tokio::spawn(async move {
            let permit = connecting.acquire().await.expect("open semaphore");
            let connected = connect_from(source, server_addr, url, &config).await;
            drop(permit);
            match &connected {
                Ok(_) => counts.connected.fetch_add(1, Ordering::SeqCst),
                Err(_) => counts.errors.fetch_add(1, Ordering::SeqCst),
            };
            all_connected.wait().await;
            let Ok((mut socket, _)) = connected else {
                return;
            };
            if go.wait_for(|go| *go).await.is_err() {
                return;
            }
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
    if ready(counts.connected.load(Ordering::SeqCst)).await {
        let _ = go_tx.send(true);
    }
    drop(go_tx);
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
