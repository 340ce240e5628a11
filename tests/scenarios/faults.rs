// Faults of the network itself rather than of a hostile peer, on loopback
// sockets, our side in the server role and in the client role. Included by
// `tests/hostile.rs` beside `scenarios/hostile.rs`, whose helpers (`within`,
// `REQUEST`, `raw_client`, `read_head`, `response_to`, `client_frame`,
// `close_code_sent_to`) these use.
//
// - a connection reset (RST: `SO_LINGER` 0, then close) mid-frame and
//   mid-handshake;
// - a peer that goes silent without FIN or RST, found by keepalive;
// - a TLS peer that ends TCP without `close_notify`;
// - the kernel's send buffer full with `write_timeout` off: the memory held
//   stays at `max_buffered_output`.

/// Closes `tcp` with a reset (RST) instead of a FIN: `SO_LINGER` with a zero
/// timeout makes the kernel drop what is unsent and reset the connection.
fn reset(tcp: rt::Tcp) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    set_socket_option(&tcp, libc::SO_LINGER, &linger);
    drop(tcp);
}

/// Sets a `SOL_SOCKET` option of `tcp` (async-std's streams have no
/// socket2 view, so this goes to setsockopt directly).
fn set_socket_option<T>(tcp: &rt::Tcp, name: libc::c_int, value: &T) {
    use std::os::fd::AsRawFd;
    // SAFETY: the descriptor is open (`tcp` owns it) and `value` is a valid
    // `T` of the size passed, the type the option takes.
    #[allow(unsafe_code)]
    let status = unsafe {
        libc::setsockopt(
            tcp.as_raw_fd(),
            libc::SOL_SOCKET,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    assert_eq!(status, 0, "{}", std::io::Error::last_os_error());
}

/// Whether `error` is the typed form of a reset transport.
fn is_reset(error: &Error) -> bool {
    matches!(error, Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionReset)
}

#[test]
fn server_reports_a_reset_mid_frame_as_connection_reset_and_ends_unclean() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let served = rt::spawn(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            let mut socket = accept_with(tcp, &ServerConfig::default()).await.unwrap();
            let mut seen = Vec::new();
            while let Some(item) = socket.next().await {
                seen.push(item);
            }
            (seen, socket.closed().cloned())
        });
        let mut tcp = raw_client(addr).await;
        let mut bytes = client_frame(0x81, b"accepted");
        bytes.extend_from_slice(&client_frame(0x81, b"0123456789")[..9]);
        rt::write_raw(&mut tcp, &bytes).await;
        // Let the server read both before the reset arrives.
        rt::sleep(Duration::from_millis(100)).await;
        reset(tcp);
        let (seen, closed) = within(10, served).await;
        // The message accepted before the reset is delivered, then the reset.
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0].as_ref().unwrap(), &Message::text("accepted"));
        assert!(is_reset(seen[1].as_ref().unwrap_err()), "{:?}", seen[1]);
        let closed = closed.expect("closed after the stream ended");
        assert_eq!(closed.code, CloseCode::ABNORMAL);
        assert!(!closed.clean);
    })
}

#[test]
fn server_reports_a_reset_mid_handshake_as_a_typed_error() {
    rt::run(async {
        let (addr, served) = serve_one(ServerConfig::default()).await;
        let mut tcp = rt::tcp_connect(addr).await;
        rt::write_raw(&mut tcp, &REQUEST.as_bytes()[..40]).await;
        rt::sleep(Duration::from_millis(100)).await;
        reset(tcp);
        let result = within(10, served).await;
        match result {
            Err(error) => assert!(
                is_reset(&error) || matches!(error, Error::HandshakeEof),
                "{error:?}"
            ),
            Ok(first) => panic!("a handshake cut short was accepted: {first:?}"),
        }
    })
}

#[test]
fn client_reports_a_reset_mid_frame_as_connection_reset_and_ends_unclean() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        rt::detach(async move {
            let Some(mut tcp) = rt::accept_tcp(&listener).await else {
                return;
            };
            let head = read_head(&mut tcp).await;
            rt::write_raw(&mut tcp, response_to(&head).as_bytes()).await;
            rt::write_raw(&mut tcp, &[0x81, 8, b'a', b'c', b'c', b'e', b'p', b't']).await;
            rt::write_raw(&mut tcp, b"ed").await;
            rt::write_raw(&mut tcp, &[0x81, 10, b'h', b'a']).await;
            rt::sleep(Duration::from_millis(100)).await;
            reset(tcp);
        });
        let (mut socket, _) = within(
            10,
            connect_with_config(format!("ws://{addr}/"), &ClientConfig::default()),
        )
        .await
        .unwrap();
        let first = within(10, socket.next()).await.unwrap().unwrap();
        assert_eq!(first, Message::text("accepted"));
        let second = within(10, socket.next()).await.unwrap();
        assert!(is_reset(second.as_ref().unwrap_err()), "{second:?}");
        assert!(within(10, socket.next()).await.is_none());
        let closed = socket.closed().unwrap();
        assert_eq!(closed.code, CloseCode::ABNORMAL);
        assert!(!closed.clean);
    })
}

#[test]
fn client_reports_a_reset_mid_handshake_as_a_typed_error() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        rt::detach(async move {
            let Some(mut tcp) = rt::accept_tcp(&listener).await else {
                return;
            };
            let head = read_head(&mut tcp).await;
            let response = response_to(&head);
            rt::write_raw(&mut tcp, &response.as_bytes()[..30]).await;
            rt::sleep(Duration::from_millis(100)).await;
            reset(tcp);
        });
        let result = within(
            10,
            connect_with_config(format!("ws://{addr}/"), &ClientConfig::default()),
        )
        .await;
        match result {
            Err(error) => assert!(
                is_reset(&error) || matches!(error, Error::HandshakeEof),
                "{error:?}"
            ),
            Ok(_) => panic!("a response cut short was accepted"),
        }
    })
}

const KEEPALIVE_INTERVAL: Duration = Duration::from_millis(300);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_millis(300);

fn keepalive() -> Config {
    Config::default().keepalive(KEEPALIVE_INTERVAL, KEEPALIVE_TIMEOUT)
}

/// Checks a keepalive detection time: no sooner than the interval and the
/// timeout, and within them plus scheduling slack (a shared 2-core machine).
fn assert_detected_in_time(elapsed: Duration) {
    let bound = KEEPALIVE_INTERVAL + KEEPALIVE_TIMEOUT;
    println!("silent peer detected after {elapsed:?} (interval + timeout = {bound:?})");
    assert!(elapsed >= bound - Duration::from_millis(20), "{elapsed:?}");
    assert!(elapsed <= bound + Duration::from_secs(2), "{elapsed:?}");
}

/// A peer that goes silent, neither reading nor writing nor closing (its
/// packets might as well be dropped on the way): the server's keepalive
/// ping goes unanswered and the connection is failed with 1011 after
/// `keepalive_interval + keepalive_timeout`.
#[test]
fn server_keepalive_detects_a_silent_client_within_interval_plus_timeout() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let served = rt::spawn(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            let config = ServerConfig::default().connection(keepalive());
            let mut socket = accept_with(tcp, &config).await.unwrap();
            let started = std::time::Instant::now();
            let first = socket.next().await;
            while socket.next().await.is_some() {}
            (first, started.elapsed())
        });
        let mut silent = raw_client(addr).await;
        let (first, elapsed) = within(10, served).await;
        assert!(
            matches!(
                first,
                Some(Err(Error::Protocol(ProtocolError::KeepaliveTimeout)))
            ),
            "{first:?}"
        );
        assert_detected_in_time(elapsed);
        // What the silent peer would have read: the ping, then 1011.
        let data = within(10, rt::read_until_closed(&mut silent)).await;
        assert_eq!(data[0], 0x89, "{data:?}");
        let close = 2 + (data[1] & 0x7f) as usize;
        assert_eq!(data[close], 0x88, "{data:?}");
        assert_eq!(data[close + 2..close + 4], 1011u16.to_be_bytes());
    })
}

#[test]
fn client_keepalive_detects_a_silent_server_within_interval_plus_timeout() {
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let silent = rt::spawn(async move {
            let mut tcp = rt::accept_tcp(&listener).await.unwrap();
            let head = read_head(&mut tcp).await;
            rt::write_raw(&mut tcp, response_to(&head).as_bytes()).await;
            // Silent from here on: keep the socket, read nothing until the
            // client has given up, then look at what it sent.
            tcp
        });
        let config = ClientConfig::default().connection(keepalive());
        let (mut socket, _) = within(10, connect_with_config(format!("ws://{addr}/"), &config))
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let first = within(10, socket.next()).await;
        let elapsed = started.elapsed();
        assert!(
            matches!(
                first,
                Some(Err(Error::Protocol(ProtocolError::KeepaliveTimeout)))
            ),
            "{first:?}"
        );
        assert_detected_in_time(elapsed);
        assert!(within(10, socket.next()).await.is_none());
        assert_eq!(socket.closed().unwrap().code, CloseCode::ABNORMAL);
        let mut tcp = within(10, silent).await;
        // The client's frames are masked: a ping (0x89), then a close.
        let mut first_byte = [0u8; 1];
        assert_eq!(rt::read_some(&mut tcp, &mut first_byte).await, 1);
        assert_eq!(first_byte[0], 0x89);
    })
}

/// A TLS peer that ends TCP without sending `close_notify` (RFC 8446
/// section 6.1) has cut the stream short, possibly in the middle of what it
/// meant to send: the server reports a typed `UnexpectedEof` from TLS, not a
/// clean end, and not a message made of what came before the cut.
#[test]
fn server_reports_a_tls_client_that_ends_without_close_notify_as_truncation() {
    rt::run(async {
        let (server_tls, client_tls) = crate::support::self_signed_tls();
        let (listener, addr) = rt::listen().await;
        let served = rt::spawn(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            let tls = rt::tls_accept(server_tls, tcp).await.unwrap();
            let mut socket = accept_with(tls, &ServerConfig::default()).await.unwrap();
            let mut seen = Vec::new();
            while let Some(item) = socket.next().await {
                seen.push(item);
            }
            (seen, socket.closed().cloned())
        });
        let tls = rt::tls_connect(client_tls.clone(), rt::tcp_connect(addr).await).await;
        let url = format!("wss://localhost:{}/", addr.port());
        let config = ClientConfig::default().tls(client_tls);
        let (mut socket, _) = within(10, connect_with(tls, url, &config)).await.unwrap();
        socket.send(Message::text("before the cut")).await.unwrap();
        // Dropped without `close` or TLS shutdown: TCP's FIN, no close_notify.
        drop(socket);
        let (seen, closed) = within(10, served).await;
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(seen[0].as_ref().unwrap(), &Message::text("before the cut"));
        assert!(
            matches!(
                seen[1].as_ref().unwrap_err(),
                Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof
            ),
            "{:?}",
            seen[1]
        );
        assert!(!closed.unwrap().clean);
    })
}

#[test]
fn client_reports_a_tls_server_that_ends_without_close_notify_as_truncation() {
    rt::run(async {
        let (server_tls, client_tls) = crate::support::self_signed_tls();
        let (listener, addr) = rt::listen().await;
        rt::detach(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            let tls = rt::tls_accept(server_tls, tcp).await.unwrap();
            let mut socket = accept_with(tls, &ServerConfig::default()).await.unwrap();
            socket.send(Message::text("before the cut")).await.unwrap();
            drop(socket);
        });
        let tls = rt::tls_connect(client_tls.clone(), rt::tcp_connect(addr).await).await;
        let url = format!("wss://localhost:{}/", addr.port());
        let config = ClientConfig::default().tls(client_tls);
        let (mut socket, _) = within(10, connect_with(tls, url, &config)).await.unwrap();
        let first = within(10, socket.next()).await.unwrap().unwrap();
        assert_eq!(first, Message::text("before the cut"));
        let second = within(10, socket.next()).await.unwrap();
        assert!(
            matches!(
                second.as_ref().unwrap_err(),
                Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof
            ),
            "{second:?}"
        );
        assert!(within(10, socket.next()).await.is_none());
        assert!(!socket.closed().unwrap().clean);
    })
}

/// The kernel's send buffer full and staying full (the peer holds the
/// connection open and reads nothing), with `write_timeout` off so that
/// nothing gives up: what the socket holds stays at `max_buffered_output`.
/// `try_send` refuses with `BufferFull` once it is reached, `send` waits
/// (a `send` cut short by a timeout may leave its own message queued), and
/// what is queued never passes the limit plus one message while the peer
/// stalls. (A `send` used to fail with `BufferFull` here, non-fatally, when
/// the output was just under the limit and the message did not fit: the
/// limit is now the same soft one for `send`'s wait and the queue.)
#[test]
fn server_output_stays_at_max_buffered_output_while_the_send_buffer_stays_full() {
    const LIMIT: usize = 256 << 10;
    const MESSAGE: usize = 16 << 10;
    rt::run(async {
        let (listener, addr) = rt::listen().await;
        let served = rt::spawn(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            // A send buffer of a fixed small size: the kernel does not grow
            // it while the test runs, so that "full" stays full.
            set_socket_option(&tcp, libc::SO_SNDBUF, &(4096 as libc::c_int));
            let config = ServerConfig::default().connection(
                Config::default()
                    .write_timeout(None)
                    .max_buffered_output(LIMIT),
            );
            let mut socket = accept_with(tcp, &config).await.unwrap();
            // Fill the kernel's buffers and ours until try_send refuses.
            let mut accepted = 0usize;
            let refused = loop {
                match socket.try_send(Message::binary(vec![7u8; MESSAGE])) {
                    Ok(()) => accepted += 1,
                    Err(error) => break error,
                }
                if accepted % 64 == 0 {
                    // Let the runtime run the writes that try_send started.
                    rt::sleep(Duration::from_millis(1)).await;
                }
                assert!(accepted < 100_000, "try_send never refused");
            };
            let full_at = socket.buffered_amount();
            // Our queue is full; the kernel's buffers may still take some
            // (try_send's writes lag behind on smol): send until a send
            // waits, which it does once they are full too.
            let mut until_full = 0usize;
            while rt::timeout(
                Duration::from_millis(200),
                socket.send(Message::binary(vec![7u8; MESSAGE])),
            )
            .await
            .is_some_and(|sent| sent.is_ok())
            {
                until_full += 1;
                assert!(until_full < 10_000, "the kernel's buffers never filled");
            }
            println!("{until_full} more sends before the kernel's buffers were full");
            // While the peer stalls, samples of what is queued: try_send
            // keeps refusing and a send waits.
            let mut samples = Vec::new();
            for _ in 0..10 {
                let waited = rt::timeout(
                    Duration::from_millis(200),
                    socket.send(Message::binary(vec![7u8; MESSAGE])),
                )
                .await;
                assert!(waited.is_none(), "send did not wait: {waited:?}");
                samples.push(socket.buffered_amount());
            }
            (accepted, refused, full_at, samples)
        });
        // Completes the handshake, then reads nothing for the whole test.
        let stalled = raw_client(addr).await;
        let (accepted, refused, full_at, samples) = within(60, served).await;
        println!(
            "accepted {accepted} messages of {MESSAGE} B, then refused at {full_at} B queued; \
             queued while stalled: {samples:?}"
        );
        assert!(
            matches!(
                refused,
                Error::Send(ws_toolkit::core::SendError::BufferFull { .. })
            ),
            "{refused:?}"
        );
        assert!(full_at >= LIMIT, "{full_at}");
        for sample in samples {
            // A cancelled send left at most its own message queued.
            assert!(sample <= LIMIT + MESSAGE + 14, "{sample} bytes queued");
        }
        drop(stalled);
    })
}
