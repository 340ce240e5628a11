//! Runs one of the top-level examples as its own process on 127.0.0.1, the
//! way a user would start it, and stops it when the test is done.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// The example's binary: built by `cargo test` next to the test binaries
/// (`target/<profile>/examples/`), or built here when only this test was
/// selected.
pub fn binary(name: &str) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let profile_dir = std::env::current_exe()
        .unwrap()
        .parent() // deps
        .and_then(|deps| deps.parent())
        .unwrap()
        .to_path_buf();
    let path = profile_dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let _one_build_at_a_time = BUILD.lock().unwrap_or_else(|poison| poison.into_inner());
    if !path.exists() {
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "--example", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        assert!(
            build.status().unwrap().success(),
            "cargo build --example {name}"
        );
    }
    path
}

/// A running example; killed when dropped.
pub struct Running {
    child: Child,
    /// The address it printed in its `listening on` line.
    pub addr: SocketAddr,
    /// The lines it printed after that one.
    output: std::sync::Arc<Mutex<Vec<String>>>,
}

impl Running {
    /// Starts example `name` with `args` (which should include
    /// `--addr 127.0.0.1:0`) and waits for its `listening on SCHEME://ADDR`
    /// line.
    pub fn start(name: &str, args: &[&str]) -> Running {
        let mut child = Command::new(binary(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let output = std::sync::Arc::new(Mutex::new(Vec::new()));
        let collected = output.clone();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the example never blocks on a full pipe.
            for line in lines.map_while(Result::ok) {
                collected.lock().unwrap().push(line);
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{name} did not print its address"));
        let addr = line
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("{name} printed {line:?}, not a listening address"));
        Running {
            child,
            addr,
            output,
        }
    }

    /// Sends the example SIGINT, as Ctrl-C would.
    pub fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -INT");
    }

    /// Waits up to `limit` for the example to exit; its exit code then.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The lines printed after the `listening on` line, so far.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().unwrap().clone()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
