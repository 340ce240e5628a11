//! The load generator: raw TCP on one thread over epoll (mio), no WebSocket
//! library, so that it costs less than the servers it drives.
//!
//! It opens `--conns` connections, performs the opening handshake by hand
//! (RFC 6455 section 4.1), then each connection keeps `--pipeline` messages
//! of `--size` bytes in flight: a pre-built masked binary frame is written,
//! and every echoed message that comes back completely is counted and
//! replaced by a new one. Echoed frames are parsed only as far as their
//! headers (section 5.2): payloads are skipped, never copied.
//!
//! After all handshakes, `--warmup` seconds pass, then messages are counted
//! for `--duration` seconds. One JSON line is printed:
//! `{"msgs_per_sec":..,"server_cpu":..,"loadgen_cpu":..,...}`; the CPU
//! figures are the fraction of one core each process used in the window
//! (the server's through `/proc/PID/stat` when `--server-pid` is given).
//!
//! `--idle` instead opens the connections, echoes one message on each,
//! waits, and reports the server's resident memory before and after.
//! `--fanout` is the broadcast workload of one publisher: only the first
//! connection sends (keeping `--pipeline` messages in flight, each replaced
//! when the server's broadcast of it comes back to it), every connection
//! counts what it receives, and `msgs_per_sec` is deliveries per second
//! across all of them. The server must publish every message to every
//! socket (bench-server's `ours-hub`, uWebSockets' `uws_broadcast`).
//! `--deflate` offers permessage-deflate with `client_no_context_takeover`
//! (RFC 7692) and sends a pre-compressed JSON-like message.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;

use mio::{Events, Interest, Poll, Token};

struct Args {
    addr: SocketAddr,
    conns: usize,
    size: usize,
    pipeline: usize,
    warmup: f64,
    duration: f64,
    server_pid: Option<u32>,
    idle: bool,
    deflate: bool,
    fanout: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        addr: "127.0.0.1:9001".parse().unwrap(),
        conns: 100,
        size: 20,
        pipeline: 1,
        warmup: 1.0,
        duration: 3.0,
        server_pid: None,
        idle: false,
        deflate: false,
        fanout: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{arg} needs a value"));
        match arg.as_str() {
            "--addr" => args.addr = value().parse().expect("--addr IP:PORT"),
            "--conns" => args.conns = value().parse().expect("--conns N"),
            "--size" => args.size = value().parse().expect("--size BYTES"),
            "--pipeline" => args.pipeline = value().parse().expect("--pipeline N"),
            "--warmup" => args.warmup = value().parse().expect("--warmup SECONDS"),
            "--duration" => args.duration = value().parse().expect("--duration SECONDS"),
            "--server-pid" => args.server_pid = Some(value().parse().expect("--server-pid PID")),
            "--idle" => args.idle = true,
            "--deflate" => args.deflate = true,
            "--fanout" => args.fanout = true,
            other => panic!("unknown argument {other:?}"),
        }
    }
    assert!(args.pipeline >= 1 && args.conns >= 1);
    args
}

/// A JSON-like payload of exactly `size` bytes (a market-data tick, repeated).
fn json_payload(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size + 128);
    let mut i = 0u64;
    while out.len() < size {
        let tick = format!(
            r#"{{"symbol":"SYM{}","bid":{}.{:02},"ask":{}.{:02},"volume":{},"ts":{}}},"#,
            i % 37,
            100 + i % 13,
            i % 100,
            101 + i % 11,
            (i * 7) % 100,
            1000 + i * 31,
            1_700_000_000_000u64 + i * 17
        );
        out.extend_from_slice(tick.as_bytes());
        i += 1;
    }
    out.truncate(size);
    out
}

/// One masked binary frame (RFC 6455 section 5.2), RSV1 set when compressed.
fn client_frame(payload: &[u8], rsv1: bool) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = Vec::with_capacity(payload.len() + 14);
    frame.push(0x82 | if rsv1 { 0x40 } else { 0 });
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// The message to send: raw bytes, or JSON compressed once (no context
/// takeover, so every message compresses to the same bytes; RFC 7692 7.2.1).
fn message_frame(args: &Args) -> Vec<u8> {
    if !args.deflate {
        let payload: Vec<u8> = (0..args.size).map(|i| (i * 31 % 251) as u8).collect();
        return client_frame(&payload, false);
    }
    let payload = json_payload(args.size);
    let mut compress = flate2::Compress::new(flate2::Compression::new(1), false);
    let mut out = Vec::with_capacity(payload.len() + 64);
    compress
        .compress_vec(&payload, &mut out, flate2::FlushCompress::Sync)
        .unwrap();
    while out.capacity() - out.len() < 64 {
        out.reserve(64);
    }
    assert!(out.ends_with(&[0, 0, 0xff, 0xff]));
    out.truncate(out.len() - 4);
    client_frame(&out, true)
}

/// Counts complete messages in the server's byte stream without keeping payloads.
#[derive(Default)]
struct Counter {
    /// Unconsumed bytes of a header cut by a read.
    partial: Vec<u8>,
    /// Payload bytes of the current frame still to skip.
    remaining: u64,
    /// Whether the current frame ends a data message.
    fin_data: bool,
}

impl Counter {
    /// Feeds bytes read from the server; returns the messages they complete.
    fn feed(&mut self, mut bytes: &[u8]) -> Result<u64, String> {
        let mut done = 0;
        loop {
            if self.remaining > 0 {
                let skip = self.remaining.min(bytes.len() as u64);
                self.remaining -= skip;
                bytes = &bytes[skip as usize..];
                if self.remaining > 0 {
                    return Ok(done);
                }
                if self.fin_data {
                    done += 1;
                }
                self.fin_data = false;
            }
            if bytes.is_empty() {
                return Ok(done);
            }
            // A header: from `partial` + `bytes`, or from `bytes` directly.
            let joined;
            let view: &[u8] = if self.partial.is_empty() {
                bytes
            } else {
                let take = (14 - self.partial.len()).min(bytes.len());
                let mut v = self.partial.clone();
                v.extend_from_slice(&bytes[..take]);
                joined = v;
                &joined
            };
            let Some((header_len, len, fin, opcode)) = parse_header(view)? else {
                if self.partial.is_empty() {
                    self.partial.extend_from_slice(bytes);
                } else {
                    let take = (14 - self.partial.len()).min(bytes.len());
                    self.partial.extend_from_slice(&bytes[..take]);
                }
                return Ok(done);
            };
            let consumed_from_bytes = header_len - self.partial.len();
            self.partial.clear();
            bytes = &bytes[consumed_from_bytes..];
            if opcode == 0x8 {
                return Err("the server sent a close frame".into());
            }
            let data = matches!(opcode, 0x0..=0x2);
            if len == 0 {
                if fin && data {
                    done += 1;
                }
                continue;
            }
            self.remaining = len;
            self.fin_data = fin && data;
        }
    }
}

/// Parses a server frame header: (header length, payload length, FIN, opcode).
fn parse_header(b: &[u8]) -> Result<Option<(usize, u64, bool, u8)>, String> {
    if b.len() < 2 {
        return Ok(None);
    }
    if b[1] & 0x80 != 0 {
        return Err("the server masked a frame".into());
    }
    let (header_len, len) = match b[1] & 0x7f {
        126 if b.len() >= 4 => (4, u16::from_be_bytes([b[2], b[3]]) as u64),
        127 if b.len() >= 10 => (10, u64::from_be_bytes(b[2..10].try_into().unwrap())),
        126 | 127 => return Ok(None),
        n => (2, n as u64),
    };
    Ok(Some((header_len, len, b[0] & 0x80 != 0, b[0] & 0x0f)))
}

/// Connects and performs the opening handshake (blocking); returns the
/// stream and any bytes that followed the response head.
fn open(args: &Args) -> Result<(TcpStream, Vec<u8>), String> {
    let mut tcp = TcpStream::connect(args.addr).map_err(|e| format!("connect: {e}"))?;
    tcp.set_nodelay(true).map_err(|e| e.to_string())?;
    let extension = if args.deflate {
        "Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover\r\n"
    } else {
        ""
    };
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extension}\r\n",
        args.addr
    );
    tcp.write_all(request.as_bytes())
        .map_err(|e| format!("write: {e}"))?;
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    let end = loop {
        let n = tcp.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("the server closed during the handshake".into());
        }
        head.extend_from_slice(&chunk[..n]);
        if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).to_ascii_lowercase();
    if !text.starts_with("http/1.1 101") {
        return Err(format!(
            "handshake refused: {}",
            text.lines().next().unwrap_or("")
        ));
    }
    if args.deflate && !text.contains("permessage-deflate") {
        return Err("the server did not accept permessage-deflate".into());
    }
    Ok((tcp, head[end..].to_vec()))
}

fn open_all(args: &Args) -> Result<Vec<(TcpStream, Vec<u8>)>, String> {
    (0..args.conns).map(|_| open(args)).collect()
}

/// CPU seconds (user + system) a process has used, from /proc/PID/stat.
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    // utime and stime, fields 14 and 15 of proc(5), counted here from field 3.
    let ticks: f64 = fields[11].parse::<f64>().ok()? + fields[12].parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// A process's resident set in KiB, from /proc/PID/status.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn measure_idle(args: &Args) -> Result<String, String> {
    let pid = args.server_pid.ok_or("--idle needs --server-pid")?;
    let before = rss_kib(pid).ok_or("cannot read the server's RSS")?;
    let frame = client_frame(b"hello, idle server!!", false);
    let mut streams = open_all(args)?;
    let mut buf = vec![0u8; 4096];
    for (tcp, leftover) in &mut streams {
        tcp.write_all(&frame).map_err(|e| e.to_string())?;
        let mut counter = Counter::default();
        let mut got = counter.feed(leftover)?;
        while got == 0 {
            let n = tcp.read(&mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the server closed an idle connection".into());
            }
            got += counter.feed(&buf[..n])?;
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    let after = rss_kib(pid).ok_or("cannot read the server's RSS")?;
    let per_conn = (after.saturating_sub(before) as f64 * 1024.0) / args.conns as f64;
    drop(streams);
    Ok(format!(
        r#"{{"conns":{},"rss_before_kib":{before},"rss_after_kib":{after},"bytes_per_conn":{per_conn:.0}}}"#,
        args.conns
    ))
}

/// One connection of the throughput run.
struct Conn {
    tcp: mio::net::TcpStream,
    counter: Counter,
    /// Bytes of whole frames still to write.
    to_write: u64,
    /// Where the next write starts within a frame.
    pos: usize,
}

/// Writes what is owed from `chunk` (the frame repeated) until the socket is full.
fn flush(conn: &mut Conn, chunk: &[u8], frame_len: usize) -> Result<(), String> {
    while conn.to_write > 0 {
        let end = chunk.len().min(conn.pos + conn.to_write as usize);
        match conn.tcp.write(&chunk[conn.pos..end]) {
            Ok(n) => {
                conn.to_write -= n as u64;
                conn.pos = (conn.pos + n) % frame_len;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("write: {e}")),
        }
    }
    Ok(())
}

fn measure_throughput(args: &Args) -> Result<String, String> {
    let frame = message_frame(args);
    let frame_len = frame.len();
    // Up to `pipeline` frames back to back, so that one write can carry several.
    let copies = args.pipeline.min((64 * 1024 / frame_len).max(1));
    let chunk = frame.repeat(copies);
    let mut poll = Poll::new().map_err(|e| e.to_string())?;
    let mut conns = Vec::with_capacity(args.conns);
    let mut messages = 0u64;
    let mut bytes_in = 0u64;
    for (i, (tcp, leftover)) in open_all(args)?.into_iter().enumerate() {
        tcp.set_nonblocking(true).map_err(|e| e.to_string())?;
        let mut tcp = mio::net::TcpStream::from_std(tcp);
        poll.registry()
            .register(&mut tcp, Token(i), Interest::READABLE | Interest::WRITABLE)
            .map_err(|e| e.to_string())?;
        let mut conn = Conn {
            tcp,
            counter: Counter::default(),
            to_write: 0,
            pos: 0,
        };
        let early = conn.counter.feed(&leftover)?;
        messages += early;
        // Under --fanout only the first connection publishes.
        let sends = !args.fanout || i == 0;
        conn.to_write = if sends {
            (args.pipeline as u64 + early) * frame_len as u64
        } else {
            0
        };
        flush(&mut conn, &chunk, frame_len)?;
        conns.push(conn);
    }
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 256 * 1024];
    let started = Instant::now();
    let warmup_end = started + Duration::from_secs_f64(args.warmup);
    let end = warmup_end + Duration::from_secs_f64(args.duration);
    let server = args.server_pid.map(|p| p.to_string());
    // At the start of the measured window: messages, bytes, time, CPU of both.
    type Window = (u64, u64, Instant, Option<f64>, Option<f64>);
    let mut window: Option<Window> = None;
    loop {
        let now = Instant::now();
        if window.is_none() && now >= warmup_end {
            window = Some((
                messages,
                bytes_in,
                now,
                cpu_seconds("self"),
                server.as_deref().and_then(cpu_seconds),
            ));
        }
        if now >= end {
            break;
        }
        poll.poll(&mut events, Some(Duration::from_millis(10)))
            .map_err(|e| e.to_string())?;
        for event in events.iter() {
            let sends = !args.fanout || event.token().0 == 0;
            let conn = &mut conns[event.token().0];
            if event.is_readable() {
                loop {
                    match conn.tcp.read(&mut buf) {
                        Ok(0) => return Err("the server closed a connection".into()),
                        Ok(n) => {
                            bytes_in += n as u64;
                            let done = conn.counter.feed(&buf[..n])?;
                            messages += done;
                            if sends {
                                conn.to_write += done * frame_len as u64;
                            }
                            if n < buf.len() {
                                break;
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) => return Err(format!("read: {e}")),
                    }
                }
            }
            flush(conn, &chunk, frame_len)?;
        }
    }
    let (m0, b0, t0, own0, server0) = window.ok_or("no measurement window")?;
    let elapsed = t0.elapsed().as_secs_f64();
    let (own1, server1) = (cpu_seconds("self"), server.as_deref().and_then(cpu_seconds));
    let share = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.3}", (b - a) / elapsed),
        _ => "null".into(),
    };
    let counted = messages - m0;
    let wire_per_message = if counted > 0 {
        (bytes_in - b0) as f64 / counted as f64
    } else {
        0.0
    };
    Ok(format!(
        r#"{{"msgs_per_sec":{:.0},"messages":{counted},"seconds":{elapsed:.3},"server_cpu":{},"loadgen_cpu":{},"sent_frame_bytes":{frame_len},"received_bytes_per_message":{wire_per_message:.1}}}"#,
        counted as f64 / elapsed,
        share(server0, server1),
        share(own0, own1),
    ))
}

fn main() {
    let args = parse_args();
    let result = if args.idle {
        measure_idle(&args)
    } else {
        measure_throughput(&args)
    };
    match result {
        Ok(line) => println!("{line}"),
        Err(error) => {
            eprintln!("loadgen: {error}");
            std::process::exit(1);
        }
    }
}
