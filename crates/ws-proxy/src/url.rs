//! Proxy URLs.

use std::fmt;
use std::str::FromStr;

use crate::ProxyError;

/// How the tunnel is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// HTTP CONNECT (`http://`), RFC 9110 section 9.3.6.
    Http,
    /// HTTP CONNECT over TLS to the proxy itself (`https://`): the client
    /// first makes a TLS connection to the proxy (checking its certificate
    /// for the proxy's host name), then asks for the tunnel inside it; a
    /// `wss://` server's TLS then runs inside that.
    Https,
    /// SOCKS5, RFC 1928: `socks5://` resolves the server's name here and
    /// sends its address; `socks5h://` (`remote_dns`) sends the name.
    Socks5 {
        /// Whether the proxy resolves the server's name.
        remote_dns: bool,
    },
}

/// A user name and password for the proxy: Basic (`Proxy-Authorization`)
/// for HTTP, RFC 1929 for SOCKS5. Debug output hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub username: String,
    /// The password.
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// A proxy: `http://[user:pass@]host[:port]`, `https://...`, `socks5://...`
/// or `socks5h://...`. The port defaults to 80 for `http`, 443 for `https`
/// and 1080 for SOCKS.
/// User name and password are percent-decoded.
///
/// ```
/// use ws_proxy::{Proxy, ProxyKind};
///
/// let proxy: Proxy = "socks5h://bob:p%40ss@[::1]:9050".parse().unwrap();
/// assert_eq!(proxy.kind(), ProxyKind::Socks5 { remote_dns: true });
/// assert_eq!((proxy.host(), proxy.port()), ("::1", 9050));
/// assert_eq!(proxy.credentials().unwrap().password, "p@ss");
/// // Display never shows the password.
/// assert_eq!(proxy.to_string(), "socks5h://bob:***@[::1]:9050");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    kind: ProxyKind,
    host: String,
    port: u16,
    credentials: Option<Credentials>,
}

impl Proxy {
    /// The kind of tunnel.
    pub fn kind(&self) -> ProxyKind {
        self.kind
    }

    /// The proxy's host (an IPv6 literal without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The proxy's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The credentials from the URL, if any.
    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// Whether the client speaks TLS to the proxy itself (`https://`)
    /// before asking for the tunnel.
    pub fn uses_tls(&self) -> bool {
        self.kind == ProxyKind::Https
    }

    /// Whether the server's name is resolved by the client before the
    /// tunnel is asked for (`socks5://`); HTTP CONNECT and `socks5h://`
    /// send the name.
    pub fn resolves_locally(&self) -> bool {
        self.kind == (ProxyKind::Socks5 { remote_dns: false })
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proxy({self})")
    }
}

impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.kind {
            ProxyKind::Http => "http",
            ProxyKind::Https => "https",
            ProxyKind::Socks5 { remote_dns: false } => "socks5",
            ProxyKind::Socks5 { remote_dns: true } => "socks5h",
        };
        write!(f, "{scheme}://")?;
        if let Some(credentials) = &self.credentials {
            write!(f, "{}:***@", credentials.username)?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl FromStr for Proxy {
    type Err = ProxyError;

    fn from_str(url: &str) -> Result<Self, ProxyError> {
        let url = url.trim();
        // Curl takes a bare `host:port` as an HTTP proxy; so do we.
        let (scheme, rest) = url.split_once("://").unwrap_or(("http", url));
        let kind = match scheme.to_ascii_lowercase().as_str() {
            "http" => ProxyKind::Http,
            "https" => ProxyKind::Https,
            "socks5" => ProxyKind::Socks5 { remote_dns: false },
            "socks5h" => ProxyKind::Socks5 { remote_dns: true },
            other => return Err(ProxyError::UnsupportedScheme(other.to_owned())),
        };
        let invalid = |reason| ProxyError::InvalidUrl {
            url: redact(url),
            reason,
        };
        // Only the authority counts; a trailing `/` (as in
        // `http://proxy:3128/`) or path is ignored, as curl does.
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let credentials = userinfo
            .map(|userinfo| {
                let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                Ok::<_, ProxyError>(Credentials {
                    username: percent_decode(user).ok_or(invalid("bad percent-encoding"))?,
                    password: percent_decode(pass).ok_or(invalid("bad percent-encoding"))?,
                })
            })
            .transpose()?;
        let (host, port) = if let Some(bracketed) = hostport.strip_prefix('[') {
            let (host, after) = bracketed
                .split_once(']')
                .ok_or(invalid("unclosed [ in the host"))?;
            let port = match after.strip_prefix(':') {
                Some(port) => Some(port),
                None if after.is_empty() => None,
                None => return Err(invalid("junk after the host")),
            };
            (host, port)
        } else {
            match hostport.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(invalid("no host"));
        }
        let port = match port {
            Some(port) => port.parse().map_err(|_| invalid("bad port"))?,
            None if kind == ProxyKind::Http => 80,
            None if kind == ProxyKind::Https => 443,
            None => 1080,
        };
        Ok(Proxy {
            kind,
            host: host.to_owned(),
            port,
            credentials,
        })
    }
}

/// `url` with any password replaced, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            let userinfo = &url[start + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..start + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Decodes `%XX` escapes; `None` for a bad escape or bytes that are not
/// UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = text.get(at + 1..at + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}
