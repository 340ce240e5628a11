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
