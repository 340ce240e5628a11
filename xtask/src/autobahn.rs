//! The Autobahn TestSuite, run without Docker when no engine answers.
//!
//! Judging is strict: a case passes only when both its behaviour and its close
//! behaviour are OK or INFORMATIONAL; NON-STRICT, UNIMPLEMENTED and FAILED all
//! fail the run.

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Sections left out, in this one place: none. (12 and 13, permessage-deflate,
/// run since RFC 7692 support landed.)
const EXCLUDED_CASES: &[&str] = &[];

/// How many cases run with the exclusions above; a report with another count
/// means cases were skipped or the suite changed.
const EXPECTED_CASES: usize = 517;

struct Options {
    server: bool,
    client: bool,
    runtimes: Vec<String>,
    cases: Vec<String>,
    jobs: usize,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        server: true,
        client: true,
        runtimes: vec!["tokio".into()],
        cases: vec!["*".into()],
        jobs: crate::pool::default_workers(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("{arg} needs a value"))
        };
        match arg.as_str() {
            "--mode" => match value()?.as_str() {
                "server" => (options.server, options.client) = (true, false),
                "client" => (options.server, options.client) = (false, true),
                "both" => (options.server, options.client) = (true, true),
                other => return Err(format!("unknown mode {other:?}: server, client or both")),
            },
            "--runtime" => {
                options.runtimes.clear();
                for runtime in value()?.split(',').map(str::trim) {
                    match runtime {
                        "tokio" | "async-std" | "smol" | "blocking" | "mio" => {
                            options.runtimes.push(runtime.to_owned())
                        }
                        other => {
                            return Err(format!(
                                "unknown runtime {other:?}: tokio, async-std, smol, blocking or mio (server only)"
                            ))
                        }
                    }
                }
            }
            "--cases" => {
                options.cases = value()?
                    .split(',')
                    .map(|case| case.trim().to_owned())
                    .collect()
            }
            "--jobs" => {
                options.jobs = value()?
                    .parse()
                    .ok()
                    .filter(|&jobs| jobs > 0)
                    .ok_or("--jobs needs a whole number above 0")?
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if options.runtimes.iter().any(|runtime| runtime == "mio") && !options.server {
        return Err("ws-mio is a server: run it with --mode server or both".into());
    }
    Ok(options)
}

/// Server or client mode: who wstest plays against.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    /// wstest's fuzzing client against our echo server.
    Server,
    /// Our autobahn client against wstest's fuzzing server.
    Client,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Server => "server",
            Mode::Client => "client",
        }
    }
}

/// One wstest run: a runtime, a mode and a share of the cases.
struct Job {
    runtime: String,
    mode: Mode,
    /// A name for the share, for its report folder.
    part: &'static str,
    cases: Vec<String>,
    exclude: Vec<String>,
}

/// The runs a whole suite is split into. wstest is single-threaded Python
/// and spends most of its time in zlib for sections 12 and 13, so a run is
/// bound by one core; section 12 (about half the time) runs apart from the
/// rest, so that the runs fill every core evenly.
fn jobs(options: &Options) -> Vec<Job> {
    let mut jobs = Vec::new();
    for runtime in &options.runtimes {
        let mut modes = Vec::new();
        if options.server {
            modes.push(Mode::Server);
        }
        if options.client {
            if runtime == "mio" {
                println!("autobahn: ws-mio is a server only; its client mode is not run");
            } else {
                modes.push(Mode::Client);
            }
        }
        for mode in modes {
            let excluded: Vec<String> = EXCLUDED_CASES.iter().map(|&c| c.to_owned()).collect();
            if options.cases == ["*"] {
                jobs.push(Job {
                    runtime: runtime.clone(),
                    mode,
                    part: "section-12",
                    cases: vec!["12.*".into()],
                    exclude: excluded.clone(),
                });
                let mut rest = excluded;
                rest.push("12.*".into());
                jobs.push(Job {
                    runtime: runtime.clone(),
                    mode,
                    part: "others",
                    cases: vec!["*".into()],
                    exclude: rest,
                });
            } else {
                jobs.push(Job {
                    runtime: runtime.clone(),
                    mode,
                    part: "selected",
                    cases: options.cases.clone(),
                    exclude: excluded,
                });
            }
        }
    }
    jobs
}

pub fn run(args: &[String]) -> Result<(), String> {
    let options = parse(args)?;
    let root = crate::workspace_root();
    let wstest = ensure_wstest(&root)?;
    build_examples(&root)?;
    let reports = root.join("target").join("autobahn");
    std::fs::create_dir_all(&reports)
        .map_err(|error| format!("creating {}: {error}", reports.display()))?;
    let jobs = jobs(&options);
    let workers = options.jobs.min(jobs.len()).max(1);
    println!("autobahn: {} wstest runs, {workers} at a time", jobs.len());
    let started = Instant::now();
    let done = crate::pool::run_all(
        jobs,
        workers,
        |job| {
            let job_started = Instant::now();
            let outcome = run_job(&root, &wstest, &reports, job);
            println!(
                "autobahn: {} {} mode, {}: done in {} s",
                job.runtime,
                job.mode.name(),
                job.part,
                job_started.elapsed().as_secs()
            );
            outcome
        },
        |_| false,
    );
    let mut failures = Vec::new();
    let mut merged: Vec<(String, Mode, Result<Verdict, String>)> = Vec::new();
    for (job, outcome) in done {
        match merged
            .iter_mut()
            .find(|(runtime, mode, _)| *runtime == job.runtime && *mode == job.mode)
        {
            Some((_, _, total)) => {
                *total = match (std::mem::replace(total, Err(String::new())), outcome) {
                    (Ok(mut verdict), Ok(more)) => {
                        verdict.absorb(more);
                        Ok(verdict)
                    }
                    (Err(error), _) | (_, Err(error)) => Err(error),
                }
            }
            None => merged.push((job.runtime, job.mode, outcome)),
        }
    }
    for (runtime, mode, outcome) in merged {
        let label = format!("{runtime} {}", mode.name());
        match outcome {
            Ok(verdict) => failures.extend(verdict.report(&label, options.cases == ["*"])),
            Err(error) => failures.push(format!("{label} mode: {error}")),
        }
    }
    println!("autobahn: finished in {} s", started.elapsed().as_secs());
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

fn run_job(root: &Path, wstest: &Wstest, reports: &Path, job: &Job) -> Result<Verdict, String> {
    let dir = reports
        .join(&job.runtime)
        .join(format!("{}s", job.mode.name()))
        .join(job.part);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)
        .map_err(|error| format!("creating {}: {error}", dir.display()))?;
    match job.mode {
        Mode::Server => run_server_mode(root, wstest, &dir, job),
        Mode::Client => run_client_mode(root, wstest, &dir, job),
    }
}

/// How wstest is run: a local install, or the Docker image.
enum Wstest {
    Local(PathBuf),
    Docker,
}

impl Wstest {
    fn command(&self, mode: &str, spec: &Path) -> Command {
        // The fuzzing server also serves its reports on a web port, 8080
        // unless told: off, or two runs at once (or anything else on 8080)
        // end the second one right after it opened its WebSocket port.
        let web = ["--webport", "0"];
        let web = if mode == "fuzzingserver" {
            &web[..]
        } else {
            &[]
        };
        match self {
            Wstest::Local(path) => {
                let mut command = Command::new(path);
                command.args(["-m", mode]).args(web).arg("-s").arg(spec);
                command
            }
            Wstest::Docker => {
                let dir = spec.parent().expect("spec has a directory");
                let mut command = Command::new("docker");
                command
                    .args(["run", "--rm", "--net=host", "-v"])
                    .arg(format!("{}:{}", dir.display(), dir.display()))
                    .args(["crossbario/autobahn-testsuite", "wstest", "-m", mode])
                    .args(web)
                    .arg("-s")
                    .arg(spec);
                command
            }
        }
    }
}

fn ensure_wstest(root: &Path) -> Result<Wstest, String> {
    let home = std::env::var("HOME").map_err(|_| "HOME is not set".to_string())?;
    let local = PathBuf::from(home).join(".local/bin/wstest");
    let runs = |path: &Path| {
        Command::new(path)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if runs(&local) {
        return Ok(Wstest::Local(local));
    }
    let docker_answers = Command::new("docker")
        .arg("info")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if docker_answers {
        println!("autobahn: using the crossbario/autobahn-testsuite Docker image");
        return Ok(Wstest::Docker);
    }
    println!(
        "autobahn: wstest is missing; installing it (python2.7 from Debian bullseye, pip 20.3.4)"
    );
    let script = root.join("xtask/scripts/install-wstest.sh");
    let status = Command::new("bash")
        .arg(&script)
        .status()
        .map_err(|error| format!("running {}: {error}", script.display()))?;
    if !status.success() || !runs(&local) {
        return Err("installing wstest failed (see the output above)".into());
    }
    Ok(Wstest::Local(local))
}

fn build_examples(root: &Path) -> Result<(), String> {
    let status = Command::new(env!("CARGO"))
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--example",
            "echo-server",
            "--example",
            "autobahn-client",
        ])
        .status()
        .map_err(|error| format!("running cargo build: {error}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| "building the examples failed".into())
}

fn example(root: &Path, name: &str) -> PathBuf {
    root.join("target/release/examples").join(name)
}

/// A port nothing listens on, never one handed out before in this run
/// (several runs start at once, each between picking its port and binding it).
fn free_port() -> Result<u16, String> {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().map_err(|_| "a run panicked".to_string())?;
    for _ in 0..100 {
        let listener = TcpListener::bind("127.0.0.1:0")
            .map_err(|error| format!("finding a free port: {error}"))?;
        let port = listener
            .local_addr()
            .map_err(|error| error.to_string())?
            .port();
        if !given.contains(&port) {
            given.push(port);
            return Ok(port);
        }
    }
    Err("no free port on 127.0.0.1 that this run has not used".into())
}

fn wait_for_port(port: u16, child: &mut Child) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the process exited before listening: {status}"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("nothing listened on 127.0.0.1:{port} within 60 s"))
}

/// Kills a child process when dropped, so no server outlives the run.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn agent(runtime: &str) -> String {
    format!("ws-toolkit-{runtime}")
}

fn run_server_mode(root: &Path, wstest: &Wstest, dir: &Path, job: &Job) -> Result<Verdict, String> {
    let port = free_port()?;
    let server = Command::new(example(root, "echo-server"))
        .args([
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--runtime",
            &job.runtime,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("starting echo-server: {error}"))?;
    let mut server = Guard(server);
    wait_for_port(port, &mut server.0)?;
    let outdir = dir.join("report");
    let spec = serde_json::json!({
        "outdir": outdir,
        "servers": [{ "agent": agent(&job.runtime), "url": format!("ws://127.0.0.1:{port}") }],
        "cases": job.cases,
        "exclude-cases": job.exclude,
        "exclude-agent-cases": {},
    });
    let spec_path = dir.join("fuzzingclient.json");
    write_json(&spec_path, &spec)?;
    println!(
        "autobahn: server mode, {} echo-server on 127.0.0.1:{port}, {}",
        job.runtime, job.part
    );
    let status = wstest
        .command("fuzzingclient", &spec_path)
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .map_err(|error| format!("running wstest: {error}"))?;
    if !status.success() {
        return Err(format!("wstest fuzzingclient exited with {status}"));
    }
    drop(server);
    judge(&outdir.join("index.json"), &agent(&job.runtime))
}

fn run_client_mode(root: &Path, wstest: &Wstest, dir: &Path, job: &Job) -> Result<Verdict, String> {
    let port = free_port()?;
    let outdir = dir.join("report");
    let spec = serde_json::json!({
        "url": format!("ws://127.0.0.1:{port}"),
        "outdir": outdir,
        "cases": job.cases,
        "exclude-cases": job.exclude,
        "exclude-agent-cases": {},
    });
    let spec_path = dir.join("fuzzingserver.json");
    write_json(&spec_path, &spec)?;
    let fuzzer = wstest
        .command("fuzzingserver", &spec_path)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|error| format!("starting wstest fuzzingserver: {error}"))?;
    let mut fuzzer = Guard(fuzzer);
    wait_for_port(port, &mut fuzzer.0)?;
    println!(
        "autobahn: client mode, {} autobahn-client against 127.0.0.1:{port}, {}",
        job.runtime, job.part
    );
    let status = Command::new(example(root, "autobahn-client"))
        .args([
            "--url",
            &format!("ws://127.0.0.1:{port}"),
            "--agent",
            &agent(&job.runtime),
        ])
        .args(["--runtime", &job.runtime])
        .stdout(Stdio::null())
        .status()
        .map_err(|error| format!("running autobahn-client: {error}"))?;
    if !status.success() {
        return Err(format!("autobahn-client exited with {status}"));
    }
    drop(fuzzer);
    judge(&outdir.join("index.json"), &agent(&job.runtime))
}

fn write_json(path: &Path, value: &serde_json::Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).expect("json serializes");
    std::fs::write(path, text).map_err(|error| format!("writing {}: {error}", path.display()))
}

struct Verdict {
    counts: BTreeMap<String, usize>,
    failing: Vec<String>,
    total: usize,
}

impl Verdict {
    /// Adds another share of the same runtime and mode.
    fn absorb(&mut self, other: Verdict) {
        for (behavior, n) in other.counts {
            *self.counts.entry(behavior).or_insert(0) += n;
        }
        self.failing.extend(other.failing);
        self.failing.sort_by_key(|id| case_sort_key(id));
        self.total += other.total;
    }

    /// Prints the verdict; returns the failures. `expect_all`: every case
    /// ran, so the total must be the suite's.
    fn report(&self, mode: &str, expect_all: bool) -> Vec<String> {
        let counts: Vec<String> = self
            .counts
            .iter()
            .map(|(behavior, n)| format!("{behavior} {n}"))
            .collect();
        println!(
            "autobahn {mode}: {} cases: {}",
            self.total,
            counts.join(", ")
        );
        let mut failures = Vec::new();
        if !self.failing.is_empty() {
            println!("autobahn {mode}: failing cases: {}", self.failing.join(" "));
            failures.push(format!(
                "{mode} mode: {} of {} cases failed strict judging",
                self.failing.len(),
                self.total
            ));
        }
        if expect_all && self.total != EXPECTED_CASES {
            failures.push(format!(
                "{mode} mode: {} cases ran, expected {EXPECTED_CASES}",
                self.total
            ));
        }
        failures
    }
}

fn judge(index: &Path, agent: &str) -> Result<Verdict, String> {
    let text = std::fs::read_to_string(index)
        .map_err(|error| format!("reading {}: {error}", index.display()))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|error| format!("parsing {}: {error}", index.display()))?;
    let cases = value
        .get(agent)
        .and_then(|cases| cases.as_object())
        .ok_or_else(|| format!("no results for agent {agent}"))?;
    let mut counts = BTreeMap::new();
    let mut failing = Vec::new();
    for (id, result) in cases {
        let behavior = result
            .get("behavior")
            .and_then(|b| b.as_str())
            .unwrap_or("MISSING");
        let close = result
            .get("behaviorClose")
            .and_then(|b| b.as_str())
            .unwrap_or("MISSING");
        let passes = |b: &str| b == "OK" || b == "INFORMATIONAL";
        let verdict = if passes(behavior) && passes(close) {
            behavior.to_owned()
        } else {
            format!("{behavior}/{close}")
        };
        *counts.entry(verdict).or_insert(0) += 1;
        if !(passes(behavior) && passes(close)) {
            failing.push(format!("{id}({behavior}/{close})"));
        }
    }
    failing.sort_by_key(|id| case_sort_key(id));
    Ok(Verdict {
        counts,
        failing,
        total: cases.len(),
    })
}

fn case_sort_key(id: &str) -> Vec<u32> {
    id.split('(')
        .next()
        .unwrap_or(id)
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect()
}
