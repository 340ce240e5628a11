//! What can go wrong on the way through a proxy.

/// A proxy could not be used or refused the tunnel.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyError {
    /// The proxy URL is not one: bad syntax, a missing host, a bad port.
    #[error("invalid proxy URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given (credentials removed).
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A scheme other than `http`, `https`, `socks5` and `socks5h`.
    #[error("unsupported proxy scheme {0:?}: use http://, https://, socks5:// or socks5h://")]
    UnsupportedScheme(String),
    /// The HTTP proxy answered CONNECT with a status other than 2xx
    /// (407: credentials missing or wrong, with the scheme it asks for).
    #[error("the proxy refused the tunnel with {status}{}", challenge_text(.authenticate))]
    Refused {
        /// The proxy's status code.
        status: u16,
        /// Its `Proxy-Authenticate` header (the challenge), if any.
        authenticate: Option<String>,
    },
    /// The proxy's answer is not HTTP/1.x or not SOCKS5.
    #[error("malformed answer from the proxy: {0}")]
    Malformed(&'static str),
    /// The proxy's HTTP response head is longer than
    /// [`MAX_RESPONSE_BYTES`](crate::MAX_RESPONSE_BYTES).
    #[error(
        "the proxy's response head is longer than {} bytes",
        crate::MAX_RESPONSE_BYTES
    )]
    ResponseTooLarge,
    /// The SOCKS5 proxy accepts none of the authentication methods we offer
    /// (none, or username/password when credentials are given).
    #[error("the SOCKS5 proxy accepts none of our authentication methods")]
    NoAcceptableMethod,
    /// The SOCKS5 proxy refused the username and password (RFC 1929).
    #[error("the SOCKS5 proxy refused the username and password")]
    AuthenticationFailed,
    /// The SOCKS5 proxy could not connect (RFC 1928 section 6's reply code).
    #[error("the SOCKS5 proxy could not connect: {} (reply {code})", socks_reply_text(*.code))]
    SocksReply {
        /// The reply code (1 to 8, or another the proxy sent).
        code: u8,
    },
    /// A name or credential that SOCKS5 cannot carry (over 255 bytes).
    #[error("{0} is longer than SOCKS5's 255 bytes")]
    TooLong(&'static str),
}

fn challenge_text(authenticate: &Option<String>) -> String {
    match authenticate {
        Some(challenge) => format!(" (Proxy-Authenticate: {challenge})"),
        None => String::new(),
    }
}

/// RFC 1928 section 6's reply codes.
pub(crate) fn socks_reply_text(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown reply code",
    }
}
