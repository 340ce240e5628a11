use async_std::net::TcpStream;
use ws_driver::{ClientConfig, Error};
use ws_handshake::Target;

use crate::{FuturesIo, MaybeTlsStream};

impl ws_driver::Connect for FuturesIo {
    type Stream = MaybeTlsStream<TcpStream>;

    async fn open(target: &Target, config: &ClientConfig) -> Result<Self::Stream, Error> {
        let tcp = match config.proxy_for(target)? {
            None => TcpStream::connect((target.host.as_str(), target.port)).await?,
            Some(proxy) => {
                let mut tcp = TcpStream::connect((proxy.host(), proxy.port()))
                    .await
                    .map_err(|error| Error::proxy_unreachable(&proxy, error))?;
                let resolved = match proxy.resolves_locally() {
                    true => async_std::net::ToSocketAddrs::to_socket_addrs(&(
                        target.host.as_str(),
                        target.port,
                    ))
                    .await?
                    .next(),
                    false => None,
                };
                ws_driver::tunnel::<FuturesIo, _>(&mut tcp, &proxy, target, resolved).await?;
                tcp
            }
        };
        tcp.set_nodelay(true)?;
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
}
