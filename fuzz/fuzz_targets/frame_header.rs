//! The header decoder never panics, agrees with itself when fed in pieces,
//! and round-trips whatever it accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_frame::{Decode, FrameHeader, ReceiveRules, Role, MAX_HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, bytes)) = data.split_first() else { return };
    let role = if flags & 1 == 0 { Role::Server } else { Role::Client };
    let rules = ReceiveRules { role, allowed_rsv: flags & 0x70 };
    let whole = FrameHeader::decode(bytes, &rules);
    if let Ok(Decode::Complete((header, len))) = whole {
        assert!(len <= MAX_HEADER_LEN && len <= bytes.len());
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut out);
        assert_eq!(&out[..n], &bytes[..len], "accepted headers are minimal, so they re-encode exactly");
        for cut in 0..len {
            assert!(matches!(FrameHeader::decode(&bytes[..cut], &rules), Ok(Decode::NeedMore { .. }) | Err(_)));
        }
    }
});
