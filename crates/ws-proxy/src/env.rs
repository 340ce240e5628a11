//! The proxy a client should use, from the environment.

use std::net::IpAddr;

use crate::{Proxy, ProxyError};

/// The proxy settings of an environment, as curl, reqwest and
/// python-websockets read them. For a `wss://` server: `WSS_PROXY`, then
/// `HTTPS_PROXY`, then `ALL_PROXY`; for `ws://`: `WS_PROXY`, then
/// `HTTP_PROXY`, then `ALL_PROXY`. Each in lower case first, then upper
/// (curl's order), an empty value counting as unset. `NO_PROXY` (or
/// `no_proxy`) lists the hosts reached directly ([`NoProxy`]).
///
/// ```
/// use ws_proxy::ProxyEnv;
///
/// let vars = [("HTTPS_PROXY", "http://127.0.0.1:3128"), ("NO_PROXY", "localhost,.internal")];
/// let env = ProxyEnv::from_lookup(|name| {
///     vars.iter().find(|(key, _)| *key == name).map(|(_, value)| value.to_string())
/// });
/// let proxy = env.proxy_for("example.com", 443, true).unwrap().unwrap();
/// assert_eq!(proxy.to_string(), "http://127.0.0.1:3128");
/// assert!(env.proxy_for("db.internal", 443, true).unwrap().is_none());
/// assert!(env.proxy_for("example.com", 80, false).unwrap().is_none()); // no HTTP_PROXY
/// ```
#[derive(Debug, Clone, Default)]
pub struct ProxyEnv {
    ws: Option<String>,
    wss: Option<String>,
    http: Option<String>,
    https: Option<String>,
    all: Option<String>,
    no_proxy: NoProxy,
}

impl ProxyEnv {
    /// This process's environment.
    pub fn from_process() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The environment `lookup` gives (for tests, or a configuration file).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| {
            [name.to_ascii_lowercase(), name.to_owned()]
                .into_iter()
                .find_map(|name| lookup(&name).filter(|value| !value.trim().is_empty()))
        };
        ProxyEnv {
            ws: var("WS_PROXY"),
            wss: var("WSS_PROXY"),
            http: var("HTTP_PROXY"),
            https: var("HTTPS_PROXY"),
            all: var("ALL_PROXY"),
            no_proxy: NoProxy::parse(&var("NO_PROXY").unwrap_or_default()),
        }
    }

    /// The proxy for a server at `host:port` (`tls`: a `wss://` one), or
    /// `None` to connect directly.
    ///
    /// # Errors
    ///
    /// The chosen variable's [`ProxyError`] when it is not a proxy URL (an
    /// error rather than a silent direct connection).
    pub fn proxy_for(&self, host: &str, port: u16, tls: bool) -> Result<Option<Proxy>, ProxyError> {
        if self.no_proxy.matches(host, port) {
            return Ok(None);
        }
        let chosen = match tls {
            true => self.wss.as_ref().or(self.https.as_ref()),
            false => self.ws.as_ref().or(self.http.as_ref()),
        };
        chosen
            .or(self.all.as_ref())
            .map(|url| url.parse())
            .transpose()
    }
}

/// `NO_PROXY`: comma- (or space-) separated entries, each a host name
/// (matching itself and its subdomains: `example.com` and `.example.com`
/// both match `a.example.com`), `*` (everything), an IP address, a CIDR
/// block (`10.0.0.0/8`, `::1/128`), any of them with `:port` to match that
/// port only. Matching ignores case and a trailing dot.
///
/// ```
/// let no_proxy = ws_proxy::NoProxy::parse("localhost, .corp.example, 10.0.0.0/8, example.org:8443");
/// assert!(no_proxy.matches("LOCALHOST", 80));
/// assert!(no_proxy.matches("git.corp.example", 443));
/// assert!(no_proxy.matches("10.1.2.3", 9001));
/// assert!(no_proxy.matches("example.org", 8443) && !no_proxy.matches("example.org", 443));
/// assert!(!no_proxy.matches("example.com", 443));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    All,
    Domain(String),
    Network(IpAddr, u8),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    pattern: Pattern,
    port: Option<u16>,
}

impl NoProxy {
    /// Reads a `NO_PROXY` value; entries it cannot read are skipped.
    pub fn parse(value: &str) -> Self {
        let entries = value
            .split([',', ' '])
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .filter_map(parse_entry)
            .collect();
        NoProxy { entries }
    }

    /// Whether `host:port` is reached without a proxy.
    pub fn matches(&self, host: &str, port: u16) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let ip: Option<IpAddr> = host.parse().ok();
        self.entries.iter().any(|entry| {
            entry.port.is_none_or(|wanted| wanted == port)
                && match &entry.pattern {
                    Pattern::All => true,
                    Pattern::Domain(domain) => {
                        host == domain
                            || host
                                .strip_suffix(domain.as_str())
                                .is_some_and(|rest| rest.ends_with('.'))
                    }
                    Pattern::Network(network, bits) => {
                        ip.is_some_and(|ip| in_network(ip, *network, *bits))
                    }
                }
        })
    }
}

fn parse_entry(entry: &str) -> Option<Entry> {
    if entry == "*" {
        return Some(Entry {
            pattern: Pattern::All,
            port: None,
        });
    }
    // A CIDR block or an address, IPv6 possibly bracketed with a port.
    let (address, port) = split_port(entry);
    if let Some((network, bits)) = address.split_once('/') {
        let network: IpAddr = network.trim_matches(['[', ']']).parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let bits: u8 = bits.parse().ok().filter(|bits| *bits <= max)?;
        return Some(Entry {
            pattern: Pattern::Network(network, bits),
            port,
        });
    }
    if let Ok(ip) = address.trim_matches(['[', ']']).parse::<IpAddr>() {
        let bits = if ip.is_ipv4() { 32 } else { 128 };
        return Some(Entry {
            pattern: Pattern::Network(ip, bits),
            port,
        });
    }
    let domain = address
        .trim_start_matches("*.")
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    (!domain.is_empty()).then_some(Entry {
        pattern: Pattern::Domain(domain),
        port,
    })
}

/// `host:port` into its parts; a bare IPv6 address has no port.
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if let Some(rest) = entry.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            let port = after.strip_prefix(':').and_then(|port| port.parse().ok());
            return (host, port);
        }
    }
    match entry.rsplit_once(':') {
        // More than one colon and no brackets: an IPv6 address (or block).
        Some((host, _)) if host.contains(':') => (entry, None),
        Some((host, port)) => match port.parse() {
            Ok(port) => (host, Some(port)),
            Err(_) => (entry, None),
        },
        None => (entry, None),
    }
}

fn in_network(ip: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}
