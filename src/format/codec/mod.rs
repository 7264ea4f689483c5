//! The payload's byte encoding: bincode 1.3.3, fixed-width little-endian integers, `u64` lengths,
//! no trailing bytes (`docs/FORMAT.md`, "Payload encoding"). Format 2 is written (`v2`); format
//! 1 is read (`v1`) and upgraded by the next write.
//!
//! The wire structs are private and mirror the document field for field; the domain types
//! of `crate::vault` know nothing of serde. Both directions go through `Vault::check`, the one
//! place the payload's rules live: a vault that breaks one is never written, and a file that
//! breaks one is never accepted.
//!
//! bincode is unmaintained (RUSTSEC-2025-0141) and pinned to 1.3.3; this module is the only place
//! that names it, and the test vectors fix its bytes, so it can be replaced by a hand-written codec
//! without changing a single vault.

use bincode::Options;
use zeroize::Zeroizing;

use crate::format::MAX_FILE_LEN;
use crate::names::{EnvName, Label};
use crate::secret::SecretValue;
use crate::vault::{Binding, Profile, Vault};

mod v1;
mod v2;

/// The payload version format 1 wrote; read only.
pub const PAYLOAD_V1: u16 = 1;
/// The payload version this build writes.
pub const PAYLOAD_V2: u16 = 2;

fn options() -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .reject_trailing_bytes()
        .with_limit(MAX_FILE_LEN)
}

/// Checks the payload's rules, then encodes the vault into a zeroizing buffer allocated once at
/// its final size, so no partial copy of the plaintext is left behind by a reallocation.
///
/// The check is the same one `decode` applies: without it a caller could seal a vault (say, two
/// secrets with one label) that this same build then refuses to open as damaged.
pub fn encode(vault: &Vault) -> Result<Zeroizing<Vec<u8>>, String> {
    vault.check().map_err(|rule| {
        format!("the vault was not saved: it breaks a rule of the format ({rule})")
    })?;
    let wire = v2::VaultOut::from(vault);
    let size = options()
        .serialized_size(&wire)
        .map_err(|e| format!("cannot encode the vault: {e}"))?;
    let size = usize::try_from(size).map_err(|_| "the vault is too large".to_string())?;
    let mut out = Zeroizing::new(Vec::with_capacity(size));
    options()
        .serialize_into(&mut *out, &wire)
        .map_err(|e| format!("cannot encode the vault: {e}"))?;
    Ok(out)
}

/// Decodes an authenticated plaintext of the header's format `version`, then checks the
/// payload's rules. A format 1 payload gets the ids it lacks, derived so that every copy of
/// one file derives the same ones (`docs/FORMAT.md`, "Upgrading a format 1 payload").
pub fn decode(plaintext: &[u8], version: u16) -> Result<Vault, String> {
    let vault = match version {
        PAYLOAD_V1 => v1::decode(plaintext)?,
        PAYLOAD_V2 => v2::decode(plaintext)?,
        other => return Err(format!("payload version {other} is not known")),
    };
    vault.check()?;
    Ok(vault)
}

fn deserialize<'a, T: serde::Deserialize<'a>>(plaintext: &'a [u8]) -> Result<T, String> {
    options()
        .deserialize(plaintext)
        .map_err(|e| format!("its contents cannot be decoded ({e})"))
}

/// A profile's binding as both formats store it.
#[derive(serde::Deserialize)]
struct BindingIn {
    env_name: String,
    label: String,
}

/// A profile read in either format, its names checked.
fn profile(name: &str, updated: i64, bindings: &[BindingIn]) -> Result<Profile, String> {
    Ok(Profile {
        name: label(name)?,
        updated,
        bindings: bindings
            .iter()
            .map(|b| {
                Ok(Binding {
                    env_name: env_name(&b.env_name)?,
                    label: label(&b.label)?,
                })
            })
            .collect::<Result<_, String>>()?,
    })
}

fn label(s: &str) -> Result<Label, String> {
    Label::parse(s).map_err(|e| e.to_string())
}

fn env_name(s: &str) -> Result<EnvName, String> {
    EnvName::parse(s).map_err(|e| e.to_string())
}

/// A value read straight into a zeroizing buffer.
pub(super) fn value_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SecretValue, D::Error> {
    struct ValueVisitor;
    impl<'de> serde::de::Visitor<'de> for ValueVisitor {
        type Value = SecretValue;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a byte string")
        }
        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<SecretValue, E> {
            Ok(SecretValue::new(Zeroizing::new(v)))
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<SecretValue, E> {
            Ok(SecretValue::new(Zeroizing::new(v.to_vec())))
        }
    }
    d.deserialize_byte_buf(ValueVisitor)
}

#[cfg(test)]
mod tests;
