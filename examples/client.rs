//! A small wscat: each line of standard input is sent as a text message, each
//! message received is printed on its own line. At the end of input it closes
//! the connection cleanly and exits 0.
//!
//! ```text
//! cargo run --release --example client -- ws://127.0.0.1:9001/
//! cargo run --release --example client -- --http2 wss://127.0.0.1:9003/ws
//! ```
//!
//! It goes through the proxy the environment names (`WSS_PROXY`,
//! `HTTPS_PROXY`, `ALL_PROXY`, ... and `NO_PROXY`, as curl does). With
//! `--http2` it opens the WebSocket as a stream of an HTTP/2 connection
//! instead (RFC 8441, through ws-hyper's `Http2Client`): prior knowledge
//! on `ws://`, ALPN `h2` on `wss://`, and no proxy.

use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, BufReader};
use ws_toolkit::tokio::{connect, WebSocket};
use ws_toolkit::{CloseCode, Message};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut http2 = false;
    let mut url = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--http2" => http2 = true,
            _ if url.is_none() => url = Some(arg),
            _ => url = None,
        }
    }
    let Some(url) = url else {
        eprintln!("usage: client [--http2] ws://HOST:PORT/PATH");
        std::process::exit(2);
    };
    let cannot = |error: ws_toolkit::tokio::Error| -> ! {
        eprintln!("client: cannot connect to {url}: {error}");
        std::process::exit(1);
    };
    let ok = if http2 {
        let config = ws_hyper::ClientConfig::default();
        let client = match ws_hyper::Http2Client::dial(url.as_str(), config).await {
            Ok(client) => client,
            Err(error) => cannot(error),
        };
        match client.connect(url.as_str()).await {
            Ok((socket, _)) => run(socket).await,
            Err(error) => cannot(error),
        }
    } else {
        match connect(url.as_str()).await {
            Ok((socket, _)) => run(socket).await,
            Err(error) => cannot(error),
        }
    };
    std::process::exit(if ok { 0 } else { 1 });
}

/// Lines of standard input out, messages printed, a clean close at the end
/// of input: whether all went well.
async fn run<S>(socket: WebSocket<S>) -> bool
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut reader, mut writer) = socket.split();

    let printer = tokio::spawn(async move {
        while let Some(message) = reader.next().await {
            match message {
                Ok(Message::Text(text)) => println!("{text}"),
                Ok(Message::Binary(data)) => println!("<{} bytes of binary>", data.len()),
                Ok(Message::Close(Some(close))) => {
                    eprintln!("server closed: {} {}", close.code, close.reason)
                }
                Ok(_) => {}
                Err(error) => {
                    eprintln!("client: {error}");
                    return false;
                }
            }
        }
        true
    });

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut ok = true;
    loop {
        match lines.next_line().await {
            Ok(Some(line)) => {
                if let Err(error) = writer.send(Message::text(line)).await {
                    eprintln!("client: {error}");
                    ok = false;
                    break;
                }
            }
            Ok(None) => break,
            Err(error) => {
                eprintln!("client: reading stdin: {error}");
                ok = false;
                break;
            }
        }
    }
    let _ = writer.close(CloseCode::NORMAL, "").await;
    let clean = printer.await.unwrap_or(false);
    ok && clean
}
