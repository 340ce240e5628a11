//! A client's way through a proxy: the exchange on the stream to the proxy
//! ([`tunnel`]), with ws-proxy's sans-IO pieces and the runtime's I/O. Which
//! proxy is [`ProxySetting`](crate::ProxySetting)'s.

use std::net::SocketAddr;

use bytes::BytesMut;
use ws_handshake::Target;
use ws_proxy::{Proxy, ProxyError, Step, Tunnel};

use crate::runtime::{read_buf, write_all, Transport};
use crate::Error;

/// Reads the proxy's answers in steps of this size.
const CHUNK: usize = 1024;

/// Asks `proxy`, over `stream` (connected to it), for a tunnel to `target`:
/// HTTP CONNECT or SOCKS5. `resolved` is the target's address when the
/// proxy wants one (`socks5://`, see [`Proxy::resolves_locally`]). Once it
/// returns, `stream` reaches the server.
///
/// Cancel safety: not cancel-safe; dropping the future leaves the stream
/// mid-exchange.
///
/// # Errors
///
/// [`Error::Proxy`] when the proxy refuses (its status, SOCKS5's reply
/// code) or answers what is not its protocol; [`Error::Io`] when the
/// stream fails.
pub async fn tunnel<R: Transport<S>, S: Unpin>(
    stream: &mut S,
    proxy: &Proxy,
    target: &Target,
    resolved: Option<SocketAddr>,
) -> Result<(), Error> {
    let mut exchange = Tunnel::new(proxy, &target.host, target.port, resolved)?;
    write_all::<S, R>(stream, exchange.first()).await?;
    let mut input = BytesMut::new();
    loop {
        match exchange.receive(&input)? {
            Step::NeedMore => read_more::<S, R>(stream, &mut input).await?,
            Step::Send(bytes) => {
                input.clear();
                write_all::<S, R>(stream, &bytes).await?;
            }
            Step::Done(_) => return Ok(()),
        }
    }
}

async fn read_more<S: Unpin, R: Transport<S>>(
    stream: &mut S,
    input: &mut BytesMut,
) -> Result<(), Error> {
    match read_buf::<S, R>(stream, input, CHUNK).await? {
        0 => Err(ProxyError::Malformed("the proxy closed the connection").into()),
        _ => Ok(()),
    }
}
