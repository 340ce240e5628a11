//! `cargo xtask bench`: the side-by-side echo benchmark and the
//! microbenchmarks, written into `docs/performance.md` and a chart.
//!
//! The echo servers and the load generator live in `bench/` (a crate outside
//! the workspace, so that the peers are only built here). Each measurement
//! starts one server pinned to CPU 0 and the load generator pinned to CPU 1
//! (`taskset`); every round runs every configuration on every server, in an
//! order that rotates from round to round, so that drift on this shared
//! machine hits all servers alike. The report gives the median of the rounds
//! and the ratio of ours to each peer. Where `perf` can count system call
//! tracepoints, each measurement also counts the server's system calls over
//! the measured window, reported per echoed message.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// The servers, ours first. `bench-server --lib NAME`.
const LIBS: &[&str] = &[
    "ours-tokio",
    FED,
    "ours-async-std",
    "ours-smol",
    MIO,
    "tokio-tungstenite",
    "fastwebsockets",
    "tokio-websockets",
    CEILINGS[0],
    CEILINGS[1],
    UWS[0],
    UWS[1],
];
/// The Rust peers.
const PEERS: &[&str] = &["tokio-tungstenite", "fastwebsockets", "tokio-websockets"];

/// uWebSockets (C++), built from `../shared/peers/uws` (`uws_echo` on
/// epoll, `uws_echo_uring` on io_uring when liburing-dev was there to build
/// it): reported beside the Rust peers, never mixed with them. No
/// compression, so not in the deflate workload.
const UWS: [&str; 2] = ["uWebSockets", "uWebSockets-uring"];

/// Ours on tokio with `feed` in place of `send` (reading flushes the
/// answers): how much an application gains by batching its writes, beside
/// the peers' own loops. Echo only; its idle memory is ours-tokio's.
const FED: &str = "ours-tokio-feed";

/// Ours on ws-mio: its own event loop on the server's one core, no runtime.
const MIO: &str = "ours-mio";

/// Not WebSocket libraries: a bare socket loop on each runtime that answers
/// the handshake with fixed bytes and echoes every frame unmasked, checking
/// nothing, one read and one write per read. The most that runtime serves,
/// so the most any library on it can. Echo only, and only with 20-byte
/// messages, where the cost per message is the runtime's and the kernel's:
/// with larger ones the loop's 64 KiB buffers per connection and its copy of
/// every payload cost more than a library's own buffering (measured: below
/// the best peer with 200 x 16 KiB), so they are no ceiling there.
const CEILINGS: [&str; 2] = ["tokio-ceiling", "async-std-ceiling"];

/// Not a WebSocket library: a bare tokio task and socket that answer the
/// idle run's handshake and message with fixed bytes. Its idle memory is
/// the least any library on tokio can hold per connection.
const FLOOR: &str = "tokio-floor";

/// An echo workload: connections, message size, messages in flight per
/// connection, and whether it uses permessage-deflate (only ours has it).
struct Workload {
    name: &'static str,
    conns: usize,
    size: usize,
    pipeline: usize,
    deflate: bool,
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "100 x 20 B",
        conns: 100,
        size: 20,
        pipeline: 1,
        deflate: false,
    },
    Workload {
        name: "200 x 16 KiB",
        conns: 200,
        size: 16 << 10,
        pipeline: 1,
        deflate: false,
    },
    Workload {
        name: "500 x 16 KiB",
        conns: 500,
        size: 16 << 10,
        pipeline: 1,
        deflate: false,
    },
    Workload {
        name: "10 x 1 MiB",
        conns: 10,
        size: 1 << 20,
        pipeline: 1,
        deflate: false,
    },
    Workload {
        name: "100 x 20 B, 16 in flight",
        conns: 100,
        size: 20,
        pipeline: 16,
        deflate: false,
    },
    Workload {
        name: "100 x 2 KiB JSON, deflate",
        conns: 100,
        size: 2 << 10,
        pipeline: 1,
        deflate: true,
    },
];

struct Options {
    rounds: usize,
    warmup: f64,
    duration: f64,
    idle_conns: usize,
    echo: bool,
    idle: bool,
    micro: bool,
    broadcast: bool,
    /// WebSockets over HTTP/2 beside HTTP/1.1 (`crate::h2bench`).
    h2: bool,
    /// Which load generators drive the echo workloads.
    generators: Vec<Generator>,
    /// Prints of `broadcast_test` per measurement.
    broadcast_samples: usize,
    libs: Vec<String>,
}

/// Who generates the echo load: our loadgen (every workload) or
/// uWebSockets' own `load_test` (one message in flight, no compression),
/// so that no figure depends on one generator.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Generator {
    Ours,
    Uws,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        rounds: 5,
        warmup: 1.0,
        duration: 3.0,
        idle_conns: 10_000,
        echo: true,
        idle: true,
        micro: true,
        broadcast: true,
        h2: true,
        generators: vec![Generator::Ours],
        broadcast_samples: 2,
        libs: LIBS.iter().map(|s| s.to_string()).collect(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--rounds" => {
                options.rounds = value()?.parse().map_err(|e| format!("--rounds: {e}"))?
            }
            "--warmup" => {
                options.warmup = value()?.parse().map_err(|e| format!("--warmup: {e}"))?
            }
            "--duration" => {
                options.duration = value()?.parse().map_err(|e| format!("--duration: {e}"))?
            }
            "--idle-conns" => {
                options.idle_conns = value()?.parse().map_err(|e| format!("--idle-conns: {e}"))?
            }
            "--libs" => options.libs = value()?.split(',').map(str::to_owned).collect(),
            "--generator" => {
                options.generators = match value()?.as_str() {
                    "ours" => vec![Generator::Ours],
                    "uws" => vec![Generator::Uws],
                    "both" => vec![Generator::Ours, Generator::Uws],
                    other => return Err(format!("--generator {other:?}: ours, uws or both")),
                }
            }
            "--only" => {
                let only = value()?;
                options.echo = only.split(',').any(|o| o == "echo");
                options.idle = only.split(',').any(|o| o == "idle");
                options.micro = only.split(',').any(|o| o == "micro");
                options.broadcast = only.split(',').any(|o| o == "broadcast");
                options.h2 = only.split(',').any(|o| o == "h2");
            }
            "--quick" => {
                options.rounds = 1;
                options.warmup = 0.5;
                options.duration = 1.0;
                options.idle_conns = 1000;
                options.micro = false;
                options.broadcast_samples = 1;
            }
            other => return Err(format!("unknown argument {other:?}\n\n{USAGE}")),
        }
    }
    for lib in &options.libs {
        if !LIBS.contains(&lib.as_str()) {
            return Err(format!(
                "unknown library {lib:?}: choose from {}",
                LIBS.join(", ")
            ));
        }
    }
    Ok(options)
}

pub const USAGE: &str =
    "cargo xtask bench [--rounds 5] [--warmup 1] [--duration 3] [--idle-conns 10000] \
[--libs ours-tokio,...] [--generator ours|uws|both] [--only echo,idle,micro,broadcast,h2] [--quick]";

pub fn run(args: &[String]) -> Result<(), String> {
    let options = parse(args)?;
    let root = crate::workspace_root();
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).map_err(|e| e.to_string())?;
    let mut report = Report::default();
    if options.echo || options.idle || options.broadcast || options.h2 {
        build_bench_crate(&root)?;
    }
    let mut options = options;
    if options.libs.iter().any(|l| UWS.contains(&l.as_str()))
        || options.generators.contains(&Generator::Uws)
    {
        match crate::broadcast::build_uws(&root) {
            Ok(dir) => {
                if !dir.join("uws_echo_uring").is_file() {
                    println!("no uws_echo_uring (install liburing-dev and remove target/uws to build it)");
                    options.libs.retain(|l| l != UWS[1]);
                }
            }
            Err(reason) => {
                println!("{reason}: uWebSockets left out");
                options.libs.retain(|l| !UWS.contains(&l.as_str()));
                options.generators.retain(|g| *g != Generator::Uws);
            }
        }
    }
    if options.echo {
        for &generator in &options.generators {
            let results = echo_rounds(&root, &options, generator)?;
            match generator {
                Generator::Ours => report.echo = results,
                Generator::Uws => report.echo_uws = results,
            }
        }
    }
    if options.idle {
        let idle_libs = options
            .libs
            .iter()
            .map(String::as_str)
            .filter(|&lib| lib != FED && !CEILINGS.contains(&lib));
        for lib in idle_libs.chain([FLOOR]) {
            let bytes = idle_memory(&root, lib, options.idle_conns)?;
            println!("idle {lib}: {bytes:.0} bytes per connection");
            report.idle.insert(lib.to_owned(), bytes);
        }
        report.idle_conns = options.idle_conns;
    }
    if options.broadcast {
        let rounds = options.rounds.min(3);
        let seconds = options.duration.max(2.0);
        report.broadcast = Some(crate::broadcast::run(
            &root,
            rounds,
            options.broadcast_samples,
            seconds,
        )?);
    }
    if options.h2 {
        let rounds = options.rounds.min(3);
        report.h2 = Some(crate::h2bench::run(&root, rounds, options.duration)?);
    }
    if options.micro {
        report.micro = microbenchmarks(&root)?;
    }
    let markdown = report.markdown(&root, &options);
    println!("\n{markdown}");
    std::fs::write(out.join("results.md"), &markdown).map_err(|e| e.to_string())?;
    // The docs hold complete runs only; a partial one stays in target/.
    if !(options.echo && options.idle && options.micro && options.broadcast && options.h2) {
        println!("partial run: wrote target/bench/results.md; docs/performance.md left as it is");
        return Ok(());
    }
    let svg = report.chart();
    std::fs::write(root.join("docs/performance-echo.svg"), svg).map_err(|e| e.to_string())?;
    splice_into_docs(&root.join("docs/performance.md"), &markdown)?;
    println!("wrote docs/performance.md, docs/performance-echo.svg and target/bench/results.md");
    Ok(())
}

fn build_bench_crate(root: &Path) -> Result<(), String> {
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--manifest-path", "bench/Cargo.toml"])
        .args(["--target-dir", "target/bench"])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cargo build of bench/: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| "building bench/ failed".to_string())
}

fn bin(root: &Path, name: &str) -> PathBuf {
    root.join("target/bench/release").join(name)
}

/// A running benchmark server, killed when dropped.
pub(crate) struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// `bench-server --lib LIB` (or uWebSockets' echo server for its
    /// names) pinned to CPU 0, once it listens.
    pub(crate) fn start(root: &Path, lib: &str) -> Result<Server, String> {
        if let Some(at) = UWS.iter().position(|&u| u == lib) {
            return Server::start_uws(root, ["uws_echo", "uws_echo_uring"][at]);
        }
        let mut child = Command::new("taskset")
            .args(["-c", "0"])
            .arg(bin(root, "bench-server"))
            .args(["--lib", lib, "--addr", "127.0.0.1:0"])
            .env("ASYNC_STD_THREAD_COUNT", "1")
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting bench-server (is taskset installed?): {e}"))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let addr = line
            .strip_prefix("listening ")
            .ok_or_else(|| format!("bench-server {lib} did not start: {line:?}"))?
            .trim()
            .to_owned();
        Ok(Server { child, addr })
    }

    /// uWebSockets' echo server (`binary` in target/uws) on a free port.
    fn start_uws(root: &Path, binary: &str) -> Result<Server, String> {
        let uws = crate::broadcast::build_uws(root)?;
        let (child, port) = crate::broadcast::start_uws(&uws, binary)?;
        Ok(Server::from_child(child, port))
    }

    /// A server started some other way, listening on `port` of 127.0.0.1.
    pub(crate) fn from_child(child: Child, port: u16) -> Server {
        Server {
            child,
            addr: format!("127.0.0.1:{port}"),
        }
    }

    /// The loopback port it listens on.
    pub(crate) fn port(&self) -> &str {
        self.addr.rsplit(':').next().unwrap_or_default()
    }

    pub(crate) fn pid(&self) -> u32 {
        // taskset execs the server, so the child is the server itself.
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn loadgen(root: &Path, server: &Server, args: &[String]) -> Result<Value, String> {
    let output = Command::new("taskset")
        .args(["-c", "1"])
        .arg(bin(root, "loadgen"))
        .args([
            "--addr",
            &server.addr,
            "--server-pid",
            &server.pid().to_string(),
        ])
        .args(args)
        .output()
        .map_err(|e| format!("running loadgen: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "loadgen failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.trim()).map_err(|e| format!("loadgen printed {stdout:?}: {e}"))
}

/// One measurement of a workload on a server.
#[derive(Clone)]
struct Sample {
    rate: f64,
    server_cpu: f64,
    loadgen_cpu: f64,
    bytes_per_message: f64,
    /// The server's system calls per echoed message (NaN without perf).
    syscalls: f64,
}

/// The samples of every (workload, library), and the measurements a peer
/// failed.
#[derive(Default)]
struct EchoResults {
    samples: BTreeMap<(usize, String), Vec<Sample>>,
    failures: Vec<String>,
}

/// The system call tracepoints counted on the server: all of them, then the
/// ones an echo server makes per message.
const SYSCALL_EVENTS: &[&str] = &[
    "raw_syscalls:sys_enter",
    "syscalls:sys_enter_recvfrom",
    "syscalls:sys_enter_sendto",
    "syscalls:sys_enter_writev",
    "syscalls:sys_enter_epoll_ctl",
];

/// Whether `perf` can count system call tracepoints here (it needs
/// tracefs and the permission to read it; hardware counters are not needed).
fn perf_counts_syscalls() -> bool {
    Command::new("perf")
        .args(["stat", "-x,", "-e", SYSCALL_EVENTS[0], "true"])
        .stdout(Stdio::null())
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .any(|l| l.contains(SYSCALL_EVENTS[0]) && l.as_bytes()[0].is_ascii_digit())
        })
}

/// Counts the server's system calls over the load generator's measured
/// window: `perf stat` attached to `pid` from `delay` seconds for `seconds`.
/// Tracepoint counting costs the server next to nothing, unlike strace.
fn count_syscalls(pid: u32, delay: f64, seconds: f64) -> std::thread::JoinHandle<Vec<f64>> {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs_f64(delay));
        let output = Command::new("perf")
            .args(["stat", "-x,", "-e", &SYSCALL_EVENTS.join(",")])
            .args(["-p", &pid.to_string(), "--", "sleep", &seconds.to_string()])
            .stdout(Stdio::null())
            .output();
        let Ok(output) = output else {
            return Vec::new();
        };
        let text = String::from_utf8_lossy(&output.stderr);
        SYSCALL_EVENTS
            .iter()
            .map(|event| {
                text.lines()
                    .find(|l| l.split(',').nth(2) == Some(event))
                    .and_then(|l| l.split(',').next()?.parse().ok())
                    .unwrap_or(f64::NAN)
            })
            .collect()
    })
}

fn echo_rounds(
    root: &Path,
    options: &Options,
    generator: Generator,
) -> Result<EchoResults, String> {
    let perf = perf_counts_syscalls();
    if !perf {
        println!("perf cannot count system call tracepoints here: no syscalls per message");
    }
    let mut results = EchoResults::default();
    for round in 0..options.rounds {
        for (w, workload) in WORKLOADS.iter().enumerate() {
            if generator == Generator::Uws && (workload.pipeline != 1 || workload.deflate) {
                continue; // load_test keeps one message in flight, uncompressed
            }
            let libs: Vec<&String> = options
                .libs
                .iter()
                .filter(|lib| !workload.deflate || lib.starts_with("ours"))
                .filter(|lib| {
                    !CEILINGS.contains(&lib.as_str()) || (!workload.deflate && workload.size <= 20)
                })
                .collect();
            for i in 0..libs.len() {
                let lib = libs[(i + round) % libs.len()];
                let server = Server::start(root, lib)?;
                if generator == Generator::Uws {
                    let rate = match uws_load_test(root, &server, workload, options) {
                        Ok(rate) => rate,
                        Err(e) if UWS.contains(&lib.as_str()) => {
                            let failure = format!("{lib}, {} (load_test): {e}", workload.name);
                            println!("not measured: {failure}");
                            results.failures.push(failure);
                            continue;
                        }
                        Err(e) => return Err(format!("{lib}, {} (load_test): {e}", workload.name)),
                    };
                    drop(server);
                    println!(
                        "round {}/{} {:<26} {:<18} {:>9.0} msgs/s  (uWebSockets' load_test)",
                        round + 1,
                        options.rounds,
                        workload.name,
                        lib,
                        rate
                    );
                    results
                        .samples
                        .entry((w, lib.clone()))
                        .or_default()
                        .push(Sample {
                            rate,
                            server_cpu: f64::NAN,
                            loadgen_cpu: f64::NAN,
                            bytes_per_message: f64::NAN,
                            syscalls: f64::NAN,
                        });
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
                let mut args: Vec<String> = vec![
                    "--conns".into(),
                    workload.conns.to_string(),
                    "--size".into(),
                    workload.size.to_string(),
                    "--pipeline".into(),
                    workload.pipeline.to_string(),
                    "--warmup".into(),
                    options.warmup.to_string(),
                    "--duration".into(),
                    options.duration.to_string(),
                ];
                if workload.deflate {
                    args.push("--deflate".into());
                }
                let counting =
                    perf.then(|| count_syscalls(server.pid(), options.warmup, options.duration));
                let value = match loadgen(root, &server, &args) {
                    Ok(value) => value,
                    // A peer we do not build from our sources may fail a
                    // workload (uWebSockets on io_uring with 16 KiB
                    // messages): noted, not fatal. Ours must not.
                    Err(e) if UWS.contains(&lib.as_str()) => {
                        let failure = format!("{lib}, {}: {e}", workload.name);
                        println!("not measured: {failure}");
                        results.failures.push(failure);
                        continue;
                    }
                    Err(e) => return Err(format!("{lib}, {}: {e}", workload.name)),
                };
                let counts = counting.map_or(Vec::new(), |c| c.join().unwrap_or_default());
                drop(server);
                let number = |key: &str| value[key].as_f64().unwrap_or(f64::NAN);
                // Echoed in the measured window, the one the counts cover.
                let messages = number("msgs_per_sec") * options.duration;
                let sample = Sample {
                    rate: number("msgs_per_sec"),
                    server_cpu: number("server_cpu"),
                    loadgen_cpu: number("loadgen_cpu"),
                    bytes_per_message: number("received_bytes_per_message"),
                    syscalls: counts.first().copied().unwrap_or(f64::NAN) / messages,
                };
                let breakdown: Vec<String> = SYSCALL_EVENTS[1..]
                    .iter()
                    .zip(counts.iter().skip(1))
                    .filter(|(_, n)| **n > 0.0)
                    .map(|(event, n)| {
                        let name = event.trim_start_matches("syscalls:sys_enter_");
                        format!("{name} {:.2}", n / messages)
                    })
                    .collect();
                println!(
                    "round {}/{} {:<26} {:<18} {:>9.0} msgs/s  server cpu {:.2}  loadgen cpu {:.2}  syscalls/msg {:.2} ({})",
                    round + 1,
                    options.rounds,
                    workload.name,
                    lib,
                    sample.rate,
                    sample.server_cpu,
                    sample.loadgen_cpu,
                    sample.syscalls,
                    breakdown.join(", ")
                );
                results
                    .samples
                    .entry((w, lib.clone()))
                    .or_default()
                    .push(sample);
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
    Ok(results)
}

/// Messages per second that uWebSockets' `load_test` reports against
/// `server`: it prints once every 4 s; the first print (connecting, warming
/// up) is skipped, then the median of enough prints to cover the duration.
fn uws_load_test(
    root: &Path,
    server: &Server,
    workload: &Workload,
    options: &Options,
) -> Result<f64, String> {
    let port = server.port();
    let mut child = Command::new("stdbuf")
        .args(["-oL", "taskset", "-c", "1"])
        .arg(root.join("target/uws/load_test"))
        .args([&workload.conns.to_string(), "127.0.0.1", port, "0", "0"])
        .arg(workload.size.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting load_test: {e}"))?;
    let prints = ((options.duration / 4.0).ceil() as usize).max(1);
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(15 + 5 * prints as u64);
    let mut values = Vec::new();
    let mut skipped = false;
    let result = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let Some(value) = line
                    .strip_prefix("Msg/sec: ")
                    .and_then(|v| v.trim().parse::<f64>().ok())
                else {
                    if line.starts_with("ERROR") || line.starts_with("Closed") {
                        break Err(line);
                    }
                    continue;
                };
                if !std::mem::replace(&mut skipped, true) {
                    continue;
                }
                values.push(value);
                if values.len() == prints {
                    break Ok(median(&mut values));
                }
            }
            Err(_) => break Err("no Msg/sec in time".into()),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn idle_memory(root: &Path, lib: &str, conns: usize) -> Result<f64, String> {
    let server = Server::start(root, lib)?;
    let value = loadgen(
        root,
        &server,
        &["--idle".into(), "--conns".into(), conns.to_string()],
    )
    .map_err(|e| format!("{lib}, idle: {e}"))?;
    value["bytes_per_conn"]
        .as_f64()
        .ok_or_else(|| format!("no bytes_per_conn in {value}"))
}

pub(crate) fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// Runs the criterion benchmarks and collects their medians.
fn microbenchmarks(root: &Path) -> Result<Vec<(String, f64, Option<f64>)>, String> {
    let status = Command::new(env!("CARGO"))
        .args([
            "bench",
            "-p",
            "ws-frame",
            "-p",
            "ws-handshake",
            "-p",
            "ws-core",
        ])
        .args(["--features", "ws-core/deflate"])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cargo bench: {e}"))?;
    if !status.success() {
        return Err("cargo bench failed".into());
    }
    let mut found = Vec::new();
    collect_criterion(&root.join("target/criterion"), &mut found);
    found.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(found)
}

/// Walks criterion's output: every `new/estimates.json` with its
/// `benchmark.json` (for the throughput, when one was set).
fn collect_criterion(dir: &Path, found: &mut Vec<(String, f64, Option<f64>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.ends_with("report") {
            continue;
        }
        if path.file_name().is_some_and(|n| n == "new") {
            let read = |name: &str| {
                std::fs::read_to_string(path.join(name))
                    .ok()
                    .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            };
            if let (Some(estimates), Some(benchmark)) =
                (read("estimates.json"), read("benchmark.json"))
            {
                let ns = estimates["median"]["point_estimate"]
                    .as_f64()
                    .unwrap_or(f64::NAN);
                let id = benchmark["full_id"].as_str().unwrap_or("?").to_owned();
                let bytes = benchmark["throughput"]["Bytes"].as_f64();
                let per_second = bytes.map(|b| b / (ns * 1e-9));
                found.push((id, ns, per_second));
            }
        } else if path.is_dir() {
            collect_criterion(&path, found);
        }
    }
}

#[derive(Default)]
struct Report {
    echo: EchoResults,
    idle: BTreeMap<String, f64>,
    idle_conns: usize,
    micro: Vec<(String, f64, Option<f64>)>,
    broadcast: Option<crate::broadcast::Results>,
    /// The echo workloads with uWebSockets' `load_test` as the generator.
    echo_uws: EchoResults,
    /// The HTTP/2 section, already written.
    h2: Option<String>,
}

/// A library's median row: name, msgs/s, server CPU, loadgen CPU, bytes
/// per message, system calls per message.
type Row = (String, f64, f64, f64, f64, f64);

/// The median messages/s of `name` among `rows`.
fn rate_of(rows: &[Row], name: &str) -> Option<f64> {
    rows.iter().find(|r| r.0 == name).map(|r| r.1)
}

/// The fastest peer among `rows`.
fn best_peer(rows: &[Row]) -> Option<&Row> {
    rows.iter()
        .filter(|r| PEERS.contains(&r.0.as_str()))
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The median row of every library measured in `workload` of `results`.
fn medians_of(results: &EchoResults, workload: usize) -> Vec<Row> {
    let mut rows = Vec::new();
    for lib in LIBS {
        if let Some(samples) = results.samples.get(&(workload, lib.to_string())) {
            let pick =
                |f: fn(&Sample) -> f64| median(&mut samples.iter().map(f).collect::<Vec<_>>());
            rows.push((
                lib.to_string(),
                pick(|s| s.rate),
                pick(|s| s.server_cpu),
                pick(|s| s.loadgen_cpu),
                pick(|s| s.bytes_per_message),
                pick(|s| s.syscalls),
            ));
        }
    }
    rows
}

impl Report {
    fn medians(&self, workload: usize) -> Vec<Row> {
        medians_of(&self.echo, workload)
    }

    fn markdown(&self, root: &Path, options: &Options) -> String {
        let mut md = String::new();
        md.push_str(&format!(
            "Measured with `cargo xtask bench` on {}.\n\n",
            machine()
        ));
        md.push_str(&format!("Peers: {}.\n\n", peer_versions(root)));
        if !self.echo.samples.is_empty() {
            md.push_str(&format!(
                "### Echo throughput (messages/s, median of {} rounds of {} s after {} s warm-up)\n\n",
                options.rounds, options.duration, options.warmup
            ));
            md.push_str(
                "| workload | library | msgs/s | ours-tokio vs this | server CPU | loadgen CPU | server syscalls per message |\n",
            );
            md.push_str("|---|---|---:|---:|---:|---:|---:|\n");
            for (w, workload) in WORKLOADS.iter().enumerate() {
                let rows = self.medians(w);
                let ours = rows.iter().find(|r| r.0 == "ours-tokio").map(|r| r.1);
                for (lib, rate, server_cpu, loadgen_cpu, per_message, syscalls) in &rows {
                    let syscalls = if syscalls.is_nan() {
                        String::new()
                    } else {
                        format!("{syscalls:.2}")
                    };
                    let ratio = match ours {
                        Some(ours) if lib != "ours-tokio" => format!("{:.2}x", ours / rate),
                        _ => "".into(),
                    };
                    let name = if workload.deflate {
                        format!(
                            "{} ({per_message:.0} B per echoed message on the wire)",
                            workload.name
                        )
                    } else {
                        workload.name.to_owned()
                    };
                    md.push_str(&format!(
                        "| {name} | {lib} | {rate:.0} | {ratio} | {server_cpu:.2} | {loadgen_cpu:.2} | {syscalls} |\n"
                    ));
                }
            }
            md.push('\n');
            md.push_str("Best Rust peer per workload, and ours against it; uWebSockets (C++) on its own:\n\n");
            md.push_str("| workload | best Rust peer | its msgs/s | ours-tokio | ratio | ours-async-std / ours-tokio | ours-smol / ours-tokio | uWebSockets (epoll) | ours-tokio / it | uWebSockets (io_uring) | ours-tokio / it |\n");
            md.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            for (w, workload) in WORKLOADS.iter().enumerate() {
                let rows = self.medians(w);
                let rate = |name: &str| rate_of(&rows, name);
                let best = best_peer(&rows);
                let versus_tokio = |name: &str| match (rate(name), rate("ours-tokio")) {
                    (Some(a), Some(t)) => format!("{:.2}", a / t),
                    _ => "".into(),
                };
                let uws = |name: &str| match (rate(name), rate("ours-tokio")) {
                    (Some(u), Some(t)) => format!("{u:.0} | {:.2}x", t / u),
                    (Some(u), None) => format!("{u:.0} | "),
                    _ => " | ".into(),
                };
                let async_std = format!(
                    "{} | {} | {} | {}",
                    versus_tokio("ours-async-std"),
                    versus_tokio("ours-smol"),
                    uws(UWS[0]),
                    uws(UWS[1])
                );
                match (best, rate("ours-tokio")) {
                    (Some(best), Some(ours)) => md.push_str(&format!(
                        "| {} | {} | {:.0} | {ours:.0} | {:.2}x | {async_std} |\n",
                        workload.name,
                        best.0,
                        best.1,
                        ours / best.1
                    )),
                    _ => md.push_str(&format!(
                        "| {} | (no peer) | | {} | | {async_std} |\n",
                        workload.name,
                        rate("ours-tokio").map_or("".into(), |r| format!("{r:.0}"))
                    )),
                }
            }
            md.push_str(&self.ceiling_table());
            md.push_str(&self.uws_generator_table());
            for failure in self.echo.failures.iter().chain(&self.echo_uws.failures) {
                md.push_str(&format!("\nNot measured: {failure}.\n"));
            }
            md.push_str("\n![Echo throughput per workload](performance-echo.svg)\n\n");
        }
        if !self.idle.is_empty() {
            md.push_str(&format!(
                "### Memory per idle connection ({} connections, each after one 20-byte echo; server RSS growth / connections)\n\n",
                self.idle_conns
            ));
            md.push_str("| library | bytes per connection |\n|---|---:|\n");
            for (lib, bytes) in self.idle.iter().filter(|(lib, _)| *lib != FLOOR) {
                md.push_str(&format!("| {lib} | {bytes:.0} |\n"));
            }
            if let Some(bytes) = self.idle.get(FLOOR) {
                md.push_str(&format!(
                    "| *{FLOOR}: no WebSocket, a bare tokio task and socket (the least any library on tokio holds)* | {bytes:.0} |\n"
                ));
            }
            md.push('\n');
        }
        if let Some(broadcast) = &self.broadcast {
            md.push_str(&broadcast.markdown());
        }
        if let Some(h2) = &self.h2 {
            md.push_str(h2);
            md.push('\n');
        }
        if !self.micro.is_empty() {
            md.push_str("### Microbenchmarks (criterion medians)\n\n| benchmark | time | throughput |\n|---|---:|---:|\n");
            for (id, ns, per_second) in &self.micro {
                let time = if *ns >= 1000.0 {
                    format!("{:.2} µs", ns / 1000.0)
                } else {
                    format!("{ns:.1} ns")
                };
                let rate = per_second.map_or(String::new(), |r| {
                    format!("{:.2} GiB/s", r / (1u64 << 30) as f64)
                });
                md.push_str(&format!("| {id} | {time} | {rate} |\n"));
            }
            md.push('\n');
        }
        md
    }

    /// The workloads again with uWebSockets' `load_test` as the generator
    /// (one message in flight, no compression): no figure rests on one
    /// generator alone.
    fn uws_generator_table(&self) -> String {
        if self.echo_uws.samples.is_empty() {
            return String::new();
        }
        let mut md = String::from(
            "\nThe same servers with uWebSockets' own `load_test` as the generator (msgs/s it prints every 4 s, the first skipped):\n\n\
             | workload | library | msgs/s | ours-tokio vs this |\n|---|---|---:|---:|\n",
        );
        for (w, workload) in WORKLOADS.iter().enumerate() {
            let rows = medians_of(&self.echo_uws, w);
            let ours = rate_of(&rows, "ours-tokio");
            for (lib, rate, ..) in &rows {
                let ratio = match ours {
                    Some(ours) if lib != "ours-tokio" => format!("{:.2}x", ours / rate),
                    _ => String::new(),
                };
                md.push_str(&format!(
                    "| {} | {lib} | {rate:.0} | {ratio} |\n",
                    workload.name
                ));
            }
        }
        md
    }

    /// The runtimes' ceilings against the libraries on them: how far above
    /// the best peer a library on tokio can be at all, and how close to tokio
    /// anything on async-std can come.
    fn ceiling_table(&self) -> String {
        let mut md = String::from(
            "\nThe runtimes' ceilings (a bare socket loop echoing frames, no WebSocket library):\n\n\
             | workload | tokio-ceiling | its ratio to the best peer | ours-tokio / it | ours-tokio-feed / it | async-std-ceiling / tokio-ceiling | ours-async-std / async-std-ceiling |\n\
             |---|---:|---:|---:|---:|---:|---:|\n",
        );
        for (w, workload) in WORKLOADS.iter().enumerate() {
            let rows = self.medians(w);
            let rate = |name: &str| rate_of(&rows, name);
            let Some(ceiling) = rate(CEILINGS[0]) else {
                continue;
            };
            let best = best_peer(&rows).map_or(f64::NAN, |r| r.1);
            let ratio = |a: Option<f64>, b: Option<f64>, unit: &str| match (a, b) {
                (Some(a), Some(b)) if !a.is_nan() && !b.is_nan() => format!("{:.2}{unit}", a / b),
                _ => String::new(),
            };
            md.push_str(&format!(
                "| {} | {ceiling:.0} | {} | {} | {} | {} | {} |\n",
                workload.name,
                ratio(Some(ceiling), Some(best), "x"),
                ratio(rate("ours-tokio"), Some(ceiling), ""),
                ratio(rate(FED), Some(ceiling), ""),
                ratio(rate(CEILINGS[1]), Some(ceiling), ""),
                ratio(rate("ours-async-std"), rate(CEILINGS[1]), ""),
            ));
        }
        md
    }

    /// A grouped bar chart (SVG): one group per workload, bars scaled to the
    /// fastest server of that workload.
    fn chart(&self) -> String {
        let colors = [
            "#1b6ac9", "#0d3f7a", "#6aa5ea", "#9cc3f0", "#d9822b", "#7a9a01", "#a24c9c", "#8c8c8c",
            "#bdbdbd",
        ];
        let (bar, gap, left, width) = (16.0, 14.0, 330.0, 420.0);
        let mut y = 40.0;
        let mut body = String::new();
        for (w, workload) in WORKLOADS.iter().enumerate() {
            let rows = self.medians(w);
            if rows.is_empty() {
                continue;
            }
            let max = rows.iter().map(|r| r.1).fold(0.0, f64::max);
            body.push_str(&format!(
                "<text x=\"10\" y=\"{:.0}\" font-weight=\"bold\">{}</text>\n",
                y + 12.0,
                workload.name
            ));
            y += 18.0;
            for (lib, rate, ..) in &rows {
                let color = colors[LIBS.iter().position(|l| l == lib).unwrap_or(0) % colors.len()];
                let length = if max > 0.0 { rate / max * width } else { 0.0 };
                body.push_str(&format!(
                    "<text x=\"{:.0}\" y=\"{:.0}\" text-anchor=\"end\">{lib}</text>\
                     <rect x=\"{left}\" y=\"{y:.0}\" width=\"{length:.1}\" height=\"{:.0}\" fill=\"{color}\"/>\
                     <text x=\"{:.0}\" y=\"{:.0}\">{rate:.0}</text>\n",
                    left - 8.0,
                    y + 12.0,
                    bar - 2.0,
                    left + length + 6.0,
                    y + 12.0
                ));
                y += bar;
            }
            y += gap;
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"860\" height=\"{:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n\
             <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
             <text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Echo messages per second (median; server on one core)</text>\n{body}</svg>\n",
            y + 10.0
        )
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = command_output("uname", &["-r"]);
    let rustc = command_output("rustc", &["-V"]);
    format!("{cpu}, {cores} cores, Linux {kernel}, {rustc}")
}

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// The peers' versions, from the bench crate's lock file.
fn peer_versions(root: &Path) -> String {
    let lock = std::fs::read_to_string(root.join("bench/Cargo.lock")).unwrap_or_default();
    let mut versions = Vec::new();
    for peer in PEERS.iter().chain(&["hyper", "tokio", "async-std"]) {
        let mut lines = lock.lines();
        while let Some(line) = lines.next() {
            if line == format!("name = \"{peer}\"") {
                if let Some(version) = lines.next().and_then(|l| l.strip_prefix("version = ")) {
                    versions.push(format!("{peer} {}", version.trim_matches('"')));
                }
                break;
            }
        }
    }
    versions.join(", ")
}

/// Replaces the generated part of `docs/performance.md`, between its markers.
fn splice_into_docs(path: &Path, generated: &str) -> Result<(), String> {
    const BEGIN: &str = "<!-- xtask bench: begin -->";
    const END: &str = "<!-- xtask bench: end -->";
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        return Err(format!(
            "{} lacks the {BEGIN} / {END} markers",
            path.display()
        ));
    };
    let spliced = format!("{}{BEGIN}\n{generated}{}", &text[..begin], &text[end..]);
    std::fs::write(path, spliced).map_err(|e| e.to_string())
}
