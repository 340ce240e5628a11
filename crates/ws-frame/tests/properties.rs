//! Property tests: header round trips, byte-at-a-time decoding, and the
//! streaming UTF-8 validator against `std::str::from_utf8`.

use proptest::prelude::*;
use ws_frame::{Decode, FrameHeader, OpCode, ReceiveRules, Role, Utf8Validator, MAX_HEADER_LEN};

fn opcode() -> impl Strategy<Value = OpCode> {
    prop_oneof![
        Just(OpCode::Continuation),
        Just(OpCode::Text),
        Just(OpCode::Binary),
        Just(OpCode::Close),
        Just(OpCode::Ping),
        Just(OpCode::Pong),
    ]
}

/// Every header a conforming sender can produce.
fn valid_header() -> impl Strategy<Value = FrameHeader> {
    (
        opcode(),
        any::<bool>(),
        any::<[bool; 3]>(),
        any::<Option<[u8; 4]>>(),
        0u32..4,
        any::<u64>(),
    )
        .prop_map(|(opcode, fin, rsv, mask, length_class, raw_len)| {
            let payload_len = if opcode.is_control() {
                raw_len % 126
            } else {
                match length_class {
                    0 => raw_len % 126,
                    1 => 126 + raw_len % (65536 - 126),
                    2 => 65536 + raw_len % (1 << 40),
                    _ => raw_len & !(1 << 63),
                }
            };
            FrameHeader {
                fin: fin || opcode.is_control(),
                rsv1: rsv[0],
                rsv2: rsv[1],
                rsv3: rsv[2],
                opcode,
                mask,
                payload_len,
            }
        })
}

fn rules_for(header: &FrameHeader) -> ReceiveRules {
    let role = if header.mask.is_some() {
        Role::Server
    } else {
        Role::Client
    };
    ReceiveRules {
        role,
        allowed_rsv: 0x70,
    }
}

proptest! {
    #[test]
    fn encode_then_decode_round_trips(header in valid_header()) {
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut out);
        prop_assert_eq!(n, header.encoded_len());
        let decoded = FrameHeader::decode(&out[..n], &rules_for(&header)).unwrap();
        prop_assert_eq!(decoded, Decode::Complete((header, n)));
    }

    #[test]
    fn decoding_a_growing_prefix_needs_more_until_complete(header in valid_header()) {
        let mut out = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut out);
        let rules = rules_for(&header);
        for len in 0..n {
            match FrameHeader::decode(&out[..len], &rules).unwrap() {
                Decode::NeedMore { needed } => prop_assert!(needed > len && needed <= n),
                Decode::Complete(_) => prop_assert!(false, "complete at {} of {}", len, n),
            }
        }
        prop_assert_eq!(FrameHeader::decode(&out[..n], &rules).unwrap(), Decode::Complete((header, n)));
    }

    #[test]
    fn arbitrary_bytes_decode_the_same_fed_one_at_a_time(bytes in proptest::collection::vec(any::<u8>(), 0..16), server in any::<bool>()) {
        let rules = ReceiveRules::new(if server { Role::Server } else { Role::Client });
        let whole = FrameHeader::decode(&bytes, &rules);
        // Feed a growing prefix until the decoder stops asking for more.
        let mut result = FrameHeader::decode(&[], &rules);
        for len in 0..=bytes.len() {
            result = FrameHeader::decode(&bytes[..len], &rules);
            if !matches!(result, Ok(Decode::NeedMore { .. })) {
                break;
            }
        }
        prop_assert_eq!(result, whole);
    }

    #[test]
    fn streaming_utf8_agrees_with_std(bytes in utf8_heavy_bytes(), cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6)) {
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        points.sort_unstable();
        let mut validator = Utf8Validator::new();
        let mut start = 0;
        let mut streamed = Ok(());
        for point in points.into_iter().chain([bytes.len()]) {
            streamed = validator.feed(&bytes[start..point]);
            if streamed.is_err() {
                break;
            }
            start = point;
        }
        let streamed = streamed.and_then(|_| validator.finish());
        match std::str::from_utf8(&bytes) {
            Ok(_) => prop_assert!(streamed.is_ok()),
            Err(error) => {
                let position = streamed.expect_err("std rejects these bytes").position;
                prop_assert_eq!(position, error.valid_up_to() as u64);
            }
        }
    }

    #[test]
    fn streaming_utf8_fails_in_the_piece_holding_the_bad_byte(prefix in "\\PC{0,20}", bad in 0x80u8..=0xbf, suffix in proptest::collection::vec(any::<u8>(), 0..8)) {
        // A lone continuation byte is invalid the moment it is seen.
        let mut validator = Utf8Validator::new();
        validator.feed(prefix.as_bytes()).unwrap();
        let mut piece = vec![bad];
        piece.extend_from_slice(&suffix);
        let error = validator.feed(&piece).unwrap_err();
        prop_assert_eq!(error.position, prefix.len() as u64);
    }
}

/// Mostly valid text with random damage, so both outcomes are common.
fn utf8_heavy_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "\\PC{0,40}".prop_map(String::into_bytes),
        ("\\PC{0,20}", any::<u8>(), "\\PC{0,20}").prop_map(|(a, b, c)| {
            let mut v = a.into_bytes();
            v.push(b);
            v.extend_from_slice(c.as_bytes());
            v
        }),
        proptest::collection::vec(any::<u8>(), 0..40),
    ]
}
