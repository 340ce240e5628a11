//! The byte-exact examples of RFC 6455 section 5.7, decoded and re-encoded.

use ws_frame::{apply_mask, Decode, FrameHeader, OpCode, ReceiveRules, Role, MAX_HEADER_LEN};

/// Decodes one whole frame as received by `receiver`, unmasking its payload.
fn decode_frame(bytes: &[u8], receiver: Role) -> (FrameHeader, Vec<u8>) {
    let Decode::Complete((header, header_len)) =
        FrameHeader::decode(bytes, &ReceiveRules::new(receiver)).unwrap()
    else {
        panic!("header incomplete");
    };
    let mut payload = bytes[header_len..].to_vec();
    assert_eq!(payload.len() as u64, header.payload_len);
    if let Some(key) = header.mask {
        apply_mask(&mut payload, key, 0);
    }
    (header, payload)
}

fn encode_frame(header: &FrameHeader, payload: &[u8]) -> Vec<u8> {
    let mut head = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut head);
    let mut out = head[..n].to_vec();
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = header.mask {
        apply_mask(&mut out[start..], key, 0);
    }
    out
}

#[test]
fn client_receives_single_frame_unmasked_text() {
    let bytes = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let (header, payload) = decode_frame(&bytes, Role::Client);
    assert!(header.fin);
    assert_eq!(header.opcode, OpCode::Text);
    assert_eq!(header.mask, None);
    assert_eq!(payload, b"Hello");
    assert_eq!(encode_frame(&header, &payload), bytes);
}

#[test]
fn server_receives_single_frame_masked_text() {
    let bytes = [
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let (header, payload) = decode_frame(&bytes, Role::Server);
    assert_eq!(header.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
    assert_eq!(payload, b"Hello");
    assert_eq!(encode_frame(&header, &payload), bytes);
}

#[test]
fn client_receives_fragmented_unmasked_text() {
    let first = [0x01, 0x03, 0x48, 0x65, 0x6c];
    let second = [0x80, 0x02, 0x6c, 0x6f];
    let (h1, p1) = decode_frame(&first, Role::Client);
    let (h2, p2) = decode_frame(&second, Role::Client);
    assert!(!h1.fin);
    assert_eq!(h1.opcode, OpCode::Text);
    assert!(h2.fin);
    assert_eq!(h2.opcode, OpCode::Continuation);
    assert_eq!([p1, p2].concat(), b"Hello");
    assert_eq!(encode_frame(&h1, b"Hel"), first);
    assert_eq!(encode_frame(&h2, b"lo"), second);
}

#[test]
fn unmasked_ping_and_masked_pong_carry_hello() {
    let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    let (header, payload) = decode_frame(&ping, Role::Client);
    assert_eq!(header.opcode, OpCode::Ping);
    assert_eq!(payload, b"Hello");
    assert_eq!(encode_frame(&header, &payload), ping);

    let pong = [
        0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let (header, payload) = decode_frame(&pong, Role::Server);
    assert_eq!(header.opcode, OpCode::Pong);
    assert_eq!(payload, b"Hello");
    assert_eq!(encode_frame(&header, &payload), pong);
}

#[test]
fn binary_256_bytes_uses_the_16_bit_length() {
    let header = FrameHeader::new(OpCode::Binary, 256);
    let mut out = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut out);
    assert_eq!(&out[..n], &[0x82, 0x7e, 0x01, 0x00]);
    let decoded = FrameHeader::decode(&out[..n], &ReceiveRules::new(Role::Client)).unwrap();
    assert_eq!(decoded, Decode::Complete((header, 4)));
}

#[test]
fn binary_64_kib_uses_the_64_bit_length() {
    let header = FrameHeader::new(OpCode::Binary, 65536);
    let mut out = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut out);
    assert_eq!(
        &out[..n],
        &[0x82, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00]
    );
    let decoded = FrameHeader::decode(&out[..n], &ReceiveRules::new(Role::Client)).unwrap();
    assert_eq!(decoded, Decode::Complete((header, 10)));
}
