//! One GiB each way, in pieces, over loopback: a client sends a 1 GiB
//! message from a reader (`send_from`) while it reads the server's echo as a
//! stream (`recv_chunk`); the server echoes each piece as it arrives
//! (`recv_chunk` then `send_fragment`), so no side ever holds the message.
//! The process's peak resident memory (VmHWM, reset before each run) must
//! stay within a few MiB of where it started. On tokio, async-std and
//! ws-blocking, one at a time (peak memory is the whole process's).

use std::sync::Mutex;

use ws_toolkit::{CloseCode, Message, MessageKind};

/// The message's size.
const SIZE: u64 = 1 << 30;
/// What the peak may pass the resident memory before the transfer by:
/// the pieces in flight (64 KiB each, a read buffer or two per side) and
/// the allocator's slack, far below the message.
const PEAK_OVER_BASELINE: u64 = 16 << 20;

/// One transfer at a time: the peak is measured for the whole process.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The message repeats this many pseudo-random bytes: a prime, so that
/// no piece (a power of two) lines up with it and a piece out of place is
/// seen. Filling and checking copy and compare slices of it, which stays
/// fast in a debug build.
const PERIOD: usize = 65_521;

fn pattern() -> &'static [u8] {
    static PATTERN: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    PATTERN.get_or_init(|| {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let period: Vec<u8> = (0..PERIOD)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        // Twice over, so that a period's worth from anywhere is one slice.
        period.repeat(2)
    })
}

/// The message's bytes from `at`, as long as `len` (at most a period).
fn expected(at: u64, len: usize) -> &'static [u8] {
    let start = (at % PERIOD as u64) as usize;
    &pattern()[start..start + len]
}

/// Fills `buffer` with the message's bytes from `at`.
fn fill(buffer: &mut [u8], at: u64) {
    for (i, piece) in buffer.chunks_mut(PERIOD).enumerate() {
        let len = piece.len();
        piece.copy_from_slice(expected(at + (i * PERIOD) as u64, len));
    }
}

/// Checks a received piece against the message from `at`.
fn check(piece: &[u8], at: u64) {
    for (i, part) in piece.chunks(PERIOD).enumerate() {
        let from = at + (i * PERIOD) as u64;
        assert!(
            part == expected(from, part.len()),
            "the echo is wrong within bytes {from}..{}",
            from + part.len() as u64
        );
    }
}

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .unwrap_or_else(|| panic!("{field} in /proc/self/status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// Resets the peak (VmHWM) to the current resident size and returns it.
fn reset_peak() -> u64 {
    // Writing 5 to clear_refs resets the peak resident set size (Linux 4.0+).
    std::fs::write("/proc/self/clear_refs", "5").expect("resetting VmHWM");
    status_kib("VmRSS:") * 1024
}

fn peak() -> u64 {
    status_kib("VmHWM:") * 1024
}

/// Runs `transfer` and checks the peak resident memory it took; returns
/// the peak over the baseline for the report.
fn within_bounded_memory(name: &str, transfer: impl FnOnce()) {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    let baseline = reset_peak();
    let started = std::time::Instant::now();
    transfer();
    let over = peak().saturating_sub(baseline);
    println!(
        "{name}: 1 GiB each way in {:.1} s, peak RSS {:.1} MiB over the {:.1} MiB before",
        started.elapsed().as_secs_f64(),
        over as f64 / (1 << 20) as f64,
        baseline as f64 / (1 << 20) as f64,
    );
    assert!(
        over < PEAK_OVER_BASELINE,
        "{name}: peak resident memory grew by {over} bytes streaming 1 GiB each way"
    );
}

mod on_tokio {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, ReadBuf};
    use ws_toolkit::tokio as ws;

    /// The message as a reader.
    struct Generated {
        at: u64,
    }

    impl AsyncRead for Generated {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            let n = (buf.remaining() as u64).min(SIZE - self.at) as usize;
            let at = self.at;
            fill(&mut buf.initialize_unfilled()[..n], at);
            buf.advance(n);
            self.at += n as u64;
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn tokio_client_sends_and_receives_1_gib_in_pieces_through_an_echoing_server() {
        within_bounded_memory("tokio", || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let port = listener.local_addr().unwrap().port();
                let server = tokio::spawn(async move {
                    let (stream, _) = listener.accept().await.unwrap();
                    let mut socket = ws::accept(stream).await.unwrap();
                    let mut echoed = 0u64;
                    while let Some(chunk) = socket.recv_chunk(u64::MAX).await {
                        let chunk = chunk.unwrap();
                        echoed += chunk.data.len() as u64;
                        socket
                            .send_fragment(chunk.kind, &chunk.data, chunk.fin)
                            .await
                            .unwrap();
                        if chunk.fin {
                            break;
                        }
                    }
                    // Then the client's close.
                    while let Some(message) = socket.recv().await {
                        assert!(matches!(message, Ok(Message::Close(_))), "{message:?}");
                    }
                    echoed
                });
                let (socket, _) = ws::connect(format!("ws://127.0.0.1:{port}/"))
                    .await
                    .unwrap();
                let (mut reader, mut writer) = socket.split();
                let sending = tokio::spawn(async move {
                    let sent = writer
                        .send_from(MessageKind::Binary, &mut Generated { at: 0 })
                        .await
                        .unwrap();
                    (sent, writer)
                });
                let mut received = 0u64;
                let mut pieces = 0u64;
                while let Some(chunk) = reader.recv_chunk(u64::MAX).await {
                    let chunk = chunk.unwrap();
                    assert_eq!(chunk.kind, MessageKind::Binary);
                    assert_eq!(chunk.first, received == 0 && pieces == 0);
                    check(&chunk.data, received);
                    received += chunk.data.len() as u64;
                    pieces += 1;
                    if chunk.fin {
                        break;
                    }
                }
                assert_eq!(received, SIZE);
                let (sent, mut writer) = sending.await.unwrap();
                assert_eq!(sent, SIZE);
                writer.close(CloseCode::NORMAL, "").await.unwrap();
                while let Some(message) = reader.recv().await {
                    assert!(matches!(message, Ok(Message::Close(_))), "{message:?}");
                }
                assert_eq!(server.await.unwrap(), SIZE);
                assert!(pieces > 1000, "{pieces} pieces");
            });
        });
    }

    /// Gives 100 KiB, then fails.
    struct Failing {
        given: usize,
    }

    impl AsyncRead for Failing {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            if self.given >= 100 << 10 {
                return Poll::Ready(Err(std::io::Error::other("the disk is gone")));
            }
            let n = buf.remaining().min((100 << 10) - self.given);
            buf.put_slice(&vec![b'x'; n]);
            self.given += n;
            Poll::Ready(Ok(()))
        }
    }

    #[test]
    fn tokio_client_whose_reader_fails_gets_a_copy_error_and_may_finish_the_message_itself() {
        let _one = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = tokio::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let mut socket = ws::accept(stream).await.unwrap();
                let message = socket.recv().await.unwrap().unwrap();
                // Then the client's close.
                while socket.recv().await.is_some() {}
                message
            });
            let (mut socket, _) = ws::connect(format!("ws://127.0.0.1:{port}/"))
                .await
                .unwrap();
            let error = socket
                .send_from(MessageKind::Binary, &mut Failing { given: 0 })
                .await
                .unwrap_err();
            assert!(matches!(&error, ws::Error::Copy(e) if e.to_string() == "the disk is gone"));
            assert!(!error.is_fatal());
            // The message is still under way: the application ends it.
            socket
                .send_fragment(MessageKind::Binary, b"!", true)
                .await
                .unwrap();
            socket.close(CloseCode::NORMAL, "").await.unwrap();
            let message = server.await.unwrap();
            assert_eq!(message.into_bytes().len(), (100 << 10) + 1);
        });
    }
}

mod on_async_std {
    use super::*;
    use futures_util::AsyncRead;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use ws_toolkit::async_std as ws;

    struct Generated {
        at: u64,
    }

    impl AsyncRead for Generated {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<std::io::Result<usize>> {
            let n = (buf.len() as u64).min(SIZE - self.at) as usize;
            let at = self.at;
            fill(&mut buf[..n], at);
            self.at += n as u64;
            Poll::Ready(Ok(n))
        }
    }

    #[test]
    fn async_std_client_sends_and_receives_1_gib_in_pieces_through_an_echoing_server() {
        within_bounded_memory("async-std", || {
            async_std::task::block_on(async {
                let listener = async_std::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .unwrap();
                let port = listener.local_addr().unwrap().port();
                let server = async_std::task::spawn(async move {
                    let (stream, _) = listener.accept().await.unwrap();
                    let mut socket = ws::accept(stream).await.unwrap();
                    loop {
                        let chunk = socket.recv_chunk(u64::MAX).await.unwrap().unwrap();
                        socket
                            .send_fragment(chunk.kind, &chunk.data, chunk.fin)
                            .await
                            .unwrap();
                        if chunk.fin {
                            break;
                        }
                    }
                    while let Some(message) = socket.recv().await {
                        assert!(matches!(message, Ok(Message::Close(_))), "{message:?}");
                    }
                });
                let (socket, _) = ws::connect(format!("ws://127.0.0.1:{port}/"))
                    .await
                    .unwrap();
                let (mut reader, mut writer) = socket.split();
                let sending = async_std::task::spawn(async move {
                    let sent = writer
                        .send_from(MessageKind::Binary, &mut Generated { at: 0 })
                        .await
                        .unwrap();
                    (sent, writer)
                });
                let mut received = 0u64;
                loop {
                    let chunk = reader.recv_chunk(u64::MAX).await.unwrap().unwrap();
                    check(&chunk.data, received);
                    received += chunk.data.len() as u64;
                    if chunk.fin {
                        break;
                    }
                }
                assert_eq!(received, SIZE);
                let (sent, mut writer) = sending.await;
                assert_eq!(sent, SIZE);
                writer.close(CloseCode::NORMAL, "").await.unwrap();
                while let Some(message) = reader.recv().await {
                    assert!(matches!(message, Ok(Message::Close(_))), "{message:?}");
                }
                server.await;
            });
        });
    }
}

mod on_blocking {
    use super::*;
    use std::io::Read;
    use ws_toolkit::blocking as ws;

    struct Generated {
        at: u64,
    }

    impl Read for Generated {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = (buf.len() as u64).min(SIZE - self.at) as usize;
            fill(&mut buf[..n], self.at);
            self.at += n as u64;
            Ok(n)
        }
    }

    /// Checks what it is written against the message, keeping nothing.
    struct Checked {
        at: u64,
    }

    impl std::io::Write for Checked {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            check(buf, self.at);
            self.at += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// Gives "begun ", then fails.
    struct Failing {
        failed: bool,
    }

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.failed {
                return Err(std::io::Error::other("the pipe broke"));
            }
            self.failed = true;
            buf[..6].copy_from_slice(b"begun ");
            Ok(6)
        }
    }

    /// Fails after its first write.
    struct FullDisk {
        writes: usize,
    }

    impl std::io::Write for FullDisk {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.writes += 1;
            match self.writes {
                1 => Ok(buf.len()),
                _ => Err(std::io::Error::other("no space left")),
            }
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn blocking_client_reports_a_failing_reader_and_writer_as_copy_errors_and_reads_on() {
        let _one = ONE_AT_A_TIME
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut socket = ws::accept(stream).unwrap();
            socket
                .send_fragment(MessageKind::Text, b"one ", false)
                .unwrap();
            socket
                .send_fragment(MessageKind::Text, b"two ", false)
                .unwrap();
            socket
                .send_fragment(MessageKind::Text, b"three", true)
                .unwrap();
            socket.send(Message::text("after")).unwrap();
            let received = socket.read().unwrap();
            while socket.recv().is_some() {}
            received
        });
        let (mut socket, _) = ws::connect(format!("ws://127.0.0.1:{port}/")).unwrap();
        let error = socket
            .read_into(&mut FullDisk { writes: 0 }, 1 << 20)
            .unwrap_err();
        assert!(matches!(&error, ws::Error::Copy(_)), "{error:?}");
        // The rest of that message is dropped; the next comes whole.
        assert_eq!(socket.read().unwrap(), Message::text("after"));
        let error = socket
            .send_from(MessageKind::Binary, &mut Failing { failed: false })
            .unwrap_err();
        assert!(matches!(&error, ws::Error::Copy(_)), "{error:?}");
        // The message is under way: no other goes out before it ends.
        let refused = socket.send(Message::text("refused")).unwrap_err();
        assert!(
            matches!(
                refused,
                ws::Error::Send(ws_toolkit::blocking::SendError::MessageInProgress)
            ),
            "{refused:?}"
        );
        socket
            .send_fragment(MessageKind::Binary, b"ended", true)
            .unwrap();
        socket.close(CloseCode::NORMAL, "").unwrap();
        assert_eq!(server.join().unwrap(), Message::binary(&b"begun ended"[..]));
    }

    /// A blocking socket belongs to one thread, so the echo takes turns:
    /// the client sends 1 GiB from a reader while the server reads it into
    /// a writer that checks it as it arrives; then the server sends 1 GiB
    /// from a reader and the client reads it the same way.
    #[test]
    fn blocking_client_sends_1_gib_from_a_reader_and_reads_1_gib_into_a_writer() {
        within_bounded_memory("blocking", || {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = std::thread::spawn(move || {
                let (stream, _) = listener.accept().unwrap();
                let mut socket = ws::accept(stream).unwrap();
                let (kind, size) = socket.read_into(&mut Checked { at: 0 }, u64::MAX).unwrap();
                assert_eq!((kind, size), (MessageKind::Binary, SIZE));
                let sent = socket
                    .send_from(MessageKind::Binary, &mut Generated { at: 0 })
                    .unwrap();
                assert_eq!(sent, SIZE);
                while let Some(message) = socket.recv() {
                    assert!(matches!(message, Ok(Message::Close(_))), "{message:?}");
                }
            });
            let (mut socket, _) = ws::connect(format!("ws://127.0.0.1:{port}/")).unwrap();
            let sent = socket
                .send_from(MessageKind::Binary, &mut Generated { at: 0 })
                .unwrap();
            assert_eq!(sent, SIZE);
            let (kind, size) = socket.read_into(&mut Checked { at: 0 }, u64::MAX).unwrap();
            assert_eq!((kind, size), (MessageKind::Binary, SIZE));
            socket.close(CloseCode::NORMAL, "").unwrap();
            server.join().unwrap();
        });
    }
}
