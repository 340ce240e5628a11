//! `cargo xtask bench --only h2`: WebSockets over HTTP/2 (RFC 8441) beside
//! HTTP/1.1 on one ws-hyper server (`bench/src/bin/h2bench.rs`): echo
//! throughput of 100 sockets, as streams of one HTTP/2 connection or as
//! 100 HTTP/1.1 connections, with 20 B and 16 KiB messages, and the
//! server's resident memory per idle socket. The server runs pinned to CPU
//! 0 and the load generator to CPU 1, each on one thread.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::bench::median;

/// The idle sockets opened for the memory figure.
const IDLE: usize = 2000;

struct H2Server {
    child: Child,
    addr: String,
}

impl H2Server {
    fn start(root: &Path) -> Result<H2Server, String> {
        let mut child = Command::new("taskset")
            .args(["-c", "0"])
            .arg(root.join("target/bench/release/h2bench"))
            .args(["server", "--addr", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("starting h2bench (is taskset installed?): {e}"))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let addr = line
            .strip_prefix("listening ")
            .ok_or_else(|| format!("h2bench did not start: {line:?}"))?
            .trim()
            .to_owned();
        Ok(H2Server { child, addr })
    }

    fn rss(&self) -> Result<f64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .map_err(|e| e.to_string())?;
        let kib: f64 = status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .ok_or("no VmRSS")?;
        Ok(kib * 1024.0)
    }
}

impl Drop for H2Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn h2bench(root: &Path) -> Command {
    let mut command = Command::new("taskset");
    command
        .args(["-c", "1"])
        .arg(root.join("target/bench/release/h2bench"));
    command
}

fn load(
    root: &Path,
    server: &H2Server,
    mode: &str,
    size: usize,
    seconds: f64,
) -> Result<f64, String> {
    let output = h2bench(root)
        .args(["load", "--addr", &server.addr, "--mode", mode])
        .args(["--sockets", "100", "--size", &size.to_string()])
        .args(["--seconds", &seconds.to_string()])
        .output()
        .map_err(|e| format!("h2bench load: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "h2bench load {mode} {size}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let value: serde_json::Value = serde_json::from_str(stdout.trim())
        .map_err(|e| format!("h2bench printed {stdout:?}: {e}"))?;
    value["rate"]
        .as_f64()
        .ok_or_else(|| format!("no rate in {value}"))
}

/// The server's resident memory per socket once `IDLE` sockets are open
/// and idle, on a server that served nothing else.
fn idle_bytes(root: &Path, mode: &str) -> Result<f64, String> {
    let server = H2Server::start(root)?;
    std::thread::sleep(std::time::Duration::from_millis(200));
    let before = server.rss()?;
    let mut client = h2bench(root)
        .args(["idle", "--addr", &server.addr, "--mode", mode])
        .args(["--sockets", &IDLE.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("h2bench idle: {e}"))?;
    let mut line = String::new();
    BufReader::new(client.stdout.take().expect("piped"))
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    if line.trim() != "ready" {
        let _ = client.kill();
        return Err(format!("h2bench idle {mode}: {line:?}"));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let after = server.rss()?;
    let _ = client.stdin.take().map(|mut stdin| stdin.write_all(b"\n"));
    let _ = client.wait();
    Ok((after - before) / IDLE as f64)
}

/// Runs the HTTP/2 benchmark; returns its markdown section.
pub fn run(root: &Path, rounds: usize, seconds: f64) -> Result<String, String> {
    let mut md = String::from(
        "### WebSockets over HTTP/2 (RFC 8441) beside HTTP/1.1, one ws-hyper server\n\n",
    );
    md.push_str(&format!(
        "100 sockets, one message in flight each; median of {rounds} rounds of {seconds} s. \
         HTTP/2: 100 streams of one TCP connection; HTTP/1.1: 100 connections, upgraded \
         through hyper too (the same stream type).\n\n"
    ));
    md.push_str("| message | HTTP/1.1 msgs/s | HTTP/2 msgs/s | HTTP/2 vs HTTP/1.1 |\n|---|---:|---:|---:|\n");
    let server = H2Server::start(root)?;
    for size in [20usize, 16 << 10] {
        let mut rates = [Vec::new(), Vec::new()];
        for _ in 0..rounds {
            for (i, mode) in ["h1", "h2"].iter().enumerate() {
                rates[i].push(load(root, &server, mode, size, seconds)?);
            }
        }
        let h1 = median(&mut rates[0]);
        let h2 = median(&mut rates[1]);
        let label = if size == 20 {
            "20 B".to_owned()
        } else {
            "16 KiB".to_owned()
        };
        println!("h2 bench {label}: HTTP/1.1 {h1:.0}/s, HTTP/2 {h2:.0}/s");
        md.push_str(&format!(
            "| {label} | {h1:.0} | {h2:.0} | {:.2}x |\n",
            h2 / h1
        ));
    }
    drop(server);
    let h1 = idle_bytes(root, "h1")?;
    let h2 = idle_bytes(root, "h2")?;
    println!("h2 bench idle: HTTP/1.1 {h1:.0} B, HTTP/2 {h2:.0} B per socket");
    md.push_str(&format!(
        "\nServer memory per idle socket ({IDLE} open, resident size after minus before, fresh \
         server each): HTTP/1.1 {h1:.0} bytes, HTTP/2 stream {h2:.0} bytes ({:.2}x).\n",
        h2 / h1
    ));
    Ok(md)
}
