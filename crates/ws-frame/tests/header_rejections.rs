//! Every rule a received header can break, each with the exact error.

use ws_frame::{CloseCode, Decode, FrameError, FrameHeader, ReceiveRules, Role};

fn decode_as(role: Role, bytes: &[u8]) -> Result<Decode<(FrameHeader, usize)>, FrameError> {
    FrameHeader::decode(bytes, &ReceiveRules::new(role))
}

#[test]
fn receiver_rejects_reserved_bits_without_an_extension() {
    for (byte, bits) in [(0xc1, 0x40), (0xa1, 0x20), (0x91, 0x10), (0xf1, 0x70)] {
        assert_eq!(
            decode_as(Role::Client, &[byte, 0x00]),
            Err(FrameError::ReservedBits(bits))
        );
    }
}

#[test]
fn receiver_accepts_rsv1_once_an_extension_negotiated_it() {
    let rules = ReceiveRules {
        role: Role::Client,
        allowed_rsv: 0x40,
    };
    let Ok(Decode::Complete((header, 2))) = FrameHeader::decode(&[0xc1, 0x00], &rules) else {
        panic!("rsv1 allowed");
    };
    assert!(header.rsv1);
    assert_eq!(
        FrameHeader::decode(&[0xe1, 0x00], &rules),
        Err(FrameError::ReservedBits(0x20))
    );
}

#[test]
fn receiver_rejects_every_reserved_opcode() {
    for opcode in (3..=7).chain(11..=15) {
        assert_eq!(
            decode_as(Role::Client, &[0x80 | opcode, 0x00]),
            Err(FrameError::ReservedOpcode(opcode))
        );
    }
}

#[test]
fn receiver_rejects_control_frame_longer_than_125() {
    // Ping with length 126 (16-bit form): rejected from the second byte alone.
    assert_eq!(
        decode_as(Role::Client, &[0x89, 0x7e]),
        Err(FrameError::ControlFrameTooLong(126))
    );
    assert_eq!(
        decode_as(Role::Client, &[0x88, 0x7f]),
        Err(FrameError::ControlFrameTooLong(127))
    );
    assert!(matches!(
        decode_as(Role::Client, &[0x8a, 0x7d]),
        Ok(Decode::Complete(_))
    ));
}

#[test]
fn receiver_rejects_fragmented_control_frame() {
    for opcode in [0x8, 0x9, 0xa] {
        assert_eq!(
            decode_as(Role::Client, &[opcode, 0x00]),
            Err(FrameError::FragmentedControlFrame)
        );
    }
}

#[test]
fn receiver_rejects_64_bit_length_with_top_bit_set() {
    let bytes = [0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        decode_as(Role::Client, &bytes),
        Err(FrameError::LengthTopBitSet)
    );
}

#[test]
fn receiver_rejects_non_minimal_lengths() {
    assert_eq!(
        decode_as(Role::Client, &[0x82, 0x7e, 0x00, 0x7d]),
        Err(FrameError::NonMinimalLength)
    );
    let bytes = [0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff];
    assert_eq!(
        decode_as(Role::Client, &bytes),
        Err(FrameError::NonMinimalLength)
    );
}

#[test]
fn server_rejects_unmasked_frame() {
    assert_eq!(
        decode_as(Role::Server, &[0x81, 0x00]),
        Err(FrameError::UnmaskedFrame)
    );
}

#[test]
fn client_rejects_masked_frame() {
    assert_eq!(
        decode_as(Role::Client, &[0x81, 0x80, 1, 2, 3, 4]),
        Err(FrameError::MaskedFrame)
    );
}

#[test]
fn every_header_error_maps_to_protocol_error() {
    let errors = [
        FrameError::ReservedBits(0x40),
        FrameError::ReservedOpcode(3),
        FrameError::ControlFrameTooLong(126),
        FrameError::FragmentedControlFrame,
        FrameError::LengthTopBitSet,
        FrameError::NonMinimalLength,
        FrameError::UnmaskedFrame,
        FrameError::MaskedFrame,
    ];
    for error in errors {
        assert_eq!(error.close_code(), CloseCode::PROTOCOL_ERROR);
        assert!(!error.to_string().is_empty());
    }
}
