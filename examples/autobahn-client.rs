//! Drives the Autobahn TestSuite's fuzzing server: asks for the case count,
//! runs every case by echoing what the server sends, then has it write its
//! reports.
//!
//! ```text
//! cargo run --release --example autobahn-client -- --url ws://127.0.0.1:9001 --agent NAME [--runtime tokio] [--cases 1,2,5-9]
//! ```

use futures_util::StreamExt;
use ws_toolkit::tokio::{connect_with_config, ClientConfig};
use ws_toolkit::Config;

struct Args {
    url: String,
    agent: String,
    runtime: String,
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
                return Err("usage: autobahn-client [--url ws://127.0.0.1:9001] [--agent NAME] [--runtime tokio|async-std]".into())
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(Args {
        url: url.trim_end_matches('/').to_owned(),
        agent,
        runtime,
    })
}

fn client_config() -> ClientConfig {
    ClientConfig::default().connection(
        Config::default()
            .max_message_size(64 << 20)
            .max_frame_size(64 << 20),
    )
}

async fn case_count(url: &str) -> Result<u32, Box<dyn std::error::Error>> {
    let (mut socket, _) =
        connect_with_config(format!("{url}/getCaseCount"), &client_config()).await?;
    let mut count = None;
    while let Some(message) = socket.next().await {
        if let Some(text) = message?.as_text() {
            count = Some(text.trim().parse()?);
        }
    }
    count.ok_or_else(|| "the server sent no case count".into())
}

async fn run_case(url: &str, case: u32, agent: &str) -> Result<(), Box<dyn std::error::Error>> {
    let (mut socket, _) = connect_with_config(
        format!("{url}/runCase?case={case}&agent={agent}"),
        &client_config(),
    )
    .await?;
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

async fn update_reports(url: &str, agent: &str) -> Result<(), Box<dyn std::error::Error>> {
    let (mut socket, _) = connect_with_config(
        format!("{url}/updateReports?agent={agent}"),
        &client_config(),
    )
    .await?;
    socket.close(ws_toolkit::CloseCode::NORMAL, "").await?;
    Ok(())
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let count = case_count(&args.url).await?;
    println!("running {count} cases against {}", args.url);
    for case in 1..=count {
        if let Err(error) = run_case(&args.url, case, &args.agent).await {
            eprintln!("case {case}: {error}");
        }
    }
    update_reports(&args.url, &args.agent).await?;
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
    let result = match args.runtime.as_str() {
        "tokio" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(run(args)),
        other => {
            eprintln!("unknown runtime {other:?}: this build has `tokio` (async-std arrives with ws-async-std)");
            std::process::exit(2);
        }
    };
    if let Err(error) = result {
        eprintln!("autobahn-client: {error}");
        std::process::exit(1);
    }
}
