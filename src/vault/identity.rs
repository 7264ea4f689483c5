//! What lets two copies of one vault be merged (`docs/FORMAT.md`, "Format 2"): stable ids for
//! secrets and versions, per-field change stamps, tombstones of removed secrets and profiles.
//!
//! Commands never set these by hand: [`Snapshot`] is taken before a change and
//! [`Snapshot::stamp_changes`] compares after it, stamping what changed and leaving a tombstone
//! for what went; ids are drawn when the vault is sealed ([`Vault::assign_ids`]).

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::{Profile, Secret, Vault};
use crate::error::Result;
use crate::names::{EnvName, Label};
use crate::secret::SecretValue;

/// The length of a secret or version id, in bytes.
pub const ID_LEN: usize = 16;
/// How long a tombstone is kept: a year. A copy apart from the others for longer than that may
/// bring a removed secret back (nothing is lost; it reappears and can be removed again).
pub const TOMBSTONE_SECS: i64 = 365 * 24 * 3600;
/// The most version ids a secret remembers of versions `rotate --keep` dropped.
pub const MAX_FORGOTTEN: usize = 256;
/// The most file hashes the ancestry keeps, newest first.
pub const MAX_ANCESTRY: usize = 32;

/// A random 128-bit id of a secret or of one version of it; all zero means "not drawn yet"
/// (a secret made in this process, drawn when the vault is sealed).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug)]
pub struct Id(pub [u8; ID_LEN]);

impl Id {
    /// The id of something not yet sealed.
    pub const UNASSIGNED: Id = Id([0; ID_LEN]);

    /// A fresh random id.
    pub fn random() -> Result<Id> {
        crate::crypto::random_array().map(Id)
    }

    /// True until an id is drawn.
    pub fn is_unassigned(&self) -> bool {
        *self == Id::UNASSIGNED
    }

    /// The id derived for something written by format 1, which had no ids: the same on every
    /// copy that upgrades the same file, so two copies upgraded apart still agree.
    pub fn derived(parts: &[&[u8]]) -> Id {
        let mut hash = Sha256::new();
        hash.update(b"sesame v2 id from v1");
        for part in parts {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        let digest = hash.finalize();
        let mut id = [0; ID_LEN];
        id.copy_from_slice(&digest[..ID_LEN]);
        Id(id)
    }

    /// The first 8 hex digits: enough to tell ids apart in a message.
    pub fn short(&self) -> String {
        self.0[..4].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// When each mergeable field of a secret last changed (Unix seconds). A merge takes each field
/// from the copy whose stamp is newer.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct Stamps {
    /// The label (`edit --rename`).
    pub label: i64,
    /// The env name.
    pub env_name: i64,
    /// The note.
    pub note: i64,
    /// The rotation period.
    pub rotate_every: i64,
    /// The approval mark (`edit --confirm`).
    pub confirm: i64,
    /// The conflict mark (set by `merge`, cleared by `resolve`).
    pub conflict: i64,
    /// Which version is current (`rotate`, `rollback`, `resolve`).
    pub current: i64,
}

impl Stamps {
    /// Every field stamped `time`.
    pub fn all(time: i64) -> Stamps {
        Stamps {
            label: time,
            env_name: time,
            note: time,
            rotate_every: time,
            confirm: time,
            conflict: time,
            current: time,
        }
    }

    /// The stamps in the order the format stores them (`docs/FORMAT.md`, `Stamps`).
    pub fn to_array(&self) -> [i64; 7] {
        [
            self.label,
            self.env_name,
            self.note,
            self.rotate_every,
            self.confirm,
            self.conflict,
            self.current,
        ]
    }

    /// The stamps from the format's order.
    pub fn from_array(a: [i64; 7]) -> Stamps {
        let [
            label,
            env_name,
            note,
            rotate_every,
            confirm,
            conflict,
            current,
        ] = a;
        Stamps {
            label,
            env_name,
            note,
            rotate_every,
            confirm,
            conflict,
            current,
        }
    }
}

/// A value as stored: in the clear inside the payload, or sealed once more for a secret that
/// needs approval (`docs/FORMAT.md`, "Values"), which only the approval path can open.
pub enum StoredValue {
    /// The value's bytes.
    Plain(SecretValue),
    /// `salt ‖ nonce ‖ ciphertext ‖ tag`, opaque here; carried through merges by version id.
    Sealed(SealedValue),
}

/// A value sealed under a key the agent releases only on approval: opaque bytes, not secret in
/// themselves (they are ciphertext), still never printed.
pub struct SealedValue(pub Vec<u8>);

/// The smallest sealed value: salt, nonce, one byte, tag.
pub const MIN_SEALED_LEN: usize = 16 + 12 + 1 + 16;
/// The largest sealed value: salt, nonce, 1 MiB, tag.
pub const MAX_SEALED_LEN: usize = 16 + 12 + super::MAX_VALUE_LEN + 16;

impl StoredValue {
    /// The value in the clear, unless it is sealed.
    pub fn plain(&self) -> Option<&SecretValue> {
        match self {
            StoredValue::Plain(v) => Some(v),
            StoredValue::Sealed(_) => None,
        }
    }

    /// A copy, kept in its kind.
    pub fn duplicate(&self) -> StoredValue {
        match self {
            StoredValue::Plain(v) => StoredValue::Plain(v.duplicate()),
            StoredValue::Sealed(s) => StoredValue::Sealed(SealedValue(s.0.clone())),
        }
    }

    /// Whether the stored length is within the format's bounds for its kind.
    pub fn length_ok(&self) -> bool {
        match self {
            StoredValue::Plain(v) => (1..=super::MAX_VALUE_LEN).contains(&v.len()),
            StoredValue::Sealed(s) => (MIN_SEALED_LEN..=MAX_SEALED_LEN).contains(&s.0.len()),
        }
    }
}

/// What is left of a removed secret: enough for a merge to tell "removed here" from "added
/// there", and whether the other copy changed it since.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Tombstone {
    /// The removed secret's id.
    pub id: Id,
    /// Its label when removed (for messages).
    pub label: Label,
    /// When it was removed.
    pub removed: i64,
    /// The ids of every version it held or had forgotten when removed: a copy whose current
    /// version is among them has not set a new value since.
    pub versions: Vec<Id>,
    /// Its change stamps when removed: a copy with a newer stamp for any field changed that
    /// field since.
    pub stamps: Stamps,
}

/// A removed profile: its name and when.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ProfileTombstone {
    /// The profile's name.
    pub name: Label,
    /// When it was removed.
    pub removed: i64,
}

/// A secret's mergeable fields as they were before a change.
struct Fields {
    label: Label,
    env_name: EnvName,
    note: Option<String>,
    rotate_every: Option<u64>,
    confirm: bool,
    conflict: bool,
    current: Id,
    current_number: u32,
    versions: Vec<Id>,
    stamps: Stamps,
}

/// The vault's mergeable state before a command changes it.
pub struct Snapshot {
    secrets: HashMap<Id, Fields>,
    profiles: HashMap<Label, Vec<(EnvName, Label)>>,
}

impl Snapshot {
    /// Takes the state of `vault` (labels and metadata only, never values).
    pub fn of(vault: &Vault) -> Snapshot {
        let secrets = vault
            .secrets
            .iter()
            .map(|s| {
                let fields = Fields {
                    label: s.label.clone(),
                    env_name: s.env_name.clone(),
                    note: s.note.clone(),
                    rotate_every: s.rotate_every,
                    confirm: s.confirm,
                    conflict: s.conflict,
                    current: s.current.id,
                    current_number: s.current.number,
                    versions: known_versions(s),
                    stamps: s.stamps,
                };
                (s.id, fields)
            })
            .collect();
        let profiles = vault
            .profiles
            .iter()
            .map(|p| (p.name.clone(), bindings(p)))
            .collect();
        Snapshot { secrets, profiles }
    }

    /// Stamps `now` on every field that changed since the snapshot, leaves a tombstone for every
    /// secret and profile that went, and drops tombstones older than [`TOMBSTONE_SECS`].
    pub fn stamp_changes(&self, vault: &mut Vault, now: i64) {
        let mut present = std::collections::HashSet::with_capacity(vault.secrets.len());
        for secret in &mut vault.secrets {
            present.insert(secret.id);
            let Some(before) = self
                .secrets
                .get(&secret.id)
                .filter(|_| !secret.id.is_unassigned())
            else {
                secret.stamps = Stamps::all(now);
                continue;
            };
            let stamps = &mut secret.stamps;
            if before.label != secret.label {
                stamps.label = now;
            }
            if before.env_name != secret.env_name {
                stamps.env_name = now;
            }
            if before.note != secret.note {
                stamps.note = now;
            }
            if before.rotate_every != secret.rotate_every {
                stamps.rotate_every = now;
            }
            if before.confirm != secret.confirm {
                stamps.confirm = now;
            }
            if before.conflict != secret.conflict {
                stamps.conflict = now;
            }
            if before.current != secret.current.id || before.current_number != secret.current.number
            {
                stamps.current = now;
            }
        }
        for (id, before) in &self.secrets {
            if !present.contains(id) && !id.is_unassigned() {
                vault.tombstones.push(Tombstone {
                    id: *id,
                    label: before.label.clone(),
                    removed: now,
                    versions: before.versions.clone(),
                    stamps: before.stamps,
                });
            }
        }
        for profile in &mut vault.profiles {
            if self.profiles.get(&profile.name) != Some(&bindings(profile)) {
                profile.updated = now;
            }
        }
        for name in self.profiles.keys() {
            if !vault.profiles.iter().any(|p| &p.name == name) {
                vault.removed_profiles.retain(|t| &t.name != name);
                vault.removed_profiles.push(ProfileTombstone {
                    name: name.clone(),
                    removed: now,
                });
            }
        }
        vault.tidy_tombstones(now);
    }
}

fn bindings(p: &Profile) -> Vec<(EnvName, Label)> {
    p.bindings
        .iter()
        .map(|b| (b.env_name.clone(), b.label.clone()))
        .collect()
}

impl Vault {
    /// Draws an id for every secret and version that has none yet (made since the vault was
    /// opened). Called before every seal.
    pub fn assign_ids(&mut self) -> Result<()> {
        for secret in &mut self.secrets {
            if secret.id.is_unassigned() {
                secret.id = Id::random()?;
            }
            for version in std::iter::once(&mut secret.current).chain(&mut secret.history) {
                if version.id.is_unassigned() {
                    version.id = Id::random()?;
                }
            }
        }
        Ok(())
    }

    /// Sorts the tombstones by id, one per id and none for a secret present, and drops those
    /// older than [`TOMBSTONE_SECS`] at `now`; the same for removed profiles, by name.
    pub fn tidy_tombstones(&mut self, now: i64) {
        if self.tombstones.is_empty() && self.removed_profiles.is_empty() {
            return; // the usual write: nothing to tidy, no set of every id to build
        }
        let cutoff = now.saturating_sub(TOMBSTONE_SECS);
        // A removal dated in the future (a clock far ahead, or a crafted copy brought in by a
        // merge) counts from now, so it too is dropped when its time is up.
        for t in &mut self.tombstones {
            t.removed = t.removed.min(now);
        }
        for t in &mut self.removed_profiles {
            t.removed = t.removed.min(now);
        }
        let present: std::collections::HashSet<Id> = self.secrets.iter().map(|s| s.id).collect();
        self.tombstones
            .retain(|t| t.removed >= cutoff && !present.contains(&t.id));
        self.tombstones
            .sort_by(|a, b| a.id.cmp(&b.id).then(b.removed.cmp(&a.removed)));
        // Two tombstones of one secret (removed on two copies) become one that knows what
        // either knew: every version id, and each field's newest stamp. So which copy's
        // tombstone a merge meets first does not decide what stays removed.
        self.tombstones.dedup_by(|later, first| {
            if later.id != first.id {
                return false;
            }
            for id in later.versions.drain(..) {
                if !first.versions.contains(&id) {
                    first.versions.push(id);
                }
            }
            first.versions.sort_unstable();
            let newest = first
                .stamps
                .to_array()
                .into_iter()
                .zip(later.stamps.to_array())
                .map(|(a, b)| a.max(b));
            let mut stamps = [0; 7];
            for (slot, value) in stamps.iter_mut().zip(newest) {
                *slot = value;
            }
            first.stamps = Stamps::from_array(stamps);
            true
        });
        let names: std::collections::HashSet<&Label> =
            self.profiles.iter().map(|p| &p.name).collect();
        self.removed_profiles
            .retain(|t| t.removed >= cutoff && !names.contains(&t.name));
        self.removed_profiles
            .sort_by(|a, b| a.name.cmp(&b.name).then(b.removed.cmp(&a.removed)));
        self.removed_profiles
            .dedup_by(|later, first| later.name == first.name);
    }

    /// Records `hash` (of the file this write replaces) as the newest ancestor.
    pub fn record_ancestor(&mut self, hash: [u8; 32]) {
        if self.ancestry.first() != Some(&hash) {
            self.ancestry.insert(0, hash);
            self.ancestry.truncate(MAX_ANCESTRY);
        }
    }
}

/// The ids of every version `secret` holds or has forgotten.
pub fn known_versions(secret: &Secret) -> Vec<Id> {
    std::iter::once(&secret.current)
        .chain(&secret.history)
        .map(|v| v.id)
        .chain(secret.forgotten.iter().copied())
        .collect()
}

impl Secret {
    /// The ids of every version this secret holds or once held (`forgotten`): a copy whose
    /// current version is among them is behind this one.
    pub fn knows(&self, version: Id) -> bool {
        self.current.id == version
            || self.history.iter().any(|v| v.id == version)
            || self.forgotten.contains(&version)
    }
}

/// The SHA-256 of a whole vault file: what the next write records as its ancestor.
pub fn file_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}
