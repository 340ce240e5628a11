//! Negotiating permessage-deflate ([RFC 7692 section 5 and 7]): the client's
//! offer, the server's pick among offers, and the client's check of the
//! answer. Pure header logic; the compression itself is ws-core's.
//!
//! [RFC 7692 section 5 and 7]: https://www.rfc-editor.org/rfc/rfc7692#section-7

use ws_frame::DeflateParams;

use crate::Extension;

/// The extension token ([RFC 7692 section 7]).
///
/// [RFC 7692 section 7]: https://www.rfc-editor.org/rfc/rfc7692#section-7
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

const SERVER_NO_CONTEXT_TAKEOVER: &str = "server_no_context_takeover";
const CLIENT_NO_CONTEXT_TAKEOVER: &str = "client_no_context_takeover";
const SERVER_MAX_WINDOW_BITS: &str = "server_max_window_bits";
const CLIENT_MAX_WINDOW_BITS: &str = "client_max_window_bits";

/// The parameters of one permessage-deflate offer or answer, each at most
/// once and each with a valid value ([RFC 7692 section 7.1]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Parsed {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: present without a value (a client's "I can limit mine").
    client_max_window_bits: Option<Option<u8>>,
}

/// Parses a window-bits value: 1*DIGIT, 8 to 15, no leading zero.
fn window_bits(value: &str) -> Option<u8> {
    if value.is_empty() || value.len() > 2 || value.starts_with('0') {
        return None;
    }
    let bits: u8 = value.parse().ok()?;
    DeflateParams::WINDOW_BITS.contains(&bits).then_some(bits)
}

fn parse(extension: &Extension) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in &extension.params {
        if seen.contains(&name.as_str()) {
            return Err(format!("duplicate parameter {name}"));
        }
        seen.push(name);
        let value = value.as_deref();
        match (name.as_str(), value) {
            (SERVER_NO_CONTEXT_TAKEOVER, None) => parsed.server_no_context_takeover = true,
            (CLIENT_NO_CONTEXT_TAKEOVER, None) => parsed.client_no_context_takeover = true,
            (SERVER_MAX_WINDOW_BITS, Some(value)) => {
                parsed.server_max_window_bits = Some(
                    window_bits(value).ok_or_else(|| format!("{name}={value} is not 8 to 15"))?,
                );
            }
            (CLIENT_MAX_WINDOW_BITS, None) => parsed.client_max_window_bits = Some(None),
            (CLIENT_MAX_WINDOW_BITS, Some(value)) => {
                parsed.client_max_window_bits = Some(Some(
                    window_bits(value).ok_or_else(|| format!("{name}={value} is not 8 to 15"))?,
                ));
            }
            (SERVER_NO_CONTEXT_TAKEOVER | CLIENT_NO_CONTEXT_TAKEOVER, Some(_)) => {
                return Err(format!("{name} takes no value"));
            }
            (SERVER_MAX_WINDOW_BITS, None) => return Err(format!("{name} needs a value")),
            _ => return Err(format!("unknown parameter {name}")),
        }
    }
    Ok(parsed)
}

/// The client's offer for `ours` (the parameters it asks for): it always
/// says `client_max_window_bits`, so the server may limit the client's
/// window ([RFC 7692 section 7.1.2.2]).
///
/// [RFC 7692 section 7.1.2.2]: https://www.rfc-editor.org/rfc/rfc7692#section-7.1.2.2
pub fn deflate_offer(ours: &DeflateParams) -> Extension {
    let mut offer = Extension::new(PERMESSAGE_DEFLATE);
    if ours.server_no_context_takeover {
        offer = offer.param(SERVER_NO_CONTEXT_TAKEOVER, None);
    }
    if ours.client_no_context_takeover {
        offer = offer.param(CLIENT_NO_CONTEXT_TAKEOVER, None);
    }
    if ours.server_max_window_bits < 15 {
        offer = offer.param(
            SERVER_MAX_WINDOW_BITS,
            Some(ours.server_max_window_bits.to_string()),
        );
    }
    let client_bits =
        (ours.client_max_window_bits < 15).then(|| ours.client_max_window_bits.to_string());
    offer.param(CLIENT_MAX_WINDOW_BITS, client_bits)
}

/// The server's side ([RFC 7692 section 5]): picks the first acceptable
/// permessage-deflate offer among `offers` and returns the agreed parameters
/// with the extension for the response. `ours` is what the server allows at
/// most: each window is the smaller of the two sides', each
/// no-context-takeover is set if either side asks for it. An offer with an
/// unknown, duplicate or invalid parameter is not acceptable; with none
/// acceptable, the connection goes on uncompressed (`None`).
///
/// [RFC 7692 section 5]: https://www.rfc-editor.org/rfc/rfc7692#section-5
pub fn negotiate_deflate(
    offers: &[Extension],
    ours: &DeflateParams,
) -> Option<(DeflateParams, Extension)> {
    let offer = offers
        .iter()
        .filter(|offer| offer.name.eq_ignore_ascii_case(PERMESSAGE_DEFLATE))
        .find_map(|offer| parse(offer).ok())?;
    let agreed = DeflateParams {
        server_no_context_takeover: offer.server_no_context_takeover
            || ours.server_no_context_takeover,
        client_no_context_takeover: offer.client_no_context_takeover
            || ours.client_no_context_takeover,
        server_max_window_bits: offer
            .server_max_window_bits
            .unwrap_or(15)
            .min(ours.server_max_window_bits),
        // A client that did not say client_max_window_bits cannot be limited.
        client_max_window_bits: match offer.client_max_window_bits {
            Some(theirs) => theirs.unwrap_or(15).min(ours.client_max_window_bits),
            None => 15,
        },
    };
    let mut answer = Extension::new(PERMESSAGE_DEFLATE);
    if agreed.server_no_context_takeover {
        answer = answer.param(SERVER_NO_CONTEXT_TAKEOVER, None);
    }
    if agreed.client_no_context_takeover {
        answer = answer.param(CLIENT_NO_CONTEXT_TAKEOVER, None);
    }
    if offer.server_max_window_bits.is_some() || agreed.server_max_window_bits < 15 {
        answer = answer.param(
            SERVER_MAX_WINDOW_BITS,
            Some(agreed.server_max_window_bits.to_string()),
        );
    }
    if matches!(offer.client_max_window_bits, Some(Some(_))) || agreed.client_max_window_bits < 15 {
        answer = answer.param(
            CLIENT_MAX_WINDOW_BITS,
            Some(agreed.client_max_window_bits.to_string()),
        );
    }
    Some((agreed, answer))
}

/// The client's check of the server's answer ([RFC 7692 section 7.1]):
/// every parameter known, once, valid, and within what `ours` offered. A
/// `client_max_window_bits` above what we offered, a `server_max_window_bits`
/// above what we asked for, or a dropped `server_no_context_takeover` we
/// asked for make the answer unacceptable, and the client fails the
/// connection.
///
/// [RFC 7692 section 7.1]: https://www.rfc-editor.org/rfc/rfc7692#section-7.1
///
/// # Errors
///
/// [`ResponseError::Deflate`](crate::ResponseError::Deflate) for an answer our offer does not allow.
pub fn check_deflate_answer(
    answer: &Extension,
    ours: &DeflateParams,
) -> Result<DeflateParams, String> {
    let parsed = parse(answer)?;
    let client_max_window_bits = match parsed.client_max_window_bits {
        None => 15,
        Some(None) => {
            return Err(format!(
                "{CLIENT_MAX_WINDOW_BITS} needs a value in an answer"
            ))
        }
        Some(Some(bits)) if bits > ours.client_max_window_bits => {
            return Err(format!(
                "{CLIENT_MAX_WINDOW_BITS}={bits} is more than the {} offered",
                ours.client_max_window_bits
            ))
        }
        Some(Some(bits)) => bits,
    };
    let server_max_window_bits = parsed.server_max_window_bits.unwrap_or(15);
    if server_max_window_bits > ours.server_max_window_bits {
        return Err(format!(
            "{SERVER_MAX_WINDOW_BITS}={server_max_window_bits} is more than the {} asked for",
            ours.server_max_window_bits
        ));
    }
    if ours.server_no_context_takeover && !parsed.server_no_context_takeover {
        return Err(format!(
            "the answer drops the {SERVER_NO_CONTEXT_TAKEOVER} asked for"
        ));
    }
    Ok(DeflateParams {
        server_no_context_takeover: parsed.server_no_context_takeover,
        client_no_context_takeover: parsed.client_no_context_takeover
            || ours.client_no_context_takeover,
        server_max_window_bits,
        client_max_window_bits,
    })
}
