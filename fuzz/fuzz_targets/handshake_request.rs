//! The server's request parser and validator never panic on any bytes, and
//! every rejection renders a response.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_handshake::{accept, parse_request, HeaderLimits, Parse, ServerConfig};

fuzz_target!(|data: &[u8]| {
    let limits = HeaderLimits::default();
    match parse_request(data, &limits) {
        Ok(Parse::Complete((request, used))) => {
            assert!(used <= data.len());
            match accept(&request, &ServerConfig::default()) {
                Ok(accepted) => {
                    let mut out = Vec::new();
                    ws_handshake::write_response(&accepted.response(&ServerConfig::default()), &[], &mut out);
                }
                Err(error) => {
                    let mut out = Vec::new();
                    error.write_response(&mut out);
                    assert!(out.starts_with(b"HTTP/1.1 4"));
                }
            }
        }
        Ok(Parse::NeedMore) => assert!(data.len() <= limits.max_header_bytes),
        Err(error) => assert!(error.status().is_client_error()),
    }
});
