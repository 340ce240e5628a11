use async_std::net::TcpStream;
use ws_driver::{ClientConfig, Error};
use ws_handshake::Target;

use crate::{FuturesIo, MaybeTlsStream};

impl ws_driver::Connect for FuturesIo {
    type Stream = MaybeTlsStream<TcpStream>;

    async fn open(target: &Target, config: &ClientConfig) -> Result<Self::Stream, Error> {
        let tcp = TcpStream::connect((target.host.as_str(), target.port)).await?;
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
