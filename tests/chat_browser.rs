//! The chat and leaderboard examples end to end in a real browser: headless
//! Chromium pages load the example's page from 127.0.0.1, connect over
//! WebSocket, and see each other's messages (`tests/browser/chat.js`) or the
//! same live top 10 (`tests/browser/leaderboard.js`), driven by
//! playwright-core.
//!
//! The test installs what it needs: Debian's `chromium` package (with
//! apt-get, when `/usr/bin/chromium` is missing and no `CHROMIUM` path is
//! given) and `playwright-core` from npm into `target/browser-test`.
//! Playwright's own browser download is never used.

mod support;

use std::path::PathBuf;
use std::process::Command;

use support::example::Running;

/// The browser to drive: `$CHROMIUM`, or Debian's chromium, installed here
/// when missing.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return path.into();
    }
    let path = PathBuf::from("/usr/bin/chromium");
    if !path.exists() {
        let install = || {
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends", "chromium"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|status| status.success())
        };
        let installed = install()
            || (Command::new("apt-get")
                .args(["update", "-q"])
                .status()
                .is_ok_and(|status| status.success())
                && install());
        assert!(
            installed && path.exists(),
            "this test needs Chromium: install Debian's chromium package, or set CHROMIUM \
             to a Chromium or Chrome binary"
        );
    }
    path
}

/// The folder with `node_modules/playwright-core` and the page script.
fn playwright() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/browser-test");
    if !dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        std::fs::create_dir_all(&dir).unwrap();
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--silent", "--prefix"])
            .arg(&dir)
            .arg("playwright-core@1")
            .status()
            .expect("npm (Node.js) is needed for this test");
        assert!(status.success(), "npm install playwright-core failed");
    }
    for script in ["chat.js", "leaderboard.js"] {
        std::fs::copy(root.join("tests/browser").join(script), dir.join(script)).unwrap();
    }
    dir
}

/// Runs `tests/browser/SCRIPT` in Node against a fresh `example` server
/// and returns what it printed, once it printed `ok` last.
fn run_page_script(script: &str, example: &str) -> String {
    let browser = chromium();
    let dir = playwright();
    let server = Running::start(example, &["--addr", "127.0.0.1:0"]);
    let output = Command::new("node")
        .current_dir(&dir)
        .arg(script)
        .arg(format!("http://{}/", server.addr))
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
    let stdout = run_page_script("chat.js", "chat");
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
    let stdout = run_page_script("leaderboard.js", "leaderboard");
    for step in [
        "second shows bob 30, carol 20, alice 10",
        "first shows bob 30, dave 25, carol 20, alice 10",
        "third shows bob 30, dave 25, carol 20, alice 10",
    ] {
        assert!(stdout.contains(step), "missing step {step:?}:\n{stdout}");
    }
}
