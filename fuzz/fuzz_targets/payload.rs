//! Any bytes as a decrypted payload: decoding must fail cleanly or round-trip byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sesame::format::codec;

fuzz_target!(|data: &[u8]| {
    if let Ok(vault) = codec::decode(data) {
        let again = codec::encode(&vault).expect("a decoded vault encodes");
        assert_eq!(&again[..], data);
    }
});
