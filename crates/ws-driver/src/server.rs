//! The server's side: accepting on a stream, and reading a request head to
//! upgrade or answer ([`read_request`], [`HttpRequest`]).

use std::marker::PhantomData;
use std::time::Duration;

use bytes::BytesMut;
use ws_handshake::{parse_request, write_response, HeadScanner, Parse, RequestError};

use crate::config::ServerConfig;
use crate::runtime::{read_buf, shutdown, timeout, write_all, Transport};
use crate::socket::WebSocket;
use crate::trace;
use crate::upgrade::upgrade_with;
use crate::Error;

/// Reads the request head in steps of this size.
const HANDSHAKE_CHUNK: usize = 1024;

/// After refusing a handshake, what is still arriving is read and dropped,
/// up to this much ...
const LINGER_BYTES: usize = 64 * 1024;
/// ... for at most this long, before the stream is closed.
const LINGER_TIME: Duration = Duration::from_millis(500);

/// Accepts a WebSocket, letting `callback` inspect the request (path, query,
/// cookies, authorization) and either adjust the 101 response or refuse with
/// [`RequestError::Rejected`] and a status of its choosing.
///
/// Invalid requests are answered with their HTTP status (400, 405, 426, 431,
/// ...) before the error is returned; a client that does not finish its
/// request within [`ServerConfig::handshake_timeout`] is dropped.
///
/// Cancel safety: not cancel-safe; dropping the future drops the stream.
///
/// # Errors
///
/// [`Error::Request`] for an invalid handshake or the callback's refusal (answered with its
/// status), [`Error::Io`], [`Error::HandshakeEof`], [`Error::HandshakeTimeout`].
pub async fn accept_with_callback<S, R, F>(
    stream: S,
    config: &ServerConfig,
    callback: F,
) -> Result<WebSocket<S, R>, Error>
where
    S: Unpin,
    R: Transport<S>,
    F: FnOnce(&http::Request<()>, &mut http::Response<()>) -> Result<(), RequestError>,
{
    let handshake = async {
        let request = read_head::<S, R>(stream, config).await?;
        request.answer_upgrade(config, callback).await
    };
    // Boxed, so that its state (request, response, timer) is freed once the
    // handshake is done instead of sizing every connection's task for it.
    let result = Box::pin(timeout::<R, _>(config.handshake_timeout, handshake))
        .await
        .unwrap_or(Err(Error::HandshakeTimeout));
    if let Err(error) = &result {
        trace::handshake_failed(ws_core::Role::Server, error);
    }
    result
}

/// Reads an HTTP request head off `stream`, without answering it: the
/// entry point of a server that serves plain HTTP and WebSocket on one port
/// (a page at `/`, the socket at `/ws`). The caller looks at
/// [`HttpRequest::request`] and then either upgrades it
/// ([`HttpRequest::accept`]) or answers it ([`HttpRequest::respond`]).
///
/// A head that breaks the limits of `config.handshake` or is not HTTP/1.x is
/// answered with its status (431, 400) and returned as the error; a client
/// that does not finish its head within [`ServerConfig::handshake_timeout`]
/// is dropped ([`Error::HandshakeTimeout`]).
///
/// Cancel safety: not cancel-safe; dropping the future drops the stream.
///
/// # Errors
///
/// [`Error::Request`] for a head past the limits (431) or malformed (400), [`Error::Io`],
/// [`Error::HandshakeEof`], [`Error::HandshakeTimeout`].
pub async fn read_request<S, R>(
    stream: S,
    config: &ServerConfig,
) -> Result<HttpRequest<S, R>, Error>
where
    S: Unpin,
    R: Transport<S>,
{
    let result = Box::pin(timeout::<R, _>(
        config.handshake_timeout,
        read_head::<S, R>(stream, config),
    ))
    .await
    .unwrap_or(Err(Error::HandshakeTimeout));
    if let Err(error) = &result {
        trace::handshake_failed(ws_core::Role::Server, error);
    }
    result
}

async fn read_head<S, R>(mut stream: S, config: &ServerConfig) -> Result<HttpRequest<S, R>, Error>
where
    S: Unpin,
    R: Transport<S>,
{
    let mut buffer = BytesMut::new();
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
                if read_buf::<S, R>(&mut stream, &mut buffer, HANDSHAKE_CHUNK).await? == 0 {
                    return Err(Error::HandshakeEof);
                }
            }
            Err(error) => return Err(reject::<S, R>(&mut stream, error).await),
        }
    };
    let leftover = buffer.split_off(head_len);
    Ok(HttpRequest {
        stream,
        request,
        leftover,
        handshake_timeout: config.handshake_timeout,
        runtime: PhantomData,
    })
}

/// An HTTP request read off a stream and not yet answered (see
/// [`read_request`]): upgrade it to a WebSocket, or answer it with a plain
/// HTTP response.
pub struct HttpRequest<S, R> {
    stream: S,
    request: http::Request<()>,
    leftover: BytesMut,
    handshake_timeout: Duration,
    runtime: PhantomData<fn() -> R>,
}

impl<S, R> std::fmt::Debug for HttpRequest<S, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpRequest")
            .field("request", &self.request)
            .field("leftover", &self.leftover.len())
            .finish_non_exhaustive()
    }
}

impl<S: Unpin, R: Transport<S>> HttpRequest<S, R> {
    /// The request head (method, URI, headers); its body, if any, is unread.
    pub fn request(&self) -> &http::Request<()> {
        &self.request
    }

    /// Whether the request asks for a WebSocket (its `Upgrade` header names
    /// `websocket`). Whether it is a *valid* opening handshake is decided by
    /// [`HttpRequest::accept`] ([RFC 6455 section 4.2.1]).
    ///
    /// [RFC 6455 section 4.2.1]: https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1
    pub fn is_websocket(&self) -> bool {
        ws_handshake::is_upgrade_request(&self.request)
    }

    /// Upgrades the request to a WebSocket: validates the opening handshake,
    /// answers 101, and returns the connection. An invalid handshake is
    /// answered with its status (400, 405, 426, ...) and returned as the error.
    ///
    /// Cancel safety: not cancel-safe; dropping the future drops the stream.
    ///
    /// # Errors
    ///
    /// [`Error::Request`] for an invalid handshake (answered with its status), [`Error::Io`],
    /// [`Error::HandshakeTimeout`].
    pub async fn accept(self, config: &ServerConfig) -> Result<WebSocket<S, R>, Error> {
        self.accept_with_callback(config, |_, _| Ok(())).await
    }

    /// [`HttpRequest::accept`], with a callback that may adjust the 101
    /// response or refuse the upgrade with a status of its choosing (see
    /// [`accept_with_callback`]).
    ///
    /// Cancel safety: not cancel-safe; dropping the future drops the stream.
    ///
    /// # Errors
    ///
    /// As [`accept`](Self::accept); a refusal by the callback is answered with its status.
    pub async fn accept_with_callback<F>(
        self,
        config: &ServerConfig,
        callback: F,
    ) -> Result<WebSocket<S, R>, Error>
    where
        F: FnOnce(&http::Request<()>, &mut http::Response<()>) -> Result<(), RequestError>,
    {
        let result = Box::pin(timeout::<R, _>(
            config.handshake_timeout,
            self.answer_upgrade(config, callback),
        ))
        .await
        .unwrap_or(Err(Error::HandshakeTimeout));
        if let Err(error) = &result {
            trace::handshake_failed(ws_core::Role::Server, error);
        }
        result
    }

    async fn answer_upgrade<F>(
        mut self,
        config: &ServerConfig,
        callback: F,
    ) -> Result<WebSocket<S, R>, Error>
    where
        F: FnOnce(&http::Request<()>, &mut http::Response<()>) -> Result<(), RequestError>,
    {
        let (response, upgrade) = match upgrade_with(&self.request, config, callback) {
            Ok(accepted) => accepted,
            Err(error) => return Err(reject::<S, R>(&mut self.stream, error).await),
        };
        let mut out = Vec::with_capacity(256);
        write_response(&response, &[], &mut out);
        write_all::<S, R>(&mut self.stream, &out).await?;
        let (conn, subprotocol) = upgrade.into_parts();
        let socket = WebSocket::from_connection(self.stream, conn, &self.leftover)
            .with_subprotocol(subprotocol);
        trace::record_agreement(socket.conn_span(), None, Some(&response));
        trace::handshake_accepted(socket.conn_span());
        Ok(socket)
    }

    /// Answers the request with a plain HTTP response and `body`, then shuts
    /// the stream down: one request per connection. `Content-Length` is set
    /// from `body` and `Connection: close` added. The write is bounded by the
    /// handshake timeout of the configuration the request was read with.
    ///
    /// Cancel safety: not cancel-safe; dropping the future drops the stream.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] when the stream fails, [`Error::HandshakeTimeout`] when writing takes
    /// longer than the handshake timeout.
    pub async fn respond(
        mut self,
        mut response: http::Response<()>,
        body: &[u8],
    ) -> Result<(), Error> {
        let headers = response.headers_mut();
        headers.insert(http::header::CONTENT_LENGTH, body.len().into());
        headers.insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
        let mut out = Vec::with_capacity(256 + body.len());
        write_response(&response, body, &mut out);
        let answer = async {
            write_all::<S, R>(&mut self.stream, &out).await?;
            shutdown::<S, R>(&mut self.stream).await?;
            Ok(())
        };
        timeout::<R, _>(self.handshake_timeout, answer)
            .await
            .ok_or(Error::HandshakeTimeout)?
    }

    /// The stream, the request, and the bytes read past its head (the start
    /// of a body, or of a pipelined request), for a caller that answers the
    /// request itself.
    pub fn into_parts(self) -> (S, http::Request<()>, BytesMut) {
        (self.stream, self.request, self.leftover)
    }
}

/// Answers a refused handshake with its status and closes the stream.
async fn reject<S: Unpin, R: Transport<S>>(stream: &mut S, error: RequestError) -> Error {
    let mut out = Vec::with_capacity(256);
    error.write_response(&mut out);
    // The client may already be gone; the refusal is what we report.
    let _ = write_all::<S, R>(stream, &out).await;
    let _ = shutdown::<S, R>(stream).await;
    // A lingering close: closing with unread input would reset the
    // connection, and a reset can destroy the response before the client
    // reads it (a head refused with 431 is usually still arriving). Read and
    // discard a bounded amount for a bounded time first.
    let _ = timeout::<R, _>(LINGER_TIME, async {
        let mut discard = BytesMut::new();
        let mut total = 0;
        while total < LINGER_BYTES {
            discard.clear();
            match read_buf::<S, R>(stream, &mut discard, HANDSHAKE_CHUNK).await {
                Ok(0) | Err(_) => break,
                Ok(read) => total += read,
            }
        }
    })
    .await;
    error.into()
}
