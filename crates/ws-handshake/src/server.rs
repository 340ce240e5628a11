use std::fmt;
use std::sync::Arc;

use http::header::{
    HeaderMap, HeaderName, HeaderValue, ALLOW, CONNECTION, HOST, ORIGIN, SEC_WEBSOCKET_ACCEPT,
    SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use http::{Method, StatusCode, Version};

use crate::extensions::{parse_extensions, Extension};
use crate::headers::{has_token, list_items, single, MalformedHead, Single};
use crate::key::{accept_key, is_valid_key};
use crate::request::HeaderLimits;
use crate::response::write_response;
#[cfg(feature = "deflate")]
use ws_frame::DeflateParams;

/// Who may open a WebSocket, judged by the `Origin` header that browsers send
/// ([RFC 6455 section 10.2]). Non-browser clients usually send no `Origin`.
///
/// A browser attaches the user's cookies to a WebSocket request whatever page
/// opens it, and the same-origin policy does not apply to WebSockets: without
/// an origin check, a page on any site can open a socket to a cookie-
/// authenticated server as its logged-in user (cross-site WebSocket
/// hijacking). The default, [`OriginPolicy::SameOrigin`], refuses such pages
/// with 403, as gorilla/websocket and coder/websocket do.
///
/// ```
/// use ws_handshake::OriginPolicy;
///
/// let policy = OriginPolicy::default();
/// assert!(policy.allows(None, Some("chat.example.com"))); // not a browser
/// assert!(policy.allows(Some("https://chat.example.com"), Some("chat.example.com")));
/// assert!(policy.allows(Some("https://chat.example.com"), Some("chat.example.com:443")));
/// assert!(!policy.allows(Some("https://evil.example"), Some("chat.example.com")));
/// assert!(!policy.allows(Some("http://127.0.0.1:8081"), Some("127.0.0.1:8080")));
/// ```
///
/// [RFC 6455 section 10.2]: https://www.rfc-editor.org/rfc/rfc6455#section-10.2
#[derive(Clone, Default)]
pub enum OriginPolicy {
    /// The default: requests without `Origin` (not from a browser), and those
    /// whose `Origin` names the host and port the request was sent to (its
    /// `Host` header, or the `:authority` of an HTTP/2 request), compared
    /// ASCII case-insensitively with the scheme's default port filled in.
    /// Any other origin, and the opaque origin `null`, is refused with 403.
    #[default]
    SameOrigin,
    /// Any origin, and none. Safe only when each socket is authenticated by
    /// something a foreign page cannot send: a token the application checks
    /// in the URL or the first message, not cookies or HTTP authentication
    /// that the browser attaches by itself. Public, read-only feeds that hold
    /// nothing per user may use it too.
    Any,
    /// Only requests whose `Origin` equals one of these (ASCII case-insensitive,
    /// e.g. `https://example.com`). Requests without `Origin` are accepted,
    /// since they do not come from a browser.
    AllowList(Vec<String>),
    /// A function of the `Origin` value (`None` when absent) that answers
    /// whether to accept.
    Custom(OriginCheck),
}

/// A function of the `Origin` header value that answers whether to accept.
pub type OriginCheck = Arc<dyn Fn(Option<&str>) -> bool + Send + Sync>;

impl OriginPolicy {
    /// Whether a request with this `Origin` value, sent to `host` (its `Host`
    /// header or `:authority`), is accepted.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        match self {
            OriginPolicy::SameOrigin => {
                origin.is_none_or(|origin| host.is_some_and(|host| same_origin(origin, host)))
            }
            OriginPolicy::Any => true,
            OriginPolicy::AllowList(list) => origin.is_none_or(|origin| {
                list.iter()
                    .any(|allowed| allowed.eq_ignore_ascii_case(origin))
            }),
            OriginPolicy::Custom(check) => check(origin),
        }
    }
}

/// Whether `origin` (`scheme://host[:port]`, [RFC 6454 section 6.1]) names
/// the authority `host`. Default ports (80 for http and ws, 443 for https
/// and wss) are filled in on both sides, since browsers leave them out of
/// `Origin` and some clients write them in `Host`.
///
/// [RFC 6454 section 6.1]: https://www.rfc-editor.org/rfc/rfc6454#section-6.1
fn same_origin(origin: &str, host: &str) -> bool {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return false; // "null", or not an origin at all
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" | "ws" => "80",
        "https" | "wss" => "443",
        _ => return false,
    };
    let with_port = |authority: &str| -> (String, String) {
        let authority = authority.to_ascii_lowercase();
        // A port follows the last colon, unless that colon is inside an
        // IPv6 literal ("[::1]").
        match authority.rsplit_once(':') {
            Some((name, port)) if !port.contains(']') => (name.to_owned(), port.to_owned()),
            _ => (authority, default_port.to_owned()),
        }
    };
    !authority.contains('/') && with_port(authority) == with_port(host)
}

impl fmt::Debug for OriginPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OriginPolicy::SameOrigin => f.write_str("SameOrigin"),
            OriginPolicy::Any => f.write_str("Any"),
            OriginPolicy::AllowList(list) => f.debug_tuple("AllowList").field(list).finish(),
            OriginPolicy::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// What a [`SubprotocolSelector`] sees of a request: its URI (path and
/// query), its headers (cookies, authorization, ...), and the subprotocols
/// it offers, in its order.
#[derive(Debug)]
#[non_exhaustive]
pub struct SubprotocolRequest<'a> {
    /// The request's URI.
    pub uri: &'a http::Uri,
    /// The request's headers.
    pub headers: &'a HeaderMap,
    /// The `Sec-WebSocket-Protocol` values, in the client's order.
    pub offered: &'a [&'a str],
}

/// Chooses the subprotocol from the whole request instead of a fixed list
/// ([`ServerConfig::select_subprotocol`]); an answer the client did not
/// offer counts as none (RFC 6455 section 4.2.2 allows only one of
/// theirs).
///
/// ```
/// use ws_handshake::{ServerConfig, SubprotocolRequest};
///
/// // Version 2 of the protocol on /v2, version 1 elsewhere.
/// let config = ServerConfig::default().select_subprotocol(|request: &SubprotocolRequest<'_>| {
///     let wanted = if request.uri.path() == "/v2" { "feed.v2" } else { "feed.v1" };
///     request.offered.contains(&wanted).then(|| wanted.to_owned())
/// });
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct SubprotocolSelector(Arc<SelectFn>);

/// The function behind a [`SubprotocolSelector`].
type SelectFn = dyn Fn(&SubprotocolRequest<'_>) -> Option<String> + Send + Sync;

impl SubprotocolSelector {
    /// A selector calling `choose`.
    pub fn new(
        choose: impl Fn(&SubprotocolRequest<'_>) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        SubprotocolSelector(Arc::new(choose))
    }
}

impl fmt::Debug for SubprotocolSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubprotocolSelector(..)")
    }
}

/// How a server answers opening handshakes.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ServerConfig {
    /// Bounds on the request head.
    pub limits: HeaderLimits,
    /// The subprotocols we speak, most preferred first. The first one the
    /// client also offers is selected; none in common selects none (the
    /// handshake still succeeds, [RFC 6455 section 4.2.2]).
    ///
    /// [RFC 6455 section 4.2.2]: https://www.rfc-editor.org/rfc/rfc6455#section-4.2.2
    pub subprotocols: Vec<String>,
    /// Chooses the subprotocol from the whole request; when set, it decides
    /// instead of [`ServerConfig::subprotocols`] (which then only names
    /// what a refusal lists).
    pub select_subprotocol: Option<SubprotocolSelector>,
    /// Refuse a request that ends with no subprotocol (none offered, or none
    /// in common) with 400 ([`RequestError::NoSubprotocol`], whose body
    /// names the ones we speak), instead of upgrading it without one.
    /// Default false, as RFC 6455 section 4.2.2 allows.
    pub require_subprotocol: bool,
    /// Who may connect, by `Origin`. Default [`OriginPolicy::SameOrigin`].
    pub origin: OriginPolicy,
    /// Headers added to every 101 response (cookies, server name, ...).
    pub extra_headers: HeaderMap,
    /// Accept permessage-deflate ([RFC 7692]) with at most these parameters
    /// (see [`negotiate_deflate`](crate::negotiate_deflate)). `None` (the
    /// default) declines compression.
    ///
    /// [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692
    #[cfg(feature = "deflate")]
    pub deflate: Option<DeflateParams>,
}

impl ServerConfig {
    /// Accepts permessage-deflate with at most `params`.
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, params: DeflateParams) -> Self {
        self.deflate = Some(params);
        self
    }

    /// Sets the supported subprotocols, most preferred first.
    pub fn subprotocols<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        protocols: I,
    ) -> Self {
        self.subprotocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Chooses the subprotocol with `choose` (see [`SubprotocolSelector`]).
    pub fn select_subprotocol(
        mut self,
        choose: impl Fn(&SubprotocolRequest<'_>) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.select_subprotocol = Some(SubprotocolSelector::new(choose));
        self
    }

    /// Sets [`ServerConfig::require_subprotocol`].
    pub fn require_subprotocol(mut self, require: bool) -> Self {
        self.require_subprotocol = require;
        self
    }

    /// Sets the origin policy.
    pub fn origin(mut self, policy: OriginPolicy) -> Self {
        self.origin = policy;
        self
    }

    /// Sets the header limits.
    pub fn limits(mut self, limits: HeaderLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Adds a header to every 101 response.
    pub fn extra_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.extra_headers.append(name, value);
        self
    }
}

/// Why a server refuses an opening handshake. Each variant carries the HTTP
/// status to answer with ([`RequestError::status`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The bytes are not an HTTP/1.x request; the parser's error is the
    /// source. 400.
    #[error("malformed HTTP request: {0}")]
    Malformed(#[source] MalformedHead),
    /// The head is longer than [`HeaderLimits::max_header_bytes`]. 431.
    #[error("request head longer than {limit} bytes")]
    HeaderTooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// More header fields than [`HeaderLimits::max_headers`]. 431.
    #[error("more than {limit} request header fields")]
    TooManyHeaders {
        /// The limit in force.
        limit: usize,
    },
    /// The method is not GET. 405.
    #[error("method {0} not allowed: a WebSocket handshake is a GET")]
    MethodNotAllowed(Method),
    /// The request is HTTP/1.0 (or older). 400.
    #[error("{0:?} request: a WebSocket handshake needs HTTP/1.1 or later")]
    HttpVersion(Version),
    /// `Host` is missing or duplicated. 400.
    #[error("the Host header must appear exactly once")]
    Host,
    /// The request does not ask for an upgrade to WebSocket at all (no
    /// `Upgrade: websocket`): a plain HTTP request. 426, with `Upgrade: websocket`.
    #[error("not a WebSocket upgrade request (no `Upgrade: websocket` header)")]
    NotUpgrade,
    /// `Connection` does not list `upgrade`. 400.
    #[error("the Connection header does not contain the token `upgrade`")]
    ConnectionNotUpgrade,
    /// An HTTP/2 CONNECT whose `:protocol` is not `websocket`, or that has
    /// none (a plain CONNECT, for a proxy): [RFC 8441 section 4]. 400.
    ///
    /// [RFC 8441 section 4]: https://www.rfc-editor.org/rfc/rfc8441#section-4
    #[error("an HTTP/2 CONNECT without :protocol websocket (got {0:?})")]
    ConnectProtocol(Option<String>),
    /// `Sec-WebSocket-Key` is missing, duplicated or not base64 of 16 bytes. 400.
    #[error("Sec-WebSocket-Key must appear once and be the base64 of 16 bytes")]
    Key,
    /// `Sec-WebSocket-Version` is missing or duplicated. 400.
    #[error("the Sec-WebSocket-Version header must appear exactly once")]
    VersionMissing,
    /// `Sec-WebSocket-Version` is not 13. 426, with `Sec-WebSocket-Version: 13`.
    #[error("unsupported WebSocket version {0:?}: this server speaks version 13")]
    UnsupportedVersion(String),
    /// `Sec-WebSocket-Extensions` does not follow the grammar. 400.
    #[error("malformed Sec-WebSocket-Extensions header: {0}")]
    Extensions(String),
    /// The server requires a subprotocol ([`ServerConfig::require_subprotocol`])
    /// and none was agreed. 400, with a body naming the ones it speaks.
    #[error("no subprotocol in common: the client offered {offered:?}; this server speaks {supported:?}")]
    NoSubprotocol {
        /// What the client offered.
        offered: Vec<String>,
        /// What the server speaks ([`ServerConfig::subprotocols`]).
        supported: Vec<String>,
    },
    /// The origin policy refused the request's `Origin`. 403.
    #[error("origin {0:?} is not allowed")]
    Origin(Option<String>),
    /// The application refused the request with this status and reason.
    #[error("rejected: {status} {reason}")]
    Rejected {
        /// The status to answer with.
        status: StatusCode,
        /// A short text for the response body.
        reason: String,
    },
}

impl RequestError {
    /// The HTTP status to answer this request with.
    pub fn status(&self) -> StatusCode {
        match self {
            RequestError::HeaderTooLarge { .. } | RequestError::TooManyHeaders { .. } => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            RequestError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            RequestError::NotUpgrade | RequestError::UnsupportedVersion(_) => {
                StatusCode::UPGRADE_REQUIRED
            }
            RequestError::Origin(_) => StatusCode::FORBIDDEN,
            RequestError::Rejected { status, .. } => *status,
            RequestError::Malformed(_)
            | RequestError::HttpVersion(_)
            | RequestError::Host
            | RequestError::ConnectionNotUpgrade
            | RequestError::ConnectProtocol(_)
            | RequestError::Key
            | RequestError::VersionMissing
            | RequestError::Extensions(_)
            | RequestError::NoSubprotocol { .. } => StatusCode::BAD_REQUEST,
        }
    }

    /// The rejection response: the status, the headers the status calls for
    /// (`Allow`, `Upgrade`, `Sec-WebSocket-Version`), `Connection: close`, and
    /// the error's message as a short plain-text body.
    pub fn response(&self) -> (http::Response<()>, String) {
        let body = format!("{self}\n");
        let mut response = http::Response::new(());
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        match self {
            RequestError::MethodNotAllowed(_) => {
                headers.insert(ALLOW, HeaderValue::from_static("GET"));
            }
            RequestError::NotUpgrade => {
                headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
            }
            RequestError::UnsupportedVersion(_) => {
                headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            }
            _ => {}
        }
        headers.insert(CONNECTION, HeaderValue::from_static("close"));
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        (response, body)
    }

    /// Appends the whole rejection response (head and body) to `out`.
    pub fn write_response(&self, out: &mut Vec<u8>) {
        let (response, body) = self.response();
        write_response(&response, body.as_bytes(), out);
    }
}

/// A client's opening handshake that the server accepted ([`accept`]):
/// what its 101 response says. [`AcceptedResponse`](crate::AcceptedResponse)
/// is the client's side of the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedRequest {
    /// The `Sec-WebSocket-Accept` value.
    pub accept_key: String,
    /// The selected subprotocol, if the client offered one we speak.
    pub subprotocol: Option<String>,
    /// The extensions the client offered, in its order of preference
    /// ([RFC 6455 section 9.1]). Whoever implements an extension picks from
    /// these and sets [`AcceptedRequest::extensions`].
    ///
    /// [RFC 6455 section 9.1]: https://www.rfc-editor.org/rfc/rfc6455#section-9.1
    pub offered_extensions: Vec<Extension>,
    /// The `Sec-WebSocket-Extensions` value of the response: the
    /// permessage-deflate answer when [`ServerConfig::deflate`] is set and an
    /// offer was acceptable, else none.
    pub extensions: Option<String>,
    /// The agreed permessage-deflate parameters, if any.
    #[cfg(feature = "deflate")]
    pub deflate: Option<DeflateParams>,
}

impl AcceptedRequest {
    /// The 101 Switching Protocols response, with `config`'s extra headers.
    pub fn response(&self, config: &ServerConfig) -> http::Response<()> {
        let mut response = http::Response::new(());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        // Base64 is always a valid header value.
        headers.insert(
            SEC_WEBSOCKET_ACCEPT,
            HeaderValue::from_str(&self.accept_key).expect("base64"),
        );
        if let Some(protocol) = self
            .subprotocol
            .as_deref()
            .and_then(|p| HeaderValue::from_str(p).ok())
        {
            headers.insert(SEC_WEBSOCKET_PROTOCOL, protocol);
        }
        if let Some(extensions) = self
            .extensions
            .as_deref()
            .and_then(|e| HeaderValue::from_str(e).ok())
        {
            headers.insert(SEC_WEBSOCKET_EXTENSIONS, extensions);
        }
        for (name, value) in &config.extra_headers {
            headers.append(name, value.clone());
        }
        response
    }

    /// The 200 response to an HTTP/2 extended CONNECT
    /// ([`accept_extended_connect`], [RFC 8441 section 5]): the agreed
    /// subprotocol and extensions, and the configured extra headers; no
    /// `Upgrade`, `Connection` or `Sec-WebSocket-Accept`, which HTTP/2 does
    /// without.
    ///
    /// [RFC 8441 section 5]: https://www.rfc-editor.org/rfc/rfc8441#section-5
    pub fn response_to_connect(&self, config: &ServerConfig) -> http::Response<()> {
        let mut response = self.response(config);
        *response.status_mut() = StatusCode::OK;
        *response.version_mut() = Version::HTTP_2;
        let headers = response.headers_mut();
        for name in [UPGRADE, CONNECTION, SEC_WEBSOCKET_ACCEPT] {
            headers.remove(name);
        }
        response
    }
}

/// Validates a WebSocket opening handshake request ([RFC 6455 section 4.2.1])
/// and decides the response ([RFC 6455 section 4.2.2]).
///
/// Checks, in order: the method is GET, HTTP/1.1 or later, `Host` present
/// once, `Upgrade` lists `websocket`, `Connection` lists `upgrade`,
/// `Sec-WebSocket-Key` is base64 of 16 bytes, `Sec-WebSocket-Version` is 13,
/// the origin policy allows `Origin`, and `Sec-WebSocket-Extensions` parses.
/// The request may come from [`crate::parse_request`] or from another HTTP
/// server (hyper, axum): only the head is read.
///
/// [RFC 6455 section 4.2.1]: https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1
/// [RFC 6455 section 4.2.2]: https://www.rfc-editor.org/rfc/rfc6455#section-4.2.2
///
/// # Errors
///
/// [`RequestError`] for the first rule the request breaks, with the status to answer
/// ([`RequestError::status`]).
pub fn accept<B>(
    request: &http::Request<B>,
    config: &ServerConfig,
) -> Result<AcceptedRequest, RequestError> {
    if request.method() != Method::GET {
        return Err(RequestError::MethodNotAllowed(request.method().clone()));
    }
    if request.version() < Version::HTTP_11 {
        return Err(RequestError::HttpVersion(request.version()));
    }
    let headers = request.headers();
    if !matches!(single(headers, &HOST), Single::One(_)) {
        return Err(RequestError::Host);
    }
    if !has_token(headers, &UPGRADE, "websocket") {
        return Err(RequestError::NotUpgrade);
    }
    if !has_token(headers, &CONNECTION, "upgrade") {
        return Err(RequestError::ConnectionNotUpgrade);
    }
    let key = match single(headers, &SEC_WEBSOCKET_KEY) {
        Single::One(key) if is_valid_key(key) => key,
        _ => return Err(RequestError::Key),
    };
    negotiate(request, config, accept_key(key))
}

/// Validates an HTTP/2 extended CONNECT that opens a WebSocket ([RFC 8441
/// section 4]) and decides the response ([`AcceptedRequest::response_to_connect`]):
/// the same rules as [`accept`] where they apply, without the ones HTTP/2
/// replaces (no `Upgrade`, `Connection`, `Sec-WebSocket-Key` or
/// `Sec-WebSocket-Accept`, RFC 8441 section 5).
///
/// `protocol` is the request's `:protocol` pseudo-header, which HTTP
/// libraries keep out of the header map (hyper: `hyper::ext::Protocol` in
/// the request's extensions; h2: `h2::ext::Protocol`).
///
/// Checks, in order: the method is CONNECT, `:protocol` is `websocket`,
/// `:authority` is present, `Sec-WebSocket-Version` is 13, the origin
/// policy allows `Origin`, `Sec-WebSocket-Extensions` parses, and a
/// subprotocol is agreed when one is required.
///
/// [RFC 8441 section 4]: https://www.rfc-editor.org/rfc/rfc8441#section-4
///
/// ```
/// use ws_handshake::{accept_extended_connect, ServerConfig};
///
/// let request = http::Request::connect("https://example.com/chat")
///     .version(http::Version::HTTP_2)
///     .header("sec-websocket-version", "13")
///     .header("origin", "https://example.com")
///     .body(())
///     .unwrap();
/// let config = ServerConfig::default();
/// let accepted = accept_extended_connect(&request, Some("websocket"), &config).unwrap();
/// assert_eq!(accepted.response_to_connect(&config).status(), 200);
/// ```
///
/// # Errors
///
/// [`RequestError`] for the first rule the request breaks, with the status to answer
/// ([`RequestError::status`]): [`RequestError::MethodNotAllowed`] (405) for
/// another method, [`RequestError::ConnectProtocol`] (400) for another or no
/// `:protocol`, [`RequestError::Host`] (400) without `:authority`.
pub fn accept_extended_connect<B>(
    request: &http::Request<B>,
    protocol: Option<&str>,
    config: &ServerConfig,
) -> Result<AcceptedRequest, RequestError> {
    if request.method() != Method::CONNECT {
        return Err(RequestError::MethodNotAllowed(request.method().clone()));
    }
    if !protocol.is_some_and(|protocol| protocol.eq_ignore_ascii_case("websocket")) {
        return Err(RequestError::ConnectProtocol(protocol.map(str::to_owned)));
    }
    if request.uri().authority().is_none() && request.headers().get(HOST).is_none() {
        return Err(RequestError::Host);
    }
    negotiate(request, config, String::new())
}

/// What both opening handshakes share once their own framing is checked:
/// the version, the origin, the extensions, the subprotocol.
fn negotiate<B>(
    request: &http::Request<B>,
    config: &ServerConfig,
    accept_key: String,
) -> Result<AcceptedRequest, RequestError> {
    let headers = request.headers();
    match single(headers, &SEC_WEBSOCKET_VERSION) {
        Single::One(b"13") => {}
        Single::One(other) => {
            return Err(RequestError::UnsupportedVersion(
                String::from_utf8_lossy(other).into_owned(),
            ))
        }
        Single::Missing | Single::Duplicated => return Err(RequestError::VersionMissing),
    }
    let origin = headers
        .get(ORIGIN)
        .map(|value| value.to_str().unwrap_or(""));
    let host = match headers.get(HOST) {
        Some(host) => host.to_str().ok(),
        None => request
            .uri()
            .authority()
            .map(|authority| authority.as_str()),
    };
    if !config.origin.allows(origin, host) {
        return Err(RequestError::Origin(origin.map(str::to_owned)));
    }
    let mut offered_extensions = Vec::new();
    for value in headers.get_all(SEC_WEBSOCKET_EXTENSIONS) {
        let text = value
            .to_str()
            .map_err(|error| RequestError::Extensions(error.to_string()))?;
        offered_extensions.extend(
            parse_extensions(text).map_err(|error| RequestError::Extensions(error.to_string()))?,
        );
    }
    let offered: Vec<&str> = list_items(headers, &SEC_WEBSOCKET_PROTOCOL).collect();
    let subprotocol = match &config.select_subprotocol {
        Some(SubprotocolSelector(choose)) => choose(&SubprotocolRequest {
            uri: request.uri(),
            headers,
            offered: &offered,
        })
        .filter(|chosen| offered.contains(&chosen.as_str())),
        None => config
            .subprotocols
            .iter()
            .find(|ours| offered.contains(&ours.as_str()))
            .cloned(),
    };
    if subprotocol.is_none() && config.require_subprotocol {
        return Err(RequestError::NoSubprotocol {
            offered: offered.iter().map(|&theirs| theirs.to_owned()).collect(),
            supported: config.subprotocols.clone(),
        });
    }
    #[cfg(feature = "deflate")]
    let negotiated = config
        .deflate
        .as_ref()
        .and_then(|ours| crate::deflate::negotiate_deflate(&offered_extensions, ours));
    Ok(AcceptedRequest {
        accept_key,
        subprotocol,
        #[cfg(feature = "deflate")]
        extensions: negotiated.as_ref().map(|(_, answer)| answer.to_string()),
        #[cfg(not(feature = "deflate"))]
        extensions: None,
        #[cfg(feature = "deflate")]
        deflate: negotiated.map(|(agreed, _)| agreed),
        offered_extensions,
    })
}
