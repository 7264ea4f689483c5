//! Recovery codes: 130 random bits a person can copy by hand, with a checksum so a typo is
//! reported as a typo and not as a wrong code (`docs/FORMAT.md`, "Kind 2: recovery slot").
//!
//! A code is 28 symbols of Crockford's base-32 alphabet (no I, L, O, U) in seven groups of four:
//! 26 random symbols, then 2 checksum symbols (the first 10 bits of SHA-256 over the 26).

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::crypto;
use crate::error::{Error, Result};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Random symbols in a code: 26 × 5 = 130 bits.
pub(crate) const DATA_SYMBOLS: usize = 26;
/// Checksum symbols after them (10 bits).
pub(crate) const CHECK_SYMBOLS: usize = 2;
const TOTAL: usize = DATA_SYMBOLS + CHECK_SYMBOLS;
const CHECKSUM_PREFIX: &[u8] = b"sesame recovery checksum";

/// A recovery code: its 26 data symbols (the key material) in a zeroizing buffer.
pub struct RecoveryCode(Zeroizing<[u8; DATA_SYMBOLS]>);

fn checksum(data: &[u8; DATA_SYMBOLS]) -> [u8; CHECK_SYMBOLS] {
    let digest = Sha256::new()
        .chain_update(CHECKSUM_PREFIX)
        .chain_update(data)
        .finalize();
    let bits = (u16::from(digest[0]) << 2) | (u16::from(digest[1]) >> 6);
    [
        ALPHABET[usize::from(bits >> 5)],
        ALPHABET[usize::from(bits & 0x1F)],
    ]
}

impl RecoveryCode {
    /// A new code from the OS random generator: 26 symbols of 5 uniform bits each (130 bits).
    pub fn generate() -> Result<RecoveryCode> {
        let random = Zeroizing::new(crypto::random_array::<DATA_SYMBOLS>()?);
        let mut data = Zeroizing::new([0u8; DATA_SYMBOLS]);
        for (out, r) in data.iter_mut().zip(random.iter()) {
            *out = ALPHABET[usize::from(r & 0x1F)];
        }
        Ok(RecoveryCode(data))
    }

    /// Parses what a user typed: case-insensitive, `-` and spaces ignored, `I`/`L` read as `1`
    /// and `O` as `0`. A wrong length, a foreign character or a bad checksum is a usage error
    /// (exit 2) that says it is a typo.
    pub fn parse(typed: &[u8]) -> Result<RecoveryCode> {
        let mut symbols = Zeroizing::new(Vec::with_capacity(typed.len()));
        for &b in typed {
            let c = match b.to_ascii_uppercase() {
                b'-' | b' ' | b'\t' => continue,
                b'I' | b'L' => b'1',
                b'O' => b'0',
                c if ALPHABET.contains(&c) => c,
                _ => {
                    return Err(Error::usage(
                        "the recovery code has a character that no recovery code contains; check for a typo",
                    ));
                }
            };
            symbols.push(c);
        }
        if symbols.len() != TOTAL {
            return Err(Error::usage(format!(
                "a recovery code has {TOTAL} characters (7 groups of 4), this one has {}; check for a typo",
                symbols.len()
            )));
        }
        let mut data = Zeroizing::new([0u8; DATA_SYMBOLS]);
        data.copy_from_slice(&symbols[..DATA_SYMBOLS]);
        if checksum(&data)[..] != symbols[DATA_SYMBOLS..] {
            return Err(Error::usage(
                "the recovery code's checksum does not match: there is a typo in it",
            ));
        }
        Ok(RecoveryCode(data))
    }

    /// The 26 data symbols: the input of the recovery slot's key derivation.
    pub fn key_material(&self) -> &[u8] {
        &self.0[..]
    }

    /// `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`, for printing once.
    pub fn display(&self) -> Zeroizing<String> {
        let check = checksum(&self.0);
        let mut out = Zeroizing::new(String::with_capacity(TOTAL + 6));
        for (i, &c) in self.0.iter().chain(check.iter()).enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push('-');
            }
            out.push(char::from(c));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_reads_back_in_any_case_and_spacing() -> Result<()> {
        let code = RecoveryCode::generate()?;
        let shown = code.display();
        assert_eq!(shown.len(), 34);
        assert_eq!(shown.split('-').count(), 7);
        let sloppy = shown.to_lowercase().replace('-', " ");
        let back = RecoveryCode::parse(sloppy.as_bytes())?;
        assert_eq!(back.key_material(), code.key_material());
        Ok(())
    }

    #[test]
    fn single_symbol_typos_are_caught_by_the_checksum() -> Result<()> {
        let code = RecoveryCode::generate()?;
        let shown = code.display();
        let mut caught = 0;
        let mut tried = 0;
        for pos in (0..shown.len()).filter(|&i| shown.as_bytes()[i] != b'-') {
            for &c in ALPHABET {
                let mut typo = shown.as_bytes().to_vec();
                if typo[pos] == c {
                    continue;
                }
                typo[pos] = c;
                tried += 1;
                if RecoveryCode::parse(&typo).is_err() {
                    caught += 1;
                }
            }
        }
        // A 10-bit checksum misses about 1 typo in 1024.
        assert!(caught * 1000 >= tried * 990, "{caught} of {tried}");
        Ok(())
    }

    #[test]
    fn wrong_lengths_and_characters_are_typos() {
        assert!(RecoveryCode::parse(b"ABCD-EFGH").is_err());
        assert!(RecoveryCode::parse(&[b'U'; 28]).is_err());
    }
}
