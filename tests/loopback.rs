//! The adapters end to end over real loopback sockets: one set of scenarios
//! (`tests/scenarios/loopback.rs`) run on tokio (ws-tokio), on async-std and
//! on smol (ws-async-std).

mod support;

mod on_tokio {
    use crate::support::tokio_rt as rt;
    include!("scenarios/loopback.rs");
}

mod on_async_std {
    use crate::support::async_std_rt as rt;
    include!("scenarios/loopback.rs");
}

mod on_smol {
    use crate::support::smol_rt as rt;
    include!("scenarios/loopback.rs");
}
