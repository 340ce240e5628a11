//! The server's and the client's configuration: handshake settings, the
//! connection's settings ([`ws_core::Config`]) and the handshake timeout.
//! Every adapter takes these same types.

use std::sync::Arc;
use std::time::Duration;

use ws_core::{Config, Connection, DeflateParams, Role};

/// How a server accepts WebSocket connections.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The opening handshake: header limits, subprotocols, origin policy, extra headers.
    pub handshake: ws_handshake::ServerConfig,
    /// The connection: message limits, keepalive, timeouts. Shared by every
    /// connection made with this configuration (change it with
    /// [`connection`](Self::connection) or `Arc::make_mut`).
    pub connection: Arc<Config>,
    /// The longest the opening handshake may take, from accept to the 101
    /// response. A client that dawdles (one byte a second) is dropped then.
    /// Default 10 s.
    pub handshake_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            handshake: ws_handshake::ServerConfig::default(),
            connection: Arc::default(),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl ServerConfig {
    /// The default configuration, built once: `accept` borrows it rather
    /// than keeping a copy in every connection's future.
    #[doc(hidden)]
    pub fn shared_default() -> &'static ServerConfig {
        static DEFAULT: std::sync::OnceLock<ServerConfig> = std::sync::OnceLock::new();
        DEFAULT.get_or_init(ServerConfig::default)
    }
}

impl ServerConfig {
    /// Sets the handshake settings.
    pub fn handshake(mut self, handshake: ws_handshake::ServerConfig) -> Self {
        self.handshake = handshake;
        self
    }

    /// Sets the connection settings.
    pub fn connection(mut self, connection: Config) -> Self {
        self.connection = Arc::new(connection);
        self
    }

    /// Sets the handshake timeout.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Accepts permessage-deflate with at most `params` ([RFC 7692]); shorthand for setting
    /// `handshake.deflate`. Compression level and threshold are in
    /// [`Config`].
    ///
    /// [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, params: DeflateParams) -> Self {
        self.handshake.deflate = Some(params);
        self
    }

    /// The server connection for a finished opening handshake, with this
    /// configuration's settings and, when the handshake agreed on
    /// permessage-deflate, its parameters (ignored without the `deflate`
    /// feature).
    pub fn new_connection(&self, deflate: Option<DeflateParams>) -> Connection {
        new_connection(Role::Server, &self.connection, deflate)
    }
}

/// How a client opens WebSocket connections.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The opening handshake: subprotocols, extensions, origin, extra headers.
    pub handshake: ws_handshake::ClientConfig,
    /// The connection: message limits, keepalive, timeouts. Shared by every
    /// connection made with this configuration (change it with
    /// [`connection`](Self::connection) or `Arc::make_mut`).
    pub connection: Arc<Config>,
    /// The longest connecting (DNS, TCP, TLS) and the opening handshake may
    /// take together. Default 10 s.
    pub handshake_timeout: Duration,
    /// TLS settings for `wss://`; `None` uses the webpki roots.
    #[cfg(feature = "rustls")]
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// The proxy `connect` goes through; by default the one the
    /// environment names ([`ProxySetting::FromEnvironment`]).
    pub proxy: ProxySetting,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            handshake: ws_handshake::ClientConfig::default(),
            connection: Arc::default(),
            handshake_timeout: Duration::from_secs(10),
            #[cfg(feature = "rustls")]
            tls: None,
            proxy: ProxySetting::FromEnvironment,
        }
    }
}

impl ClientConfig {
    /// Sets the handshake settings.
    pub fn handshake(mut self, handshake: ws_handshake::ClientConfig) -> Self {
        self.handshake = handshake;
        self
    }

    /// Sets the connection settings.
    pub fn connection(mut self, connection: Config) -> Self {
        self.connection = Arc::new(connection);
        self
    }

    /// Sets the handshake timeout.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Goes through `proxy` for every server, or (`None`) through none,
    /// whatever the environment says.
    ///
    /// ```
    /// use ws_driver::ClientConfig;
    ///
    /// let via_squid = ClientConfig::default().proxy(Some("http://127.0.0.1:3128".parse()?));
    /// let direct = ClientConfig::default().proxy(None);
    /// # Ok::<(), ws_driver::ws_proxy::ProxyError>(())
    /// ```
    pub fn proxy(mut self, proxy: Option<ws_proxy::Proxy>) -> Self {
        self.proxy = match proxy {
            Some(proxy) => ProxySetting::Via(proxy),
            None => ProxySetting::Direct,
        };
        self
    }

    /// Goes through the proxy the environment names (the default).
    pub fn proxy_from_environment(mut self) -> Self {
        self.proxy = ProxySetting::FromEnvironment;
        self
    }

    /// The proxy for `target` under this configuration, `None` to connect
    /// directly (the environment is read now).
    ///
    /// # Errors
    ///
    /// [`Error::Proxy`](crate::Error::Proxy) when the environment's proxy
    /// URL is not one.
    pub fn proxy_for(
        &self,
        target: &ws_handshake::Target,
    ) -> Result<Option<ws_proxy::Proxy>, crate::Error> {
        Ok(match &self.proxy {
            ProxySetting::Direct => None,
            ProxySetting::Via(proxy) => Some(proxy.clone()),
            ProxySetting::FromEnvironment => ws_proxy::ProxyEnv::from_process().proxy_for(
                &target.host,
                target.port,
                target.tls,
            )?,
        })
    }

    /// Offers permessage-deflate with `params` ([RFC 7692]); shorthand for setting
    /// `handshake.deflate`. Compression level and threshold are in
    /// [`Config`].
    ///
    /// [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, params: DeflateParams) -> Self {
        self.handshake.deflate = Some(params);
        self
    }

    /// The client connection for a finished opening handshake, with this
    /// configuration's settings and, when the handshake agreed on
    /// permessage-deflate, its parameters (ignored without the `deflate`
    /// feature).
    pub fn new_connection(&self, deflate: Option<DeflateParams>) -> Connection {
        new_connection(Role::Client, &self.connection, deflate)
    }
}

impl ClientConfig {
    /// Sets the TLS settings for `wss://` (custom roots, client certificates).
    #[cfg(feature = "rustls")]
    pub fn tls(mut self, tls: std::sync::Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(tls);
        self
    }
}

impl ClientConfig {
    /// The client connection for the server's acceptance of our opening
    /// handshake: compressed if the server agreed on permessage-deflate.
    pub fn connection_for(&self, accepted: &ws_handshake::AcceptedResponse) -> Connection {
        #[cfg(feature = "deflate")]
        let deflate = accepted.deflate;
        #[cfg(not(feature = "deflate"))]
        let deflate = {
            let _ = accepted;
            None
        };
        self.new_connection(deflate)
    }
}

/// The connection for a finished handshake, compressed if it agreed on
/// permessage-deflate.
fn new_connection(role: Role, config: &Arc<Config>, deflate: Option<DeflateParams>) -> Connection {
    match deflate {
        #[cfg(feature = "deflate")]
        Some(params) => Connection::with_deflate(role, config.clone(), &params),
        _ => {
            let _ = deflate;
            Connection::new(role, config.clone())
        }
    }
}

/// Which proxy a client goes through.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ProxySetting {
    /// The one the environment names for the server, if any
    /// ([`ws_proxy::ProxyEnv`]: `WSS_PROXY`/`WS_PROXY`, `HTTPS_PROXY`/`HTTP_PROXY`,
    /// `ALL_PROXY`, unless `NO_PROXY` names the host). The default.
    #[default]
    FromEnvironment,
    /// None: connect directly.
    Direct,
    /// This one, for every server.
    Via(ws_proxy::Proxy),
}
