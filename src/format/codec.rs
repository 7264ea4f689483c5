//! The payload's byte encoding: bincode 1.3.3, fixed-width little-endian integers, `u64` lengths,
//! no trailing bytes (`docs/FORMAT.md`, "Payload encoding").
//!
//! The wire structs below are private and mirror the document field for field; the domain types
//! of `crate::vault` know nothing of serde. Both directions go through `Vault::check`, the one
//! place the payload's rules live: a vault that breaks one is never written, and a file that
//! breaks one is never accepted.
//!
//! bincode is unmaintained (RUSTSEC-2025-0141) and pinned to 1.3.3; this module is the only place
//! that names it, and the test vectors fix its bytes, so it can be replaced by a hand-written codec
//! without changing a single vault.

use bincode::Options;
use serde::{Deserialize, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::format::MAX_FILE_LEN;
use crate::names::{EnvName, Label};
use crate::secret::SecretValue;
use crate::vault::{Binding, Profile, Secret, Vault, Version};

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
    let wire = VaultOut::from(vault);
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

/// Decodes an authenticated plaintext, then checks the payload's rules.
pub fn decode(plaintext: &[u8]) -> Result<Vault, String> {
    let wire: VaultIn = options()
        .deserialize(plaintext)
        .map_err(|e| format!("its contents cannot be decoded ({e})"))?;
    let vault = wire.into_vault()?;
    vault.check()?;
    Ok(vault)
}

// ---- writing: borrowed views of the domain types, in the document's field order ----

#[derive(Serialize)]
struct VaultOut<'a> {
    secrets: Vec<SecretOut<'a>>,
    profiles: Vec<ProfileOut<'a>>,
}

#[derive(Serialize)]
struct SecretOut<'a> {
    label: &'a str,
    env_name: &'a str,
    note: Option<&'a str>,
    rotate_every: Option<u64>,
    created: i64,
    updated: i64,
    current: VersionOut<'a>,
    history: Vec<VersionOut<'a>>,
}

#[derive(Serialize)]
struct VersionOut<'a> {
    number: u32,
    value: ValueOut<'a>,
    created: i64,
    retired: Option<i64>,
}

/// A value as `Bytes` (`u64` length ‖ bytes), written straight from its zeroizing buffer.
struct ValueOut<'a>(&'a SecretValue);

impl Serialize for ValueOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0.expose())
    }
}

#[derive(Serialize)]
struct ProfileOut<'a> {
    name: &'a str,
    bindings: Vec<BindingOut<'a>>,
}

#[derive(Serialize)]
struct BindingOut<'a> {
    env_name: &'a str,
    label: &'a str,
}

impl<'a> From<&'a Vault> for VaultOut<'a> {
    fn from(v: &'a Vault) -> Self {
        let version = |v: &'a Version| VersionOut {
            number: v.number,
            value: ValueOut(&v.value),
            created: v.created,
            retired: v.retired,
        };
        VaultOut {
            secrets: v
                .secrets
                .iter()
                .map(|s| SecretOut {
                    label: s.label.as_str(),
                    env_name: s.env_name.as_str(),
                    note: s.note.as_deref(),
                    rotate_every: s.rotate_every,
                    created: s.created,
                    updated: s.updated,
                    current: version(&s.current),
                    history: s.history.iter().map(version).collect(),
                })
                .collect(),
            profiles: v
                .profiles
                .iter()
                .map(|p| ProfileOut {
                    name: p.name.as_str(),
                    bindings: p
                        .bindings
                        .iter()
                        .map(|b| BindingOut {
                            env_name: b.env_name.as_str(),
                            label: b.label.as_str(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

// ---- reading: owned wire structs, turned into domain types by checking every name ----

#[derive(Deserialize)]
struct VaultIn {
    secrets: Vec<SecretIn>,
    profiles: Vec<ProfileIn>,
}

#[derive(Deserialize)]
struct SecretIn {
    label: String,
    env_name: String,
    note: Option<String>,
    rotate_every: Option<u64>,
    created: i64,
    updated: i64,
    current: VersionIn,
    history: Vec<VersionIn>,
}

#[derive(Deserialize)]
struct VersionIn {
    number: u32,
    #[serde(deserialize_with = "value_bytes")]
    value: SecretValue,
    created: i64,
    retired: Option<i64>,
}

#[derive(Deserialize)]
struct ProfileIn {
    name: String,
    bindings: Vec<BindingIn>,
}

#[derive(Deserialize)]
struct BindingIn {
    env_name: String,
    label: String,
}

fn label(s: &str) -> Result<Label, String> {
    Label::parse(s).map_err(|e| e.to_string())
}

fn env_name(s: &str) -> Result<EnvName, String> {
    EnvName::parse(s).map_err(|e| e.to_string())
}

impl VersionIn {
    fn into_version(self) -> Version {
        Version {
            number: self.number,
            value: self.value,
            created: self.created,
            retired: self.retired,
        }
    }
}

impl VaultIn {
    fn into_vault(self) -> Result<Vault, String> {
        let secrets = self
            .secrets
            .into_iter()
            .map(|s| {
                Ok(Secret {
                    label: label(&s.label)?,
                    env_name: env_name(&s.env_name)?,
                    note: s.note,
                    rotate_every: s.rotate_every,
                    created: s.created,
                    updated: s.updated,
                    current: s.current.into_version(),
                    history: s.history.into_iter().map(VersionIn::into_version).collect(),
                })
            })
            .collect::<Result<_, String>>()?;
        let profiles = self
            .profiles
            .into_iter()
            .map(|p| {
                Ok(Profile {
                    name: label(&p.name)?,
                    bindings: p
                        .bindings
                        .iter()
                        .map(|b| {
                            Ok(Binding {
                                env_name: env_name(&b.env_name)?,
                                label: label(&b.label)?,
                            })
                        })
                        .collect::<Result<_, String>>()?,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Vault { secrets, profiles })
    }
}

/// A value read straight into a zeroizing buffer.
fn value_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SecretValue, D::Error> {
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
mod tests {
    use super::*;

    fn secret(label: &str) -> Secret {
        Secret {
            label: Label::parse(label).unwrap_or_else(|_| unreachable!()),
            env_name: EnvName::parse("API_KEY").unwrap_or_else(|_| unreachable!()),
            note: None,
            rotate_every: None,
            created: 1,
            updated: 1,
            current: Version {
                number: 1,
                value: SecretValue::new(Zeroizing::new(b"value".to_vec())),
                created: 1,
                retired: None,
            },
            history: Vec::new(),
        }
    }

    fn vault(labels: &[&str]) -> Vault {
        Vault {
            secrets: labels.iter().map(|l| secret(l)).collect(),
            profiles: Vec::new(),
        }
    }

    /// Audit 1 (low): `encode` did not check the rules `decode` enforces, so a library caller
    /// could seal a vault (duplicate or unsorted labels) that the same build then refused to open
    /// as damaged (exit 4). Now such a vault is never encoded.
    #[test]
    fn a_vault_that_breaks_a_payload_rule_is_never_encoded() {
        for (labels, rule) in [
            (&["a", "a"][..], "a label repeats"),
            (&["b", "a"], "not sorted"),
        ] {
            match encode(&vault(labels)) {
                Ok(_) => panic!("{labels:?} was encoded"),
                Err(e) => assert!(e.contains("was not saved") && e.contains(rule), "{e}"),
            }
        }
        let mut numbered_0 = vault(&["a"]);
        numbered_0.secrets[0].current.number = 0;
        assert!(encode(&numbered_0).is_err());
        let mut unretired = vault(&["a"]);
        let old = std::mem::replace(&mut unretired.secrets[0].current.number, 2);
        unretired.secrets[0].history.push(Version {
            number: old,
            value: SecretValue::new(Zeroizing::new(b"old".to_vec())),
            created: 0,
            retired: None,
        });
        assert!(encode(&unretired).is_err_and(|e| e.contains("retirement")));
    }

    #[test]
    fn what_encode_accepts_decode_accepts() -> Result<(), String> {
        let bytes = encode(&vault(&["a", "b/c", "d"]))?;
        let back = decode(&bytes)?;
        let labels: Vec<&str> = back.secrets.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["a", "b/c", "d"]);
        assert_eq!(&encode(&back)?[..], &bytes[..]);
        Ok(())
    }
}
