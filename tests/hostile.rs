//! Hostile peers and faults over real loopback sockets: slowloris handshakes
//! and frames, oversized heads, frames and fragment floods, a deflate bomb, a
//! peer that stops reading, and peers that vanish mid-handshake, mid-frame
//! and mid-close. One set of scenarios (`tests/scenarios/hostile.rs`), run on
//! tokio (ws-tokio), async-std and smol (ws-async-std).

mod support;

mod on_tokio {
    use crate::support::tokio_rt as rt;
    include!("scenarios/hostile.rs");
}

mod on_async_std {
    use crate::support::async_std_rt as rt;
    include!("scenarios/hostile.rs");
}

mod on_smol {
    use crate::support::smol_rt as rt;
    include!("scenarios/hostile.rs");
}
