//! HTTP/2's opening handshake, extended CONNECT (RFC 8441), on both sides,
//! from the fields h2 hands over: a method, a `:protocol`, an authority, a
//! path and header fields, one per line of the input (the first byte picks
//! the configurations). The server's check never panics, accepts only a
//! CONNECT for `websocket` and answers it with a 200 without HTTP/1.1's
//! upgrade fields, and refuses with a 4xx; the client's check of an answer
//! with the input's status and fields accepts only a 2xx that agrees to
//! what it offered.
#![no_main]

use http::header::{HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use ws_frame::DeflateParams;
use ws_handshake::{accept_extended_connect, ClientConfig, ClientHandshake, OriginPolicy, ServerConfig};

fn fields<'a>(lines: impl Iterator<Item = &'a [u8]>) -> Vec<(HeaderName, HeaderValue)> {
    lines
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let name = HeaderName::from_bytes(&line[..colon]).ok()?;
            let value = HeaderValue::from_bytes(line[colon + 1..].trim_ascii()).ok()?;
            Some((name, value))
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&seed, rest)) = data.split_first() else { return };
    let mut lines = rest.split(|&b| b == b'\n');
    let method = lines.next().unwrap_or_default();
    let protocol = lines.next().map(|line| String::from_utf8_lossy(line).into_owned());
    let authority = lines.next().unwrap_or_default();
    let path = lines.next().unwrap_or_default();
    let fields = fields(lines);

    // The server side.
    let mut uri = http::Uri::builder().scheme("https");
    if let Ok(authority) = http::uri::Authority::try_from(authority) {
        uri = uri.authority(authority);
    }
    let uri = uri
        .path_and_query(http::uri::PathAndQuery::try_from(path).unwrap_or_else(|_| "/".try_into().unwrap()))
        .build()
        .unwrap_or_else(|_| http::Uri::from_static("/"));
    let mut request = http::Request::new(());
    *request.method_mut() = http::Method::from_bytes(method).unwrap_or(http::Method::CONNECT);
    *request.uri_mut() = uri;
    *request.version_mut() = http::Version::HTTP_2;
    for (name, value) in &fields {
        request.headers_mut().append(name, value.clone());
    }
    let mut config = ServerConfig::default().subprotocols(["chat", "superchat"]);
    config.require_subprotocol = seed & 1 != 0;
    if seed & 2 != 0 {
        config.origin = OriginPolicy::Any;
    }
    if seed & 4 != 0 {
        config = config.deflate(DeflateParams::default());
    }
    match accept_extended_connect(&request, protocol.as_deref(), &config) {
        Ok(accepted) => {
            assert_eq!(request.method(), http::Method::CONNECT);
            assert!(protocol.unwrap().eq_ignore_ascii_case("websocket"));
            if let Some(chosen) = &accepted.subprotocol {
                assert!(config.subprotocols.contains(chosen));
            } else {
                assert!(!config.require_subprotocol);
            }
            let response = accepted.response_to_connect(&config);
            assert_eq!(response.status(), 200);
            assert_eq!(response.version(), http::Version::HTTP_2);
            for name in ["upgrade", "connection", "sec-websocket-accept"] {
                assert!(!response.headers().contains_key(name));
            }
        }
        Err(error) => {
            assert!(error.status().is_client_error());
            let (response, _body) = error.response();
            assert_eq!(response.status(), error.status());
        }
    }

    // The client side: our CONNECT, and the input's answer to it.
    let mut config = ClientConfig::default().subprotocols(["chat"]);
    if seed & 8 != 0 {
        config = config.deflate(DeflateParams::default());
    }
    let ours = http::Request::get("wss://example.com/chat").body(()).unwrap();
    let (handshake, connect) = ClientHandshake::extended_connect(&ours, &config).unwrap();
    assert_eq!(connect.method(), http::Method::CONNECT);
    let status = match seed >> 4 {
        0..=11 => 200,
        n => 100 + u16::from(n) * 37 + u16::from(method.first().copied().unwrap_or(0)),
    };
    let mut answer = http::Response::new(());
    *answer.status_mut() = http::StatusCode::from_u16(status.min(599)).unwrap();
    for (name, value) in &fields {
        answer.headers_mut().append(name, value.clone());
    }
    if let Ok(accepted) = handshake.check_connect_response(answer) {
        assert!(http::StatusCode::from_u16(status.min(599)).unwrap().is_success());
        assert!(accepted.subprotocol.is_none_or(|chosen| chosen == "chat"));
        for extension in &accepted.extensions {
            assert!(seed & 8 != 0 && extension.name.eq_ignore_ascii_case("permessage-deflate"));
        }
    }
});
