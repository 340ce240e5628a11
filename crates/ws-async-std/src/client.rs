use async_std::net::TcpStream;
use ws_driver::{ClientConfig, Error};
use ws_handshake::Target;

use crate::{FuturesIo, MaybeTlsStream};

impl ws_driver::Connect for FuturesIo {
    type Stream = MaybeTlsStream<TcpStream>;

    async fn open(target: &Target, config: &ClientConfig) -> Result<Self::Stream, Error> {
        let Some(proxy) = config.proxy_for(target)? else {
            let tcp = TcpStream::connect((target.host.as_str(), target.port)).await?;
            tcp.set_nodelay(true)?;
            return server_tls(tcp, target, config).await;
        };
        let mut tcp = TcpStream::connect((proxy.host(), proxy.port()))
            .await
            .map_err(|error| Error::proxy_unreachable(&proxy, error))?;
        tcp.set_nodelay(true)?;
        let resolved = match proxy.resolves_locally() {
            true => {
                async_std::net::ToSocketAddrs::to_socket_addrs(&(target.host.as_str(), target.port))
                    .await?
                    .next()
            }
            false => None,
        };
        if !proxy.uses_tls() {
            ws_driver::tunnel::<FuturesIo, _>(&mut tcp, &proxy, target, resolved).await?;
            return server_tls(tcp, target, config).await;
        }
        #[cfg(feature = "rustls")]
        {
            // TLS to the proxy itself, checked with the same settings as a
            // server's; the tunnel inside it; the server's TLS inside that.
            let (tls, name) = ws_driver::client_tls(config, proxy.host())?;
            let mut to_proxy = futures_rustls::TlsConnector::from(tls)
                .connect(name, tcp)
                .await
                .map_err(|error| Error::proxy_unreachable(&proxy, error))?;
            ws_driver::tunnel::<FuturesIo, _>(&mut to_proxy, &proxy, target, resolved).await?;
            if !target.tls {
                return Ok(MaybeTlsStream::Rustls(Box::new(to_proxy)));
            }
            let (tls, name) = ws_driver::client_tls(config, &target.host)?;
            let stream = futures_rustls::TlsConnector::from(tls)
                .connect(name, to_proxy)
                .await?;
            Ok(MaybeTlsStream::RustlsInRustls(Box::new(stream)))
        }
        #[cfg(not(feature = "rustls"))]
        {
            let _ = (resolved, tcp);
            Err(Error::tls(ws_driver::TlsUnavailable("ws-async-std")))
        }
    }
}

/// The stream to the server (direct, or tunneled through a plain proxy),
/// with TLS for `wss://`.
async fn server_tls(
    tcp: TcpStream,
    target: &Target,
    config: &ClientConfig,
) -> Result<MaybeTlsStream<TcpStream>, Error> {
    if !target.tls {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    #[cfg(feature = "rustls")]
    {
        let (tls, name) = ws_driver::client_tls(config, &target.host)?;
        let stream = futures_rustls::TlsConnector::from(tls)
            .connect(name, tcp)
            .await?;
        Ok(MaybeTlsStream::Rustls(Box::new(stream)))
    }
    #[cfg(not(feature = "rustls"))]
    {
        let _ = config;
        Err(Error::tls(ws_driver::TlsUnavailable("ws-async-std")))
    }
}
