use std::io::Write;

use http::header::{
    HeaderMap, HeaderValue, CONNECTION, HOST, ORIGIN, SEC_WEBSOCKET_ACCEPT,
    SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use http::{StatusCode, Uri};

#[cfg(feature = "deflate")]
use crate::deflate::{check_deflate_answer, PERMESSAGE_DEFLATE};
use crate::extensions::{parse_extensions, Extension};
use crate::headers::{
    has_token, header_slots, list_items, single, to_header_map, MalformedHead, Single,
};
use crate::key::{accept_key, generate_key, is_valid_key};
use crate::request::HeaderLimits;
use crate::Parse;
#[cfg(feature = "deflate")]
use ws_frame::DeflateParams;

/// How a client opens a WebSocket.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Bounds on the response head.
    pub limits: HeaderLimits,
    /// Subprotocols to offer, most preferred first (`Sec-WebSocket-Protocol`).
    pub subprotocols: Vec<String>,
    /// Extensions to offer (`Sec-WebSocket-Extensions`).
    pub extensions: Vec<Extension>,
    /// An `Origin` header to send, as a browser would.
    pub origin: Option<String>,
    /// More headers for the request (authorization, cookies, ...).
    pub extra_headers: HeaderMap,
    /// Offer permessage-deflate ([RFC 7692]) with these parameters, first
    /// among the extensions. `None` (the default) offers no compression.
    ///
    /// [RFC 7692]: https://www.rfc-editor.org/rfc/rfc7692
    #[cfg(feature = "deflate")]
    pub deflate: Option<DeflateParams>,
}

impl ClientConfig {
    /// Offers permessage-deflate with `params` (see [`deflate_offer`](crate::deflate_offer)).
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, params: DeflateParams) -> Self {
        self.deflate = Some(params);
        self
    }

    /// Sets the subprotocols to offer.
    pub fn subprotocols<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        protocols: I,
    ) -> Self {
        self.subprotocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the `Origin` header.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Adds an extension offer.
    pub fn extension(mut self, extension: Extension) -> Self {
        self.extensions.push(extension);
        self
    }

    /// Adds a header to the request.
    pub fn extra_header(mut self, name: http::HeaderName, value: HeaderValue) -> Self {
        self.extra_headers.append(name, value);
        self
    }
}

/// A request URI that cannot be used to open a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URI does not parse.
    #[error("invalid URI: {0}")]
    InvalidUri(String),
    /// The scheme is not `ws` or `wss`.
    #[error("unsupported URI scheme {0:?}: use ws:// or wss://")]
    Scheme(String),
    /// The URI has no host.
    #[error("the URI has no host")]
    NoHost,
    /// A header given for the request is not a valid header value.
    #[error("invalid header value for {0}")]
    Header(&'static str),
}

/// Where a `ws://` or `wss://` URI points ([RFC 6455 section 3]).
///
/// [RFC 6455 section 3]: https://www.rfc-editor.org/rfc/rfc6455#section-3
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The host to resolve and connect to, without brackets for IPv6 literals;
    /// also the TLS server name.
    pub host: String,
    /// The port, 80 or 443 unless the URI says otherwise.
    pub port: u16,
    /// Whether the scheme is `wss` (TLS).
    pub tls: bool,
    /// The `Host` header value: the host, with brackets for IPv6, and the port
    /// when it is not the scheme's default.
    pub host_header: String,
    /// The request target: path and query, `/` when empty.
    pub path_and_query: String,
}

impl Target {
    /// Reads a WebSocket URI.
    ///
    /// ```
    /// let target = ws_handshake::Target::from_uri(&"wss://[::1]:8443/chat?room=1".parse().unwrap()).unwrap();
    /// assert_eq!((target.host.as_str(), target.port, target.tls), ("::1", 8443, true));
    /// assert_eq!(target.host_header, "[::1]:8443");
    /// assert_eq!(target.path_and_query, "/chat?room=1");
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError`] for a scheme other than `ws`/`wss`, or no host.
    pub fn from_uri(uri: &Uri) -> Result<Target, ClientError> {
        let tls = match uri.scheme_str() {
            Some(scheme) if scheme.eq_ignore_ascii_case("ws") => false,
            Some(scheme) if scheme.eq_ignore_ascii_case("wss") => true,
            Some(scheme) => return Err(ClientError::Scheme(scheme.to_owned())),
            None => return Err(ClientError::Scheme(String::new())),
        };
        let host_in_uri = uri
            .host()
            .filter(|host| !host.is_empty())
            .ok_or(ClientError::NoHost)?;
        let host = host_in_uri
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let default_port = if tls { 443 } else { 80 };
        let port = uri.port_u16().unwrap_or(default_port);
        let host_header = if port == default_port {
            host_in_uri.to_owned()
        } else {
            format!("{host_in_uri}:{port}")
        };
        let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
        let path_and_query = if path_and_query.is_empty() {
            "/".to_owned()
        } else {
            path_and_query.to_owned()
        };
        Ok(Target {
            host,
            port,
            tls,
            host_header,
            path_and_query,
        })
    }
}

/// Why a client refuses the server's handshake response ([RFC 6455 section 4.1]).
///
/// [RFC 6455 section 4.1]: https://www.rfc-editor.org/rfc/rfc6455#section-4.1
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The bytes are not an HTTP/1.x response; the parser's error is the source.
    #[error("malformed HTTP response: {0}")]
    Malformed(#[source] MalformedHead),
    /// The head is longer than [`HeaderLimits::max_header_bytes`].
    #[error("response head longer than {limit} bytes")]
    HeaderTooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// More header fields than [`HeaderLimits::max_headers`].
    #[error("more than {limit} response header fields")]
    TooManyHeaders {
        /// The limit in force.
        limit: usize,
    },
    /// The server answered with something other than 101: it refused the
    /// upgrade. Carries what it said.
    #[error("the server refused the upgrade with {status}")]
    Status {
        /// The status the server sent.
        status: StatusCode,
        /// Its headers.
        headers: HeaderMap,
        /// The body bytes that had arrived with the head, up to its `Content-Length`.
        body: Vec<u8>,
    },
    /// `Upgrade` does not name `websocket`.
    #[error("the response's Upgrade header does not name websocket")]
    Upgrade,
    /// `Connection` does not list `upgrade`.
    #[error("the response's Connection header does not contain upgrade")]
    Connection,
    /// `Sec-WebSocket-Accept` is missing, duplicated or does not match our key.
    #[error("Sec-WebSocket-Accept is missing or does not match the key we sent")]
    AcceptKey,
    /// The server selected a subprotocol we did not offer (or several).
    #[error("the server selected subprotocol {0:?}, which we did not offer")]
    Subprotocol(String),
    /// The server answered with an extension we did not offer, or a malformed
    /// `Sec-WebSocket-Extensions`.
    #[error("the server selected extension {0:?}, which we did not offer")]
    Extension(String),
    /// The server's permessage-deflate answer is not one our offer allows
    /// ([RFC 7692 section 7.1]); the connection is failed.
    ///
    /// [RFC 7692 section 7.1]: https://www.rfc-editor.org/rfc/rfc7692#section-7.1
    #[error("unacceptable permessage-deflate answer: {0}")]
    Deflate(String),
    /// The HTTP/2 server did not enable extended CONNECT
    /// (`SETTINGS_ENABLE_CONNECT_PROTOCOL`, [RFC 8441 section 3]): it does
    /// not take WebSockets over HTTP/2; use HTTP/1.1.
    ///
    /// [RFC 8441 section 3]: https://www.rfc-editor.org/rfc/rfc8441#section-3
    #[error("the HTTP/2 server does not enable extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL); use HTTP/1.1")]
    NoExtendedConnect,
}

/// What a client's opening handshake offers, over either HTTP version: its
/// subprotocols, its extensions (permessage-deflate first) and its
/// `Origin` ([RFC 6455 section 4.1], [RFC 8441 section 5]).
///
/// [RFC 6455 section 4.1]: https://www.rfc-editor.org/rfc/rfc6455#section-4.1
/// [RFC 8441 section 5]: https://www.rfc-editor.org/rfc/rfc8441#section-5
fn add_offers(config: &ClientConfig, headers: &mut HeaderMap) -> Result<(), ClientError> {
    if !config.subprotocols.is_empty() {
        headers.append(
            SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_str(&config.subprotocols.join(", "))
                .map_err(|_| ClientError::Header("Sec-WebSocket-Protocol"))?,
        );
    }
    #[cfg(feature = "deflate")]
    let deflate_offer = config.deflate.as_ref().map(crate::deflate::deflate_offer);
    #[cfg(not(feature = "deflate"))]
    let deflate_offer: Option<Extension> = None;
    if deflate_offer.is_some() || !config.extensions.is_empty() {
        let value = deflate_offer
            .iter()
            .chain(&config.extensions)
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        headers.append(
            SEC_WEBSOCKET_EXTENSIONS,
            HeaderValue::from_str(&value)
                .map_err(|_| ClientError::Header("Sec-WebSocket-Extensions"))?,
        );
    }
    if let Some(origin) = &config.origin {
        headers.insert(
            ORIGIN,
            HeaderValue::from_str(origin).map_err(|_| ClientError::Header("Origin"))?,
        );
    }
    Ok(())
}

/// The server's 101 response, checked against our request and accepted
/// ([`ClientHandshake::parse_response`]). [`AcceptedRequest`](crate::AcceptedRequest)
/// is the server's side of the same.
#[derive(Debug, Clone)]
pub struct AcceptedResponse {
    /// The whole 101 response head.
    pub response: http::Response<()>,
    /// The subprotocol the server selected, one of ours.
    pub subprotocol: Option<String>,
    /// The extensions the server selected, with their parameters, each one we offered.
    pub extensions: Vec<Extension>,
    /// The agreed permessage-deflate parameters, if the server accepted our offer.
    #[cfg(feature = "deflate")]
    pub deflate: Option<DeflateParams>,
}

/// A client's opening handshake in progress: what we sent, so the response
/// can be checked against it.
#[derive(Debug, Clone)]
pub struct ClientHandshake {
    expected_accept: String,
    subprotocols: Vec<String>,
    extension_names: Vec<String>,
    #[cfg(feature = "deflate")]
    deflate: Option<DeflateParams>,
    limits: HeaderLimits,
}

impl ClientHandshake {
    /// Builds the request for a `ws://` or `wss://` URI and returns the
    /// handshake state and the request bytes to send ([RFC 6455 section 4.1]).
    ///
    /// [RFC 6455 section 4.1]: https://www.rfc-editor.org/rfc/rfc6455#section-4.1
    ///
    /// # Errors
    ///
    /// [`ClientError`] for a URI that is not a WebSocket URI.
    pub fn new(
        uri: &str,
        config: &ClientConfig,
    ) -> Result<(ClientHandshake, Vec<u8>), ClientError> {
        let uri: Uri = uri
            .parse()
            .map_err(|error: http::uri::InvalidUri| ClientError::InvalidUri(error.to_string()))?;
        let mut request = http::Request::new(());
        *request.uri_mut() = uri;
        ClientHandshake::from_request(&request, config)
    }

    /// Builds the request from an `http::Request` whose URI is a `ws://` or
    /// `wss://` URI: its headers are sent as given, and the WebSocket headers
    /// it lacks (`Host`, `Upgrade`, `Connection`, `Sec-WebSocket-Key`,
    /// `Sec-WebSocket-Version`, and the config's offers) are added. A valid
    /// `Sec-WebSocket-Key` in the request is kept (for tests that need a known
    /// key); otherwise a fresh random one is made.
    ///
    /// # Errors
    ///
    /// [`ClientError`] for a URI that is not a WebSocket URI.
    pub fn from_request<B>(
        request: &http::Request<B>,
        config: &ClientConfig,
    ) -> Result<(ClientHandshake, Vec<u8>), ClientError> {
        let target = Target::from_uri(request.uri())?;
        let given = request.headers();
        let key = match single(given, &SEC_WEBSOCKET_KEY) {
            Single::One(key) if is_valid_key(key) => String::from_utf8_lossy(key).into_owned(),
            _ => generate_key(),
        };
        let mut headers = HeaderMap::new();
        if !given.contains_key(HOST) {
            headers.insert(
                HOST,
                HeaderValue::from_str(&target.host_header)
                    .map_err(|_| ClientError::Header("Host"))?,
            );
        }
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(
            SEC_WEBSOCKET_KEY,
            HeaderValue::from_str(&key).expect("base64 is a header value"),
        );
        headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        add_offers(config, &mut headers)?;
        for (name, value) in config.extra_headers.iter().chain(given.iter()) {
            let replaced_by_us = [
                UPGRADE,
                CONNECTION,
                SEC_WEBSOCKET_KEY,
                SEC_WEBSOCKET_VERSION,
            ]
            .contains(name);
            if !replaced_by_us {
                headers.append(name, value.clone());
            }
        }

        let mut bytes = Vec::with_capacity(256);
        let _ = write!(bytes, "GET {} HTTP/1.1\r\n", target.path_and_query);
        for (name, value) in &headers {
            bytes.extend_from_slice(name.as_str().as_bytes());
            bytes.extend_from_slice(b": ");
            bytes.extend_from_slice(value.as_bytes());
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"\r\n");

        let subprotocols = list_items(&headers, &SEC_WEBSOCKET_PROTOCOL)
            .map(str::to_owned)
            .collect();
        let mut extension_names = Vec::new();
        for value in headers.get_all(SEC_WEBSOCKET_EXTENSIONS) {
            if let Ok(offers) = value
                .to_str()
                .map_err(drop)
                .and_then(|text| parse_extensions(text).map_err(drop))
            {
                extension_names.extend(offers.into_iter().map(|offer| offer.name));
            }
        }
        let handshake = ClientHandshake {
            expected_accept: accept_key(key.as_bytes()),
            subprotocols,
            extension_names,
            #[cfg(feature = "deflate")]
            deflate: config.deflate,
            limits: config.limits,
        };
        Ok((handshake, bytes))
    }

    /// The `Sec-WebSocket-Accept` value the server must answer with.
    pub fn expected_accept(&self) -> &str {
        &self.expected_accept
    }

    /// Parses and checks the server's response head from the start of `input`
    /// ([RFC 6455 section 4.1], the client's checks).
    ///
    /// On success, returns the acceptance and the length of the head: bytes
    /// after it are the first WebSocket frames, already sent by the server.
    ///
    /// [RFC 6455 section 4.1]: https://www.rfc-editor.org/rfc/rfc6455#section-4.1
    ///
    /// # Errors
    ///
    /// [`ResponseError`] for a head past the limits or malformed, a status other than 101 (with
    /// what the server said), or a 101 that does not match our request (accept key,
    /// subprotocol, extensions).
    pub fn parse_response(
        &self,
        input: &[u8],
    ) -> Result<Parse<(AcceptedResponse, usize)>, ResponseError> {
        let mut slots = vec![httparse::EMPTY_HEADER; header_slots(&self.limits, input.len())];
        let mut parsed = httparse::Response::new(&mut slots);
        let head_len = match parsed.parse(input) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => {
                if input.len() > self.limits.max_header_bytes {
                    return Err(ResponseError::HeaderTooLarge {
                        limit: self.limits.max_header_bytes,
                    });
                }
                return Ok(Parse::NeedMore);
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(ResponseError::TooManyHeaders {
                    limit: self.limits.max_headers,
                })
            }
            Err(error) => {
                return Err(ResponseError::Malformed(MalformedHead::because(
                    "invalid response head",
                    error,
                )))
            }
        };
        if head_len > self.limits.max_header_bytes {
            return Err(ResponseError::HeaderTooLarge {
                limit: self.limits.max_header_bytes,
            });
        }
        let code = parsed
            .code
            .ok_or_else(|| ResponseError::Malformed(MalformedHead::new("no status code")))?;
        let status = StatusCode::from_u16(code).map_err(|error| {
            ResponseError::Malformed(MalformedHead::because("invalid status code", error))
        })?;
        let headers = to_header_map(parsed.headers).map_err(ResponseError::Malformed)?;
        if status != StatusCode::SWITCHING_PROTOCOLS {
            let body = &input[head_len..];
            let declared = headers
                .get(http::header::CONTENT_LENGTH)
                .and_then(|value| value.to_str().ok()?.parse::<usize>().ok());
            let body = declared
                .map_or(body, |len| &body[..len.min(body.len())])
                .to_vec();
            return Err(ResponseError::Status {
                status,
                headers,
                body,
            });
        }
        if !has_token(&headers, &UPGRADE, "websocket") {
            return Err(ResponseError::Upgrade);
        }
        if !has_token(&headers, &CONNECTION, "upgrade") {
            return Err(ResponseError::Connection);
        }
        match single(&headers, &SEC_WEBSOCKET_ACCEPT) {
            Single::One(value) if value == self.expected_accept.as_bytes() => {}
            _ => return Err(ResponseError::AcceptKey),
        }
        let accepted = self.agreement(status, http::Version::HTTP_11, headers)?;
        Ok(Parse::Complete((accepted, head_len)))
    }

    /// Builds the HTTP/2 extended CONNECT that opens a WebSocket as a stream
    /// of an HTTP/2 connection ([RFC 8441 section 4]) from a request whose
    /// URI is a `ws://` or `wss://` URI: `CONNECT` with the `http` or `https`
    /// scheme, the authority and the path, `Sec-WebSocket-Version: 13`, the
    /// config's offers and the request's own headers (none of HTTP/1.1's
    /// `Host`, `Upgrade`, `Connection` or `Sec-WebSocket-Key`). The caller's
    /// HTTP/2 library sets the `:protocol` pseudo-header to `websocket`
    /// (hyper: the `hyper::ext::Protocol` extension), which a header map
    /// cannot hold. Check the answer with
    /// [`check_connect_response`](Self::check_connect_response).
    ///
    /// [RFC 8441 section 4]: https://www.rfc-editor.org/rfc/rfc8441#section-4
    ///
    /// ```
    /// use ws_handshake::{ClientConfig, ClientHandshake};
    ///
    /// let request = http::Request::get("wss://example.com/chat").body(()).unwrap();
    /// let config = ClientConfig::default().subprotocols(["chat"]);
    /// let (handshake, connect) = ClientHandshake::extended_connect(&request, &config).unwrap();
    /// assert_eq!(connect.method(), http::Method::CONNECT);
    /// assert_eq!(connect.uri(), "https://example.com/chat");
    /// assert_eq!(connect.headers()["sec-websocket-version"], "13");
    /// let mut answer = http::Response::new(());
    /// answer.headers_mut().insert("sec-websocket-protocol", "chat".parse().unwrap());
    /// let accepted = handshake.check_connect_response(answer).unwrap();
    /// assert_eq!(accepted.subprotocol.as_deref(), Some("chat"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`ClientError`] for a URI that is not a WebSocket URI.
    pub fn extended_connect<B>(
        request: &http::Request<B>,
        config: &ClientConfig,
    ) -> Result<(ClientHandshake, http::Request<()>), ClientError> {
        let (mut handshake, _) = ClientHandshake::from_request(request, config)?;
        handshake.expected_accept.clear();
        let target = Target::from_uri(request.uri())?;
        let scheme = if target.tls { "https" } else { "http" };
        let uri: Uri = format!("{scheme}://{}{}", target.host_header, target.path_and_query)
            .parse()
            .map_err(|error: http::uri::InvalidUri| ClientError::InvalidUri(error.to_string()))?;
        let mut connect = http::Request::new(());
        *connect.method_mut() = http::Method::CONNECT;
        *connect.uri_mut() = uri;
        *connect.version_mut() = http::Version::HTTP_2;
        let headers = connect.headers_mut();
        headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        add_offers(config, headers)?;
        for (name, value) in config.extra_headers.iter().chain(request.headers().iter()) {
            // HTTP/1.1's connection-specific fields have no place in HTTP/2
            // (RFC 9113 section 8.2.2); the key is not used (RFC 8441
            // section 5).
            let left_out = [
                HOST,
                UPGRADE,
                CONNECTION,
                SEC_WEBSOCKET_KEY,
                SEC_WEBSOCKET_VERSION,
            ]
            .contains(name);
            if !left_out {
                headers.append(name, value.clone());
            }
        }
        Ok((handshake, connect))
    }

    /// Checks the answer to an [`extended_connect`](Self::extended_connect)
    /// ([RFC 8441 section 5]): a 2xx status, and a subprotocol and
    /// extensions that we offered, as for HTTP/1.1.
    ///
    /// [RFC 8441 section 5]: https://www.rfc-editor.org/rfc/rfc8441#section-5
    ///
    /// # Errors
    ///
    /// [`ResponseError::Status`] for another status (with its headers; the
    /// body is the caller's to read), and as
    /// [`parse_response`](Self::parse_response) for the agreement.
    pub fn check_connect_response(
        &self,
        response: http::Response<()>,
    ) -> Result<AcceptedResponse, ResponseError> {
        let (parts, ()) = response.into_parts();
        if !parts.status.is_success() {
            return Err(ResponseError::Status {
                status: parts.status,
                headers: parts.headers,
                body: Vec::new(),
            });
        }
        self.agreement(parts.status, http::Version::HTTP_2, parts.headers)
    }

    /// The subprotocol and extensions an accepting response agreed on, each
    /// one we offered.
    fn agreement(
        &self,
        status: StatusCode,
        version: http::Version,
        headers: HeaderMap,
    ) -> Result<AcceptedResponse, ResponseError> {
        let subprotocol = {
            let mut selected = list_items(&headers, &SEC_WEBSOCKET_PROTOCOL);
            match (selected.next(), selected.next()) {
                (None, _) => None,
                (Some(one), None) if self.subprotocols.iter().any(|offered| offered == one) => {
                    Some(one.to_owned())
                }
                (Some(one), _) => return Err(ResponseError::Subprotocol(one.to_owned())),
            }
        };
        let mut extensions = Vec::new();
        for value in headers.get_all(SEC_WEBSOCKET_EXTENSIONS) {
            let text = value.to_str().map_err(|_| {
                ResponseError::Extension(String::from_utf8_lossy(value.as_bytes()).into_owned())
            })?;
            let parsed =
                parse_extensions(text).map_err(|_| ResponseError::Extension(text.to_owned()))?;
            for extension in parsed {
                if !self
                    .extension_names
                    .iter()
                    .any(|offered| offered.eq_ignore_ascii_case(&extension.name))
                {
                    return Err(ResponseError::Extension(extension.name));
                }
                extensions.push(extension);
            }
        }
        #[cfg(feature = "deflate")]
        let deflate = self.check_deflate(&extensions)?;
        let mut response = http::Response::new(());
        *response.status_mut() = status;
        *response.version_mut() = version;
        *response.headers_mut() = headers;
        Ok(AcceptedResponse {
            response,
            subprotocol,
            extensions,
            #[cfg(feature = "deflate")]
            deflate,
        })
    }

    /// The agreed permessage-deflate parameters: at most one answer, and one
    /// that our offer allows.
    #[cfg(feature = "deflate")]
    fn check_deflate(
        &self,
        extensions: &[Extension],
    ) -> Result<Option<DeflateParams>, ResponseError> {
        let mut answers = extensions
            .iter()
            .filter(|extension| extension.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE));
        let Some(answer) = answers.next() else {
            return Ok(None);
        };
        if answers.next().is_some() {
            return Err(ResponseError::Deflate(
                "permessage-deflate selected twice".into(),
            ));
        }
        // Offered by hand (config.extensions) rather than through
        // config.deflate: the caller checks the answer itself.
        let Some(ours) = &self.deflate else {
            return Ok(None);
        };
        check_deflate_answer(answer, ours)
            .map(Some)
            .map_err(ResponseError::Deflate)
    }
}
