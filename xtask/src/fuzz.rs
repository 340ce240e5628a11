//! `cargo xtask fuzz`: runs every cargo-fuzz target for a given time each,
//! growing the corpora kept in the repository (`fuzz/corpus/<target>`,
//! started from `fuzz/seeds/<target>`), and fails on the first crash with the
//! path of the input that caused it.
//!
//! cargo-fuzz is installed when missing. It needs nightly flags
//! (`-Zsanitizer`); with a stable toolchain `RUSTC_BOOTSTRAP=1` unlocks them,
//! and this command sets it.

use std::path::Path;
use std::process::{Command, Stdio};

pub const USAGE: &str =
    "cargo xtask fuzz [--time SECONDS] [--targets frame_header,inflate,...] [--cmin] [--jobs N]";

/// Every target in `fuzz/Cargo.toml`, in the order they run.
const TARGETS: [&str; 9] = [
    "frame_header",
    "utf8_validator",
    "handshake_request",
    "handshake_response",
    "core_connection",
    "inflate",
    "connection_pair",
    "proxy_response",
    "h2_handshake",
];

struct Options {
    seconds: u64,
    targets: Vec<String>,
    cmin: bool,
    /// Targets fuzzed at once (libFuzzer runs one on one thread).
    jobs: usize,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        seconds: 60,
        targets: TARGETS.iter().map(|t| t.to_string()).collect(),
        cmin: false,
        jobs: crate::pool::default_workers(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--time" => {
                let value = args.next().ok_or("--time needs a value")?;
                options.seconds = value
                    .parse()
                    .map_err(|error| format!("bad --time {value:?}: {error}"))?;
            }
            "--targets" => {
                let value = args.next().ok_or("--targets needs a value")?;
                options.targets = value.split(',').map(str::to_owned).collect();
                if let Some(unknown) = options
                    .targets
                    .iter()
                    .find(|t| !TARGETS.contains(&t.as_str()))
                {
                    return Err(format!(
                        "unknown fuzz target {unknown:?}; the targets are {}",
                        TARGETS.join(", ")
                    ));
                }
            }
            "--cmin" => options.cmin = true,
            "--jobs" => {
                let value = args.next().ok_or("--jobs needs a value")?;
                options.jobs = value
                    .parse()
                    .ok()
                    .filter(|&jobs| jobs > 0)
                    .ok_or_else(|| format!("bad --jobs {value:?}: a whole number above 0"))?;
            }
            other => return Err(format!("unknown argument {other:?}\nusage: {USAGE}")),
        }
    }
    Ok(options)
}

pub fn run(args: &[String]) -> Result<(), String> {
    let options = parse(args)?;
    let root = crate::workspace_root();
    ensure_cargo_fuzz()?;
    // Built once up front, so that the runs below (several at once) do not
    // queue on cargo's build lock one after another.
    let status = cargo_fuzz(&root)
        .arg("build")
        .status()
        .map_err(|error| format!("running cargo fuzz build: {error}"))?;
    if !status.success() {
        return Err("cargo fuzz build failed".into());
    }
    println!(
        "fuzz: {} targets, {} s each, {} at a time",
        options.targets.len(),
        options.seconds,
        options.jobs.min(options.targets.len())
    );
    let outcomes = crate::pool::run_all(
        options.targets.clone(),
        options.jobs,
        |target| {
            let outcome = fuzz_target(&root, &options, target);
            if let Ok(line) = &outcome {
                println!("fuzz: {line}");
            }
            outcome
        },
        Result::is_err,
    );
    let mut summary = Vec::new();
    for (_, outcome) in outcomes {
        summary.push(outcome?);
    }
    println!("\nfuzz summary:\n  {}", summary.join("\n  "));
    Ok(())
}

/// One target for the time asked; its summary line, or the crash.
fn fuzz_target(root: &Path, options: &Options, target: &str) -> Result<String, String> {
    let fuzz_dir = root.join("fuzz");
    let corpus = fuzz_dir.join("corpus").join(target);
    let seeds = fuzz_dir.join("seeds").join(target);
    std::fs::create_dir_all(&corpus)
        .map_err(|error| format!("creating {}: {error}", corpus.display()))?;
    println!("fuzz: {target} for {} s", options.seconds);
    let mut command = cargo_fuzz(root);
    command
        .args(["run", target])
        .arg(&corpus)
        .args(seeds.is_dir().then_some(&seeds))
        .arg("--")
        .arg(format!("-max_total_time={}", options.seconds))
        .arg("-rss_limit_mb=4096")
        .arg("-print_final_stats=1")
        .stderr(Stdio::piped());
    let output = command
        .output()
        .map_err(|error| format!("running cargo fuzz: {error}"))?;
    let log = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        let artifact = log
            .lines()
            .find_map(|line| line.split("Test unit written to ").nth(1))
            .unwrap_or("(no artifact; see the log above)");
        eprintln!("{log}");
        return Err(format!(
            "fuzz target {target} failed; the input is {artifact}\nreproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run {target} {artifact}"
        ));
    }
    let execs = final_stat(&log, "stat::number_of_executed_units:").unwrap_or(0);
    let per_second = final_stat(&log, "stat::average_exec_per_sec:").unwrap_or(0);
    if options.cmin {
        minimize(root, target, &corpus)?;
    }
    let files = std::fs::read_dir(&corpus)
        .map(|dir| dir.count())
        .unwrap_or(0);
    Ok(format!(
        "{target}: {execs} runs in {} s ({per_second}/s), no crash; corpus {files} inputs",
        options.seconds
    ))
}

/// A number from libFuzzer's final statistics (`-print_final_stats=1`).
fn final_stat(log: &str, name: &str) -> Option<u64> {
    log.lines()
        .rev()
        .find_map(|line| line.strip_prefix(name))
        .and_then(|value| value.trim().parse().ok())
}

/// `cargo fuzz` from the fuzz crate, with nightly flags unlocked.
fn cargo_fuzz(root: &Path) -> Command {
    let mut command = Command::new("cargo");
    command
        .arg("fuzz")
        .current_dir(root)
        .env("RUSTC_BOOTSTRAP", "1");
    command
}

/// Shrinks a corpus to the inputs that keep its coverage.
fn minimize(root: &Path, target: &str, corpus: &Path) -> Result<(), String> {
    let status = cargo_fuzz(root)
        .args(["cmin", target])
        .arg(corpus)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|error| format!("running cargo fuzz cmin: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo fuzz cmin {target} failed"))
    }
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    let present = Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if present {
        return Ok(());
    }
    println!("fuzz: installing cargo-fuzz");
    let status = Command::new("cargo")
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .map_err(|error| format!("cargo install cargo-fuzz: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("cargo install cargo-fuzz failed".into())
    }
}
