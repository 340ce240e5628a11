//! A client that prefers HTTP/2 and falls back to HTTP/1.1: [`connect`].

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Response, Version};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ws_driver::IntoClientRequest;

use crate::{ClientConfig, Error, HyperStream};

/// The stream of a WebSocket that [`connect`] opened: a stream of an HTTP/2
/// connection, or a connection of its own over HTTP/1.1 (plain or TLS).
#[derive(Debug)]
pub enum ClientStream {
    /// An HTTP/2 stream (RFC 8441).
    Http2(HyperStream),
    /// An HTTP/1.1 connection, upgraded.
    Http1(ws_tokio::MaybeTlsStream<tokio::net::TcpStream>),
}

impl ClientStream {
    /// The HTTP version the WebSocket runs over.
    pub fn http_version(&self) -> Version {
        match self {
            ClientStream::Http2(_) => Version::HTTP_2,
            ClientStream::Http1(_) => Version::HTTP_11,
        }
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Http2(stream) => Pin::new(stream).poll_read(cx, buf),
            ClientStream::Http1(stream) => Pin::new(stream).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Http2(stream) => Pin::new(stream).poll_write(cx, buf),
            ClientStream::Http1(stream) => Pin::new(stream).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ClientStream::Http2(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
            ClientStream::Http1(stream) => Pin::new(stream).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ClientStream::Http2(stream) => stream.is_write_vectored(),
            ClientStream::Http1(stream) => stream.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Http2(stream) => Pin::new(stream).poll_flush(cx),
            ClientStream::Http1(stream) => Pin::new(stream).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientStream::Http2(stream) => Pin::new(stream).poll_shutdown(cx),
            ClientStream::Http1(stream) => Pin::new(stream).poll_shutdown(cx),
        }
    }
}

/// Connects to a `wss://` server preferring HTTP/2: TLS offers ALPN `h2`
/// and `http/1.1`; when the server chose `h2` and enables extended CONNECT
/// (RFC 8441 section 3), the WebSocket is a stream of that HTTP/2
/// connection; when it chose `http/1.1`, an upgrade on the same
/// connection; when its HTTP/2 does not take WebSockets, an upgrade on a
/// new HTTP/1.1 connection. `ws://` is HTTP/1.1 (whether a plain server
/// speaks HTTP/2 is not known without asking;
/// [`Http2Client::dial`](crate::Http2Client::dial) is prior knowledge). No
/// proxy is used. The stream says which it was
/// ([`ClientStream::http_version`], through `socket.get_ref()`).
///
/// # Errors
///
/// As `ws_tokio::connect` and [`Http2Client::connect`](crate::Http2Client::connect): [`Error::Uri`],
/// [`Error::Io`], [`Error::Tls`], [`Error::Response`] for a refusal,
/// [`Error::HandshakeTimeout`] past the handshake timeout (each attempt has
/// its own).
pub async fn connect(
    request: impl IntoClientRequest,
    config: &ClientConfig,
) -> Result<(ws_tokio::WebSocket<ClientStream>, Response<()>), Error> {
    let request = request.into_client_request()?;
    let target = ws_handshake::Target::from_uri(request.uri())?;
    let tcp = tcp_to(&target, config).await?;
    if !target.tls {
        let stream = ClientStream::Http1(ws_tokio::MaybeTlsStream::Plain(tcp));
        return ws_tokio::connect_with(stream, request, config).await;
    }
    #[cfg(feature = "rustls")]
    {
        let tls = tls_to(&target, config, tcp, &[b"h2", b"http/1.1"]).await?;
        if tls.get_ref().1.alpn_protocol() == Some(b"h2") {
            let client = crate::Http2Client::handshake(tls, config.clone()).await?;
            match client.open_stream(ws_driver::clone_request(&request)).await {
                Ok(opened) => {
                    let socket = ws_tokio::WebSocket::from_connection(
                        ClientStream::Http2(opened.stream),
                        opened.connection,
                        &[],
                    )
                    .with_subprotocol(opened.subprotocol);
                    return Ok((socket, opened.response));
                }
                Err(Error::Response(error))
                    if *error == ws_handshake::ResponseError::NoExtendedConnect =>
                {
                    // Its HTTP/2 does not take WebSockets: HTTP/1.1 on a
                    // connection of its own.
                    let tcp = tcp_to(&target, config).await?;
                    let tls = tls_to(&target, config, tcp, &[b"http/1.1"]).await?;
                    let stream =
                        ClientStream::Http1(ws_tokio::MaybeTlsStream::Rustls(Box::new(tls)));
                    return ws_tokio::connect_with(stream, request, config).await;
                }
                Err(error) => return Err(error),
            }
        }
        let stream = ClientStream::Http1(ws_tokio::MaybeTlsStream::Rustls(Box::new(tls)));
        ws_tokio::connect_with(stream, request, config).await
    }
    #[cfg(not(feature = "rustls"))]
    {
        let _ = tcp;
        Err(Error::tls(ws_driver::TlsUnavailable("ws-hyper")))
    }
}

async fn tcp_to(
    target: &ws_handshake::Target,
    config: &ClientConfig,
) -> Result<tokio::net::TcpStream, Error> {
    let connect = tokio::net::TcpStream::connect((target.host.as_str(), target.port));
    let tcp = tokio::time::timeout(config.handshake_timeout, connect)
        .await
        .map_err(|_| Error::HandshakeTimeout)??;
    tcp.set_nodelay(true)?;
    Ok(tcp)
}

#[cfg(feature = "rustls")]
async fn tls_to(
    target: &ws_handshake::Target,
    config: &ClientConfig,
    tcp: tokio::net::TcpStream,
    alpn: &[&[u8]],
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, Error> {
    let (tls, name) = ws_driver::client_tls(config, &target.host)?;
    let mut tls = (*tls).clone();
    tls.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
    let connect = tokio_rustls::TlsConnector::from(std::sync::Arc::new(tls)).connect(name, tcp);
    Ok(tokio::time::timeout(config.handshake_timeout, connect)
        .await
        .map_err(|_| Error::HandshakeTimeout)??)
}
