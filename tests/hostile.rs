//! Hostile peers and faults over real loopback sockets: slowloris handshakes
//! and frames, oversized heads, frames and fragment floods, a deflate bomb, a
//! peer that stops reading, and peers that vanish mid-handshake, mid-frame
//! and mid-close (`tests/scenarios/hostile.rs`); and the published
//! vulnerabilities of other WebSocket libraries, each replayed
//! (`tests/scenarios/advisories.rs`); and the network's own faults: resets,
//! silent peers, TLS truncation, a send buffer that stays full
//! (`tests/scenarios/faults.rs`). All three sets run on tokio (ws-tokio),
//! async-std and smol (ws-async-std).

mod support;

mod on_tokio {
    use crate::support::tokio_rt as rt;
    include!("scenarios/hostile.rs");
    include!("scenarios/advisories.rs");
    include!("scenarios/faults.rs");
}

mod on_async_std {
    use crate::support::async_std_rt as rt;
    include!("scenarios/hostile.rs");
    include!("scenarios/advisories.rs");
    include!("scenarios/faults.rs");
}

mod on_smol {
    use crate::support::smol_rt as rt;
    include!("scenarios/hostile.rs");
    include!("scenarios/advisories.rs");
    include!("scenarios/faults.rs");
}
