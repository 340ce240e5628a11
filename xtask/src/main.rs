//! `cargo xtask <command>`: the project's automation.
//!
//! * `autobahn [--mode server|client|both] [--runtime tokio|async-std|smol] [--cases 1.*,2.1.1]`:
//!   runs the Autobahn TestSuite against our echo server and our client, on
//!   loopback, and judges strictly.

mod autobahn;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let result = match command.as_str() {
        "autobahn" => autobahn::run(&rest),
        _ => Err(format!(
            "unknown command {command:?}\n\nusage: cargo xtask autobahn [--mode server|client|both] [--runtime tokio|async-std|smol] [--cases PATTERNS]"
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
