//! Across runtimes: a tokio client and an async-std server talk, and back,
//! each runtime on its own thread; and both adapters' `connect` refuse a
//! certificate nobody vouches for. Everything on 127.0.0.1.

mod support;

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use futures_util::StreamExt;
use ws_toolkit::{CloseCode, Message};

/// Runs `serve` on its own thread; returns the address once it listens.
fn server_thread(serve: impl FnOnce(mpsc::Sender<SocketAddr>) + Send + 'static) -> SocketAddr {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || serve(tx));
    rx.recv_timeout(Duration::from_secs(10)).unwrap()
}

/// The messages each client sends; the server echoes them.
fn messages() -> Vec<Message> {
    vec![
        Message::text("hello across runtimes"),
        Message::binary(vec![7u8; 100_000]),
        Message::text("é".repeat(40_000)),
    ]
}

/// A server of one adapter on its own thread and runtime echoes the
/// messages of a client of another adapter, which then closes cleanly.
macro_rules! across {
    (server: $server_rt:ident / $server_ws:ident, client: $client_rt:ident / $client_ws:ident) => {{
        use support::$server_rt as server_rt;
        let addr = server_thread(|ready| {
            server_rt::run(async move {
                let (listener, addr) = server_rt::listen().await;
                ready.send(addr).unwrap();
                let tcp = server_rt::accept_tcp(&listener).await.unwrap();
                let mut socket = ws_toolkit::$server_ws::accept(tcp).await.unwrap();
                while let Some(Ok(message)) = socket.next().await {
                    if message.is_data() {
                        socket.send(message).await.unwrap();
                    }
                }
            })
        });
        support::$client_rt::run(async move {
            let (mut socket, _) = ws_toolkit::$client_ws::connect(format!("ws://{addr}/"))
                .await
                .unwrap();
            for message in messages() {
                socket.send(message.clone()).await.unwrap();
                assert_eq!(socket.next().await.unwrap().unwrap(), message);
            }
            socket.close(CloseCode::NORMAL, "bye").await.unwrap();
            assert!(socket.closed().unwrap().clean);
        });
    }};
}

#[test]
fn tokio_client_talks_to_async_std_server() {
    across!(server: async_std_rt / async_std, client: tokio_rt / tokio);
}

#[test]
fn async_std_client_talks_to_tokio_server() {
    across!(server: tokio_rt / tokio, client: async_std_rt / async_std);
}

/// A TLS server on its own thread with a certificate made at run time, which
/// the default client settings (public roots only) must refuse.
fn untrusted_tls_server() -> SocketAddr {
    use support::tokio_rt as rt;
    server_thread(|ready| {
        rt::run(async move {
            let (server_tls, _) = support::self_signed_tls();
            let (listener, addr) = rt::listen().await;
            ready.send(addr).unwrap();
            while let Some(tcp) = rt::accept_tcp(&listener).await {
                let _ = rt::tls_accept(server_tls.clone(), tcp).await;
            }
        })
    })
}

#[test]
fn tokio_wss_connect_refuses_an_untrusted_certificate() {
    let port = untrusted_tls_server().port();
    let result = support::tokio_rt::run(ws_toolkit::tokio::connect(format!(
        "wss://127.0.0.1:{port}/"
    )));
    assert!(
        matches!(
            result,
            Err(ws_toolkit::tokio::Error::Io(_) | ws_toolkit::tokio::Error::Tls(_))
        ),
        "{result:?}"
    );
}

#[test]
fn async_std_wss_connect_refuses_an_untrusted_certificate() {
    let port = untrusted_tls_server().port();
    let result = support::async_std_rt::run(ws_toolkit::async_std::connect(format!(
        "wss://127.0.0.1:{port}/"
    )));
    assert!(
        matches!(
            result,
            Err(ws_toolkit::async_std::Error::Io(_) | ws_toolkit::async_std::Error::Tls(_))
        ),
        "{result:?}"
    );
}

/// A socket is one pointer on every adapter: it is moved through the
/// futures that create it and into the application's, and rustc gives a
/// moved value a slot in each (rust-lang/rust#62958). Everything else lives
/// in one allocation; an idle server connection costs that allocation, not
/// copies of it in every future.
#[test]
fn sockets_of_every_adapter_are_one_pointer() {
    use std::mem::size_of;
    assert_eq!(
        size_of::<ws_toolkit::tokio::WebSocket<tokio::net::TcpStream>>(),
        size_of::<usize>()
    );
    assert_eq!(
        size_of::<ws_toolkit::async_std::WebSocket<async_std::net::TcpStream>>(),
        size_of::<usize>()
    );
    assert_eq!(
        size_of::<ws_toolkit::async_std::WebSocket<smol::net::TcpStream>>(),
        size_of::<usize>()
    );
}

/// The slot a connection keeps for its timer (empty unless a deadline is
/// armed) is one pointer on every adapter: an idle connection pays for the
/// slot, not for a runtime's timer.
#[test]
fn timer_slots_of_every_adapter_are_one_pointer() {
    use std::mem::size_of;
    assert_eq!(
        size_of::<Option<ws_toolkit::tokio::TokioTimer>>(),
        size_of::<usize>()
    );
    assert_eq!(
        size_of::<Option<ws_toolkit::async_std::IoTimer>>(),
        size_of::<usize>()
    );
}
