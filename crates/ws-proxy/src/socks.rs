//! SOCKS5 ([RFC 1928]) with username/password authentication ([RFC 1929]).
//!
//! [RFC 1928]: https://www.rfc-editor.org/rfc/rfc1928
//! [RFC 1929]: https://www.rfc-editor.org/rfc/rfc1929

use std::net::SocketAddr;

use crate::{Credentials, ProxyError, Step};

const VERSION: u8 = 5;
const NO_AUTH: u8 = 0x00;
const USERNAME_PASSWORD: u8 = 0x02;
const NO_ACCEPTABLE: u8 = 0xff;
const CONNECT: u8 = 0x01;

/// Where the SOCKS5 proxy should connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Socks5Target {
    /// An address the client resolved (`socks5://`).
    Address(SocketAddr),
    /// A name for the proxy to resolve (`socks5h://`).
    Domain(String, u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The greeting is out; the method selection is awaited.
    Method,
    /// The credentials are out; their verdict is awaited.
    Auth,
    /// The CONNECT request is out; the reply is awaited.
    Reply,
    /// The tunnel is up, or the exchange failed.
    Over,
}

/// A SOCKS5 exchange: send [`greeting`](Self::greeting), then hand each
/// answer to [`receive`](Self::receive), sending what it says to, until
/// [`Step::Done`].
///
/// ```
/// use ws_proxy::{Socks5, Socks5Target, Step};
///
/// let target = Socks5Target::Domain("example.com".into(), 443);
/// let mut socks = Socks5::new(target, None).unwrap();
/// assert_eq!(socks.greeting(), [5, 1, 0]); // version 5, one method: none
/// let Step::Send(request) = socks.receive(&[5, 0]).unwrap() else { panic!() };
/// assert_eq!(&request[..5], [5, 1, 0, 3, 11]); // CONNECT, a domain of 11 bytes
/// // Succeeded, bound to 10.0.0.1:1080.
/// assert_eq!(socks.receive(&[5, 0, 0, 1, 10, 0, 0, 1, 4, 56]).unwrap(), Step::Done(10));
/// ```
#[derive(Debug, Clone)]
pub struct Socks5 {
    target: Socks5Target,
    credentials: Option<Credentials>,
    state: State,
}

impl Socks5 {
    /// An exchange that connects to `target`, authenticating with
    /// `credentials` when the proxy asks for them.
    ///
    /// # Errors
    ///
    /// [`ProxyError::TooLong`] for a domain, user name or password over 255
    /// bytes (SOCKS5 cannot carry it).
    pub fn new(
        target: Socks5Target,
        credentials: Option<&Credentials>,
    ) -> Result<Self, ProxyError> {
        if let Socks5Target::Domain(domain, _) = &target {
            if domain.len() > 255 {
                return Err(ProxyError::TooLong("the server's name"));
            }
        }
        if let Some(credentials) = credentials {
            if credentials.username.len() > 255 {
                return Err(ProxyError::TooLong("the user name"));
            }
            if credentials.password.len() > 255 {
                return Err(ProxyError::TooLong("the password"));
            }
        }
        Ok(Socks5 {
            target,
            credentials: credentials.cloned(),
            state: State::Method,
        })
    }

    /// The first message: the methods we offer (none, and username/password
    /// when there are credentials).
    pub fn greeting(&self) -> Vec<u8> {
        match self.credentials {
            Some(_) => vec![VERSION, 2, NO_AUTH, USERNAME_PASSWORD],
            None => vec![VERSION, 1, NO_AUTH],
        }
    }

    /// Reads the proxy's next answer from `input`, the bytes received since
    /// the greeting or the last [`Step::Send`].
    ///
    /// # Errors
    ///
    /// [`ProxyError::NoAcceptableMethod`], [`ProxyError::AuthenticationFailed`],
    /// [`ProxyError::SocksReply`] with RFC 1928's code,
    /// [`ProxyError::Malformed`] for an answer that is not SOCKS5's (or a
    /// call after the end).
    pub fn receive(&mut self, input: &[u8]) -> Result<Step, ProxyError> {
        let step = self.step(input);
        if !matches!(step, Ok(Step::NeedMore) | Ok(Step::Send(_))) {
            self.state = State::Over;
        }
        step
    }

    fn step(&mut self, input: &[u8]) -> Result<Step, ProxyError> {
        match self.state {
            State::Method => {
                if input.len() < 2 {
                    return Ok(Step::NeedMore);
                }
                expect_only(input, 2)?;
                let (version, method) = (input[0], input[1]);
                if version != VERSION {
                    return Err(ProxyError::Malformed("not a SOCKS5 proxy"));
                }
                match (method, &self.credentials) {
                    (NO_AUTH, _) => {
                        self.state = State::Reply;
                        Ok(Step::Send(self.connect_request()))
                    }
                    (USERNAME_PASSWORD, Some(credentials)) => {
                        let mut auth = vec![1, credentials.username.len() as u8];
                        auth.extend_from_slice(credentials.username.as_bytes());
                        auth.push(credentials.password.len() as u8);
                        auth.extend_from_slice(credentials.password.as_bytes());
                        self.state = State::Auth;
                        Ok(Step::Send(auth))
                    }
                    (NO_ACCEPTABLE, _) | (USERNAME_PASSWORD, None) => {
                        Err(ProxyError::NoAcceptableMethod)
                    }
                    _ => Err(ProxyError::Malformed("a method we did not offer")),
                }
            }
            State::Auth => {
                if input.len() < 2 {
                    return Ok(Step::NeedMore);
                }
                expect_only(input, 2)?;
                if input[0] != 1 {
                    return Err(ProxyError::Malformed("not an RFC 1929 answer"));
                }
                if input[1] != 0 {
                    return Err(ProxyError::AuthenticationFailed);
                }
                self.state = State::Reply;
                Ok(Step::Send(self.connect_request()))
            }
            State::Reply => {
                if input.len() < 5 {
                    return Ok(Step::NeedMore);
                }
                if input[0] != VERSION || input[2] != 0 {
                    return Err(ProxyError::Malformed("not a SOCKS5 reply"));
                }
                if input[1] != 0 {
                    return Err(ProxyError::SocksReply { code: input[1] });
                }
                let address_len = match input[3] {
                    1 => 4,
                    3 => 1 + usize::from(input[4]),
                    4 => 16,
                    _ => return Err(ProxyError::Malformed("an unknown address type")),
                };
                let len = 4 + address_len + 2;
                if input.len() < len {
                    return Ok(Step::NeedMore);
                }
                Ok(Step::Done(len))
            }
            State::Over => Err(ProxyError::Malformed("the exchange is over")),
        }
    }

    /// The CONNECT request for the target (RFC 1928 section 4).
    fn connect_request(&self) -> Vec<u8> {
        let mut request = vec![VERSION, CONNECT, 0];
        let port = match &self.target {
            Socks5Target::Address(SocketAddr::V4(address)) => {
                request.push(1);
                request.extend_from_slice(&address.ip().octets());
                address.port()
            }
            Socks5Target::Address(SocketAddr::V6(address)) => {
                request.push(4);
                request.extend_from_slice(&address.ip().octets());
                address.port()
            }
            Socks5Target::Domain(domain, port) => {
                request.push(3);
                request.push(domain.len() as u8);
                request.extend_from_slice(domain.as_bytes());
                *port
            }
        };
        request.extend_from_slice(&port.to_be_bytes());
        request
    }
}

/// The proxy sends nothing unasked: bytes past its answer are an error.
fn expect_only(input: &[u8], len: usize) -> Result<(), ProxyError> {
    match input.len() > len {
        true => Err(ProxyError::Malformed("more bytes than the answer")),
        false => Ok(()),
    }
}
