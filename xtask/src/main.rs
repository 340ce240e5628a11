//! `cargo xtask <command>`: the project's automation.
//!
//! * `autobahn [--mode server|client|both] [--runtime tokio,async-std,smol,blocking,mio] [--cases 1.*,2.1.1] [--jobs N]`:
//!   runs the Autobahn TestSuite against our echo server and our client, on
//!   loopback, as many wstest runs at once as `--jobs` (the cores by
//!   default), and judges strictly.
//! * `bench [--rounds 5] [--only echo,idle,micro,broadcast,h2] [--quick] ...`: the echo
//!   benchmark against the peers, memory per idle connection, WebSockets
//!   over HTTP/2 beside HTTP/1.1 and the criterion microbenchmarks, written
//!   into `docs/performance.md`.
//! * `fuzz [--time 60] [--targets ...] [--cmin]`: every cargo-fuzz target for
//!   a given time each, growing the corpora in `fuzz/corpus/`.
//! * `soak [--conns 10000] [--seconds 10] [--runtime tokio|async-std|smol|mio] [--servers N]`:
//!   many connections echoing, then closing, twice; nothing lost or leaked.

mod autobahn;
mod bench;
mod broadcast;
mod fuzz;
mod h2bench;
mod pool;
mod soak;
mod soak_server;

use std::path::{Path, PathBuf};

use std::process::ExitCode;

fn main() -> ExitCode {
    if std::env::var_os(soak_server::ENV).is_some() {
        soak_server::run();
        return ExitCode::SUCCESS;
    }
    if std::env::var_os(soak::CLIENT_ENV).is_some() {
        return match soak::client_worker() {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("xtask soak client: {message}");
                ExitCode::FAILURE
            }
        };
    }
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let result = match command.as_str() {
        "autobahn" => autobahn::run(&rest),
        "bench" => bench::run(&rest),
        "fuzz" => fuzz::run(&rest),
        "soak" => soak::run(&rest),
        _ => Err(format!(
            "unknown command {command:?}\n\nusage: cargo xtask autobahn [--mode server|client|both] [--runtime tokio,async-std,smol,blocking,mio] [--cases PATTERNS] [--jobs N]\n       {}
       {}
       {}",
            bench::USAGE,
            fuzz::USAGE,
            soak::USAGE
        )),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root (xtask lives one level below it).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace")
        .to_path_buf()
}
