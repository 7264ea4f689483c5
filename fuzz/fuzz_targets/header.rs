//! Any bytes as a vault file: the parser (and every known slot kind's check) must return an error
//! or a header that re-encodes to the exact bytes it was parsed from (canonical input only).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sesame::container::inspect;
use sesame::format::write::encode_header;

fuzz_target!(|data: &[u8]| {
    if let Ok(parsed) = inspect(data, std::path::Path::new("fuzz")) {
        assert_eq!(encode_header(&parsed.header), parsed.header_bytes);
    }
});
