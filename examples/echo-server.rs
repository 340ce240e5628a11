//! An echo server: every text and binary message is sent back as it came.
//!
//! ```text
//! cargo run --release --example echo-server -- --addr 127.0.0.1:9001 [--runtime tokio]
//! ```
//!
//! Messages up to 64 MiB are accepted; pings are answered and close
//! handshakes completed by the library. This is the server the Autobahn
//! TestSuite's fuzzing client runs against (`cargo xtask autobahn --mode server`).

use std::net::SocketAddr;

use futures_util::StreamExt;
use ws_toolkit::tokio::{accept_with, ServerConfig};
use ws_toolkit::Config;

struct Args {
    addr: SocketAddr,
    runtime: String,
}

fn parse_args() -> Result<Args, String> {
    let mut addr: SocketAddr = "127.0.0.1:9001".parse().expect("valid default");
    let mut runtime = "tokio".to_owned();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--addr" => {
                let value = args.next().ok_or("--addr needs a value")?;
                addr = value
                    .parse()
                    .map_err(|error| format!("bad --addr {value:?}: {error}"))?;
            }
            "--runtime" => runtime = args.next().ok_or("--runtime needs a value")?,
            "-h" | "--help" => {
                return Err(
                    "usage: echo-server [--addr 127.0.0.1:9001] [--runtime tokio|async-std]".into(),
                )
            }
            other => return Err(format!("unknown argument {other:?} (try --help)")),
        }
    }
    Ok(Args { addr, runtime })
}

fn server_config() -> ServerConfig {
    ServerConfig::default().connection(
        Config::default()
            .max_message_size(64 << 20)
            .max_frame_size(64 << 20),
    )
}

async fn serve_tokio(addr: SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "echo-server (tokio) listening on ws://{}",
        listener.local_addr()?
    );
    let config = std::sync::Arc::new(server_config());
    loop {
        let (tcp, peer) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let config = config.clone();
        tokio::spawn(async move {
            let mut socket = match accept_with(tcp, &config).await {
                Ok(socket) => socket,
                Err(error) => {
                    eprintln!("{peer}: handshake failed: {error}");
                    return;
                }
            };
            while let Some(message) = socket.next().await {
                match message {
                    Ok(message) if message.is_data() => {
                        if let Err(error) = socket.send(message).await {
                            eprintln!("{peer}: send failed: {error}");
                            break;
                        }
                    }
                    Ok(_) => {}
                    Err(error) => eprintln!("{peer}: {error}"),
                }
            }
        });
    }
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
        "tokio" => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("tokio runtime")
            .block_on(serve_tokio(args.addr)),
        other => {
            eprintln!("unknown runtime {other:?}: this build has `tokio` (async-std arrives with ws-async-std)");
            std::process::exit(2);
        }
    };
    if let Err(error) = result {
        eprintln!("echo-server: {error}");
        std::process::exit(1);
    }
}
