//! Reaching a WebSocket server through a proxy, without I/O: what to send to
//! the proxy and how to read its answers. The adapters (ws-driver's
//! `connect`, ws-blocking's) open the TCP connection to the proxy and move
//! the bytes; once the tunnel is up, the stream carries TLS (for `wss://`)
//! and the opening handshake as if it went to the server directly.
//!
//! - [`Proxy`]: a proxy URL, `http://[user:pass@]host:port` (HTTP CONNECT,
//!   Basic credentials), `socks5://` (the client resolves the server's
//!   name) or `socks5h://` (the proxy does), with RFC 1929 credentials.
//! - [`ProxyEnv`]: the choice curl, reqwest and python-websockets make from
//!   the environment: `WSS_PROXY`/`WS_PROXY`, then `HTTPS_PROXY`/`HTTP_PROXY`,
//!   then `ALL_PROXY` (upper or lower case), unless `NO_PROXY` ([`NoProxy`])
//!   names the host.
//! - [`HttpConnect`]: the CONNECT request ([RFC 9110 section 9.3.6]) and its
//!   response; anything but 2xx is [`ProxyError::Refused`] with the status and
//!   the `Proxy-Authenticate` challenge.
//! - [`Socks5`]: the SOCKS5 exchange ([RFC 1928]) with username/password
//!   authentication ([RFC 1929]) as a state machine: bytes in, bytes out.
//!
//! "Need more bytes" is not an error here: each parser says
//! [`Step::NeedMore`] and is called again with more.
//!
//! ```
//! use ws_proxy::{HttpConnect, Proxy, Step};
//!
//! let proxy: Proxy = "http://alice:secret@127.0.0.1:3128".parse().unwrap();
//! let connect = HttpConnect::new("example.com", 443, proxy.credentials());
//! assert!(connect.request().starts_with(b"CONNECT example.com:443 HTTP/1.1\r\n"));
//! assert_eq!(connect.receive(b"HTTP/1.1 200 Connection established\r\n").unwrap(), Step::NeedMore);
//! assert_eq!(connect.receive(b"HTTP/1.1 200 Connection established\r\n\r\n").unwrap(), Step::Done(39));
//! ```
//!
//! [RFC 9110 section 9.3.6]: https://www.rfc-editor.org/rfc/rfc9110#section-9.3.6
//! [RFC 1928]: https://www.rfc-editor.org/rfc/rfc1928
//! [RFC 1929]: https://www.rfc-editor.org/rfc/rfc1929

mod connect;
mod env;
mod error;
mod socks;
mod url;

pub use connect::HttpConnect;
pub use env::{NoProxy, ProxyEnv};
pub use error::ProxyError;
pub use socks::{Socks5, Socks5Target};
pub use url::{Credentials, Proxy, ProxyKind};

/// What a parser made of the bytes it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Not enough yet: call again with more (all bytes so far).
    NeedMore,
    /// Send these bytes to the proxy, then go on reading (SOCKS5's next
    /// message); the input given so far is consumed.
    Send(Vec<u8>),
    /// The tunnel is up; this many bytes of the input were the proxy's (any
    /// after them already belong to the server).
    Done(usize),
}

/// The longest answer a proxy may give before the tunnel is up: an HTTP
/// response head past it is refused ([`ProxyError::ResponseTooLarge`]).
pub const MAX_RESPONSE_BYTES: usize = 8 * 1024;

/// The whole exchange with one proxy, HTTP CONNECT or SOCKS5 alike: send
/// [`first`](Self::first), then give [`receive`](Self::receive) everything
/// received since the last [`Step::Send`] (which the caller sends), until
/// [`Step::Done`]. What a driver runs; [`HttpConnect`] and [`Socks5`] are
/// its two halves.
///
/// ```
/// use ws_proxy::{Proxy, Step, Tunnel};
///
/// let proxy: Proxy = "socks5h://127.0.0.1:1080".parse().unwrap();
/// let mut tunnel = Tunnel::new(&proxy, "example.com", 443, None).unwrap();
/// assert_eq!(tunnel.first(), [5, 1, 0]);
/// assert!(matches!(tunnel.receive(&[5, 0]).unwrap(), Step::Send(_)));
/// assert_eq!(tunnel.receive(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0]).unwrap(), Step::Done(10));
/// ```
#[derive(Debug, Clone)]
pub struct Tunnel {
    inner: TunnelKind,
    first: Vec<u8>,
}

#[derive(Debug, Clone)]
enum TunnelKind {
    Http(HttpConnect),
    Socks5(Socks5),
}

impl Tunnel {
    /// The exchange asking `proxy` for `host:port`. `resolved` is that
    /// server's address when the proxy wants one ([`Proxy::resolves_locally`]);
    /// without it the name is sent.
    ///
    /// # Errors
    ///
    /// [`ProxyError::TooLong`] for what SOCKS5 cannot carry.
    pub fn new(
        proxy: &Proxy,
        host: &str,
        port: u16,
        resolved: Option<std::net::SocketAddr>,
    ) -> Result<Self, ProxyError> {
        Ok(match proxy.kind() {
            ProxyKind::Http | ProxyKind::Https => {
                let connect = HttpConnect::new(host, port, proxy.credentials());
                Tunnel {
                    first: connect.request().to_vec(),
                    inner: TunnelKind::Http(connect),
                }
            }
            ProxyKind::Socks5 { .. } => {
                let target = match (proxy.resolves_locally(), resolved) {
                    (true, Some(address)) => Socks5Target::Address(address),
                    _ => Socks5Target::Domain(host.to_owned(), port),
                };
                let socks = Socks5::new(target, proxy.credentials())?;
                Tunnel {
                    first: socks.greeting(),
                    inner: TunnelKind::Socks5(socks),
                }
            }
        })
    }

    /// The bytes to send first.
    pub fn first(&self) -> &[u8] {
        &self.first
    }

    /// Reads the proxy's answer so far (since the last [`Step::Send`]).
    /// A [`Step::Done`] covers all of it: the server speaks only once asked,
    /// so bytes past the proxy's answer are refused.
    ///
    /// # Errors
    ///
    /// As [`HttpConnect::receive`] and [`Socks5::receive`];
    /// [`ProxyError::Malformed`] for bytes past the answer.
    pub fn receive(&mut self, input: &[u8]) -> Result<Step, ProxyError> {
        let step = match &mut self.inner {
            TunnelKind::Http(connect) => connect.receive(input)?,
            TunnelKind::Socks5(socks) => socks.receive(input)?,
        };
        match step {
            Step::Done(len) if len != input.len() => {
                Err(ProxyError::Malformed("bytes after the proxy's answer"))
            }
            step => Ok(step),
        }
    }
}
