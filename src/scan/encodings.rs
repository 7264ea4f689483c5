//! The forms a value is pasted in: as-is, JSON-escaped, URL-encoded and base64.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use zeroize::Zeroizing;

use super::Encoding;

/// The forms of `value` that are searched, each tagged with its encoding. Duplicates (a value
/// whose JSON form is itself) are removed later; every buffer zeroizes on drop.
pub(super) fn encodings(value: &[u8]) -> Vec<(Encoding, Zeroizing<Vec<u8>>)> {
    let mut out = vec![(Encoding::AsIs, Zeroizing::new(value.to_vec()))];
    for escape_slash in [false, true] {
        let json = json_escape(value, escape_slash);
        if *json != value {
            out.push((Encoding::Json, json));
        }
    }
    for plus_for_space in [false, true] {
        let url = percent_encode(value, plus_for_space);
        if *url != value {
            out.push((Encoding::Url, url));
        }
    }
    for offset in 0..3 {
        let standard = base64_core(value, offset, false);
        let url_safe = base64_core(value, offset, true);
        if url_safe != standard {
            out.push((Encoding::Base64Url, url_safe));
        }
        out.push((Encoding::Base64, standard));
    }
    out
}

/// `value` as it appears between the quotes of a JSON string written by a common encoder.
fn json_escape(value: &[u8], escape_slash: bool) -> Zeroizing<Vec<u8>> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 2));
    for &b in value {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' if escape_slash => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
            _ => out.push(b),
        }
    }
    out
}

/// RFC 3986 percent-encoding (unreserved bytes kept, upper-case hex); with `plus_for_space`, a
/// space is `+` as in `application/x-www-form-urlencoded`.
fn percent_encode(value: &[u8], plus_for_space: bool) -> Zeroizing<Vec<u8>> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() * 3));
    for &b in value {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => out.push(b),
            b' ' if plus_for_space => out.push(b'+'),
            _ => {
                out.push(b'%');
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
    }
    out
}

/// The base64 characters that depend on `value` alone when it starts `offset` (0, 1 or 2) bytes
/// into a 3-byte group of a longer base64 text: the characters that also hold bits of the bytes
/// before or after it are left off (at most 2 at each end; none at the start when `offset` is
/// 0). The three offsets together find the value wherever it sits in a base64 text, and offset
/// 0 finds it encoded alone, with or without `=` padding.
fn base64_core(value: &[u8], offset: usize, url_safe: bool) -> Zeroizing<Vec<u8>> {
    let mut input = Zeroizing::new(vec![0u8; offset]);
    input.extend_from_slice(value);
    let total_bits = 8 * input.len();
    let first = (8 * offset).div_ceil(6);
    let end = total_bits / 6;
    let mut encoded = Zeroizing::new(String::with_capacity(total_bits.div_ceil(6) + 4));
    let engine = if url_safe {
        URL_SAFE_NO_PAD
    } else {
        STANDARD_NO_PAD
    };
    engine.encode_string(input.as_slice(), &mut encoded);
    Zeroizing::new(
        encoded
            .as_bytes()
            .get(first..end)
            .unwrap_or_default()
            .to_vec(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core(value: &[u8], offset: usize) -> String {
        String::from_utf8(base64_core(value, offset, false).to_vec()).unwrap_or_default()
    }

    #[test]
    fn base64_cores_are_found_in_any_longer_base64_text_holding_the_value() {
        let value = b"sk-live-4f9a8b7c6d5e";
        for before in 0..6 {
            for after in 0..4 {
                let mut text = vec![b'x'; before];
                text.extend_from_slice(value);
                text.extend(std::iter::repeat_n(b'y', after));
                for engine in [STANDARD_NO_PAD, base64::engine::general_purpose::STANDARD] {
                    let encoded = engine.encode(&text);
                    let core = core(value, before % 3);
                    assert!(
                        encoded.contains(&core),
                        "offset {before}, {after} after: {core} not in {encoded}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_offset_0_core_is_the_whole_value_encoding_but_its_partial_last_character() {
        // 9 bytes: 12 characters, all whole.
        assert_eq!(core(b"123456789", 0), STANDARD_NO_PAD.encode(b"123456789"));
        // 10 bytes: 14 characters, the last holds 2 bits of the value and 4 of whatever follows.
        let full = STANDARD_NO_PAD.encode(b"1234567890");
        assert_eq!(core(b"1234567890", 0), full[..13]);
    }

    #[test]
    fn json_and_url_forms_escape_what_those_formats_escape() {
        let value = b"a\"b\\c/d e\n\x01";
        assert_eq!(
            json_escape(value, false).as_slice(),
            b"a\\\"b\\\\c/d e\\n\\u0001"
        );
        assert_eq!(
            json_escape(value, true).as_slice(),
            b"a\\\"b\\\\c\\/d e\\n\\u0001"
        );
        assert_eq!(
            percent_encode(b"a+b/c d~", false).as_slice(),
            b"a%2Bb%2Fc%20d~"
        );
        assert_eq!(
            percent_encode(b"a+b/c d~", true).as_slice(),
            b"a%2Bb%2Fc+d~"
        );
    }

    #[test]
    fn a_value_that_needs_no_escaping_adds_only_its_base64_forms() {
        let forms = encodings(b"sk_live_0123456789");
        let kinds: Vec<Encoding> = forms.iter().map(|(e, _)| *e).collect();
        assert_eq!(kinds[0], Encoding::AsIs);
        assert!(!kinds.contains(&Encoding::Json) && !kinds.contains(&Encoding::Url));
        assert_eq!(kinds.iter().filter(|k| **k == Encoding::Base64).count(), 3);
    }
}
