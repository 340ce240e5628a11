//! HTTP CONNECT ([RFC 9110 section 9.3.6]).
//!
//! [RFC 9110 section 9.3.6]: https://www.rfc-editor.org/rfc/rfc9110#section-9.3.6

use base64::Engine as _;

use crate::{Credentials, ProxyError, Step, MAX_RESPONSE_BYTES};

/// Headers read from a proxy's response at most.
const MAX_HEADERS: usize = 64;

/// A CONNECT exchange with an HTTP proxy: the request to write, then the
/// response to read until [`Step::Done`].
#[derive(Debug, Clone)]
pub struct HttpConnect {
    request: Vec<u8>,
}

impl HttpConnect {
    /// The CONNECT request for `host:port` (an IPv6 literal is bracketed),
    /// with `Proxy-Authorization: Basic` when credentials are given.
    pub fn new(host: &str, port: u16, credentials: Option<&Credentials>) -> Self {
        let authority = match host.contains(':') {
            true => format!("[{host}]:{port}"),
            false => format!("{host}:{port}"),
        };
        let mut request =
            format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n").into_bytes();
        if let Some(credentials) = credentials {
            let token = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", credentials.username, credentials.password));
            request.extend_from_slice(format!("Proxy-Authorization: Basic {token}\r\n").as_bytes());
        }
        request.extend_from_slice(b"\r\n");
        HttpConnect { request }
    }

    /// The bytes to send to the proxy.
    pub fn request(&self) -> &[u8] {
        &self.request
    }

    /// Reads the proxy's response from everything received so far:
    /// [`Step::Done`] with the head's length on a 2xx, [`Step::NeedMore`]
    /// before the head is complete.
    ///
    /// # Errors
    ///
    /// [`ProxyError::Refused`] for any other status (with its
    /// `Proxy-Authenticate`), [`ProxyError::Malformed`] for what is not an
    /// HTTP/1.x response, [`ProxyError::ResponseTooLarge`] past
    /// [`MAX_RESPONSE_BYTES`].
    pub fn receive(&self, input: &[u8]) -> Result<Step, ProxyError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let parsed = response.parse(input);
        match parsed {
            Ok(httparse::Status::Partial) if input.len() > MAX_RESPONSE_BYTES => {
                Err(ProxyError::ResponseTooLarge)
            }
            Ok(httparse::Status::Partial) => Ok(Step::NeedMore),
            Ok(httparse::Status::Complete(len)) => {
                if len > MAX_RESPONSE_BYTES {
                    return Err(ProxyError::ResponseTooLarge);
                }
                let status = response.code.ok_or(ProxyError::Malformed("no status"))?;
                if (200..300).contains(&status) {
                    return Ok(Step::Done(len));
                }
                let authenticate = response
                    .headers
                    .iter()
                    .find(|header| header.name.eq_ignore_ascii_case("proxy-authenticate"))
                    .map(|header| String::from_utf8_lossy(header.value).into_owned());
                Err(ProxyError::Refused {
                    status,
                    authenticate,
                })
            }
            Err(httparse::Error::TooManyHeaders) => Err(ProxyError::ResponseTooLarge),
            Err(_) => Err(ProxyError::Malformed("not an HTTP/1.x response")),
        }
    }
}
