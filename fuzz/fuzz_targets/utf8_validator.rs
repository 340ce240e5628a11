//! The streaming validator agrees with std::str::from_utf8 for any split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ws_frame::Utf8Validator;

fuzz_target!(|data: &[u8]| {
    let Some((&cut_seed, bytes)) = data.split_first() else { return };
    let mut validator = Utf8Validator::new();
    let mut result = Ok(());
    let step = usize::from(cut_seed % 7) + 1;
    for piece in bytes.chunks(step) {
        result = validator.feed(piece);
        if result.is_err() {
            break;
        }
    }
    let result = result.and_then(|_| validator.finish());
    match std::str::from_utf8(bytes) {
        Ok(_) => assert!(result.is_ok()),
        Err(error) => assert_eq!(result.unwrap_err().position, error.valid_up_to() as u64),
    }
});
