//! ws-proxy's pieces, client side: proxy URLs, the environment's choice,
//! the CONNECT exchange and the SOCKS5 exchange, each fed the answers a
//! proxy gives (whole, split, refused, malformed).

use ws_proxy::{
    HttpConnect, NoProxy, Proxy, ProxyEnv, ProxyError, ProxyKind, Socks5, Socks5Target, Step,
};

fn env(vars: &[(&str, &str)]) -> ProxyEnv {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    ProxyEnv::from_lookup(move |name| {
        vars.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    })
}

#[test]
fn client_reads_proxy_urls_with_default_ports_credentials_and_ipv6() {
    let http: Proxy = "http://proxy.corp:3128/".parse().unwrap();
    assert_eq!(
        (http.kind(), http.host(), http.port()),
        (ProxyKind::Http, "proxy.corp", 3128)
    );
    assert_eq!("http://p".parse::<Proxy>().unwrap().port(), 80);
    assert_eq!("socks5://p".parse::<Proxy>().unwrap().port(), 1080);
    let https: Proxy = "https://alice:pw@proxy.corp".parse().unwrap();
    assert_eq!((https.kind(), https.port()), (ProxyKind::Https, 443));
    assert!(https.uses_tls() && !http.uses_tls());
    assert_eq!(https.to_string(), "https://alice:***@proxy.corp:443");
    assert_eq!("p:8080".parse::<Proxy>().unwrap().kind(), ProxyKind::Http);
    let socks: Proxy = "SOCKS5H://u%3Aser:pa%25ss@[2001:db8::1]".parse().unwrap();
    assert_eq!(socks.kind(), ProxyKind::Socks5 { remote_dns: true });
    assert_eq!(socks.host(), "2001:db8::1");
    let credentials = socks.credentials().unwrap();
    assert_eq!(
        (credentials.username.as_str(), credentials.password.as_str()),
        ("u:ser", "pa%ss")
    );
    assert!(!format!("{socks:?} {credentials:?}").contains("pa%ss"));
    assert!("socks5://p".parse::<Proxy>().unwrap().resolves_locally());
    assert!(!"socks5h://p".parse::<Proxy>().unwrap().resolves_locally());
}

#[test]
fn client_refuses_proxy_urls_it_cannot_use_with_typed_errors_that_hide_the_password() {
    assert_eq!(
        "socks4://p:1080".parse::<Proxy>(),
        Err(ProxyError::UnsupportedScheme("socks4".into()))
    );
    for bad in [
        "http://",
        "http://:80",
        "http://p:99999",
        "http://[::1",
        "http://u:%zz@p",
    ] {
        let error = bad.parse::<Proxy>().unwrap_err();
        assert!(
            matches!(error, ProxyError::InvalidUrl { .. }),
            "{bad}: {error:?}"
        );
    }
    let error = "http://u:hunter2@p:notaport".parse::<Proxy>().unwrap_err();
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[test]
fn client_picks_the_scheme_specific_variable_then_https_or_http_then_all_proxy() {
    let all = env(&[
        ("WSS_PROXY", "http://wss:1"),
        ("https_proxy", "http://https:1"),
        ("HTTP_PROXY", "http://http:1"),
        ("ALL_PROXY", "socks5://all:1"),
    ]);
    let host = |env: &ProxyEnv, tls| {
        env.proxy_for("example.com", 443, tls)
            .unwrap()
            .unwrap()
            .host()
            .to_owned()
    };
    assert_eq!(host(&all, true), "wss");
    assert_eq!(host(&all, false), "http");
    let fallback = env(&[("all_proxy", "socks5h://all:1"), ("HTTPS_PROXY", "")]);
    assert_eq!(host(&fallback, true), "all");
    assert!(env(&[])
        .proxy_for("example.com", 443, true)
        .unwrap()
        .is_none());
    // Lower case first, as curl reads them.
    let both = env(&[
        ("ws_proxy", "http://lower:1"),
        ("WS_PROXY", "http://upper:1"),
    ]);
    assert_eq!(host(&both, false), "lower");
    let broken = env(&[("WS_PROXY", "ftp://p")]);
    assert!(broken.proxy_for("example.com", 80, false).is_err());
}

#[test]
fn client_bypasses_the_proxy_for_hosts_domains_addresses_networks_and_ports_in_no_proxy() {
    let no_proxy = NoProxy::parse(
        "example.com .corp.test,*.wild.test 192.168.1.7 10.0.0.0/8 [::1] fd00::/8 only.test:8443",
    );
    for (host, port) in [
        ("example.com", 443),
        ("www.example.com", 443),
        ("EXAMPLE.COM.", 80),
        ("a.corp.test", 1),
        ("corp.test", 1),
        ("x.wild.test", 1),
        ("192.168.1.7", 80),
        ("10.200.3.4", 80),
        ("::1", 80),
        ("[::1]", 80),
        ("fd12::5", 80),
        ("only.test", 8443),
    ] {
        assert!(no_proxy.matches(host, port), "{host}:{port}");
    }
    for (host, port) in [
        ("notexample.com", 443),
        ("example.com.evil", 443),
        ("192.168.1.8", 80),
        ("11.0.0.1", 80),
        ("::2", 80),
        ("only.test", 443),
    ] {
        assert!(!no_proxy.matches(host, port), "{host}:{port}");
    }
    assert!(NoProxy::parse("*").matches("anything", 1));
    assert!(!NoProxy::parse("").matches("anything", 1));
    let bypassed = env(&[("ALL_PROXY", "http://p:1"), ("no_proxy", "localhost")]);
    assert!(bypassed
        .proxy_for("localhost", 80, false)
        .unwrap()
        .is_none());
    assert!(bypassed
        .proxy_for("example.com", 80, false)
        .unwrap()
        .is_some());
}

#[test]
fn client_sends_connect_with_basic_credentials_and_accepts_any_2xx_split_anywhere() {
    let proxy: Proxy = "http://Aladdin:open%20sesame@p:3128".parse().unwrap();
    let connect = HttpConnect::new("::1", 9001, proxy.credentials());
    assert_eq!(
        connect.request(),
        b"CONNECT [::1]:9001 HTTP/1.1\r\nHost: [::1]:9001\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"
    );
    let answer = b"HTTP/1.0 200 Connection established\r\nProxy-Agent: test\r\n\r\n";
    for cut in 0..answer.len() {
        assert_eq!(
            connect.receive(&answer[..cut]).unwrap(),
            Step::NeedMore,
            "{cut}"
        );
    }
    assert_eq!(connect.receive(answer).unwrap(), Step::Done(answer.len()));
    let no_content = b"HTTP/1.1 204 No Content\r\n\r\n";
    assert_eq!(
        connect.receive(no_content).unwrap(),
        Step::Done(no_content.len())
    );
}

#[test]
fn client_reports_a_refused_connect_with_its_status_and_challenge_and_malformed_answers() {
    let connect = HttpConnect::new("example.com", 443, None);
    let refused = connect
        .receive(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"corp\"\r\n\r\n")
        .unwrap_err();
    assert_eq!(
        refused,
        ProxyError::Refused {
            status: 407,
            authenticate: Some("Basic realm=\"corp\"".into())
        }
    );
    assert!(refused.to_string().contains("407"));
    assert_eq!(
        connect
            .receive(b"HTTP/1.1 502 Bad Gateway\r\n\r\n")
            .unwrap_err(),
        ProxyError::Refused {
            status: 502,
            authenticate: None
        }
    );
    assert!(matches!(
        connect.receive(b"SSH-2.0-OpenSSH\r\n\r\n"),
        Err(ProxyError::Malformed(_))
    ));
    let mut endless = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
    endless.resize(ws_proxy::MAX_RESPONSE_BYTES + 10, b'a');
    assert_eq!(connect.receive(&endless), Err(ProxyError::ResponseTooLarge));
}

#[test]
fn client_runs_socks5_without_authentication_with_a_domain_and_with_an_address() {
    let mut socks = Socks5::new(Socks5Target::Domain("ws.test".into(), 9001), None).unwrap();
    assert_eq!(socks.greeting(), [5, 1, 0]);
    assert_eq!(socks.receive(&[5]).unwrap(), Step::NeedMore);
    let Step::Send(request) = socks.receive(&[5, 0]).unwrap() else {
        panic!("no CONNECT request")
    };
    assert_eq!(
        request,
        [5, 1, 0, 3, 7, b'w', b's', b'.', b't', b'e', b's', b't', 0x23, 0x29]
    );
    // A reply bound to a domain address, received in two pieces.
    let reply = [5, 0, 0, 3, 3, b'a', b'b', b'c', 0, 80];
    assert_eq!(socks.receive(&reply[..6]).unwrap(), Step::NeedMore);
    assert_eq!(socks.receive(&reply).unwrap(), Step::Done(reply.len()));
    assert!(socks.receive(&reply).is_err(), "the exchange is over");

    let address = "[2001:db8::2]:443".parse().unwrap();
    let mut socks = Socks5::new(Socks5Target::Address(address), None).unwrap();
    let Step::Send(request) = socks.receive(&[5, 0]).unwrap() else {
        panic!()
    };
    assert_eq!(request[..4], [5, 1, 0, 4]);
    assert_eq!(request.len(), 4 + 16 + 2);
    let mut reply = vec![5, 0, 0, 4];
    reply.extend_from_slice(&[0; 18]);
    assert_eq!(socks.receive(&reply).unwrap(), Step::Done(22));
}

#[test]
fn client_runs_socks5_with_username_and_password_and_reports_each_refusal() {
    let proxy: Proxy = "socks5h://user:pass@p".parse().unwrap();
    let target = || Socks5Target::Domain("ws.test".into(), 80);
    let mut socks = Socks5::new(target(), proxy.credentials()).unwrap();
    assert_eq!(socks.greeting(), [5, 2, 0, 2]);
    let Step::Send(auth) = socks.receive(&[5, 2]).unwrap() else {
        panic!()
    };
    assert_eq!(
        auth,
        [1, 4, b'u', b's', b'e', b'r', 4, b'p', b'a', b's', b's']
    );
    assert!(matches!(socks.receive(&[1, 0]).unwrap(), Step::Send(_)));
    assert_eq!(
        socks.receive(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]),
        Err(ProxyError::SocksReply { code: 5 })
    );

    let mut socks = Socks5::new(target(), proxy.credentials()).unwrap();
    socks.receive(&[5, 2]).unwrap();
    assert_eq!(
        socks.receive(&[1, 1]),
        Err(ProxyError::AuthenticationFailed)
    );

    let mut anonymous = Socks5::new(target(), None).unwrap();
    assert_eq!(
        anonymous.receive(&[5, 0xff]),
        Err(ProxyError::NoAcceptableMethod)
    );
    let mut anonymous = Socks5::new(target(), None).unwrap();
    assert_eq!(
        anonymous.receive(&[5, 2]),
        Err(ProxyError::NoAcceptableMethod)
    );
    let mut http_proxy = Socks5::new(target(), None).unwrap();
    assert!(matches!(
        http_proxy.receive(b"HT"),
        Err(ProxyError::Malformed(_))
    ));

    let long = "x".repeat(256);
    assert_eq!(
        Socks5::new(Socks5Target::Domain(long, 80), None).unwrap_err(),
        ProxyError::TooLong("the server's name")
    );
}
