//! The client side of the opening handshake: request building and response checks.
#![allow(clippy::result_large_err)] // the errors under test are returned as they are

use http::StatusCode;
use ws_handshake::{
    ClientConfig, ClientError, ClientHandshake, Extension, Parse, ResponseError, Target,
};

/// A handshake that sent the RFC's sample key, so real captured responses match.
fn rfc_keyed_handshake(config: &ClientConfig) -> ClientHandshake {
    let request = http::Request::get("ws://server.example.com/chat")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .body(())
        .unwrap();
    ClientHandshake::from_request(&request, config).unwrap().0
}

/// What a Node `ws` server answers to the RFC's sample key.
const NODE_WS_RESPONSE: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

fn response_with(extra: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n{extra}\r\n"
    )
    .into_bytes()
}

fn parse(handshake: &ClientHandshake, bytes: &[u8]) -> Result<usize, ResponseError> {
    match handshake.parse_response(bytes)? {
        Parse::Complete((_, used)) => Ok(used),
        Parse::NeedMore => panic!("incomplete"),
    }
}

#[test]
fn client_builds_a_request_the_server_side_accepts() {
    let config = ClientConfig::default()
        .subprotocols(["chat", "superchat"])
        .origin("http://example.com:8080");
    let (_, bytes) = ClientHandshake::new("ws://example.com:8080/path?q=1", &config).unwrap();
    let Parse::Complete((request, _)) =
        ws_handshake::parse_request(&bytes, &Default::default()).unwrap()
    else {
        panic!()
    };
    assert_eq!(request.uri(), "/path?q=1");
    assert_eq!(request.headers()["host"], "example.com:8080");
    assert_eq!(request.headers()["origin"], "http://example.com:8080");
    let accepted = ws_handshake::accept(
        &request,
        &ws_handshake::ServerConfig::default().subprotocols(["superchat"]),
    )
    .unwrap();
    assert_eq!(accepted.subprotocol.as_deref(), Some("superchat"));
}

#[test]
fn client_sends_a_fresh_key_each_time() {
    let (a, _) = ClientHandshake::new("ws://h/", &ClientConfig::default()).unwrap();
    let (b, _) = ClientHandshake::new("ws://h/", &ClientConfig::default()).unwrap();
    assert_ne!(a.expected_accept(), b.expected_accept());
}

#[test]
fn client_reads_targets_from_uris() {
    let target = Target::from_uri(&"ws://example.com".parse().unwrap()).unwrap();
    assert_eq!(
        (target.host.as_str(), target.port, target.tls),
        ("example.com", 80, false)
    );
    assert_eq!(target.path_and_query, "/");
    assert_eq!(target.host_header, "example.com");
    let target = Target::from_uri(&"wss://example.com/a/b?c".parse().unwrap()).unwrap();
    assert_eq!(
        (target.port, target.tls, target.path_and_query.as_str()),
        (443, true, "/a/b?c")
    );
    let target = Target::from_uri(&"ws://[2001:db8::1]:9001/".parse().unwrap()).unwrap();
    assert_eq!(
        (target.host.as_str(), target.host_header.as_str()),
        ("2001:db8::1", "[2001:db8::1]:9001")
    );
    assert!(matches!(
        ClientHandshake::new("http://example.com/", &ClientConfig::default()),
        Err(ClientError::Scheme(_))
    ));
    assert!(matches!(
        ClientHandshake::new("/relative", &ClientConfig::default()),
        Err(ClientError::Scheme(_))
    ));
}

#[test]
fn client_accepts_a_real_server_response() {
    let handshake = rfc_keyed_handshake(&ClientConfig::default());
    assert_eq!(
        parse(&handshake, NODE_WS_RESPONSE),
        Ok(NODE_WS_RESPONSE.len())
    );
}

#[test]
fn client_hands_back_frames_sent_with_the_response() {
    let handshake = rfc_keyed_handshake(&ClientConfig::default());
    let mut bytes = NODE_WS_RESPONSE.to_vec();
    bytes.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
    let used = parse(&handshake, &bytes).unwrap();
    assert_eq!(&bytes[used..], &[0x81, 0x02, b'h', b'i']);
}

#[test]
fn client_parses_the_same_when_fed_one_byte_at_a_time() {
    let handshake = rfc_keyed_handshake(&ClientConfig::default());
    for len in 0..NODE_WS_RESPONSE.len() {
        assert!(
            matches!(
                handshake.parse_response(&NODE_WS_RESPONSE[..len]),
                Ok(Parse::NeedMore)
            ),
            "at {len}"
        );
    }
    assert_eq!(
        parse(&handshake, NODE_WS_RESPONSE),
        Ok(NODE_WS_RESPONSE.len())
    );
}

#[test]
fn client_reports_a_refusal_with_status_headers_and_body() {
    let handshake = rfc_keyed_handshake(&ClientConfig::default());
    let bytes =
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nX-Why: origin\r\n\r\nforbiddenEXTRA";
    let Err(ResponseError::Status {
        status,
        headers,
        body,
    }) = handshake.parse_response(bytes)
    else {
        panic!()
    };
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers["x-why"], "origin");
    assert_eq!(body, b"forbidden");
}

#[test]
fn client_rejects_a_wrong_accept_key() {
    let handshake = rfc_keyed_handshake(&ClientConfig::default());
    let bad = String::from_utf8(NODE_WS_RESPONSE.to_vec())
        .unwrap()
        .replace("xOo=", "xOx=");
    assert_eq!(
        parse(&handshake, bad.as_bytes()),
        Err(ResponseError::AcceptKey)
    );
    let missing =
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    assert_eq!(parse(&handshake, missing), Err(ResponseError::AcceptKey));
}

#[test]
fn client_rejects_missing_upgrade_or_connection() {
    let handshake = rfc_keyed_handshake(&ClientConfig::default());
    let text = String::from_utf8(NODE_WS_RESPONSE.to_vec()).unwrap();
    assert_eq!(
        parse(
            &handshake,
            text.replace("Upgrade: websocket\r\n", "").as_bytes()
        ),
        Err(ResponseError::Upgrade)
    );
    assert_eq!(
        parse(
            &handshake,
            text.replace("Connection: Upgrade\r\n", "Connection: close\r\n")
                .as_bytes()
        ),
        Err(ResponseError::Connection)
    );
}

#[test]
fn client_rejects_a_subprotocol_it_did_not_offer() {
    let handshake = rfc_keyed_handshake(&ClientConfig::default().subprotocols(["chat"]));
    assert_eq!(
        parse(
            &handshake,
            &response_with("Sec-WebSocket-Protocol: chat\r\n")
        )
        .map(|_| ()),
        Ok(())
    );
    assert_eq!(
        parse(
            &handshake,
            &response_with("Sec-WebSocket-Protocol: mqtt\r\n")
        ),
        Err(ResponseError::Subprotocol("mqtt".into()))
    );
    let none_offered = rfc_keyed_handshake(&ClientConfig::default());
    assert!(parse(
        &none_offered,
        &response_with("Sec-WebSocket-Protocol: chat\r\n")
    )
    .is_err());
}

#[test]
fn client_rejects_an_extension_it_did_not_offer() {
    let handshake = rfc_keyed_handshake(&ClientConfig::default());
    assert_eq!(
        parse(
            &handshake,
            &response_with("Sec-WebSocket-Extensions: permessage-deflate\r\n")
        ),
        Err(ResponseError::Extension("permessage-deflate".into()))
    );
    let offering = rfc_keyed_handshake(
        &ClientConfig::default().extension(Extension::new("permessage-deflate")),
    );
    let bytes = response_with(
        "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n",
    );
    let Ok(Parse::Complete((accepted, _))) = offering.parse_response(&bytes) else {
        panic!()
    };
    assert_eq!(
        accepted.extensions[0].params[0].0,
        "server_no_context_takeover"
    );
}

#[test]
fn client_rejects_oversized_and_malformed_responses() {
    let handshake = rfc_keyed_handshake(&ClientConfig::default());
    let mut big = b"HTTP/1.1 101 Switching Protocols\r\nX: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 9000));
    assert_eq!(
        handshake.parse_response(&big).unwrap_err(),
        ResponseError::HeaderTooLarge { limit: 8192 }
    );
    assert!(matches!(
        handshake.parse_response(b"SSH-2.0-OpenSSH\r\n\r\n"),
        Err(ResponseError::Malformed(_))
    ));
}
