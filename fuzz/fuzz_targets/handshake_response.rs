//! The client's response parser never panics on any bytes.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ws_handshake::{ClientConfig, ClientHandshake, Parse};

fn handshake() -> &'static ClientHandshake {
    static HANDSHAKE: OnceLock<ClientHandshake> = OnceLock::new();
    HANDSHAKE.get_or_init(|| {
        let request = http::Request::get("ws://127.0.0.1:9001/")
            .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
            .body(())
            .unwrap();
        let config = ClientConfig::default().subprotocols(["chat"]);
        ClientHandshake::from_request(&request, &config).unwrap().0
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(Parse::Complete((_, used))) = handshake().parse_response(data) {
        assert!(used <= data.len());
    }
});
