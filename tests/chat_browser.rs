//! The chat and leaderboard examples end to end in a real browser: headless
//! Chromium pages load the example's page from 127.0.0.1, connect over
//! WebSocket, and see each other's messages (`tests/browser/chat.js`) or the
//! same live top 10 (`tests/browser/leaderboard.js`), driven by
//! playwright-core; and the hyper-upgrade example over `https://`, where
//! Chromium's WebSocket goes over the page's HTTP/2 connection as an RFC
//! 8441 extended CONNECT (`tests/browser/h2.js`).
//!
//! The test installs what it needs: Debian's `chromium` package (with
//! apt-get, when `/usr/bin/chromium` is missing and no `CHROMIUM` path is
//! given) and `playwright-core` from npm into `target/browser-test`.
//! Playwright's own browser download is never used.

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use support::example::Running;

/// The browser to drive: `$CHROMIUM`, or Debian's chromium, installed here
/// when missing.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return path.into();
    }
    support::apt::ensure_installed_alone("/usr/bin/chromium", "chromium")
}

/// The folder with `node_modules/playwright-core` and the page scripts,
/// installed once per test binary: the tests run in parallel, and two `npm
/// install`s into one folder clobber each other's `node_modules`.
fn playwright() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(install_playwright).clone()
}

fn install_playwright() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/browser-test");
    let installed = || {
        dir.join("node_modules/playwright-core/package.json")
            .exists()
    };
    let mut failures = Vec::new();
    // The registry is reached over the network: a transient failure gets
    // two more tries before the test gives up with what npm printed.
    while !installed() && failures.len() < 3 {
        std::fs::create_dir_all(&dir).unwrap();
        let output = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&dir)
            .arg("playwright-core@1")
            .output()
            .expect("npm (Node.js) is needed for this test");
        if !output.status.success() {
            failures.push(format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
            std::thread::sleep(std::time::Duration::from_secs(2));
        }
    }
    assert!(
        installed(),
        "npm install playwright-core failed:\n{}",
        failures.join("\n---\n")
    );
    for script in ["chat.js", "leaderboard.js", "origin.js", "h2.js"] {
        std::fs::copy(root.join("tests/browser").join(script), dir.join(script)).unwrap();
    }
    dir
}

/// Runs `tests/browser/SCRIPT` in Node against a fresh `example` server
/// (its URL the first argument, then `more`) and returns what it printed,
/// once it printed `ok` last.
fn run_page_script(script: &str, example: &str, more: &[&str]) -> String {
    let browser = chromium();
    let dir = playwright();
    let server = Running::start(example, &["--addr", "127.0.0.1:0"]);
    let output = Command::new("node")
        .current_dir(&dir)
        .arg(script)
        .arg(format!("http://{}/", server.addr))
        .args(more)
        .env("CHROMIUM", &browser)
        .output()
        .expect("node (Node.js) is needed for this test");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.lines().last() == Some("ok"),
        "{script} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

#[test]
fn two_chromium_pages_chat_through_the_chat_example() {
    let stdout = run_page_script("chat.js", "chat", &[]);
    for step in [
        "alice connected",
        "bob connected",
        "alice saw \"* bob joined\"",
        "bob saw \"alice: hello from alice\"",
        "alice saw \"* bob left\"",
    ] {
        assert!(stdout.contains(step), "missing step {step:?}:\n{stdout}");
    }
}

#[test]
fn three_chromium_pages_follow_the_leaderboard_example() {
    let stdout = run_page_script("leaderboard.js", "leaderboard", &[]);
    for step in [
        "second shows bob 30, carol 20, alice 10",
        "first shows bob 30, dave 25, carol 20, alice 10",
        "third shows bob 30, dave 25, carol 20, alice 10",
    ] {
        assert!(stdout.contains(step), "missing step {step:?}:\n{stdout}");
    }
}

/// A plain page on its own loopback port: another origin than the example's.
/// Serves the same small HTML to every request until the test ends.
fn other_origin_page() -> std::net::SocketAddr {
    use std::io::{Read, Write};

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut tcp in listener.incoming().flatten() {
            let mut request = [0u8; 4096];
            let _ = tcp.read(&mut request);
            let body = "<!doctype html><title>another site</title><p>not the chat";
            let _ = write!(
                tcp,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

/// Cross-site WebSocket hijacking is refused by default: a page from another
/// origin that opens a WebSocket to the chat example gets an error (the
/// server answered 403), while the chat's own page, opening the same URL, is
/// accepted. The chat example runs with the default `OriginPolicy`.
#[test]
fn chromium_page_from_another_origin_is_refused_and_the_same_origin_page_is_accepted() {
    let other = format!("http://{}/", other_origin_page());
    let stdout = run_page_script("origin.js", "chat", &[&other]);
    assert!(stdout.contains("cross-origin page: refused"), "{stdout}");
    assert!(stdout.contains("same-origin page: open"), "{stdout}");
}

/// WebSockets over HTTP/2 from Chromium (RFC 8441): the hyper-upgrade
/// example with `--tls` (ALPN `h2`) serves its page over HTTP/2, and the
/// page's WebSocket to the same origin arrives as an extended CONNECT on
/// that connection (the example logs `websocket over HTTP/2.0`), echoes
/// text and binary up to 1 MiB with permessage-deflate, and closes with
/// 1000. On hyper and on axum.
#[test]
fn chromium_opens_a_websocket_over_http2_to_the_hyper_upgrade_example() {
    let browser = chromium();
    let dir = playwright();
    for server in ["hyper", "axum"] {
        let example = Running::start(
            "hyper-upgrade",
            &["--addr", "127.0.0.1:0", "--server", server, "--tls"],
        );
        let output = Command::new("node")
            .current_dir(&dir)
            .arg("h2.js")
            .arg(format!("https://127.0.0.1:{}/", example.addr.port()))
            .env("CHROMIUM", &browser)
            .output()
            .expect("node (Node.js) is needed for this test");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stdout.lines().last() == Some("ok"),
            "h2.js on {server} failed:\n{stdout}\n{stderr}"
        );
        assert!(stdout.contains("page over h2"), "{stdout}");
        assert!(stdout.contains("echoed 1048576 bytes"), "{stdout}");
        // The WebSocket came over HTTP/2: an extended CONNECT, not a second
        // (HTTP/1.1) connection. The page's own script opened one too.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while example.output().len() < 2 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let seen = example.output();
        assert!(
            !seen.is_empty() && seen.iter().all(|line| line == "websocket over HTTP/2.0"),
            "{server}: {seen:?}"
        );
        println!("{server}:\n{stdout}");
    }
}
