//! A small wscat: each line of standard input is sent as a text message, each
//! message received is printed on its own line. At the end of input it closes
//! the connection cleanly and exits 0.
//!
//! ```text
//! cargo run --release --example client -- ws://127.0.0.1:9001/
//! ```

use futures_util::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};
use ws_toolkit::tokio::connect;
use ws_toolkit::{CloseCode, Message};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Some(url) = std::env::args().nth(1) else {
        eprintln!("usage: client ws://HOST:PORT/PATH");
        std::process::exit(2);
    };
    let (socket, _) = match connect(url.as_str()).await {
        Ok(connected) => connected,
        Err(error) => {
            eprintln!("client: cannot connect to {url}: {error}");
            std::process::exit(1);
        }
    };
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
    std::process::exit(if ok && clean { 0 } else { 1 });
}
