// Published WebSocket vulnerabilities, replayed over loopback sockets against
// our server and client on each runtime. Included by `tests/hostile.rs`
// beside `scenarios/hostile.rs`, whose helpers (`within`, `REQUEST`,
// `serve_one`, `server_answer_to`, `client_frame`, ...) these use. Each test
// names its advisory and asserts the bound: bytes read, time taken, the
// status or close code sent. The heap bounds of the same classes are
// measured in `crates/ws-core/tests/advisories.rs`.

/// This thread's CPU time: the server below runs on the test's own thread
/// (the runtime's `block_on`), its trickling client on another.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to write.
    #[allow(unsafe_code)]
    let status = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0);
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

/// A raw client on its own thread that writes a request line and then one
/// header value of `len` bytes, 100 bytes per write (`TCP_NODELAY`, a
/// 4 KiB send buffer), until `len` or an error. Returns the bytes written
/// when the server's answer arrived, the bytes written in all, and the
/// answer's first line.
fn trickle_one_long_header(addr: SocketAddr, len: usize) -> (usize, usize, String) {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicUsize, Ordering};

    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_nodelay(true).unwrap();
    socket2::SockRef::from(&tcp)
        .set_send_buffer_size(4096)
        .unwrap();
    let written = Arc::new(AtomicUsize::new(0));
    let mut reader = tcp.try_clone().unwrap();
    let at_answer = written.clone();
    let answer = std::thread::spawn(move || {
        let mut first = [0u8; 64];
        let n = reader.read(&mut first).unwrap_or(0);
        let written = at_answer.load(Ordering::SeqCst);
        let line = String::from_utf8_lossy(&first[..n]);
        (written, line.lines().next().unwrap_or("").to_owned())
    });
    let mut total = 0;
    let prefix = b"GET / HTTP/1.1\r\nX-Long: ";
    let mut piece = [b'a'; 100];
    piece[..prefix.len()].copy_from_slice(prefix);
    while total < len && tcp.write_all(&piece).is_ok() {
        total += piece.len();
        written.store(total, Ordering::SeqCst);
        piece[..prefix.len()].fill(b'a');
    }
    drop(tcp);
    let (at_answer, line) = answer.join().unwrap();
    (at_answer, total, line)
}

/// A listener whose accepted sockets have a small receive buffer, so that a
/// writer cannot get far ahead of what the server has read.
async fn listen_with_small_receive_buffer() -> (rt::Listener, SocketAddr) {
    use std::os::fd::AsRawFd;

    let (listener, addr) = rt::listen().await;
    let size: libc::c_int = 4096;
    // SAFETY: the descriptor is the listener's own, open for this call; the
    // option's value is a c_int that lives across it.
    #[allow(unsafe_code)]
    let status = unsafe {
        libc::setsockopt(
            listener.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(status, 0);
    (listener, addr)
}

/// tungstenite CVE-2023-43669 (RUSTSEC-2023-0065): a very long header
/// trickled in small pieces made the handshake parse the head again from
/// its start on every read. A 20 MB header sent 100 bytes at a time is
/// refused with 431 once the head passes the 8 KiB limit: the server has
/// read at most the limit and one read more, and the client could write at
/// most that, the server's lingering read of 64 KiB and the two socket
/// buffers before the answer came and the connection was shut.
#[test]
fn server_refuses_a_20_mb_header_trickled_100_bytes_at_a_time_with_431_after_the_limit() {
    rt::run(async {
        let (listener, addr) = listen_with_small_receive_buffer().await;
        let served = rt::spawn(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            accept_with(tcp, &ServerConfig::default()).await
        });
        let client = std::thread::spawn(move || trickle_one_long_header(addr, 20_000_000));
        match within(30, served).await {
            Err(Error::Request(error)) => assert!(
                matches!(
                    *error,
                    ws_toolkit::handshake::RequestError::HeaderTooLarge { limit: 8192 }
                ),
                "{error:?}"
            ),
            other => panic!("{:?}", other.map(|_| "upgraded")),
        }
        let (at_answer, total, answer) = client.join().unwrap();
        eprintln!("20 MB trickled header: 431 after {at_answer} bytes written, {total} in all");
        assert_eq!(answer, "HTTP/1.1 431 Request Header Fields Too Large");
        assert!(
            at_answer <= 8192 + 1024 + (64 << 10) + (128 << 10),
            "the 431 came after {at_answer} bytes"
        );
        assert!(total < 1 << 20, "the client wrote {total} bytes");
    })
}

/// The server's CPU time for one trickled head of `len` bytes under a limit
/// of `len` (the head is refused with 431 just past it).
fn server_cpu_time_for_a_trickled_head(len: usize) -> Duration {
    rt::run(async move {
        let (listener, addr) = rt::listen().await;
        let client = std::thread::spawn(move || trickle_one_long_header(addr, len + 2048));
        let tcp = rt::accept_tcp(&listener).await.unwrap();
        let config = ServerConfig::default().handshake(
            ws_toolkit::handshake::ServerConfig::default()
                .limits(ws_toolkit::handshake::HeaderLimits::new(len, 64)),
        );
        let start = thread_cpu_time();
        let refused = within(60, accept_with(tcp, &config)).await;
        let spent = thread_cpu_time() - start;
        assert!(refused.is_err());
        client.join().unwrap();
        spent
    })
}

/// CVE-2023-43669 again, for time: with the header limit raised, a head
/// trickled 100 bytes at a time costs the server CPU time linear in its
/// length. 1 MiB costs about 10 times what 100 KiB does (parsing from the
/// start on each read would cost about 100 times); the bound is 35 times,
/// the least of three runs of each.
#[test]
fn server_parses_a_trickled_head_in_time_linear_in_its_length() {
    let least = |len| {
        (0..3)
            .map(|_| server_cpu_time_for_a_trickled_head(len))
            .min()
            .unwrap()
    };
    let short = least(100 << 10);
    let long = least(1 << 20);
    let ratio = long.as_secs_f64() / short.as_secs_f64().max(1e-6);
    eprintln!("trickled head: 100 KiB {short:?}, 1 MiB {long:?}, ratio {ratio:.1}");
    assert!(
        ratio < 35.0,
        "1 MiB took {long:?}, 100 KiB {short:?}: {ratio:.1} times"
    );
}

/// ws CVE-2024-37890: a request with more header fields than the limit
/// crashed the server. 2,000 fields get 431 under the default limit of 64,
/// and the handshake succeeds when the application raises the limit.
#[test]
fn server_refuses_2000_header_fields_with_431_and_accepts_them_under_a_raised_limit() {
    rt::run(async {
        let mut request = REQUEST.trim_end().to_owned();
        for i in 0..2000 {
            request.push_str(&format!("\r\nX-{i}: y"));
        }
        request.push_str("\r\n\r\n");
        for (limits, status) in [
            (ws_toolkit::handshake::HeaderLimits::default(), "431"),
            (
                ws_toolkit::handshake::HeaderLimits::new(64 << 10, 2100),
                "101",
            ),
        ] {
            let config = ServerConfig::default()
                .handshake(ws_toolkit::handshake::ServerConfig::default().limits(limits));
            let (addr, served) = serve_one(config).await;
            let mut tcp = rt::tcp_connect(addr).await;
            rt::write_raw(&mut tcp, request.as_bytes()).await;
            let head = within(10, read_head(&mut tcp)).await;
            assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{head}");
            drop(tcp);
            assert_eq!(within(10, served).await.is_ok(), status == "101");
        }
    })
}

/// ws CVE-2021-32640 and websocket-extensions CVE-2020-7662/7663: regular
/// expressions that backtracked on `Sec-WebSocket-Protocol` and
/// `Sec-WebSocket-Extensions` values. Each pathological value, nearly 1 MiB
/// under limits raised to 1 MiB, gets its answer (101, or 400 for an
/// extension header that does not parse) within the handshake timeout. The
/// parse times against values 10 times shorter are measured in
/// `crates/ws-handshake/tests/advisories.rs`.
#[test]
fn server_answers_pathological_protocol_and_extension_values_under_1_mib_limits() {
    rt::run(async {
        let n = 1 << 19;
        let cases = [
            (
                "Sec-WebSocket-Protocol",
                format!("b{}x", " ".repeat(n)),
                "101",
            ),
            ("Sec-WebSocket-Protocol", ",".repeat(n), "101"),
            (
                "Sec-WebSocket-Extensions",
                format!("permessage-deflate; a=\"{}", "\\x".repeat(n / 2)),
                "400",
            ),
            (
                "Sec-WebSocket-Extensions",
                format!("permessage-deflate{}", "; p=1".repeat(10_000)),
                "101",
            ),
            (
                "Sec-WebSocket-Extensions",
                format!("a{}", " ,".repeat(n / 2)),
                "101",
            ),
        ];
        for (name, value, status) in cases {
            let limits = ws_toolkit::handshake::HeaderLimits::new(1 << 20, 64);
            let config = ServerConfig::default().handshake(
                ws_toolkit::handshake::ServerConfig::default()
                    .limits(limits)
                    .subprotocols(["chat"])
                    .deflate(DeflateParams::default()),
            );
            let (addr, served) = serve_one(config).await;
            let mut tcp = rt::tcp_connect(addr).await;
            let request = format!(
                "{}{name}: {value}\r\n\r\n",
                REQUEST.strip_suffix("\r\n").unwrap()
            );
            rt::write_raw(&mut tcp, request.as_bytes()).await;
            let head = within(10, read_head(&mut tcp)).await;
            assert!(
                head.starts_with(&format!("HTTP/1.1 {status}")),
                "{name}: {}",
                &head[..head.len().min(200)]
            );
            drop(tcp);
            let _ = within(10, served).await;
        }
    })
}

/// actix-extras #651: zero-byte continuation frames were not counted, so a
/// peer could send them for ever. Over a socket, 5,000 empty continuations
/// after an unfinished text frame fail the connection with 1009 once they
/// pass `max_fragments` (1,000 here).
#[test]
fn server_counts_zero_byte_continuations_toward_max_fragments_over_a_socket() {
    rt::run(async {
        let config = ServerConfig::default().connection(Config::default().max_fragments(1000));
        let mut flood = client_frame(0x01, b"");
        for _ in 0..5000 {
            flood.extend_from_slice(&client_frame(0x00, b""));
        }
        let (first, close_code) = server_answer_to(config, &flood).await;
        assert!(
            matches!(
                first,
                Some(Err(Error::Protocol(ProtocolError::TooManyFragments {
                    limit: 1000
                })))
            ),
            "{first:?}"
        );
        assert_eq!(close_code, Some(1009));
    })
}

fn every_limit_lifted() -> Config {
    Config::default()
        .max_frame_size(usize::MAX)
        .max_message_size(usize::MAX)
        .max_fragments(usize::MAX)
        .max_buffered_output(usize::MAX)
}

/// gorilla/websocket CVE-2020-27813: lengths near the top of the 64-bit
/// range overflowed. With every limit at `usize::MAX`, `u64::MAX` (the top
/// bit set) fails the connection with 1002; `i64::MAX` is legal and is
/// waited for: a megabyte of it arrives, then the peer closes the socket,
/// which is an unexpected end (1006), not a panic or an allocation.
#[test]
fn server_with_every_limit_lifted_takes_lengths_near_u64_max_with_typed_errors() {
    rt::run(async {
        let config = ServerConfig::default().connection(every_limit_lifted());
        let (first, close_code) =
            server_answer_to(config.clone(), &long_header(u64::MAX, true)).await;
        assert!(
            matches!(first, Some(Err(Error::Protocol(ProtocolError::Frame(_))))),
            "{first:?}"
        );
        assert_eq!(close_code, Some(1002));

        let (addr, served) = serve_one(config).await;
        let mut tcp = raw_client(addr).await;
        rt::write_raw(&mut tcp, &long_header(i64::MAX as u64, true)).await;
        for _ in 0..16 {
            rt::write_raw(&mut tcp, &[0u8; 64 << 10]).await;
        }
        drop(tcp);
        let first = within(10, served).await.unwrap();
        assert!(
            matches!(
                first,
                Some(Err(Error::Protocol(ProtocolError::UnexpectedEof))) | Some(Err(Error::Io(_)))
            ),
            "{first:?}"
        );
    })
}

/// tokio-websockets PR 68: a zero limit or frame size panicked (a division
/// by a zero fragment size, an empty buffer). Every size setting at zero,
/// on both sides: the empty message goes through, a non-empty one is
/// refused with a typed error, and nothing panics or hangs.
#[test]
fn server_and_client_with_every_size_setting_zero_refuse_non_empty_messages_with_typed_errors() {
    rt::run(async {
        let zero = Config::default()
            .max_frame_size(0)
            .max_message_size(0)
            .max_fragments(0)
            .max_buffered_output(0)
            .fragment_size(Some(0))
            .compression_threshold(0)
            .compression_level(0);
        let (listener, addr) = rt::listen().await;
        let server_config = ServerConfig::default().connection(zero.clone());
        let served = rt::spawn(async move {
            let tcp = rt::accept_tcp(&listener).await.unwrap();
            let mut socket = accept_with(tcp, &server_config).await.unwrap();
            let first = socket.next().await;
            if let Some(Ok(message)) = &first {
                socket.send(message.clone()).await.unwrap();
            }
            let second = socket.next().await;
            while socket.next().await.is_some() {}
            (first, second)
        });
        let config = ClientConfig::default().connection(zero);
        let (mut client, _) = within(10, connect_with_config(format!("ws://{addr}/"), &config))
            .await
            .unwrap();
        client.send(Message::binary(Vec::new())).await.unwrap();
        assert_eq!(
            within(10, client.next()).await.unwrap().unwrap(),
            Message::binary(Vec::new())
        );
        // One byte: our client sends it in one-byte frames (a zero fragment
        // size is one byte); the server refuses the message with 1009.
        client.send(Message::binary(vec![7u8])).await.unwrap();
        let closing = within(10, client.next()).await;
        assert!(
            matches!(
                &closing,
                Some(Ok(Message::Close(Some(frame)))) if frame.code == CloseCode::MESSAGE_TOO_BIG
            ),
            "{closing:?}"
        );
        // Read on to the end: the server that failed lingers until we end.
        while within(10, client.next()).await.is_some() {}
        drop(client);
        let (first, second) = within(10, served).await;
        assert_eq!(first.unwrap().unwrap(), Message::binary(Vec::new()));
        assert!(
            matches!(second, Some(Err(Error::Protocol(_)))),
            "{second:?}"
        );
    })
}
