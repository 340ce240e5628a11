//! Regular-expression denial of service in other libraries' header parsers,
//! replayed against ours: ws CVE-2021-32640 (`Sec-WebSocket-Protocol`
//! split on `/ *, */`, quadratic in runs of spaces) and websocket-extensions
//! CVE-2020-7662 and CVE-2020-7663 (`Sec-WebSocket-Extensions` parameters
//! matched by a backtracking expression, exponential in unclosed quotes and
//! backslashes). Each pathological value is parsed and judged under header
//! limits raised to 2 MiB, at 1 MiB and at a tenth of that; the time must
//! grow about tenfold (linear), and is asserted to grow less than 30 times,
//! the least of five runs of each. The same requests over sockets, on every
//! runtime, are in the workspace's `tests/scenarios/advisories.rs`.

use std::time::{Duration, Instant};

use ws_handshake::{accept, parse_request, DeflateParams, HeaderLimits, Parse, ServerConfig};

const REQUEST: &str = "GET / HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

fn config() -> ServerConfig {
    ServerConfig::default()
        .limits(HeaderLimits::new(2 << 20, 64))
        .subprotocols(["chat", "superchat"])
        .deflate(DeflateParams::default())
}

/// The least time of five to parse and judge a request carrying `name: value`.
fn judge_time(name: &str, value: &str) -> Duration {
    let request = format!("{REQUEST}{name}: {value}\r\n\r\n");
    let config = config();
    (0..5)
        .map(|_| {
            let start = Instant::now();
            let Ok(Parse::Complete((parsed, _))) =
                parse_request(request.as_bytes(), &config.limits)
            else {
                panic!("{name}: the head did not parse");
            };
            // Accepted or refused (a 400 for extensions that do not parse):
            // either is an answer; the time to reach it is what counts.
            let _ = std::hint::black_box(accept(&parsed, &config));
            start.elapsed()
        })
        .min()
        .unwrap()
}

/// Asserts that `value(n)` is judged in time linear in `n`.
fn assert_linear(name: &str, value: impl Fn(usize) -> String) {
    let short = judge_time(name, &value(100 << 10));
    let long = judge_time(name, &value(1 << 20));
    let ratio = long.as_secs_f64() / short.as_secs_f64().max(1e-7);
    eprintln!("{name}: {short:?} for 100 KiB, {long:?} for 1 MiB: {ratio:.1}x");
    assert!(ratio < 30.0, "{name}: {short:?} then {long:?}, {ratio:.1}x");
}

#[test]
fn server_judges_a_protocol_header_of_spaces_in_linear_time() {
    // ws CVE-2021-32640's input: a token, a long run of spaces, a token.
    assert_linear("Sec-WebSocket-Protocol", |n| format!("b{}x", " ".repeat(n)));
}

#[test]
fn server_judges_a_protocol_header_of_commas_and_spaces_in_linear_time() {
    assert_linear("Sec-WebSocket-Protocol", |n| " ,".repeat(n / 2));
}

#[test]
fn server_judges_an_extension_header_with_an_unclosed_quote_in_linear_time() {
    // websocket-extensions CVE-2020-7662's shape: a quoted string that never
    // closes, full of backslash escapes.
    assert_linear("Sec-WebSocket-Extensions", |n| {
        format!("permessage-deflate; a=\"{}", "\\x".repeat(n / 2))
    });
}

#[test]
fn server_judges_an_extension_header_of_many_parameters_in_linear_time() {
    // 10,000 parameters and more: "; p=1" repeated.
    assert_linear("Sec-WebSocket-Extensions", |n| {
        format!("permessage-deflate{}", "; p=1".repeat(n / 5))
    });
}

#[test]
fn server_judges_an_extension_header_of_many_empty_offers_in_linear_time() {
    assert_linear("Sec-WebSocket-Extensions", |n| {
        format!("permessage-deflate{}", " ,".repeat(n / 2))
    });
}
