//! The server side of the opening handshake: parsing, validation, statuses.

use http::StatusCode;
use ws_handshake::{
    accept, is_upgrade_request, parse_request, HeaderLimits, OriginPolicy, Parse, RequestError,
    ServerConfig,
};

const RFC_REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// What server.example.com in RFC 6455's sample would run: its page is on
/// http://example.com, another origin, which the default policy refuses.
fn rfc_server() -> ServerConfig {
    ServerConfig::default().origin(OriginPolicy::AllowList(vec!["http://example.com".into()]))
}

/// The bytes Chromium sends for `new WebSocket("ws://localhost:9001/ws")`.
const CHROMIUM_REQUEST: &[u8] = b"GET /ws HTTP/1.1\r\n\
Host: localhost:9001\r\n\
Connection: Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n\
Upgrade: websocket\r\n\
Origin: http://localhost:9001\r\n\
Sec-WebSocket-Version: 13\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";

/// The bytes Firefox sends: note `Connection: keep-alive, Upgrade`.
const FIREFOX_REQUEST: &[u8] = b"GET /ws HTTP/1.1\r\n\
Host: 127.0.0.1:9001\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0\r\n\
Accept: */*\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Sec-WebSocket-Version: 13\r\n\
Origin: http://127.0.0.1:9001\r\n\
Sec-WebSocket-Extensions: permessage-deflate\r\n\
Sec-WebSocket-Key: E4WSEcseoWr4csPLS2QJHA==\r\n\
Connection: keep-alive, Upgrade\r\n\
Sec-Fetch-Dest: empty\r\n\
Sec-Fetch-Mode: websocket\r\n\
Sec-Fetch-Site: same-origin\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
Upgrade: websocket\r\n\r\n";

fn parse(bytes: &[u8]) -> Result<(http::Request<()>, usize), RequestError> {
    match parse_request(bytes, &HeaderLimits::default())? {
        Parse::Complete(done) => Ok(done),
        Parse::NeedMore => panic!("request incomplete"),
    }
}

/// Parses and validates, returning the status a server would answer with.
fn status_of(bytes: &[u8]) -> StatusCode {
    match parse(bytes).and_then(|(request, _)| accept(&request, &rfc_server())) {
        Ok(_) => StatusCode::SWITCHING_PROTOCOLS,
        Err(error) => error.status(),
    }
}

/// The RFC request with one header line replaced (or removed when `with` is empty).
fn rfc_request_with(header: &str, with: &str) -> Vec<u8> {
    let text = std::str::from_utf8(RFC_REQUEST).unwrap();
    let mut out = String::new();
    for line in text.split_inclusive("\r\n") {
        if line
            .to_ascii_lowercase()
            .starts_with(&format!("{}:", header.to_ascii_lowercase()))
        {
            if !with.is_empty() {
                out.push_str(with);
                out.push_str("\r\n");
            }
        } else {
            out.push_str(line);
        }
    }
    out.into_bytes()
}

#[test]
fn server_accepts_the_rfc_sample_request_with_the_rfc_accept_key() {
    let (request, used) = parse(RFC_REQUEST).unwrap();
    assert_eq!(used, RFC_REQUEST.len());
    let accepted = accept(&request, &rfc_server().subprotocols(["superchat", "chat"])).unwrap();
    assert_eq!(accepted.accept_key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_eq!(accepted.subprotocol.as_deref(), Some("superchat"));
}

#[test]
fn server_accepts_real_browser_requests() {
    for bytes in [CHROMIUM_REQUEST, FIREFOX_REQUEST] {
        let (request, used) = parse(bytes).unwrap();
        assert_eq!(used, bytes.len());
        let accepted = accept(&request, &ServerConfig::default()).unwrap();
        assert_eq!(accepted.offered_extensions[0].name, "permessage-deflate");
        assert_eq!(accepted.subprotocol, None);
    }
}

#[test]
fn server_builds_the_101_response() {
    let (request, _) = parse(RFC_REQUEST).unwrap();
    let config = rfc_server().subprotocols(["chat"]).extra_header(
        http::header::SERVER,
        http::HeaderValue::from_static("ws-toolkit"),
    );
    let accepted = accept(&request, &config).unwrap();
    let mut out = Vec::new();
    ws_handshake::write_response(&accepted.response(&config), &[], &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{text}"
    );
    assert!(
        text.contains("sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
        "{text}"
    );
    assert!(text.contains("sec-websocket-protocol: chat\r\n"), "{text}");
    assert!(text.contains("server: ws-toolkit\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"));
}

#[test]
fn server_leaves_bytes_after_the_head_to_the_connection() {
    let mut bytes = RFC_REQUEST.to_vec();
    bytes.extend_from_slice(&[0x81, 0x80, 1, 2, 3, 4]);
    let (_, used) = parse(&bytes).unwrap();
    assert_eq!(&bytes[used..], &[0x81, 0x80, 1, 2, 3, 4]);
}

#[test]
fn server_parses_the_same_when_fed_one_byte_at_a_time() {
    let limits = HeaderLimits::default();
    for bytes in [RFC_REQUEST, CHROMIUM_REQUEST, FIREFOX_REQUEST] {
        for len in 0..bytes.len() {
            assert!(
                matches!(parse_request(&bytes[..len], &limits), Ok(Parse::NeedMore)),
                "at {len}"
            );
        }
        let Parse::Complete((request, used)) = parse_request(bytes, &limits).unwrap() else {
            panic!()
        };
        assert_eq!(used, bytes.len());
        // Parsing is what this checks: any origin will do.
        let any_origin = ServerConfig::default().origin(OriginPolicy::Any);
        assert!(accept(&request, &any_origin).is_ok());
    }
}

#[test]
fn server_rejects_wrong_method_with_405() {
    let bytes = std::str::from_utf8(RFC_REQUEST)
        .unwrap()
        .replacen("GET", "POST", 1);
    assert_eq!(status_of(bytes.as_bytes()), StatusCode::METHOD_NOT_ALLOWED);
    let (request, _) = parse(bytes.as_bytes()).unwrap();
    let mut out = Vec::new();
    accept(&request, &rfc_server())
        .unwrap_err()
        .write_response(&mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
    assert!(text.contains("allow: GET\r\n"));
}

#[test]
fn server_rejects_http_1_0_with_400() {
    let bytes = std::str::from_utf8(RFC_REQUEST)
        .unwrap()
        .replacen("HTTP/1.1", "HTTP/1.0", 1);
    assert_eq!(status_of(bytes.as_bytes()), StatusCode::BAD_REQUEST);
}

#[test]
fn server_rejects_missing_or_duplicated_host_with_400() {
    assert_eq!(
        status_of(&rfc_request_with("Host", "")),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        status_of(&rfc_request_with("Host", "Host: a\r\nHost: b")),
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn server_reports_a_plain_http_request_as_not_an_upgrade() {
    let bytes = b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";
    let (request, _) = parse(bytes).unwrap();
    assert!(!is_upgrade_request(&request));
    assert_eq!(
        accept(&request, &rfc_server()),
        Err(RequestError::NotUpgrade)
    );
    assert_eq!(status_of(bytes), StatusCode::UPGRADE_REQUIRED);
    assert!(is_upgrade_request(&parse(RFC_REQUEST).unwrap().0));
}

#[test]
fn server_rejects_upgrade_to_another_protocol() {
    assert_eq!(
        status_of(&rfc_request_with("Upgrade", "Upgrade: h2c")),
        StatusCode::UPGRADE_REQUIRED
    );
    assert_eq!(
        status_of(&rfc_request_with("Upgrade", "Upgrade: foo, WebSocket")),
        StatusCode::SWITCHING_PROTOCOLS
    );
}

#[test]
fn server_requires_the_upgrade_token_in_connection() {
    assert_eq!(
        status_of(&rfc_request_with("Connection", "")),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        status_of(&rfc_request_with("Connection", "Connection: keep-alive")),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        status_of(&rfc_request_with(
            "Connection",
            "Connection: keep-alive, UPGRADE"
        )),
        StatusCode::SWITCHING_PROTOCOLS
    );
}

#[test]
fn server_rejects_bad_keys_with_400() {
    for line in [
        "",
        "Sec-WebSocket-Key: c2hvcnQ=",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZXM=",
        "Sec-WebSocket-Key: not base64 at all!!!!!!",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    ] {
        assert_eq!(status_of(&rfc_request_with("Sec-WebSocket-Key", line)), StatusCode::BAD_REQUEST, "{line:?}");
    }
}

#[test]
fn server_answers_version_8_with_426_and_its_version() {
    let bytes = rfc_request_with("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8");
    assert_eq!(status_of(&bytes), StatusCode::UPGRADE_REQUIRED);
    let (request, _) = parse(&bytes).unwrap();
    let error = accept(&request, &rfc_server()).unwrap_err();
    assert_eq!(error, RequestError::UnsupportedVersion("8".into()));
    let (response, _) = error.response();
    assert_eq!(response.headers()["sec-websocket-version"], "13");
    assert_eq!(
        status_of(&rfc_request_with("Sec-WebSocket-Version", "")),
        StatusCode::BAD_REQUEST
    );
}

#[test]
fn server_rejects_oversized_heads_with_431() {
    let limits = HeaderLimits::default();
    let mut bytes = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    bytes.extend(std::iter::repeat_n(b'a', 9000));
    let error = parse_request(&bytes, &limits).unwrap_err();
    assert_eq!(error, RequestError::HeaderTooLarge { limit: 8192 });
    assert_eq!(error.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);

    let mut many = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..65 {
        many.extend_from_slice(format!("X-{i}: 1\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let error = parse_request(&many, &limits).unwrap_err();
    assert_eq!(error, RequestError::TooManyHeaders { limit: 64 });
    assert_eq!(error.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
}

#[test]
fn server_rejects_garbage_with_400() {
    let error = parse_request(
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        &HeaderLimits::default(),
    )
    .unwrap_err();
    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
}

/// Cross-site WebSocket hijacking: a page on another site opening a socket
/// with the user's cookies. The default policy refuses RFC 6455's sample
/// request (a page on example.com, a server at server.example.com) with
/// 403 and accepts the same request without `Origin`, from the same
/// origin, or under `OriginPolicy::Any`.
#[test]
fn server_refuses_a_cross_origin_browser_request_by_default_with_403() {
    let (request, _) = parse(RFC_REQUEST).unwrap();
    let error = accept(&request, &ServerConfig::default()).unwrap_err();
    assert_eq!(
        error,
        RequestError::Origin(Some("http://example.com".to_owned()))
    );
    assert_eq!(error.status(), StatusCode::FORBIDDEN);
    assert!(accept(&request, &ServerConfig::default().origin(OriginPolicy::Any)).is_ok());
    for (origin, host, accepted) in [
        (None, "server.example.com", true),
        (
            Some("http://server.example.com"),
            "server.example.com",
            true,
        ),
        (
            Some("HTTP://Server.Example.COM"),
            "server.example.com:80",
            true,
        ),
        (
            Some("https://server.example.com"),
            "server.example.com:443",
            true,
        ),
        (
            Some("https://server.example.com"),
            "server.example.com",
            true,
        ),
        (Some("http://[::1]:8080"), "[::1]:8080", true),
        (
            Some("http://server.example.com:8080"),
            "server.example.com",
            false,
        ),
        (
            Some("http://server.example.com"),
            "server.example.com:8080",
            false,
        ),
        (Some("http://evil.example"), "server.example.com", false),
        (Some("null"), "server.example.com", false),
        (
            Some("http://server.example.com/path"),
            "server.example.com",
            false,
        ),
        (
            Some("file://server.example.com"),
            "server.example.com",
            false,
        ),
    ] {
        let mut request = request.clone();
        request.headers_mut().remove("origin");
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().unwrap());
        }
        request.headers_mut().insert("host", host.parse().unwrap());
        assert_eq!(
            accept(&request, &ServerConfig::default()).is_ok(),
            accepted,
            "Origin {origin:?} to Host {host}"
        );
    }
}

#[test]
fn server_applies_its_origin_policy_with_403() {
    let (request, _) = parse(RFC_REQUEST).unwrap();
    let strict = ServerConfig::default()
        .origin(OriginPolicy::AllowList(vec!["https://good.example".into()]));
    let error = accept(&request, &strict).unwrap_err();
    assert_eq!(error.status(), StatusCode::FORBIDDEN);
    let friendly =
        ServerConfig::default().origin(OriginPolicy::AllowList(vec!["HTTP://EXAMPLE.COM".into()]));
    assert!(accept(&request, &friendly).is_ok());
    let custom =
        ServerConfig::default().origin(OriginPolicy::Custom(std::sync::Arc::new(|origin| {
            origin.is_some_and(|o| o.ends_with(".com"))
        })));
    assert!(accept(&request, &custom).is_ok());
}

#[test]
fn server_selects_no_subprotocol_when_none_is_shared() {
    let (request, _) = parse(RFC_REQUEST).unwrap();
    let accepted = accept(&request, &rfc_server().subprotocols(["mqtt"])).unwrap();
    assert_eq!(accepted.subprotocol, None);
    assert!(!accepted
        .response(&rfc_server())
        .headers()
        .contains_key("sec-websocket-protocol"));
}

#[test]
fn server_rejects_malformed_extension_offers_with_400() {
    let bytes = rfc_request_with("Origin", "Sec-WebSocket-Extensions: permessage-deflate; =");
    assert_eq!(status_of(&bytes), StatusCode::BAD_REQUEST);
}

#[test]
fn server_accepts_a_request_that_hyper_parsed() {
    let request = http::Request::get("/chat")
        .header("host", "example.com")
        .header("upgrade", "websocket")
        .header("connection", "upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    assert_eq!(
        accept(&request, &rfc_server()).unwrap().accept_key,
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
}

#[test]
fn server_requiring_a_subprotocol_refuses_none_in_common_with_400_naming_its_own() {
    let config = rfc_server()
        .subprotocols(["mqtt", "stomp"])
        .require_subprotocol(true);
    let (request, _) = parse(RFC_REQUEST).unwrap();
    let error = accept(&request, &config).unwrap_err();
    assert_eq!(
        error,
        RequestError::NoSubprotocol {
            offered: vec!["chat".into(), "superchat".into()],
            supported: vec!["mqtt".into(), "stomp".into()],
        }
    );
    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    let mut out = Vec::new();
    error.write_response(&mut out);
    let answer = String::from_utf8(out).unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains(r#"["mqtt", "stomp"]"#), "{answer}");
    // A client offering nothing at all is refused too.
    let bare = rfc_request_with("Sec-WebSocket-Protocol", "");
    let (request, _) = parse(&bare).unwrap();
    assert!(matches!(
        accept(&request, &config),
        Err(RequestError::NoSubprotocol { offered, .. }) if offered.is_empty()
    ));
    // One in common: accepted with it.
    let config = rfc_server()
        .subprotocols(["superchat"])
        .require_subprotocol(true);
    let (request, _) = parse(RFC_REQUEST).unwrap();
    assert_eq!(
        accept(&request, &config).unwrap().subprotocol.as_deref(),
        Some("superchat")
    );
}

#[test]
fn server_subprotocol_selector_sees_path_and_headers_and_may_pick_only_what_was_offered() {
    let config = rfc_server().select_subprotocol(|request| {
        assert_eq!(request.offered, ["chat", "superchat"]);
        let origin = request.headers.get("origin").unwrap().to_str().unwrap();
        (request.uri.path() == "/chat" && origin == "http://example.com")
            .then(|| "superchat".to_owned())
    });
    let (request, _) = parse(RFC_REQUEST).unwrap();
    assert_eq!(
        accept(&request, &config).unwrap().subprotocol.as_deref(),
        Some("superchat")
    );
    // A choice the client did not offer counts as none...
    let offering_something_else = rfc_server().select_subprotocol(|_| Some("mqtt".to_owned()));
    assert_eq!(
        accept(&request, &offering_something_else)
            .unwrap()
            .subprotocol,
        None
    );
    // ... and is refused when one is required.
    let required = offering_something_else.require_subprotocol(true);
    assert!(matches!(
        accept(&request, &required),
        Err(RequestError::NoSubprotocol { .. })
    ));
}
