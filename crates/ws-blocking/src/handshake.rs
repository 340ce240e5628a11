//! The opening handshake on a blocking stream, both sides, within the
//! handshake timeout: reads and writes with the socket's timeouts set to
//! what is left of it.

use std::io;
use std::time::{Duration, Instant};

use ws_core::Role;
use ws_driver::trace;
use ws_driver::{upgrade_with, ClientConfig, Error, IntoClientRequest, ServerConfig};
use ws_handshake::{
    parse_request, write_response, ClientHandshake, HeadScanner, Parse, RequestError,
};

use crate::socket::WebSocket;
use crate::transport::Transport;

/// Reads a handshake head in steps of this size.
const HANDSHAKE_CHUNK: usize = 1024;

/// After refusing a handshake, what is still arriving is read and dropped,
/// up to this much ...
const LINGER_BYTES: usize = 64 * 1024;
/// ... for at most this long, before the stream is closed: closing with
/// unread input would reset the connection, and a reset can destroy the
/// response before the client reads it.
const LINGER_TIME: Duration = Duration::from_millis(500);

/// When the handshake must be done by.
#[derive(Clone, Copy)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    pub(crate) fn after(limit: Duration) -> Self {
        Deadline(Instant::now().checked_add(limit))
    }

    /// What is left, or the handshake timeout when nothing is.
    pub(crate) fn left(self) -> Result<Option<Duration>, Error> {
        match self.0 {
            None => Ok(None),
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Ok(Some(left)),
                _ => Err(Error::HandshakeTimeout),
            },
        }
    }
}

/// Reads once, appending to `buffer`; `Ok(0)` is the end of the stream.
fn read_within<S: Transport>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
    deadline: Deadline,
) -> Result<usize, Error> {
    loop {
        stream.set_read_timeout(deadline.left()?)?;
        let start = buffer.len();
        buffer.resize(start + HANDSHAKE_CHUNK, 0);
        let result = stream.read(&mut buffer[start..]);
        buffer.truncate(start + result.as_ref().map_or(0, |read| *read));
        match result {
            Ok(read) => return Ok(read),
            Err(error) if timed_out(&error) => continue,
            Err(error) => return Err(error.into()),
        }
    }
}

/// Writes all of `bytes` and flushes.
fn write_within<S: Transport>(
    stream: &mut S,
    mut bytes: &[u8],
    deadline: Deadline,
) -> Result<(), Error> {
    while !bytes.is_empty() {
        stream.set_write_timeout(deadline.left()?)?;
        match stream.write(bytes) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero).into()),
            Ok(written) => bytes = &bytes[written..],
            Err(error) if timed_out(&error) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    stream.flush()?;
    Ok(())
}

fn timed_out(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// The server's side: read the request head, decide, answer.
pub(crate) fn accept<S, F>(
    stream: S,
    config: &ServerConfig,
    callback: F,
) -> Result<WebSocket<S>, Error>
where
    S: Transport,
    F: FnOnce(&http::Request<()>, &mut http::Response<()>) -> Result<(), RequestError>,
{
    let result = answer(stream, config, callback);
    match &result {
        Ok(socket) => trace::handshake_accepted(socket.conn_span()),
        Err(error) => trace::handshake_failed(Role::Server, error),
    }
    result
}

fn answer<S, F>(mut stream: S, config: &ServerConfig, callback: F) -> Result<WebSocket<S>, Error>
where
    S: Transport,
    F: FnOnce(&http::Request<()>, &mut http::Response<()>) -> Result<(), RequestError>,
{
    let deadline = Deadline::after(config.handshake_timeout);
    let mut buffer = Vec::new();
    let limits = &config.handshake.limits;
    let mut scanner = HeadScanner::new();
    let (request, head_len) = loop {
        let parsed = match scanner.should_parse(&buffer, limits.max_header_bytes) {
            true => parse_request(&buffer, limits),
            false => Ok(Parse::NeedMore),
        };
        match parsed {
            Ok(Parse::Complete(parsed)) => break parsed,
            Ok(Parse::NeedMore) => {
                if read_within(&mut stream, &mut buffer, deadline)? == 0 {
                    return Err(Error::HandshakeEof);
                }
            }
            Err(error) => return Err(reject(stream, error)),
        }
    };
    let (response, upgrade) = match upgrade_with(&request, config, callback) {
        Ok(accepted) => accepted,
        Err(error) => return Err(reject(stream, error)),
    };
    let mut out = Vec::with_capacity(256);
    write_response(&response, &[], &mut out);
    write_within(&mut stream, &out, deadline)?;
    let (connection, subprotocol) = upgrade.into_parts();
    let socket = WebSocket::from_connection(stream, connection, &buffer[head_len..])
        .with_subprotocol(subprotocol);
    trace::record_agreement(socket.conn_span(), None, Some(&response));
    Ok(socket)
}

/// Answers a refused handshake with its status and closes the stream,
/// lingering a little so that the client can read the answer.
fn reject<S: Transport>(mut stream: S, error: RequestError) -> Error {
    let mut out = Vec::with_capacity(256);
    error.write_response(&mut out);
    let linger = Deadline::after(LINGER_TIME);
    // The client may already be gone; the refusal is what we report.
    if write_within(&mut stream, &out, linger).is_ok() {
        let _ = stream.shutdown_write();
        let mut discard = Vec::new();
        while discard.len() < LINGER_BYTES {
            match read_within(&mut stream, &mut discard, linger) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
    error.into()
}

/// The client's side on a connected stream: send the request, read and
/// check the response.
pub(crate) fn client<S: Transport>(
    stream: S,
    request: impl IntoClientRequest,
    config: &ClientConfig,
    deadline: Deadline,
) -> Result<(WebSocket<S>, http::Response<()>), Error> {
    let result = request
        .into_client_request()
        .and_then(|request| ask(stream, &request, config, deadline));
    match &result {
        Ok((socket, _)) => trace::handshake_accepted(socket.conn_span()),
        Err(error) => trace::handshake_failed(Role::Client, error),
    }
    result
}

fn ask<S: Transport>(
    mut stream: S,
    request: &http::Request<()>,
    config: &ClientConfig,
    deadline: Deadline,
) -> Result<(WebSocket<S>, http::Response<()>), Error> {
    let (handshake, bytes) = ClientHandshake::from_request(request, &config.handshake)?;
    write_within(&mut stream, &bytes, deadline)?;
    let mut buffer = Vec::new();
    let limit = config.handshake.limits.max_header_bytes;
    let mut scanner = HeadScanner::new();
    loop {
        let parsed = match scanner.should_parse(&buffer, limit) {
            true => handshake.parse_response(&buffer)?,
            false => Parse::NeedMore,
        };
        match parsed {
            Parse::Complete((accepted, head_len)) => {
                let connection = config.connection_for(&accepted);
                let socket = WebSocket::from_connection(stream, connection, &buffer[head_len..])
                    .with_subprotocol(accepted.subprotocol);
                if let Some(authority) = request.uri().authority() {
                    trace::record_peer(socket.conn_span(), authority.as_str());
                }
                trace::record_agreement(socket.conn_span(), None, Some(&accepted.response));
                return Ok((socket, accepted.response));
            }
            Parse::NeedMore => {
                if read_within(&mut stream, &mut buffer, deadline)? == 0 {
                    return Err(Error::HandshakeEof);
                }
            }
        }
    }
}

/// Asks `proxy`, over `stream` (connected to it), for a tunnel to
/// `target` within the deadline: HTTP CONNECT or SOCKS5 (ws-proxy's
/// exchanges, driven with blocking reads and writes).
pub(crate) fn tunnel<S: Transport>(
    stream: &mut S,
    proxy: &ws_proxy::Proxy,
    target: &ws_handshake::Target,
    resolved: Option<std::net::SocketAddr>,
    deadline: Deadline,
) -> Result<(), Error> {
    use ws_proxy::{ProxyError, Step, Tunnel};
    let mut exchange = Tunnel::new(proxy, &target.host, target.port, resolved)?;
    write_within(stream, exchange.first(), deadline)?;
    let mut input = Vec::new();
    loop {
        match exchange.receive(&input)? {
            Step::NeedMore => {
                if read_within(stream, &mut input, deadline)? == 0 {
                    return Err(ProxyError::Malformed("the proxy closed the connection").into());
                }
            }
            Step::Send(bytes) => {
                input.clear();
                write_within(stream, &bytes, deadline)?;
            }
            Step::Done(_) => return Ok(()),
        }
    }
}
