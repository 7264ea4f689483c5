//! The payload's byte encoding: bincode 1.3.3, fixed-width little-endian integers, `u64` lengths,
//! no trailing bytes (`docs/FORMAT.md`, "Payload encoding").
//!
//! bincode is unmaintained (RUSTSEC-2025-0141) and pinned to 1.3.3; this module is the only place
//! that names it, and the test vectors fix its bytes, so it can be replaced by a hand-written codec
//! without changing a single vault.

use bincode::Options;
use zeroize::Zeroizing;

use crate::format::MAX_FILE_LEN;
use crate::vault::Vault;

fn options() -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .reject_trailing_bytes()
        .with_limit(MAX_FILE_LEN)
}

/// Encodes the vault into a zeroizing buffer allocated once at its final size, so no partial copy
/// of the plaintext is left behind by a reallocation.
pub fn encode(vault: &Vault) -> Result<Zeroizing<Vec<u8>>, String> {
    let size = options()
        .serialized_size(vault)
        .map_err(|e| format!("cannot encode the vault: {e}"))?;
    let size = usize::try_from(size).map_err(|_| "the vault is too large".to_string())?;
    let mut out = Zeroizing::new(Vec::with_capacity(size));
    options()
        .serialize_into(&mut *out, vault)
        .map_err(|e| format!("cannot encode the vault: {e}"))?;
    Ok(out)
}

/// Decodes an authenticated plaintext, then checks the payload's rules.
pub fn decode(plaintext: &[u8]) -> Result<Vault, String> {
    let vault: Vault = options()
        .deserialize(plaintext)
        .map_err(|e| format!("its contents cannot be decoded ({e})"))?;
    vault.check()?;
    Ok(vault)
}

/// Serde glue for a [`SecretValue`](crate::secret::SecretValue): written as bytes, read straight
/// into a zeroizing buffer. Only the payload codec uses it.
pub mod value_bytes {
    use serde::de::{Error, Visitor};
    use serde::{Deserializer, Serializer};
    use zeroize::Zeroizing;

    use crate::secret::SecretValue;

    pub fn serialize<S: Serializer>(value: &SecretValue, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(value.expose())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretValue, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = SecretValue;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<SecretValue, E> {
                Ok(SecretValue::new(Zeroizing::new(v)))
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<SecretValue, E> {
                Ok(SecretValue::new(Zeroizing::new(v.to_vec())))
            }
        }
        d.deserialize_byte_buf(ValueVisitor)
    }
}
