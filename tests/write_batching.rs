//! How a socket groups its writes: answers fed (not sent) to messages that
//! arrived together leave in one write, when reading would wait for the
//! peer; a ping's pong leaves at once. Over an in-memory stream that counts
//! the writes that reach it.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};
use ws_toolkit::core::Role;
use ws_toolkit::tokio::WebSocket;
use ws_toolkit::{Config, Message};

/// A stream that counts the writes it accepts.
struct CountingWrites {
    inner: DuplexStream,
    writes: Arc<AtomicUsize>,
}

impl CountingWrites {
    fn count(&self, result: &Poll<std::io::Result<usize>>) {
        if matches!(result, Poll::Ready(Ok(n)) if *n > 0) {
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl AsyncRead for CountingWrites {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountingWrites {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.count(&result);
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.count(&result);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A connected client and server; the server's writes are counted.
fn pair() -> (
    WebSocket<DuplexStream>,
    WebSocket<CountingWrites>,
    Arc<AtomicUsize>,
) {
    let (client_io, server_io) = tokio::io::duplex(64 * 1024);
    let writes = Arc::new(AtomicUsize::new(0));
    let server_io = CountingWrites {
        inner: server_io,
        writes: writes.clone(),
    };
    let client = WebSocket::from_raw_socket(client_io, Role::Client, Config::default(), &[]);
    let server = WebSocket::from_raw_socket(server_io, Role::Server, Config::default(), &[]);
    (client, server, writes)
}

fn run(test: impl std::future::Future<Output = ()>) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test);
}

#[test]
fn server_feeding_answers_to_messages_read_together_writes_them_once() {
    run(async {
        let (mut client, mut server, writes) = pair();
        for i in 0..3 {
            client.feed(Message::text(format!("m{i}"))).await.unwrap();
        }
        client.flush().await.unwrap();
        for _ in 0..3 {
            let message = server.next().await.unwrap().unwrap();
            server.feed(message).await.unwrap();
        }
        assert_eq!(
            writes.load(Ordering::SeqCst),
            0,
            "fed answers wait while read messages are still buffered"
        );
        // Nothing more to read: the answers go out before the read waits.
        let waiting = tokio::time::timeout(Duration::from_millis(50), server.next()).await;
        assert!(waiting.is_err(), "the client sent nothing more");
        assert_eq!(
            writes.load(Ordering::SeqCst),
            1,
            "one write for three answers"
        );
        for i in 0..3 {
            let echoed = client.next().await.unwrap().unwrap();
            assert_eq!(echoed, Message::text(format!("m{i}")));
        }
    });
}

#[test]
fn server_answers_a_ping_read_with_data_at_once() {
    run(async {
        let (mut client, mut server, writes) = pair();
        client.feed(Message::ping(&b"p"[..])).await.unwrap();
        client.feed(Message::text("after")).await.unwrap();
        client.flush().await.unwrap();
        assert_eq!(
            server.next().await.unwrap().unwrap(),
            Message::ping(&b"p"[..])
        );
        assert_eq!(
            writes.load(Ordering::SeqCst),
            1,
            "the pong left with the ping"
        );
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            Message::pong(&b"p"[..])
        );
        assert_eq!(
            server.next().await.unwrap().unwrap(),
            Message::text("after")
        );
    });
}
