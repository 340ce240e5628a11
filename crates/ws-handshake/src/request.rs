use http::header::UPGRADE;

use crate::headers::{has_token, header_slots, to_header_map, MalformedHead};
use crate::{Parse, RequestError};

/// Bounds on an HTTP head, so a peer cannot make us buffer or parse without end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeaderLimits {
    /// The most bytes the request line (or status line) and headers, up to and
    /// including the blank line, may take. Default 8 KiB; past it the request
    /// is rejected with 431.
    pub max_header_bytes: usize,
    /// The most header fields. Default 64; past it the request is rejected with 431.
    pub max_headers: usize,
}

impl Default for HeaderLimits {
    fn default() -> Self {
        HeaderLimits {
            max_header_bytes: 8 * 1024,
            max_headers: 64,
        }
    }
}

impl HeaderLimits {
    /// Limits with the given header byte and field counts.
    pub fn new(max_header_bytes: usize, max_headers: usize) -> Self {
        HeaderLimits {
            max_header_bytes,
            max_headers,
        }
    }
}

/// Parses an HTTP/1.x request head from the start of `input`.
///
/// Returns the request and the length of its head: bytes after it (a pipelined
/// request, or frames from an eager client) are the caller's. The request is
/// only parsed here; [`crate::accept`] decides whether it is a valid WebSocket
/// upgrade, and [`is_upgrade_request`] whether it asks for one at all.
///
/// # Errors
///
/// [`RequestError::HeaderTooLarge`] and [`RequestError::TooManyHeaders`] past the limits (431),
/// [`RequestError::Malformed`] for bytes that are not an HTTP/1.x request (400).
pub fn parse_request(
    input: &[u8],
    limits: &HeaderLimits,
) -> Result<Parse<(http::Request<()>, usize)>, RequestError> {
    let mut headers = vec![httparse::EMPTY_HEADER; header_slots(limits, input.len())];
    let mut parsed = httparse::Request::new(&mut headers);
    let head_len = match parsed.parse(input) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            if input.len() > limits.max_header_bytes {
                return Err(RequestError::HeaderTooLarge {
                    limit: limits.max_header_bytes,
                });
            }
            return Ok(Parse::NeedMore);
        }
        Err(httparse::Error::TooManyHeaders) => {
            return Err(RequestError::TooManyHeaders {
                limit: limits.max_headers,
            })
        }
        Err(error) => {
            return Err(RequestError::Malformed(MalformedHead::because(
                "invalid request head",
                error,
            )))
        }
    };
    if head_len > limits.max_header_bytes {
        return Err(RequestError::HeaderTooLarge {
            limit: limits.max_header_bytes,
        });
    }
    let (Some(method), Some(path), Some(version)) = (parsed.method, parsed.path, parsed.version)
    else {
        return Err(RequestError::Malformed(MalformedHead::new(
            "incomplete request line",
        )));
    };
    let mut request = http::Request::new(());
    *request.method_mut() = http::Method::from_bytes(method.as_bytes()).map_err(|error| {
        RequestError::Malformed(MalformedHead::because("invalid method", error))
    })?;
    *request.uri_mut() = path.parse().map_err(|error: http::uri::InvalidUri| {
        RequestError::Malformed(MalformedHead::because("invalid request target", error))
    })?;
    *request.version_mut() = if version == 0 {
        http::Version::HTTP_10
    } else {
        http::Version::HTTP_11
    };
    *request.headers_mut() = to_header_map(parsed.headers).map_err(RequestError::Malformed)?;
    Ok(Parse::Complete((request, head_len)))
}

/// Whether a request asks to be upgraded to a WebSocket: its `Upgrade` header
/// names `websocket`. A server that also serves plain HTTP on the same port
/// routes requests for which this is false to its HTTP handler.
pub fn is_upgrade_request<B>(request: &http::Request<B>) -> bool {
    has_token(request.headers(), &UPGRADE, "websocket")
}
