//! Our client through proxies no one here wrote: Debian's squid (HTTP
//! CONNECT, with and without Basic authentication) and dante-server
//! (SOCKS5, `socks5://` and `socks5h://`, with and without RFC 1929
//! username/password), and squid behind Debian's stunnel4 for an
//! `https://` proxy (TLS to the proxy), each installed when missing,
//! started on a loopback port of its own with a configuration written
//! here, and stopped at the end. The servers behind them are ours, `ws://` and `wss://`, on
//! 127.0.0.1. Every adapter goes through them: tokio, async-std and
//! ws-blocking; the `client` example takes its proxy from the environment.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use ws_toolkit::core::Message;
use ws_toolkit::tokio::{ClientConfig, Error};
use ws_toolkit::CloseCode;

/// The account dante checks RFC 1929 credentials against (a system user,
/// created when missing: dante's `username` method reads the password
/// database).
const SOCKS_USER: &str = "wstunnel";
const SOCKS_PASSWORD: &str = "tunnel-pass";
/// Squid's Basic credentials (its own password file, written here).
const HTTP_USER: &str = "alice";
const HTTP_PASSWORD: &str = "s3cret:with@signs";

use support::apt::ensure_installed;
use support::free_port;

/// A scratch directory the proxies (which drop root) can read and write.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ws-proxies-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    set_mode(&dir, 0o777);
    dir
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A running proxy, killed when dropped.
struct Running {
    child: Child,
    port: u16,
    dir: PathBuf,
    /// Squid's shared-memory segments in /dev/shm, which a killed squid
    /// leaves behind.
    shm_prefix: Option<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(prefix) = &self.shm_prefix {
            if let Ok(entries) = std::fs::read_dir("/dev/shm") {
                for entry in entries.flatten() {
                    if entry
                        .file_name()
                        .to_string_lossy()
                        .starts_with(prefix.as_str())
                    {
                        let _ = std::fs::remove_file(entry.path());
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Running {
    /// Waits until the proxy accepts on its port; if it exits first, the
    /// panic carries what it wrote to its logs.
    fn wait_for_port(&mut self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.try_wait().unwrap() {
                let logs: String = ["stderr.log", "cache.log", "danted.log", "stunnel.log"]
                    .iter()
                    .filter_map(|name| std::fs::read_to_string(self.dir.join(name)).ok())
                    .collect();
                panic!("{what} exited at start ({status}):\n{logs}");
            }
            assert!(
                Instant::now() < deadline,
                "{what} did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// squid, answering CONNECT for 127.0.0.1's clients; with `auth`, only
    /// for those with [`HTTP_USER`]'s Basic credentials.
    fn squid(auth: bool) -> Running {
        let squid = ensure_installed("/usr/sbin/squid", "squid");
        let port = free_port();
        let dir = scratch_dir(&format!("squid-{port}"));
        let mut config = format!(
            "http_port 127.0.0.1:{port}\n\
             pid_filename none\n\
             cache deny all\n\
             shutdown_lifetime 0 seconds\n\
             cache_log stdio:{dir}/cache.log\n\
             access_log stdio:{dir}/access.log\n\
             acl local src 127.0.0.0/8\n",
            dir = dir.display()
        );
        if auth {
            let passwd = dir.join("passwd");
            let hash = Command::new("openssl")
                .args(["passwd", "-apr1", HTTP_PASSWORD])
                .output()
                .expect("openssl passwd");
            let hash = String::from_utf8(hash.stdout).unwrap();
            std::fs::write(&passwd, format!("{HTTP_USER}:{}\n", hash.trim())).unwrap();
            set_mode(&passwd, 0o644);
            config.push_str(&format!(
                "auth_param basic program /usr/lib/squid/basic_ncsa_auth {}\n\
                 auth_param basic realm ws-toolkit-tests\n\
                 acl authed proxy_auth REQUIRED\n\
                 http_access allow local authed\n",
                passwd.display()
            ));
        } else {
            config.push_str("http_access allow local\n");
        }
        config.push_str("http_access deny all\n");
        let config_path = dir.join("squid.conf");
        std::fs::write(&config_path, config).unwrap();
        set_mode(&config_path, 0o644);
        // A service name of its own: squid names its shared-memory segments
        // after it, and two squids under one name (tests run in parallel)
        // create, truncate and unlink each other's segments. Alphanumeric
        // only, squid insists.
        let service = format!("wsproxies{}x{port}", std::process::id());
        let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
        let child = Command::new(squid)
            .args(["-N", "-n", &service, "-f"])
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("starting squid");
        let mut running = Running {
            child,
            port,
            dir,
            shm_prefix: Some(format!("{service}-")),
        };
        running.wait_for_port("squid");
        running
    }

    /// dante, relaying for 127.0.0.1's clients; with `auth`, only for
    /// [`SOCKS_USER`] with [`SOCKS_PASSWORD`].
    fn dante(auth: bool) -> Running {
        let danted = ensure_installed("/usr/sbin/danted", "dante-server");
        if auth {
            ensure_socks_user();
        }
        let port = free_port();
        let dir = scratch_dir(&format!("dante-{port}"));
        let config = format!(
            "logoutput: {dir}/danted.log\n\
             internal: 127.0.0.1 port = {port}\n\
             external: 127.0.0.1\n\
             socksmethod: {method}\n\
             clientmethod: none\n\
             user.privileged: root\n\
             user.unprivileged: nobody\n\
             client pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}\n\
             socks pass {{ from: 127.0.0.0/8 to: 0.0.0.0/0 }}\n",
            dir = dir.display(),
            method = if auth { "username" } else { "none" },
        );
        let config_path = dir.join("danted.conf");
        std::fs::write(&config_path, config).unwrap();
        let child = Command::new(danted)
            .args(["-N", "1", "-f"])
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting danted");
        let mut running = Running {
            child,
            port,
            dir,
            shm_prefix: None,
        };
        running.wait_for_port("danted");
        running
    }

    /// stunnel, Debian's TLS wrapper, in front of `proxy`: TLS on a port
    /// of its own, with the certificate in `pem`, for `https://` proxy
    /// URLs (squid itself is built without TLS for its clients).
    fn stunnel(proxy: &Running, pem: &support::Pem) -> Running {
        let stunnel = ensure_installed("/usr/bin/stunnel4", "stunnel4");
        let port = free_port();
        let dir = scratch_dir(&format!("stunnel-{port}"));
        let cert_path = dir.join("proxy.pem");
        std::fs::write(&cert_path, format!("{}{}", pem.cert, pem.key)).unwrap();
        let config = format!(
            "foreground = yes\n\
             pid =\n\
             output = {dir}/stunnel.log\n\
             [proxy]\n\
             accept = 127.0.0.1:{port}\n\
             connect = 127.0.0.1:{to}\n\
             cert = {cert}\n",
            dir = dir.display(),
            to = proxy.port,
            cert = cert_path.display(),
        );
        let config_path = dir.join("stunnel.conf");
        std::fs::write(&config_path, config).unwrap();
        let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
        let child = Command::new(stunnel)
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("starting stunnel");
        let mut running = Running {
            child,
            port,
            dir,
            shm_prefix: None,
        };
        running.wait_for_port("stunnel");
        running
    }

    /// The proxy's URL: `scheme://[user:pass@]127.0.0.1:port`.
    fn url(&self, scheme: &str, credentials: Option<(&str, &str)>) -> String {
        match credentials {
            Some((user, pass)) => format!(
                "{scheme}://{}:{}@127.0.0.1:{}",
                percent_encode(user),
                percent_encode(pass),
                self.port
            ),
            None => format!("{scheme}://127.0.0.1:{}", self.port),
        }
    }

    /// Squid's access log so far.
    fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    /// Squid's access log once it holds `tunnels` CONNECT lines, or as it
    /// stands after 10 s. Squid writes a tunnel's line when the tunnel ends,
    /// which can be a moment after the client has closed and returned (a CI
    /// run read the log with the last of six tunnels not yet logged).
    fn access_log_with(&self, tunnels: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.access_log();
            if log.matches("CONNECT").count() >= tunnels || Instant::now() > deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The system account dante authenticates, created once.
fn ensure_socks_user() {
    static CREATED: Mutex<bool> = Mutex::new(false);
    let mut created = CREATED.lock().unwrap_or_else(|poison| poison.into_inner());
    if *created {
        return;
    }
    let exists = Command::new("id")
        .arg(SOCKS_USER)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !exists {
        let status = Command::new("useradd")
            .args(["-M", "-s", "/usr/sbin/nologin", SOCKS_USER])
            .status()
            .expect("useradd");
        assert!(status.success(), "useradd {SOCKS_USER}");
    }
    let mut chpasswd = Command::new("chpasswd")
        .stdin(Stdio::piped())
        .spawn()
        .expect("chpasswd");
    use std::io::Write;
    chpasswd
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{SOCKS_USER}:{SOCKS_PASSWORD}\n").as_bytes())
        .unwrap();
    assert!(chpasswd.wait().unwrap().success(), "chpasswd");
    *created = true;
}

/// Our echo server on 127.0.0.1 (with TLS for `wss://` when given), on a
/// thread of its own with its own runtime, for as long as the test runs.
fn echo_server(tls: Option<Arc<rustls::ServerConfig>>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => {
                            if let Ok(socket) = ws_toolkit::tokio::accept(tcp).await {
                                echo(socket).await;
                            }
                        }
                        Some(tls) => {
                            let Ok(tls) = tokio_rustls::TlsAcceptor::from(tls).accept(tcp).await
                            else {
                                return;
                            };
                            if let Ok(socket) = ws_toolkit::tokio::accept(tls).await {
                                echo(socket).await;
                            }
                        }
                    }
                });
            }
        });
    });
    addr
}

async fn echo<S>(mut socket: ws_toolkit::tokio::WebSocket<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(Ok(message)) = socket.next().await {
        if message.is_data() && socket.send(message).await.is_err() {
            return;
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A `ws://` and a `wss://` echo server, and the client settings that trust
/// the latter's certificate (issued to `localhost`).
struct Servers {
    plain: SocketAddr,
    secure: SocketAddr,
    client_tls: Arc<rustls::ClientConfig>,
}

fn servers() -> Servers {
    let (server_tls, client_tls) = support::self_signed_tls();
    Servers {
        plain: echo_server(None),
        secure: echo_server(Some(server_tls)),
        client_tls,
    }
}

/// Connects through `proxy` to `url`, echoes a text and a binary message,
/// and closes cleanly (tokio).
async fn echo_through(proxy: &str, url: &str, client_tls: &Arc<rustls::ClientConfig>) {
    let config = ClientConfig::default()
        .proxy(Some(proxy.parse().unwrap()))
        .tls(client_tls.clone());
    let (mut socket, _) = ws_toolkit::tokio::connect_with_config(url, &config)
        .await
        .unwrap_or_else(|error| panic!("{url} through {proxy}: {error}"));
    for message in [
        Message::text("through the proxy"),
        Message::binary(vec![7u8; 100_000]),
    ] {
        socket.send(message.clone()).await.unwrap();
        assert_eq!(socket.next().await.unwrap().unwrap(), message);
    }
    socket.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(socket.closed().unwrap().clean);
}

/// [`echo_through`] `proxy` to both servers, `ws://` and `wss://`.
async fn echo_through_to_both(proxy: &str, servers: &Servers) {
    let plain = format!("ws://{}/", servers.plain);
    echo_through(proxy, &plain, &servers.client_tls).await;
    let secure = format!("wss://localhost:{}/", servers.secure.port());
    echo_through(proxy, &secure, &servers.client_tls).await;
}

/// What connecting to `url` through `proxy` fails with (tokio).
async fn failure_through(proxy: &str, url: &str) -> Error {
    let config = ClientConfig::default().proxy(Some(proxy.parse().unwrap()));
    match ws_toolkit::tokio::connect_with_config(url, &config).await {
        Ok(_) => panic!("{url} through {proxy} connected"),
        Err(error) => error,
    }
}

#[test]
fn tokio_client_reaches_ws_and_wss_servers_through_squid_connect() {
    let squid = Running::squid(false);
    let servers = servers();
    runtime().block_on(echo_through_to_both(&squid.url("http", None), &servers));
    // Squid saw both tunnels.
    let log = squid.access_log_with(2);
    assert_eq!(log.matches("CONNECT").count(), 2, "{log}");
}

/// An `https://` proxy: TLS to the proxy (stunnel, with a certificate
/// issued to `localhost` that the client trusts), squid's CONNECT inside
/// it, and for `wss://` the server's TLS inside that; Basic credentials go
/// inside the proxy's TLS. On every adapter.
#[test]
fn every_client_reaches_ws_and_wss_servers_through_an_https_proxy() {
    let squid = Running::squid(true);
    let (server_tls, client_tls, pem) = support::self_signed_tls_and_pem();
    let stunnel = Running::stunnel(&squid, &pem);
    let servers = Servers {
        plain: echo_server(None),
        secure: echo_server(Some(server_tls)),
        client_tls,
    };
    let proxy = format!(
        "https://{}:{}@localhost:{}",
        percent_encode(HTTP_USER),
        percent_encode(HTTP_PASSWORD),
        stunnel.port
    );
    runtime().block_on(echo_through_to_both(&proxy, &servers));
    let wss = format!("wss://localhost:{}/", servers.secure.port());
    async_std::task::block_on(async {
        let config = ws_toolkit::async_std::ClientConfig::default()
            .proxy(Some(proxy.parse().unwrap()))
            .tls(servers.client_tls.clone());
        for url in [format!("ws://{}/", servers.plain), wss.clone()] {
            let (mut socket, _) = ws_toolkit::async_std::connect_with_config(url.as_str(), &config)
                .await
                .unwrap_or_else(|error| panic!("{url} through {proxy}: {error}"));
            socket.send(Message::text("async-std")).await.unwrap();
            assert_eq!(
                socket.next().await.unwrap().unwrap(),
                Message::text("async-std")
            );
            socket.close(CloseCode::NORMAL, "").await.unwrap();
        }
    });
    let config = ws_toolkit::blocking::ClientConfig::default()
        .proxy(Some(proxy.parse().unwrap()))
        .tls(servers.client_tls.clone());
    for url in [format!("ws://{}/", servers.plain), wss] {
        let (mut socket, _) = ws_toolkit::blocking::connect_with_config(url.as_str(), &config)
            .unwrap_or_else(|error| panic!("{url} through {proxy}: {error}"));
        socket.send(Message::text("blocking")).unwrap();
        assert_eq!(socket.read().unwrap(), Message::text("blocking"));
        socket.close(CloseCode::NORMAL, "").unwrap();
    }
    // Six tunnels, each authenticated inside the proxy's TLS.
    let log = squid.access_log_with(6);
    assert_eq!(log.matches("CONNECT").count(), 6, "{log}");
    assert_eq!(log.matches(HTTP_USER).count(), 6, "{log}");
    // A proxy whose certificate the client does not trust is not talked to.
    runtime().block_on(async {
        let config = ClientConfig::default().proxy(Some(proxy.parse().unwrap()));
        let error =
            ws_toolkit::tokio::connect_with_config(format!("ws://{}/", servers.plain), &config)
                .await
                .map(|_| ())
                .unwrap_err();
        println!("an untrusted proxy: {error}");
        assert!(matches!(error, Error::ProxyUnreachable { .. }), "{error:?}");
    });
    assert_eq!(squid.access_log().matches("CONNECT").count(), 6);
}

#[test]
fn tokio_client_sends_basic_credentials_to_squid_and_reports_its_407() {
    let squid = Running::squid(true);
    let servers = servers();
    runtime().block_on(async {
        let url = format!("ws://{}/", servers.plain);
        let with = squid.url("http", Some((HTTP_USER, HTTP_PASSWORD)));
        echo_through(&with, &url, &servers.client_tls).await;
        let without = squid.url("http", None);
        let error = failure_through(&without, &url).await;
        match &error {
            Error::Proxy(ws_toolkit::tokio::ProxyError::Refused {
                status: 407,
                authenticate: Some(challenge),
            }) => assert!(challenge.starts_with("Basic"), "{challenge}"),
            other => panic!("{other:?}"),
        }
        println!("without credentials: {error}");
        let wrong = squid.url("http", Some((HTTP_USER, "wrong")));
        assert!(matches!(
            failure_through(&wrong, &url).await,
            Error::Proxy(ws_toolkit::tokio::ProxyError::Refused { status: 407, .. })
        ));
    });
}

#[test]
fn tokio_client_reaches_ws_and_wss_servers_through_dante_socks5_and_socks5h() {
    let dante = Running::dante(false);
    let servers = servers();
    runtime().block_on(async {
        for scheme in ["socks5", "socks5h"] {
            echo_through_to_both(&dante.url(scheme, None), &servers).await;
        }
    });
}

#[test]
fn tokio_client_authenticates_to_dante_and_reports_a_refusal_a_wrong_password_and_no_method() {
    use ws_toolkit::tokio::ProxyError;
    let dante = Running::dante(true);
    let servers = servers();
    runtime().block_on(async {
        let url = format!("ws://{}/", servers.plain);
        let with = dante.url("socks5h", Some((SOCKS_USER, SOCKS_PASSWORD)));
        echo_through(&with, &url, &servers.client_tls).await;
        // Nothing listens on this port: dante's reply says so.
        let closed = format!("ws://127.0.0.1:{}/", free_port());
        let refused = failure_through(&with, &closed).await;
        println!("to a closed port: {refused}");
        assert!(
            matches!(refused, Error::Proxy(ProxyError::SocksReply { code: 5 })),
            "{refused:?}"
        );
        let wrong = dante.url("socks5", Some((SOCKS_USER, "wrong")));
        let error = failure_through(&wrong, &url).await;
        assert!(
            matches!(error, Error::Proxy(ProxyError::AuthenticationFailed)),
            "{error:?}"
        );
        let anonymous = dante.url("socks5", None);
        let error = failure_through(&anonymous, &url).await;
        assert!(
            matches!(error, Error::Proxy(ProxyError::NoAcceptableMethod)),
            "{error:?}"
        );
    });
}

#[test]
fn tokio_client_reports_an_unreachable_proxy_and_times_out_on_a_silent_one() {
    let servers = servers();
    runtime().block_on(async {
        let url = format!("ws://{}/", servers.plain);
        let nobody = format!("http://127.0.0.1:{}", free_port());
        let error = failure_through(&nobody, &url).await;
        assert!(matches!(error, Error::ProxyUnreachable { .. }), "{error:?}");
        println!("{error}");
        // A "proxy" that accepts and never answers: the handshake timeout
        // covers the proxy's part too.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = format!("socks5://{}", silent.local_addr().unwrap());
        let config = ClientConfig::default()
            .proxy(Some(proxy.parse().unwrap()))
            .handshake_timeout(Duration::from_millis(500));
        let started = Instant::now();
        let result = ws_toolkit::tokio::connect_with_config(url.as_str(), &config).await;
        assert!(
            matches!(result, Err(Error::HandshakeTimeout)),
            "{:?}",
            result.err()
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    });
}

#[test]
fn async_std_client_reaches_a_server_through_squid_and_through_dante() {
    let squid = Running::squid(false);
    let dante = Running::dante(false);
    let servers = servers();
    async_std::task::block_on(async {
        for proxy in [squid.url("http", None), dante.url("socks5h", None)] {
            let config = ws_toolkit::async_std::ClientConfig::default()
                .proxy(Some(proxy.parse().unwrap()))
                .tls(servers.client_tls.clone());
            let wss = format!("wss://localhost:{}/", servers.secure.port());
            let (mut socket, _) = ws_toolkit::async_std::connect_with_config(wss, &config)
                .await
                .unwrap_or_else(|error| panic!("through {proxy}: {error}"));
            socket.send(Message::text("async-std")).await.unwrap();
            assert_eq!(
                socket.next().await.unwrap().unwrap(),
                Message::text("async-std")
            );
            socket.close(CloseCode::NORMAL, "").await.unwrap();
        }
    });
}

#[test]
fn blocking_client_reaches_a_server_through_squid_with_credentials_and_through_dante() {
    let squid = Running::squid(true);
    let dante = Running::dante(true);
    let servers = servers();
    let proxies = [
        squid.url("http", Some((HTTP_USER, HTTP_PASSWORD))),
        dante.url("socks5", Some((SOCKS_USER, SOCKS_PASSWORD))),
    ];
    for proxy in proxies {
        let config = ws_toolkit::blocking::ClientConfig::default()
            .proxy(Some(proxy.parse().unwrap()))
            .tls(servers.client_tls.clone());
        let wss = format!("wss://localhost:{}/", servers.secure.port());
        let (mut socket, _) = ws_toolkit::blocking::connect_with_config(wss, &config)
            .unwrap_or_else(|error| panic!("through {proxy}: {error}"));
        socket.send(Message::text("blocking")).unwrap();
        assert_eq!(socket.read().unwrap(), Message::text("blocking"));
        socket.close(CloseCode::NORMAL, "").unwrap();
    }
    let wrong = squid.url("http", None);
    let config = ws_toolkit::blocking::ClientConfig::default().proxy(Some(wrong.parse().unwrap()));
    let error =
        ws_toolkit::blocking::connect_with_config(format!("ws://{}/", servers.plain), &config)
            .map(|_| ())
            .unwrap_err();
    assert!(
        matches!(
            error,
            ws_toolkit::blocking::Error::Proxy(ws_toolkit::tokio::ProxyError::Refused {
                status: 407,
                ..
            })
        ),
        "{error:?}"
    );
}

/// The `client` example takes its proxy from the environment, as curl does:
/// `WS_PROXY` sends it through squid (squid logs the CONNECT); with
/// `NO_PROXY` naming the server's address it goes directly (squid logs
/// nothing for it). Each run is a process of its own, so no test here changes
/// this process's environment.
#[test]
fn client_example_takes_its_proxy_and_no_proxy_from_the_environment() {
    let squid = Running::squid(false);
    let servers = servers();
    let url = format!("ws://{}/", servers.plain);
    let run = |vars: &[(&str, String)]| {
        let mut command = Command::new(support::example::binary("client"));
        command
            .arg(&url)
            .env_remove("NO_PROXY")
            .env_remove("no_proxy")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in vars {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"hello proxy\n")
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(String::from_utf8_lossy(&output.stdout).contains("hello proxy"));
    };
    run(&[("WS_PROXY", squid.url("http", None))]);
    assert_eq!(squid.access_log_with(1).matches("CONNECT").count(), 1);
    run(&[
        ("ALL_PROXY", squid.url("http", None)),
        ("NO_PROXY", "localhost,127.0.0.0/8".to_owned()),
    ]);
    // Squid logs a tunnel when it ends, so a tunnel the bypassed run opened
    // by mistake would be logged late: one more run through the proxy, whose
    // line comes after any such one, shows what the bypassed run did.
    run(&[("WS_PROXY", squid.url("http", None))]);
    let log = squid.access_log_with(2);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        squid.access_log().matches("CONNECT").count(),
        2,
        "NO_PROXY went through the proxy: {log}"
    );
}
