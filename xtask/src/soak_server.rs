//! The server `cargo xtask soak` measures: the `echo-server` example itself,
//! compiled into xtask under a counting global allocator, so the soak can
//! compare the heap the server holds after each wave instead of its resident
//! memory. Resident memory is what the allocator keeps mapped, and glibc keeps
//! between a third and all of a wave's peak depending on where its last free
//! chunks land (8.7 MiB after one wave, 17.0 MiB after the next, same load):
//! no measure of a leak. Live heap bytes are exact.
//!
//! The process runs when xtask is started with `XTASK_SOAK_SERVER` set; the
//! example parses the arguments as it always does. Every line written to its
//! standard input is answered on standard output with `heap <live bytes>`;
//! when its standard input closes (the soak ended or died), it exits.

use std::io::{BufRead, Write};
use std::sync::atomic::Ordering;

#[path = "../../crates/ws-core/tests/support/counting_alloc.rs"]
#[allow(dead_code)] // PEAK is the deflate bomb test's
mod counting_alloc;

#[path = "../../examples/echo-server.rs"]
mod echo_server;

#[global_allocator]
static ALLOCATOR: counting_alloc::Counting = counting_alloc::Counting;

/// The environment variable that makes xtask this server.
pub const ENV: &str = "XTASK_SOAK_SERVER";

/// Live heap bytes in this process.
pub fn live_heap() -> usize {
    counting_alloc::LIVE.load(Ordering::Relaxed)
}

/// Answers heap queries on a thread of its own and runs the example.
pub fn run() {
    std::thread::spawn(|| {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            if line.is_err() {
                break;
            }
            let mut stdout = std::io::stdout().lock();
            let answered = writeln!(stdout, "heap {}", live_heap()).and_then(|()| stdout.flush());
            if answered.is_err() {
                break;
            }
        }
        std::process::exit(0);
    });
    echo_server::main();
}
