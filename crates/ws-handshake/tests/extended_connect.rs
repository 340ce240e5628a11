//! WebSockets over HTTP/2 (RFC 8441): the server's checks of an extended
//! CONNECT and its 200 answer, the client's CONNECT and its check of the
//! answer, and a round trip between the two.

use http::{Method, StatusCode, Version};
use ws_handshake::{
    accept_extended_connect, ClientConfig, ClientHandshake, OriginPolicy, RequestError,
    ResponseError, ServerConfig,
};

fn connect(uri: &str) -> http::request::Builder {
    http::Request::builder()
        .method(Method::CONNECT)
        .uri(uri)
        .version(Version::HTTP_2)
        .header("sec-websocket-version", "13")
}

#[test]
fn server_refuses_an_extended_connect_breaking_rfc_8441_with_the_status_of_each_rule() {
    let config = ServerConfig::default();
    let good = || connect("https://example.com/chat");
    let status = |request: http::Request<()>, protocol: Option<&str>| {
        accept_extended_connect(&request, protocol, &config)
            .map(|_| ())
            .map_err(|error| (error.status(), error))
    };
    // A GET over HTTP/2 is no WebSocket request: 405.
    let get = http::Request::get("https://example.com/chat")
        .version(Version::HTTP_2)
        .body(())
        .unwrap();
    assert!(matches!(
        status(get, Some("websocket")),
        Err((
            StatusCode::METHOD_NOT_ALLOWED,
            RequestError::MethodNotAllowed(_)
        ))
    ));
    // No :protocol, or another one: a plain CONNECT, 400.
    for protocol in [None, Some("h2c"), Some("webtransport")] {
        assert!(matches!(
            status(good().body(()).unwrap(), protocol),
            Err((StatusCode::BAD_REQUEST, RequestError::ConnectProtocol(_)))
        ));
    }
    // Another version: 426 (with Sec-WebSocket-Version: 13 in the answer).
    let old = http::Request::builder()
        .method(Method::CONNECT)
        .uri("https://example.com/chat")
        .version(Version::HTTP_2)
        .header("sec-websocket-version", "8")
        .body(())
        .unwrap();
    let Err((code, error)) = status(old, Some("websocket")) else {
        panic!("version 8 accepted")
    };
    assert_eq!(code, StatusCode::UPGRADE_REQUIRED);
    assert_eq!(error.response().0.headers()["sec-websocket-version"], "13");
    // A page of another origin: 403, as over HTTP/1.1.
    let cross = good()
        .header("origin", "https://evil.example")
        .body(())
        .unwrap();
    assert!(matches!(
        status(cross, Some("websocket")),
        Err((StatusCode::FORBIDDEN, RequestError::Origin(_)))
    ));
    // `:protocol` is matched without regard to case; no key is needed.
    assert!(status(good().body(()).unwrap(), Some("WebSocket")).is_ok());
}

#[test]
fn server_answers_an_extended_connect_with_200_and_the_agreement_without_http_1_headers() {
    let config = ServerConfig::default()
        .subprotocols(["v2.chat", "v1.chat"])
        .origin(OriginPolicy::Any);
    #[cfg(feature = "deflate")]
    let config = config.deflate(ws_handshake::DeflateParams::default());
    let request = connect("https://example.com/chat")
        .header("sec-websocket-protocol", "v1.chat, v2.chat")
        .header(
            "sec-websocket-extensions",
            "permessage-deflate; client_max_window_bits",
        )
        .body(())
        .unwrap();
    let accepted = accept_extended_connect(&request, Some("websocket"), &config).unwrap();
    let response = accepted.response_to_connect(&config);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), Version::HTTP_2);
    let headers = response.headers();
    assert_eq!(headers["sec-websocket-protocol"], "v2.chat");
    for absent in ["upgrade", "connection", "sec-websocket-accept"] {
        assert!(!headers.contains_key(absent), "{absent} in {headers:?}");
    }
    #[cfg(feature = "deflate")]
    {
        assert!(accepted.deflate.is_some());
        assert!(headers["sec-websocket-extensions"]
            .to_str()
            .unwrap()
            .starts_with("permessage-deflate"));
    }
}

#[test]
fn client_and_server_agree_over_an_extended_connect_and_the_client_refuses_what_it_did_not_offer() {
    let request = http::Request::get("ws://127.0.0.1:9001/feed?x=1")
        .header("authorization", "Bearer t")
        .header("host", "ignored.example")
        .body(())
        .unwrap();
    let client = ClientConfig::default().subprotocols(["feed"]);
    let (handshake, connect) = ClientHandshake::extended_connect(&request, &client).unwrap();
    assert_eq!(connect.uri(), "http://127.0.0.1:9001/feed?x=1");
    assert_eq!(connect.version(), Version::HTTP_2);
    assert_eq!(connect.headers()["authorization"], "Bearer t");
    for absent in ["host", "upgrade", "connection", "sec-websocket-key"] {
        assert!(!connect.headers().contains_key(absent), "{absent}");
    }
    let server = ServerConfig::default()
        .subprotocols(["feed"])
        .origin(OriginPolicy::Any);
    let accepted = accept_extended_connect(&connect, Some("websocket"), &server).unwrap();
    let answer = accepted.response_to_connect(&server);
    let agreed = handshake.check_connect_response(answer).unwrap();
    assert_eq!(agreed.subprotocol.as_deref(), Some("feed"));

    // A subprotocol we did not offer, and a refusal's status.
    let mut odd = http::Response::new(());
    odd.headers_mut()
        .insert("sec-websocket-protocol", "other".parse().unwrap());
    assert!(matches!(
        handshake.check_connect_response(odd),
        Err(ResponseError::Subprotocol(name)) if name == "other"
    ));
    let mut refused = http::Response::new(());
    *refused.status_mut() = StatusCode::FORBIDDEN;
    assert!(matches!(
        handshake.check_connect_response(refused),
        Err(ResponseError::Status {
            status: StatusCode::FORBIDDEN,
            ..
        })
    ));
}
