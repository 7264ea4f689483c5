//! Format 1's payload, read only (`docs/FORMAT.md`, "Format 1 payload"): no ids, stamps or
//! tombstones. Each secret and version gets an id derived from what format 1 stored, so two
//! copies of one format 1 file upgraded apart agree on every id and can still be merged.

use serde::Deserialize;

use super::{BindingIn, env_name, label, profile, value_bytes};
use crate::secret::SecretValue;
use crate::vault::{Id, Secret, Stamps, StoredValue, Vault, Version};

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

/// The id format 2 gives a format 1 secret: from its label and creation time (a label is
/// unique within a vault).
pub(crate) fn secret_id(label: &str, created: i64) -> Id {
    Id::derived(&[b"secret", label.as_bytes(), &created.to_le_bytes()])
}

/// The id format 2 gives a format 1 version: from its secret's id, its number and creation time.
pub(crate) fn version_id(secret: Id, number: u32, created: i64) -> Id {
    Id::derived(&[
        b"version",
        &secret.0,
        &number.to_le_bytes(),
        &created.to_le_bytes(),
    ])
}

pub(super) fn decode(plaintext: &[u8]) -> Result<Vault, String> {
    let wire: VaultIn = super::deserialize(plaintext)?;
    let secrets = wire
        .secrets
        .into_iter()
        .map(|s| {
            let id = secret_id(&s.label, s.created);
            let version = |v: VersionIn| Version {
                id: version_id(id, v.number, v.created),
                number: v.number,
                value: StoredValue::Plain(v.value),
                created: v.created,
                retired: v.retired,
            };
            Ok(Secret {
                id,
                confirm: false,
                conflict: false,
                stamps: Stamps::all(s.updated),
                forgotten: Vec::new(),
                label: label(&s.label)?,
                env_name: env_name(&s.env_name)?,
                note: s.note,
                rotate_every: s.rotate_every,
                created: s.created,
                updated: s.updated,
                current: version(s.current),
                history: s.history.into_iter().map(version).collect(),
            })
        })
        .collect::<Result<_, String>>()?;
    let profiles = wire
        .profiles
        .into_iter()
        .map(|p| profile(&p.name, 0, &p.bindings))
        .collect::<Result<_, String>>()?;
    Ok(Vault {
        ancestry: Vec::new(),
        secrets,
        tombstones: Vec::new(),
        profiles,
        removed_profiles: Vec::new(),
    })
}
