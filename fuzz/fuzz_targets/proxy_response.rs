//! Arbitrary answers from a proxy: the CONNECT response parser and the
//! SOCKS5 exchange fed them, whole and cut at every point the first byte
//! picks. No panic; "need more" only while the answer can still complete;
//! a `Done` never claims more bytes than it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_proxy::{Credentials, HttpConnect, Socks5, Socks5Target, Step};

fuzz_target!(|data: &[u8]| {
    let Some((&seed, answer)) = data.split_first() else { return };
    let credentials = Credentials { username: "user".into(), password: "pass".into() };
    let connect = HttpConnect::new("example.com", 443, (seed & 1 == 1).then_some(&credentials));
    for end in [answer.len(), usize::from(seed) % (answer.len() + 1)] {
        if let Ok(Step::Done(len)) = connect.receive(&answer[..end]) {
            assert!(len <= end);
        }
    }
    // SOCKS5: the answer is split into the proxy's messages by the seed.
    let target = match seed & 2 {
        0 => Socks5Target::Domain("example.com".into(), 443),
        _ => Socks5Target::Address("127.0.0.1:9001".parse().unwrap()),
    };
    let Ok(mut socks) = Socks5::new(target, (seed & 4 != 0).then_some(&credentials)) else { return };
    let step = usize::from(seed >> 3) + 1;
    let mut received: Vec<u8> = Vec::new();
    for piece in answer.chunks(step) {
        received.extend_from_slice(piece);
        match socks.receive(&received) {
            Ok(Step::NeedMore) => {}
            Ok(Step::Send(_)) => received.clear(),
            Ok(Step::Done(len)) => {
                assert!(len <= received.len());
                return;
            }
            Err(_) => return,
        }
    }
});
