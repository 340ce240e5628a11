//! `ws_hyper::connect` prefers HTTP/2 and falls back to HTTP/1.1, against
//! TLS servers on 127.0.0.1 with a certificate made here: one that takes
//! WebSockets over HTTP/2, one whose HTTP/2 does not (no extended CONNECT),
//! and one that offers only HTTP/1.1 by ALPN.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http::{Request, Version};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use ws_core::{CloseCode, Message};
use ws_hyper::ServerConfig;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate for `localhost`: the server's TLS settings (without ALPN)
/// and a client configuration that trusts it.
fn tls() -> (rustls::ServerConfig, ws_hyper::ClientConfig) {
    let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
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
    (
        server,
        ws_hyper::ClientConfig::default().tls(Arc::new(client)),
    )
}

/// A TLS echo server offering `alpn`, with HTTP/2's extended CONNECT on or
/// off; records the HTTP version of every WebSocket and how many TCP
/// connections it took.
async fn server(
    mut tls: rustls::ServerConfig,
    alpn: &[&[u8]],
    extended_connect: bool,
) -> (SocketAddr, Arc<Mutex<Vec<Version>>>, Arc<Mutex<usize>>) {
    tls.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let versions = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(Mutex::new(0));
    let (seen, count) = (versions.clone(), connections.clone());
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            *count.lock().unwrap() += 1;
            let (acceptor, seen) = (acceptor.clone(), seen.clone());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
                    let seen = seen.clone();
                    let response = ws_hyper::on_upgrade(
                        &mut request,
                        &ServerConfig::default(),
                        move |mut socket, version| async move {
                            seen.lock().unwrap().push(version);
                            while let Some(Ok(message)) = socket.recv().await {
                                if message.is_data() && socket.send(message).await.is_err() {
                                    break;
                                }
                            }
                        },
                    );
                    async move { Ok::<_, Infallible>(response) }
                });
                let builder = match extended_connect {
                    true => ws_hyper::server_builder(),
                    false => hyper_util::server::conn::auto::Builder::new(TokioExecutor::new()),
                };
                let _ = builder
                    .serve_connection_with_upgrades(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, versions, connections)
}

async fn echo_once(addr: SocketAddr, config: &ws_hyper::ClientConfig) -> Version {
    let url = format!("wss://localhost:{}/ws", addr.port());
    let (mut socket, _) = ws_hyper::connect(url.as_str(), config).await.unwrap();
    socket.send(Message::text("which version?")).await.unwrap();
    assert_eq!(
        socket.recv().await.unwrap().unwrap(),
        Message::text("which version?")
    );
    let version = socket.get_ref().http_version();
    socket.close(CloseCode::NORMAL, "").await.unwrap();
    assert!(socket.closed().unwrap().clean);
    version
}

#[tokio::test]
async fn client_connect_takes_http2_when_the_server_enables_websockets_over_it() {
    let (server_tls, client) = tls();
    let (addr, versions, connections) = server(server_tls, &[b"h2", b"http/1.1"], true).await;
    assert_eq!(echo_once(addr, &client).await, Version::HTTP_2);
    assert_eq!(*versions.lock().unwrap(), vec![Version::HTTP_2]);
    assert_eq!(*connections.lock().unwrap(), 1);
}

#[tokio::test]
async fn client_connect_falls_back_to_http_1_1_when_the_servers_http2_does_not_take_websockets() {
    let (server_tls, client) = tls();
    let (addr, versions, connections) = server(server_tls, &[b"h2", b"http/1.1"], false).await;
    assert_eq!(echo_once(addr, &client).await, Version::HTTP_11);
    assert_eq!(*versions.lock().unwrap(), vec![Version::HTTP_11]);
    // The HTTP/2 connection, then one of its own for HTTP/1.1.
    assert_eq!(*connections.lock().unwrap(), 2);
}

#[tokio::test]
async fn client_connect_upgrades_on_the_same_connection_when_alpn_chose_http_1_1() {
    let (server_tls, client) = tls();
    let (addr, versions, connections) = server(server_tls, &[b"http/1.1"], true).await;
    assert_eq!(echo_once(addr, &client).await, Version::HTTP_11);
    assert_eq!(*versions.lock().unwrap(), vec![Version::HTTP_11]);
    assert_eq!(*connections.lock().unwrap(), 1);
}
