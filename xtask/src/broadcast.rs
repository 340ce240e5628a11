//! The broadcast workloads of `cargo xtask bench`: uWebSockets' own
//! `broadcast_test` against its `uws_broadcast` and our two broadcast
//! servers (ws-pubsub's hub, and the naive loop an application writes
//! without it), and one publisher fanned out to 10,000 subscribers with our
//! load generator.
//!
//! Every server behaves as `uws_broadcast`: each socket is subscribed to one
//! topic and every message received is published to all sockets, the
//! sender included. `broadcast_test N` opens N clients; each iteration every
//! client sends one 20-byte message and waits for all N, so N² deliveries;
//! it prints iterations per second every 4 seconds. The first print covers
//! the connecting and is skipped. Servers on CPU 0, generators on CPU 1.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Our broadcast servers (`bench-server --lib NAME`) and uWebSockets'.
pub const SERVERS: &[&str] = &["ours-hub", "ours-naive", UWS];
const UWS: &str = "uWebSockets";
/// Client counts of `broadcast_test`.
const CLIENTS: &[usize] = &[100, 500, 1000];
/// Subscribers of the one-publisher workload.
const FANOUT: usize = 10_000;

/// Where uWebSockets' sources and build script are: `UWS_PEER_DIR`, or
/// `../shared/peers/uws` beside the workspace.
fn peer_dir(root: &Path) -> Option<PathBuf> {
    let dir = std::env::var_os("UWS_PEER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/peers/uws"));
    dir.join("build.sh").is_file().then_some(dir)
}

/// Builds uWebSockets' broadcast server and `broadcast_test` into
/// `target/uws` once; `None` (with the reason) when its sources are absent.
pub fn build_uws(root: &Path) -> Result<PathBuf, String> {
    let out = root.join("target/uws");
    let built = ["uws_echo", "uws_broadcast", "load_test", "broadcast_test"];
    if built.iter().all(|b| out.join(b).is_file()) {
        return Ok(out);
    }
    let dir = peer_dir(root).ok_or(
        "uWebSockets' sources not found (set UWS_PEER_DIR to the directory of its build.sh)",
    )?;
    let status = Command::new("bash")
        .arg(dir.join("build.sh"))
        .arg(&out)
        .status()
        .map_err(|e| format!("running uWebSockets' build.sh: {e}"))?;
    status
        .success()
        .then_some(out)
        .ok_or_else(|| "building uWebSockets failed (it needs g++ and zlib1g-dev)".into())
}

use crate::bench::Server;

/// A broadcast server pinned to CPU 0: uWebSockets' `uws_broadcast`, or
/// bench-server's `name`.
fn start_server(root: &Path, uws: Option<&Path>, name: &str) -> Result<Server, String> {
    if name == UWS {
        let uws = uws.ok_or("no uWebSockets build")?;
        let (child, port) = start_uws(uws, "uws_broadcast")?;
        return Ok(Server::from_child(child, port));
    }
    Server::start(root, name)
}

/// Starts uWebSockets' server `binary` (from `uws`, the build directory)
/// pinned to CPU 0 on a free loopback port, once it says it listens.
pub fn start_uws(uws: &Path, binary: &str) -> Result<(Child, u16), String> {
    let port = free_port()?;
    let mut child = Command::new("taskset")
        .args(["-c", "0"])
        .arg(uws.join(binary))
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {binary}: {e}"))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    if !line.starts_with("Listening") {
        let _ = child.kill();
        return Err(format!("{binary} did not start: {line:?}"));
    }
    Ok((child, port))
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// Runs `broadcast_test clients` against `server` and returns the median
/// of `samples` prints after the first (iterations per second).
fn broadcast_test(
    uws: &Path,
    server: &Server,
    clients: usize,
    samples: usize,
) -> Result<f64, String> {
    let mut child = Command::new("stdbuf")
        .args(["-oL", "taskset", "-c", "1"])
        .arg(uws.join("broadcast_test"))
        .args([&clients.to_string(), "127.0.0.1", server.port(), "0"])
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting broadcast_test: {e}"))?;
    let stdout = child.stdout.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10 + 5 * samples as u64);
    let mut values = Vec::new();
    let mut skipped = false;
    let result = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if line.contains("disconnected") {
                    break Err(format!("broadcast_test: {line}"));
                }
                let Some(value) = line
                    .strip_prefix("Iterations/second (")
                    .and_then(|rest| rest.split(':').nth(1))
                    .and_then(|v| v.trim().parse::<f64>().ok())
                else {
                    continue;
                };
                if !skipped {
                    skipped = true;
                    continue;
                }
                values.push(value);
                if values.len() == samples {
                    break Ok(crate::bench::median(&mut values));
                }
            }
            Err(_) => break Err(format!("broadcast_test {clients}: no result in time")),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// Deliveries per second of one publisher to `FANOUT` subscribers, with our
/// load generator.
fn fanout(root: &Path, server: &Server, seconds: f64) -> Result<f64, String> {
    let output = Command::new("taskset")
        .args(["-c", "1"])
        .arg(root.join("target/bench/release/loadgen"))
        .args(["--addr", &format!("127.0.0.1:{}", server.port())])
        .args(["--server-pid", &server.pid().to_string()])
        .args([
            "--conns",
            &FANOUT.to_string(),
            "--size",
            "20",
            "--pipeline",
            "16",
        ])
        .args([
            "--warmup",
            "2",
            "--duration",
            &seconds.to_string(),
            "--fanout",
        ])
        .output()
        .map_err(|e| format!("running loadgen: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "loadgen --fanout: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("loadgen --fanout printed garbage: {e}"))?;
    value["msgs_per_sec"]
        .as_f64()
        .ok_or_else(|| "loadgen --fanout: no msgs_per_sec".into())
}

/// Medians per server: iterations per second for each client count, then
/// deliveries per second of the fan-out.
#[derive(Default)]
pub struct Results {
    /// (server, clients) -> iterations per second, one per round.
    pub iterations: std::collections::BTreeMap<(String, usize), Vec<f64>>,
    /// server -> deliveries per second, one per round.
    pub fanout: std::collections::BTreeMap<String, Vec<f64>>,
    pub rounds: usize,
    pub samples: usize,
    /// Why uWebSockets is missing, if it is.
    pub uws_missing: Option<String>,
}

pub fn run(
    root: &Path,
    rounds: usize,
    samples: usize,
    fanout_seconds: f64,
) -> Result<Results, String> {
    let mut results = Results {
        rounds,
        samples,
        ..Results::default()
    };
    let uws = match build_uws(root) {
        Ok(dir) => Some(dir),
        Err(reason) => {
            println!("broadcast: {reason}; uWebSockets left out");
            results.uws_missing = Some(reason);
            None
        }
    };
    let servers: Vec<&str> = SERVERS
        .iter()
        .copied()
        .filter(|&s| s != UWS || uws.is_some())
        .collect();
    for round in 0..rounds {
        for &clients in CLIENTS {
            for i in 0..servers.len() {
                let name = servers[(i + round) % servers.len()];
                // broadcast_test is uWebSockets' own generator.
                let Some(uws) = uws.as_deref() else {
                    break;
                };
                let server = start_server(root, Some(uws), name)?;
                let rate = broadcast_test(uws, &server, clients, samples)
                    .map_err(|e| format!("{name}, {clients} clients: {e}"))?;
                println!(
                    "round {}/{rounds} broadcast {clients:>5} clients  {name:<12} {rate:>8.2} iterations/s ({:.0} deliveries/s)",
                    round + 1,
                    rate * (clients * clients) as f64
                );
                results
                    .iterations
                    .entry((name.to_owned(), clients))
                    .or_default()
                    .push(rate);
            }
        }
        for i in 0..servers.len() {
            let name = servers[(i + round) % servers.len()];
            let server = start_server(root, uws.as_deref(), name)?;
            let rate = fanout(root, &server, fanout_seconds).map_err(|e| format!("{name}: {e}"))?;
            println!(
                "round {}/{rounds} fan-out 1 -> {FANOUT} {name:<12} {rate:>10.0} deliveries/s",
                round + 1
            );
            results
                .fanout
                .entry(name.to_owned())
                .or_default()
                .push(rate);
        }
    }
    Ok(results)
}

impl Results {
    fn median_of(&self, values: Option<&Vec<f64>>) -> Option<f64> {
        values.map(|v| crate::bench::median(&mut v.clone()))
    }

    pub fn markdown(&self) -> String {
        let mut md = format!(
            "### Broadcast (one topic, every message to every socket; median of {} rounds)\n\n",
            self.rounds
        );
        md.push_str(&format!(
            "uWebSockets' `broadcast_test` as the generator (N clients each send one 20-byte message \
             per iteration and wait for all N: N² deliveries; median of {} prints of 4 s after the \
             first). `ours-hub` is ws-pubsub; `ours-naive` sends each message to every socket in turn.\n\n",
            self.samples
        ));
        if let Some(reason) = &self.uws_missing {
            md.push_str(&format!("(No uWebSockets here: {reason}.)\n\n"));
        }
        md.push_str("| clients | server | iterations/s | deliveries/s | ours-hub / this |\n|---:|---|---:|---:|---:|\n");
        for &clients in CLIENTS {
            let hub = self.median_of(self.iterations.get(&("ours-hub".to_owned(), clients)));
            for server in SERVERS {
                let Some(rate) =
                    self.median_of(self.iterations.get(&(server.to_string(), clients)))
                else {
                    continue;
                };
                let ratio = match hub {
                    Some(hub) if *server != "ours-hub" && rate > 0.0 => {
                        format!("{:.2}x", hub / rate)
                    }
                    Some(_) if *server != "ours-hub" => "(none completed)".into(),
                    _ => String::new(),
                };
                md.push_str(&format!(
                    "| {clients} | {server} | {rate:.2} | {:.0} | {ratio} |\n",
                    rate * (clients * clients) as f64
                ));
            }
        }
        md.push_str(&format!(
            "\nOne publisher (16 messages of 20 bytes in flight) fanned out to {FANOUT} subscribers, our load generator:\n\n\
             | server | deliveries/s | ours-hub / this |\n|---|---:|---:|\n"
        ));
        let hub = self.median_of(self.fanout.get("ours-hub"));
        for server in SERVERS {
            let Some(rate) = self.median_of(self.fanout.get(*server)) else {
                continue;
            };
            let ratio = match hub {
                Some(hub) if *server != "ours-hub" => format!("{:.2}x", hub / rate),
                _ => String::new(),
            };
            md.push_str(&format!("| {server} | {rate:.0} | {ratio} |\n"));
        }
        md.push('\n');
        md
    }
}
