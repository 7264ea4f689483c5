//! Any bytes as a vault file: the parser must return an error or a header that re-encodes to the
//! exact bytes it was parsed from (canonical input only).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sesame::format::read::parse_file;
use sesame::format::write::encode_header;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = parse_file(data) {
        assert_eq!(encode_header(&parsed.header), parsed.header_bytes);
    }
});
