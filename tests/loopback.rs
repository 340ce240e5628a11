//! The adapters end to end over real loopback sockets: one set of scenarios
//! (`tests/scenarios/loopback.rs`) run on tokio (ws-tokio), on async-std and
//! on smol (ws-async-std) over HTTP/1.1, with those only HTTP/1.1 has
//! (`tests/scenarios/loopback_http1.rs`), and on tokio as streams of HTTP/2
//! connections (RFC 8441: ws-hyper's server and `Http2Client`).

mod support;

mod on_tokio {
    use crate::support::tokio_rt as rt;
    include!("scenarios/loopback.rs");
    include!("scenarios/loopback_http1.rs");
}

mod on_async_std {
    use crate::support::async_std_rt as rt;
    include!("scenarios/loopback.rs");
    include!("scenarios/loopback_http1.rs");
}

mod on_smol {
    use crate::support::smol_rt as rt;
    include!("scenarios/loopback.rs");
    include!("scenarios/loopback_http1.rs");
}

mod on_http2 {
    use crate::support::http2_rt as rt;
    include!("scenarios/loopback.rs");
}
