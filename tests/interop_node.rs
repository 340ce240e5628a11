//! permessage-deflate against a real compressing peer: Node's `ws` package
//! (installed by this test with npm into `target/interop-node`), as a client
//! of our server and as a server for our client, on 127.0.0.1.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use futures_util::StreamExt;
use ws_toolkit::core::DeflateParams;
use ws_toolkit::tokio::{accept_with, connect_with_config, ClientConfig, ServerConfig};
use ws_toolkit::{CloseCode, Config, Message};

/// The folder with `node_modules/ws`, installed once per target directory.
fn node_peer() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join("target/interop-node");
        if !dir.join("node_modules/ws/package.json").exists() {
            std::fs::create_dir_all(&dir).unwrap();
            let status = Command::new("npm")
                .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
                .arg(&dir)
                .arg("ws@8")
                .status()
                .expect("npm (Node.js) is needed for this test");
            assert!(status.success(), "npm install ws failed");
        }
        std::fs::copy(
            root.join("tests/interop/node_peer.js"),
            dir.join("node_peer.js"),
        )
        .unwrap();
        dir
    })
    .clone()
}

fn compressing() -> Config {
    Config::default()
        .compression_threshold(0)
        .max_message_size(8 << 20)
        .max_frame_size(8 << 20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_client_talks_compressed_to_our_server() {
    let dir = node_peer();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let config = ServerConfig::default()
            .connection(compressing())
            .deflate(DeflateParams::default());
        let mut socket = accept_with(tcp, &config).await.unwrap();
        let mut echoed = 0;
        while let Some(message) = socket.next().await {
            let message = message.unwrap();
            if message.is_data() {
                socket.send(message).await.unwrap();
                echoed += 1;
            }
        }
        echoed
    });
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .current_dir(&dir)
            .args(["node_peer.js", "client", &format!("ws://{addr}/")])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("permessage-deflate"), "{stdout}");
    let echoed = tokio::time::timeout(Duration::from_secs(20), server)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(echoed, 52);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_client_talks_compressed_to_a_node_ws_server() {
    let dir = node_peer();
    let mut node = Command::new("node")
        .current_dir(&dir)
        .args(["node_peer.js", "server"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(node.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port: u16 = line.trim().parse().expect("the port");
    let config = ClientConfig::default()
        .connection(compressing())
        .deflate(DeflateParams::default());
    let (mut socket, response) = connect_with_config(format!("ws://127.0.0.1:{port}/"), &config)
        .await
        .unwrap();
    let agreed = response.headers()["sec-websocket-extensions"]
        .to_str()
        .unwrap();
    assert!(agreed.starts_with("permessage-deflate"), "{agreed}");
    for i in 0..30 {
        let text = format!("{{\"seq\":{i},\"payload\":\"{}\"}}", "abc".repeat(i * 50));
        socket.send(Message::text(text.clone())).await.unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap().as_text(),
            Some(text.as_str())
        );
        let binary = vec![i as u8; i * 1000];
        socket.send(Message::binary(binary.clone())).await.unwrap();
        assert_eq!(
            socket.next().await.unwrap().unwrap(),
            Message::binary(binary)
        );
    }
    socket.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(socket.closed().unwrap().clean);
    let status = tokio::task::spawn_blocking(move || node.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
}
