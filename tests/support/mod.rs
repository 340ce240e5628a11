//! One module per runtime, each with the same functions, so that a test body
//! written once (see `loopback_tests!` in `tests/loopback.rs`) runs on each.
//! Every listener binds 127.0.0.1 on an ephemeral port.
#![allow(dead_code, unused_imports)]

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};

pub mod apt;
pub mod async_std_rt;
pub mod example;
pub mod http2_rt;
pub mod smol_rt;
pub mod tokio_rt;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// TLS settings for a "localhost" server with a certificate made at run
/// time, and a client that trusts only that certificate.
pub fn self_signed_tls() -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>) {
    let (server, client, _) = self_signed_tls_and_pem();
    (server, client)
}

/// A certificate and key in PEM, for a TLS server that is not ours
/// (stunnel in front of a proxy).
pub struct Pem {
    pub cert: String,
    pub key: String,
}

/// [`self_signed_tls`], with the certificate and its key in PEM too.
pub fn self_signed_tls_and_pem() -> (Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>, Pem) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let pem = Pem {
        cert: generated.cert.pem(),
        key: generated.key_pair.serialize_pem(),
    };
    let cert: CertificateDer<'static> = generated.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(generated.key_pair.serialize_der()));
    let server = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), Arc::new(client), pem)
}

/// A loopback port nothing listens on (yet): for a peer that must be
/// started, stopped and started again on the same address.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").unwrap()
}

/// The TCP and TLS helpers, the same on each runtime but for the types.
macro_rules! net_helpers {
    (net: $net:path, io: $io:path, tls: $tls:ident) => {
        use std::net::SocketAddr;
        use std::sync::Arc;

        use $io::{AsyncReadExt as _, AsyncWriteExt as _};
        use $net::{TcpListener, TcpStream};

        /// The status of an accepted WebSocket over HTTP/1.1 (RFC 6455
        /// section 4.2.2).
        pub const UPGRADED: u16 = 101;

        pub type Tcp = TcpStream;
        pub type Listener = TcpListener;
        pub type TlsServerStream = $tls::server::TlsStream<Tcp>;
        pub type TlsClientStream = $tls::client::TlsStream<Tcp>;

        pub async fn listen() -> (Listener, SocketAddr) {
            let listener = Listener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            (listener, addr)
        }

        pub async fn accept_tcp(listener: &Listener) -> Option<Tcp> {
            listener.accept().await.ok().map(|(tcp, _)| tcp)
        }

        pub async fn tcp_connect(addr: SocketAddr) -> Tcp {
            Tcp::connect(addr).await.unwrap()
        }

        pub async fn write_raw(tcp: &mut Tcp, bytes: &[u8]) {
            tcp.write_all(bytes).await.unwrap();
        }

        /// Writes all of `bytes`; false if the peer is gone.
        pub async fn try_write_raw(tcp: &mut Tcp, bytes: &[u8]) -> bool {
            tcp.write_all(bytes).await.is_ok()
        }

        /// Reads until the end of input or an error (a reset), keeping what
        /// arrived before it.
        pub async fn read_until_closed(tcp: &mut Tcp) -> Vec<u8> {
            let mut out = Vec::new();
            let mut buffer = [0u8; 4096];
            loop {
                match tcp.read(&mut buffer).await {
                    Ok(0) | Err(_) => return out,
                    Ok(n) => out.extend_from_slice(&buffer[..n]),
                }
            }
        }

        /// Reads once into `buffer`; 0 at the end of input or on an error
        /// (a reset peer).
        pub async fn read_some(tcp: &mut Tcp, buffer: &mut [u8]) -> usize {
            tcp.read(buffer).await.unwrap_or(0)
        }

        pub async fn read_to_end(tcp: &mut Tcp) -> Vec<u8> {
            let mut out = Vec::new();
            tcp.read_to_end(&mut out).await.unwrap();
            out
        }

        pub async fn tls_accept(
            config: Arc<rustls::ServerConfig>,
            tcp: Tcp,
        ) -> std::io::Result<TlsServerStream> {
            $tls::TlsAcceptor::from(config).accept(tcp).await
        }

        pub async fn tls_connect(config: Arc<rustls::ClientConfig>, tcp: Tcp) -> TlsClientStream {
            $tls::TlsConnector::from(config)
                .connect(super::localhost(), tcp)
                .await
                .unwrap()
        }
    };
}
use net_helpers;
