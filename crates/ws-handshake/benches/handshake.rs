//! The opening handshake: a server parsing and answering a browser-like
//! request, and a client parsing the server's response (RFC 6455 section 4).

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use ws_handshake::{
    accept, parse_request, write_response, ClientConfig, ClientHandshake, HeaderLimits,
    ServerConfig,
};

const REQUEST: &[u8] = b"GET /chat HTTP/1.1\r\n\
Host: example.com:8080\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
Accept: */*\r\n\
Accept-Language: en-US,en;q=0.5\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Sec-WebSocket-Version: 13\r\n\
Origin: https://example.com\r\n\
Sec-WebSocket-Extensions: permessage-deflate\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Connection: keep-alive, Upgrade\r\n\
Pragma: no-cache\r\n\
Cache-Control: no-cache\r\n\
Upgrade: websocket\r\n\r\n";

fn server(c: &mut Criterion) {
    let config = ServerConfig::default();
    let limits = HeaderLimits::default();
    c.bench_function("handshake/server_parse_and_accept", |b| {
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            let ws_handshake::Parse::Complete((request, _)) =
                parse_request(black_box(REQUEST), &limits).unwrap()
            else {
                panic!("a whole request")
            };
            let answer = accept(&request, &config).unwrap();
            out.clear();
            write_response(&answer.response(&config), b"", &mut out);
            black_box(&out);
        })
    });
}

fn client(c: &mut Criterion) {
    let (handshake, _request) =
        ClientHandshake::new("ws://example.com:8080/chat", &ClientConfig::default()).unwrap();
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nDate: Sat, 21 Nov 2026 12:00:00 GMT\r\nServer: bench\r\n\r\n",
        handshake.expected_accept()
    );
    c.bench_function("handshake/client_parse_response", |b| {
        b.iter(|| {
            black_box(
                handshake
                    .parse_response(black_box(response.as_bytes()))
                    .unwrap(),
            )
        })
    });
}

criterion_group!(benches, server, client);
criterion_main!(benches);
