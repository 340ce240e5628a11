//! Drives the Autobahn TestSuite's fuzzing server: asks for the case count,
//! runs every case by echoing what the server sends, then has it write its
//! reports.
//!
//! ```text
//! cargo run --release --example autobahn-client -- --url ws://127.0.0.1:9001 --agent NAME [--runtime tokio|async-std|smol|blocking]
//! ```
//!
//! `tokio` uses ws-tokio; `async-std` and `smol` use ws-async-std (on smol
//! the TCP connection is smol's, handed to `connect_with`). The cases are
//! driven by one loop over a boxed `Stream + Sink`, whatever the runtime.
//! `blocking` uses ws-blocking: the same steps as plain calls, no runtime.

use std::pin::Pin;

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use ws_toolkit::core::DeflateParams;
use ws_toolkit::tokio::{ClientConfig, Error, IntoClientRequest};
use ws_toolkit::{Config, Message};

/// A connected socket of any adapter.
trait Socket: Stream<Item = Result<Message, Error>> + Sink<Message, Error = Error> {}
impl<T: Stream<Item = Result<Message, Error>> + Sink<Message, Error = Error>> Socket for T {}

type BoxSocket = Pin<Box<dyn Socket + Send>>;

#[derive(Clone, Copy)]
enum Runtime {
    Tokio,
    AsyncStd,
    Smol,
    Blocking,
}

/// Connects with the adapter of `runtime`; call it on that runtime.
async fn open(runtime: Runtime, url: String) -> Result<BoxSocket, Error> {
    let config = client_config();
    Ok(match runtime {
        Runtime::Tokio => Box::pin(
            ws_toolkit::tokio::connect_with_config(url, &config)
                .await?
                .0,
        ),
        Runtime::AsyncStd => Box::pin(
            ws_toolkit::async_std::connect_with_config(url, &config)
                .await?
                .0,
        ),
        Runtime::Blocking => unreachable!("the blocking client runs without a runtime"),
        Runtime::Smol => {
            let request = url.into_client_request()?;
            let target = ws_toolkit::handshake::Target::from_uri(request.uri())?;
            let tcp = smol::net::TcpStream::connect((target.host.as_str(), target.port)).await?;
            tcp.set_nodelay(true)?;
            Box::pin(
                ws_toolkit::async_std::connect_with(tcp, request, &config)
                    .await?
                    .0,
            )
        }
    })
}

struct Args {
    url: String,
    agent: String,
    runtime: Runtime,
}

fn parse_args() -> Result<Args, String> {
    let mut url = "ws://127.0.0.1:9001".to_owned();
    let mut agent = "ws-toolkit".to_owned();
    let mut runtime = "tokio".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => url = args.next().ok_or("--url needs a value")?,
            "--agent" => agent = args.next().ok_or("--agent needs a value")?,
            "--runtime" => runtime = args.next().ok_or("--runtime needs a value")?,
            "-h" | "--help" => {
                return Err("usage: autobahn-client [--url ws://127.0.0.1:9001] [--agent NAME] [--runtime tokio|async-std|smol|blocking]".into())
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    let runtime = match runtime.as_str() {
        "tokio" => Runtime::Tokio,
        "async-std" => Runtime::AsyncStd,
        "smol" => Runtime::Smol,
        "blocking" => Runtime::Blocking,
        other => {
            return Err(format!(
                "unknown runtime {other:?}: choose tokio, async-std, smol or blocking"
            ))
        }
    };
    Ok(Args {
        url: url.trim_end_matches('/').to_owned(),
        agent,
        runtime,
    })
}

fn client_config() -> ClientConfig {
    ClientConfig::default()
        .connection(
            Config::default()
                .max_message_size(64 << 20)
                .max_frame_size(64 << 20),
        )
        .deflate(DeflateParams::default())
}

async fn case_count(runtime: Runtime, url: &str) -> Result<u32, Box<dyn std::error::Error>> {
    let mut socket = open(runtime, format!("{url}/getCaseCount")).await?;
    let mut count = None;
    while let Some(message) = socket.next().await {
        if let Some(text) = message?.as_text() {
            count = Some(text.trim().parse()?);
        }
    }
    count.ok_or_else(|| "the server sent no case count".into())
}

async fn run_case(
    runtime: Runtime,
    url: &str,
    case: u32,
    agent: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut socket = open(runtime, format!("{url}/runCase?case={case}&agent={agent}")).await?;
    while let Some(message) = socket.next().await {
        match message {
            Ok(message) if message.is_data() => {
                if socket.send(message).await.is_err() {
                    break;
                }
            }
            Ok(_) => {}
            // The case is judged by the server; keep driving the close.
            Err(_) => {}
        }
    }
    Ok(())
}

async fn update_reports(
    runtime: Runtime,
    url: &str,
    agent: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut socket = open(runtime, format!("{url}/updateReports?agent={agent}")).await?;
    // Sink::close sends a normal close (1000) and waits for the handshake.
    socket.close().await?;
    Ok(())
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let count = case_count(args.runtime, &args.url).await?;
    println!("running {count} cases against {}", args.url);
    for case in 1..=count {
        if let Err(error) = run_case(args.runtime, &args.url, case, &args.agent).await {
            eprintln!("case {case}: {error}");
        }
    }
    update_reports(args.runtime, &args.url, &args.agent).await?;
    println!("done; reports updated for agent {}", args.agent);
    Ok(())
}

/// The same run on ws-blocking: count, every case echoed, reports.
fn run_blocking(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    use ws_toolkit::blocking::{connect_with_config, CloseCode};
    let config = client_config();
    let (mut socket, _) = connect_with_config(format!("{}/getCaseCount", args.url), &config)?;
    let mut count = None;
    while let Some(message) = socket.recv() {
        if let Some(text) = message?.as_text() {
            count = Some(text.trim().parse::<u32>()?);
        }
    }
    let count = count.ok_or("the server sent no case count")?;
    println!("running {count} cases against {}", args.url);
    for case in 1..=count {
        let url = format!("{}/runCase?case={case}&agent={}", args.url, args.agent);
        let mut socket = match connect_with_config(url, &config) {
            Ok((socket, _)) => socket,
            Err(error) => {
                eprintln!("case {case}: {error}");
                continue;
            }
        };
        // The case is judged by the server; errors only end the loop's
        // echoing, the socket keeps driving the close.
        while let Some(message) = socket.recv() {
            if let Ok(message) = message {
                if message.is_data() && socket.send(message).is_err() {
                    break;
                }
            }
        }
    }
    let url = format!("{}/updateReports?agent={}", args.url, args.agent);
    connect_with_config(url, &config)?
        .0
        .close(CloseCode::NORMAL, "")?;
    println!("done; reports updated for agent {}", args.agent);
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let result = match args.runtime {
        Runtime::Tokio => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(run(args)),
        Runtime::AsyncStd => async_std::task::block_on(run(args)),
        Runtime::Smol => smol::block_on(run(args)),
        Runtime::Blocking => run_blocking(args),
    };
    if let Err(error) = result {
        eprintln!("autobahn-client: {error}");
        std::process::exit(1);
    }
}
