//! Format 2's payload (`docs/FORMAT.md`, "Payload encoding"): format 1's fields, plus ids,
//! flags, change stamps, forgotten version ids, tombstones, removed profiles and the ancestry.

use serde::{Deserialize, Serialize, Serializer};

use super::{BindingIn, env_name, label, profile, value_bytes};
use crate::secret::SecretValue;
use crate::vault::{
    Id, ProfileTombstone, SealedValue, Secret, Stamps, StoredValue, Tombstone, Vault, Version,
};

/// Flag bit 0: each use of the secret needs approval.
const FLAG_CONFIRM: u32 = 1;
/// Flag bit 1: a merge left the secret in conflict.
const FLAG_CONFLICT: u32 = 2;

// ---- writing: borrowed views of the domain types, in the document's field order ----

#[derive(Serialize)]
pub(super) struct VaultOut<'a> {
    ancestry: &'a [[u8; 32]],
    secrets: Vec<SecretOut<'a>>,
    tombstones: Vec<TombstoneWire>,
    profiles: Vec<ProfileOut<'a>>,
    removed_profiles: Vec<ProfileTombstoneWire>,
}

#[derive(Serialize)]
struct SecretOut<'a> {
    id: [u8; 16],
    flags: u32,
    label: &'a str,
    env_name: &'a str,
    note: Option<&'a str>,
    rotate_every: Option<u64>,
    created: i64,
    updated: i64,
    stamps: [i64; 7],
    current: VersionOut<'a>,
    history: Vec<VersionOut<'a>>,
    forgotten: Vec<[u8; 16]>,
}

#[derive(Serialize)]
struct VersionOut<'a> {
    id: [u8; 16],
    number: u32,
    value: ValueOut<'a>,
    created: i64,
    retired: Option<i64>,
}

/// `u32` kind (0 plain, 1 sealed) ‖ `Bytes`, as bincode writes an enum.
#[derive(Serialize)]
enum ValueOut<'a> {
    Plain(PlainOut<'a>),
    Sealed(&'a Vec<u8>),
}

/// A plain value as `Bytes`, written straight from its zeroizing buffer.
struct PlainOut<'a>(&'a SecretValue);

impl Serialize for PlainOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0.expose())
    }
}

#[derive(Serialize, Deserialize)]
struct TombstoneWire {
    id: [u8; 16],
    label: String,
    removed: i64,
    versions: Vec<[u8; 16]>,
    stamps: [i64; 7],
}

#[derive(Serialize)]
struct ProfileOut<'a> {
    name: &'a str,
    updated: i64,
    bindings: Vec<BindingOut<'a>>,
}

#[derive(Serialize)]
struct BindingOut<'a> {
    env_name: &'a str,
    label: &'a str,
}

#[derive(Serialize, Deserialize)]
struct ProfileTombstoneWire {
    name: String,
    removed: i64,
}

fn version_out(v: &Version) -> VersionOut<'_> {
    VersionOut {
        id: v.id.0,
        number: v.number,
        value: match &v.value {
            StoredValue::Plain(p) => ValueOut::Plain(PlainOut(p)),
            StoredValue::Sealed(s) => ValueOut::Sealed(&s.0),
        },
        created: v.created,
        retired: v.retired,
    }
}

impl<'a> From<&'a Vault> for VaultOut<'a> {
    fn from(v: &'a Vault) -> Self {
        VaultOut {
            ancestry: &v.ancestry,
            secrets: v
                .secrets
                .iter()
                .map(|s| SecretOut {
                    id: s.id.0,
                    flags: if s.confirm { FLAG_CONFIRM } else { 0 }
                        | if s.conflict { FLAG_CONFLICT } else { 0 },
                    label: s.label.as_str(),
                    env_name: s.env_name.as_str(),
                    note: s.note.as_deref(),
                    rotate_every: s.rotate_every,
                    created: s.created,
                    updated: s.updated,
                    stamps: s.stamps.to_array(),
                    current: version_out(&s.current),
                    history: s.history.iter().map(version_out).collect(),
                    forgotten: s.forgotten.iter().map(|id| id.0).collect(),
                })
                .collect(),
            tombstones: v
                .tombstones
                .iter()
                .map(|t| TombstoneWire {
                    id: t.id.0,
                    label: t.label.to_string(),
                    removed: t.removed,
                    versions: t.versions.iter().map(|id| id.0).collect(),
                    stamps: t.stamps.to_array(),
                })
                .collect(),
            profiles: v
                .profiles
                .iter()
                .map(|p| ProfileOut {
                    name: p.name.as_str(),
                    updated: p.updated,
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
            removed_profiles: v
                .removed_profiles
                .iter()
                .map(|t| ProfileTombstoneWire {
                    name: t.name.to_string(),
                    removed: t.removed,
                })
                .collect(),
        }
    }
}

// ---- reading: owned wire structs, turned into domain types by checking every name ----

#[derive(Deserialize)]
struct VaultIn {
    ancestry: Vec<[u8; 32]>,
    secrets: Vec<SecretIn>,
    tombstones: Vec<TombstoneWire>,
    profiles: Vec<ProfileIn>,
    removed_profiles: Vec<ProfileTombstoneWire>,
}

#[derive(Deserialize)]
struct SecretIn {
    id: [u8; 16],
    flags: u32,
    label: String,
    env_name: String,
    note: Option<String>,
    rotate_every: Option<u64>,
    created: i64,
    updated: i64,
    stamps: [i64; 7],
    current: VersionIn,
    history: Vec<VersionIn>,
    forgotten: Vec<[u8; 16]>,
}

#[derive(Deserialize)]
struct VersionIn {
    id: [u8; 16],
    number: u32,
    value: ValueIn,
    created: i64,
    retired: Option<i64>,
}

#[derive(Deserialize)]
enum ValueIn {
    Plain(#[serde(deserialize_with = "value_bytes")] SecretValue),
    Sealed(Vec<u8>),
}

#[derive(Deserialize)]
struct ProfileIn {
    name: String,
    updated: i64,
    bindings: Vec<BindingIn>,
}

impl VersionIn {
    fn into_version(self) -> Version {
        Version {
            id: Id(self.id),
            number: self.number,
            value: match self.value {
                ValueIn::Plain(v) => StoredValue::Plain(v),
                ValueIn::Sealed(s) => StoredValue::Sealed(SealedValue(s)),
            },
            created: self.created,
            retired: self.retired,
        }
    }
}

pub(super) fn decode(plaintext: &[u8]) -> Result<Vault, String> {
    let wire: VaultIn = super::deserialize(plaintext)?;
    let secrets = wire
        .secrets
        .into_iter()
        .map(|s| {
            // "Other bits are reserved and MUST be zero": a reader that ignored one would
            // misread a newer writer's meaning.
            if s.flags & !(FLAG_CONFIRM | FLAG_CONFLICT) != 0 {
                return Err(format!(
                    "the secret {:?} has reserved flag bits set ({:#x})",
                    s.label, s.flags
                ));
            }
            Ok(Secret {
                id: Id(s.id),
                confirm: s.flags & FLAG_CONFIRM != 0,
                conflict: s.flags & FLAG_CONFLICT != 0,
                stamps: Stamps::from_array(s.stamps),
                forgotten: s.forgotten.into_iter().map(Id).collect(),
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
    let tombstones = wire
        .tombstones
        .into_iter()
        .map(|t| {
            Ok(Tombstone {
                id: Id(t.id),
                label: label(&t.label)?,
                removed: t.removed,
                versions: t.versions.into_iter().map(Id).collect(),
                stamps: Stamps::from_array(t.stamps),
            })
        })
        .collect::<Result<_, String>>()?;
    let profiles = wire
        .profiles
        .into_iter()
        .map(|p| profile(&p.name, p.updated, &p.bindings))
        .collect::<Result<_, String>>()?;
    let removed_profiles = wire
        .removed_profiles
        .into_iter()
        .map(|t| {
            Ok(ProfileTombstone {
                name: label(&t.name)?,
                removed: t.removed,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Vault {
        ancestry: wire.ancestry,
        secrets,
        tombstones,
        profiles,
        removed_profiles,
    })
}
