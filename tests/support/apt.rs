//! Debian packages the tests need (chromium, redis-server, squid,
//! dante-server), installed with apt-get when missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Installs Debian's `package` unless `binary` exists, and returns
/// `binary`'s path. Tests of one binary run in parallel, and apt-get takes
/// dpkg's lock: installs here go one at a time, each waiting for the lock
/// that another apt-get (another test binary's, the system's) may hold,
/// and a failed install is tried again after `apt-get update` (a fresh
/// machine has no package lists).
pub fn ensure_installed(binary: &str, package: &str) -> PathBuf {
    install(binary, package, true)
}

/// [`ensure_installed`] without the package's recommended packages (a
/// browser's are a desktop's worth).
pub fn ensure_installed_alone(binary: &str, package: &str) -> PathBuf {
    install(binary, package, false)
}

fn install(binary: &str, package: &str, recommends: bool) -> PathBuf {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let path = PathBuf::from(binary);
    if path.exists() {
        return path;
    }
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    if path.exists() {
        // Another test installed it meanwhile.
        return path;
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=600", "-q"])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|status| status.success())
    };
    let recommends = match recommends {
        true => "--install-recommends",
        false => "--no-install-recommends",
    };
    let install = || apt(&["install", "-y", recommends, package]);
    let installed = install() || (apt(&["update"]) && install());
    assert!(
        installed && Path::new(binary).exists(),
        "this test needs {binary}: apt-get install {package} failed; install it by hand"
    );
    path
}
