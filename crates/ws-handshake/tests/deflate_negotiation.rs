//! permessage-deflate negotiation (RFC 7692 sections 5 and 7): the server
//! picking among a client's offers, the client checking the answer, and both
//! through the whole handshake.

use ws_handshake::{
    check_deflate_answer, deflate_offer, negotiate_deflate, parse_extensions, ClientConfig,
    ClientHandshake, DeflateParams, Parse, ResponseError,
};

fn offers(header: &str) -> Vec<ws_handshake::Extension> {
    parse_extensions(header).unwrap()
}

fn server_answer(header: &str, ours: DeflateParams) -> Option<(DeflateParams, String)> {
    negotiate_deflate(&offers(header), &ours).map(|(agreed, answer)| (agreed, answer.to_string()))
}

const fn params(snct: bool, cnct: bool, smwb: u8, cmwb: u8) -> DeflateParams {
    DeflateParams {
        server_no_context_takeover: snct,
        client_no_context_takeover: cnct,
        server_max_window_bits: smwb,
        client_max_window_bits: cmwb,
    }
}

const DEFAULT: DeflateParams = params(false, false, 15, 15);

#[test]
fn server_agrees_to_each_offer_in_the_table() {
    /// An offer, the server's limits, and the agreement with its answer.
    type Row = (
        &'static str,
        DeflateParams,
        Option<(DeflateParams, &'static str)>,
    );
    let table: &[Row] = &[
        (
            "permessage-deflate",
            DEFAULT,
            Some((DEFAULT, "permessage-deflate")),
        ),
        (
            "permessage-deflate; client_max_window_bits",
            DEFAULT,
            Some((DEFAULT, "permessage-deflate")),
        ),
        (
            "permessage-deflate; client_max_window_bits",
            params(false, false, 15, 10),
            Some((
                params(false, false, 15, 10),
                "permessage-deflate; client_max_window_bits=10",
            )),
        ),
        (
            "permessage-deflate; client_max_window_bits=12",
            DEFAULT,
            Some((
                params(false, false, 15, 12),
                "permessage-deflate; client_max_window_bits=12",
            )),
        ),
        (
            "permessage-deflate; server_max_window_bits=9",
            DEFAULT,
            Some((
                params(false, false, 9, 15),
                "permessage-deflate; server_max_window_bits=9",
            )),
        ),
        (
            "permessage-deflate; server_max_window_bits=8",
            DEFAULT,
            Some((
                params(false, false, 8, 15),
                "permessage-deflate; server_max_window_bits=8",
            )),
        ),
        (
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            DEFAULT,
            Some((
                params(true, true, 15, 15),
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            )),
        ),
        (
            "permessage-deflate",
            params(true, false, 11, 15),
            Some((
                params(true, false, 11, 15),
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
            )),
        ),
        // A client that did not say client_max_window_bits cannot be limited.
        (
            "permessage-deflate",
            params(false, false, 15, 9),
            Some((DEFAULT, "permessage-deflate")),
        ),
        ("x-webkit-deflate-frame", DEFAULT, None),
    ];
    for (header, ours, expected) in table {
        let expected = expected.map(|(agreed, answer)| (agreed, answer.to_owned()));
        assert_eq!(server_answer(header, *ours), expected, "{header}");
    }
}

#[test]
fn server_skips_offers_with_bad_parameters_and_takes_the_next() {
    for bad in [
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; mystery",
    ] {
        assert_eq!(server_answer(bad, DEFAULT), None, "{bad}");
        let with_fallback = format!("{bad}, permessage-deflate; client_max_window_bits=11");
        assert_eq!(
            server_answer(&with_fallback, DEFAULT),
            Some((
                params(false, false, 15, 11),
                "permessage-deflate; client_max_window_bits=11".to_owned()
            )),
            "{with_fallback}"
        );
    }
}

#[test]
fn client_offers_what_it_asks_for() {
    assert_eq!(
        deflate_offer(&DEFAULT).to_string(),
        "permessage-deflate; client_max_window_bits"
    );
    assert_eq!(
        deflate_offer(&params(true, true, 10, 12)).to_string(),
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
         server_max_window_bits=10; client_max_window_bits=12"
    );
}

#[test]
fn client_accepts_answers_within_its_offer_and_refuses_the_rest() {
    let answer = |text: &str| offers(text).remove(0);
    let ours = params(false, false, 12, 13);
    assert_eq!(
        check_deflate_answer(
            &answer("permessage-deflate; server_max_window_bits=10"),
            &ours
        ),
        Ok(params(false, false, 10, 15))
    );
    assert_eq!(
        check_deflate_answer(
            &answer("permessage-deflate; client_no_context_takeover; client_max_window_bits=9"),
            &params(false, false, 15, 13)
        ),
        Ok(params(false, true, 15, 9))
    );
    for refused in [
        // We asked for at most 12: an answer without it declines that.
        "permessage-deflate",
        "permessage-deflate; server_max_window_bits=13",
        "permessage-deflate; client_max_window_bits=14",
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; unknown=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
    ] {
        assert!(
            check_deflate_answer(&answer(refused), &ours).is_err(),
            "{refused}"
        );
    }
    let asked_no_takeover = params(true, false, 15, 15);
    assert!(check_deflate_answer(&answer("permessage-deflate"), &asked_no_takeover).is_err());
}

fn response(extensions: &str, accept: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n{extensions}\r\n"
    )
    .into_bytes()
}

#[test]
fn client_handshake_offers_deflate_and_reads_the_agreed_parameters() {
    let config = ClientConfig::default().deflate(DEFAULT);
    let (handshake, request) = ClientHandshake::new("ws://127.0.0.1:9001/", &config).unwrap();
    let request = String::from_utf8(request).unwrap();
    assert!(
        request
            .contains("sec-websocket-extensions: permessage-deflate; client_max_window_bits\r\n"),
        "{request}"
    );
    let accept = handshake.expected_accept().to_owned();
    let agreed = response(
        "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n",
        &accept,
    );
    let Ok(Parse::Complete((accepted, _))) = handshake.parse_response(&agreed) else {
        panic!("accepted")
    };
    assert_eq!(accepted.deflate, Some(params(false, false, 15, 10)));

    let declined = response("", &accept);
    let Ok(Parse::Complete((accepted, _))) = handshake.parse_response(&declined) else {
        panic!("accepted")
    };
    assert_eq!(accepted.deflate, None);

    let twice = response(
        "Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate\r\n",
        &accept,
    );
    assert!(matches!(
        handshake.parse_response(&twice),
        Err(ResponseError::Deflate(_))
    ));
    let too_wide = response(
        "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16\r\n",
        &accept,
    );
    assert!(matches!(
        handshake.parse_response(&too_wide),
        Err(ResponseError::Deflate(_))
    ));
}

#[test]
fn server_handshake_answers_the_offer_in_its_101() {
    let request = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n";
    let Ok(Parse::Complete((request, _))) =
        ws_handshake::parse_request(request, &Default::default())
    else {
        panic!("complete")
    };
    let config = ws_handshake::ServerConfig::default().deflate(DEFAULT);
    let accepted = ws_handshake::accept(&request, &config).unwrap();
    assert_eq!(accepted.deflate, Some(DEFAULT));
    let response = accepted.response(&config);
    assert_eq!(
        response.headers()["sec-websocket-extensions"],
        "permessage-deflate"
    );
    // Without a deflate setting the offer is declined.
    let plain = ws_handshake::accept(&request, &Default::default()).unwrap();
    assert_eq!(plain.deflate, None);
    assert!(plain
        .response(&Default::default())
        .headers()
        .get("sec-websocket-extensions")
        .is_none());
}
