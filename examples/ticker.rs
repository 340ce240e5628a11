//! A market-data ticker: one producer updates prices many times a second and
//! every subscriber receives them, the case of price feeds and leaderboards.
//!
//! ```text
//! cargo run --release --example ticker -- --addr 127.0.0.1:9002 [--interval-ms 50] [--stall-ms 5000]
//! ```
//!
//! Subscribe with `ws://127.0.0.1:9002/?symbols=AAPL,MSFT` (all symbols when
//! the query is absent). Each symbol is a topic of a [`Hub`]; each update of
//! a symbol is one JSON text message, framed once for all its subscribers:
//! `{"seq":42,"prices":{"AAPL":189.12}}`.
//!
//! # Backpressure, per client
//!
//! A ticker must never let one slow subscriber slow the others or grow the
//! server's memory. Here:
//!
//! - Updates are *conflated* ([`SlowPolicy::Conflate`]): when more than 4 KiB
//!   of updates wait for a subscriber, the older updates of the same symbol
//!   are dropped, so a slow subscriber skips to the newest price of each
//!   symbol (its `seq` jumps) and nothing grows per subscriber.
//! - A subscriber whose socket accepts nothing for `--stall-ms` (its TCP
//!   window stayed full: the client stopped reading) is dropped by the
//!   connection's write timeout. Its task ends and its memory is freed;
//!   everyone else is unaffected.
//! - The connection's own send buffer is bounded by `Config::max_buffered_output`
//!   (the library default), so even a single large write cannot grow without
//!   limit.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use ws_toolkit::core::PreparedMessage;
use ws_toolkit::pubsub::{Delivery, Hub, HubConfig, SlowPolicy};
use ws_toolkit::tokio::{accept_with_callback, ServerConfig, WebSocket};
use ws_toolkit::Config;

const SYMBOLS: [&str; 6] = ["AAPL", "AMZN", "GOOG", "MSFT", "NVDA", "TSLA"];

/// One published state of the market: a sequence number and every price.
#[derive(Debug, Clone)]
struct Snapshot {
    seq: u64,
    prices: BTreeMap<&'static str, f64>,
}

struct Args {
    addr: SocketAddr,
    interval: Duration,
    stall: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut parsed = Args {
        addr: "127.0.0.1:9002".parse().expect("valid default"),
        interval: Duration::from_millis(50),
        stall: Duration::from_millis(5000),
    };
    let mut args = std::env::args().skip(1);
    let millis = |value: Option<String>, flag: &str| -> Result<Duration, String> {
        let value = value.ok_or(format!("{flag} needs a value"))?;
        let ms: u64 = value
            .parse()
            .map_err(|error| format!("bad {flag} {value:?}: {error}"))?;
        Ok(Duration::from_millis(ms.max(1)))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let value = args.next().ok_or("--addr needs a value")?;
                parsed.addr = value
                    .parse()
                    .map_err(|error| format!("bad --addr {value:?}: {error}"))?;
            }
            "--interval-ms" => parsed.interval = millis(args.next(), "--interval-ms")?,
            "--stall-ms" => parsed.stall = millis(args.next(), "--stall-ms")?,
            "-h" | "--help" => {
                return Err(
                    "usage: ticker [--addr 127.0.0.1:9002] [--interval-ms 50] [--stall-ms 5000]"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(parsed)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    println!("ticker listening on ws://{}/", listener.local_addr()?);

    let first = Snapshot {
        seq: 0,
        prices: SYMBOLS.iter().map(|&symbol| (symbol, 100.0)).collect(),
    };
    let hub = Hub::new(
        HubConfig::default()
            .max_queued_bytes(4 * 1024)
            .slow(SlowPolicy::Conflate),
    );
    tokio::spawn(produce(hub.clone(), first, args.interval));

    // A socket that takes nothing for `stall` fails with the write timeout.
    let config = Arc::new(
        ServerConfig::default().connection(Config::default().write_timeout(Some(args.stall))),
    );
    loop {
        // Survives EMFILE and aborted connections instead of exiting.
        let (tcp, peer) = ws_toolkit::tokio::retry_accept(
            || listener.accept(),
            |error| eprintln!("accept failed, retrying: {error}"),
        )
        .await?;
        // Latency only: a peer already gone fails later, in the handshake.
        let _ = tcp.set_nodelay(true);
        let (config, hub) = (config.clone(), hub.clone());
        tokio::spawn(async move {
            let mut query = None;
            let accepted = accept_with_callback(tcp, &config, |request, _| {
                query = request.uri().query().map(str::to_owned);
                Ok(())
            })
            .await;
            match accepted {
                Ok(socket) => {
                    let symbols = symbols_from_query(query.as_deref());
                    match subscribe(socket, &hub, &symbols).await {
                        Ok(()) => {}
                        Err(reason) => eprintln!("{peer}: dropped: {reason}"),
                    }
                }
                Err(error) => eprintln!("{peer}: handshake failed: {error}"),
            }
        });
    }
}

/// Moves every price by a small random step each interval and publishes
/// each symbol's new price to its topic. Publishing never waits for
/// subscribers.
async fn produce(hub: Hub, mut snapshot: Snapshot, interval: Duration) {
    let mut rng = 0x2545_f491_4f6c_dd1d_u64;
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        snapshot.seq += 1;
        for (symbol, price) in snapshot.prices.iter_mut() {
            // xorshift64: a step in [-0.5%, +0.5%).
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let step = (rng % 1000) as f64 / 100_000.0 - 0.005;
            *price = (*price * (1.0 + step) * 100.0).round() / 100.0;
            let update = format!(
                "{{\"seq\":{},\"prices\":{{\"{symbol}\":{price:.2}}}}}",
                snapshot.seq
            );
            hub.publish(symbol, &PreparedMessage::text(update));
        }
    }
}

/// The symbols a subscriber asked for (`?symbols=AAPL,MSFT`), all of them
/// when it asked for none it knows.
fn symbols_from_query(query: Option<&str>) -> Vec<&'static str> {
    let asked: Vec<&'static str> = query
        .into_iter()
        .flat_map(|query| query.split('&'))
        .filter_map(|pair| pair.strip_prefix("symbols="))
        .flat_map(|list| list.split(','))
        .filter_map(|wanted| {
            SYMBOLS
                .iter()
                .copied()
                .find(|s| s.eq_ignore_ascii_case(wanted))
        })
        .collect();
    if asked.is_empty() {
        SYMBOLS.to_vec()
    } else {
        asked
    }
}

/// Writes the updates of `symbols` to one subscriber until it leaves, or
/// until its socket stalls for longer than the write timeout.
async fn subscribe(
    mut socket: WebSocket<tokio::net::TcpStream>,
    hub: &Hub,
    symbols: &[&'static str],
) -> Result<(), String> {
    let (subscription, mut inbox) = hub.join();
    for symbol in symbols {
        subscription.subscribe(symbol);
    }
    let mut batch = Vec::new();
    loop {
        tokio::select! {
            // Reading keeps pings answered and notices the client's close.
            incoming = socket.next() => match incoming {
                Some(Ok(_)) => {} // subscribers have nothing to say
                Some(Err(error)) => return Err(error.to_string()),
                None => return Ok(()),
            },
            delivery = inbox.recv_many(&mut batch) => {
                if !matches!(delivery, Delivery::Messages(_)) {
                    return Ok(());
                }
                // What waited (the newest update of each symbol, if the
                // subscriber fell behind), in one write.
                for update in batch.drain(..) {
                    socket.feed_prepared(&update).await.map_err(|e| e.to_string())?;
                }
                socket.flush().await.map_err(|e| e.to_string())?;
            }
        }
    }
}
