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
        Self::spawn(name, Command::new(binary(name)).args(args))
    }

    /// [`start`](Self::start) with at most `limit` open file descriptors
    /// (`RLIMIT_NOFILE`, soft and hard, as `ulimit -n` sets it).
    pub fn start_with_fd_limit(name: &str, args: &[&str], limit: u64) -> Running {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(binary(name));
        command.args(args);
        // SAFETY: only setrlimit, which is async-signal-safe, runs between
        // fork and exec.
        #[allow(unsafe_code)]
        unsafe {
            command.pre_exec(move || {
                let rlimit = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
        Self::spawn(name, &mut command)
    }

    /// The process's CPU time so far (user and system, from `/proc`).
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // Fields after the command name, which is in parentheses: state is
        // field 3, utime 14, stime 15, in clock ticks.
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after_name.split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        // SAFETY: sysconf has no preconditions.
        #[allow(unsafe_code)]
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        Duration::from_millis(ticks * 1000 / per_second)
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    fn spawn(name: &str, command: &mut Command) -> Running {
        let mut child = command
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
