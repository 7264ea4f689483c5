//! Copies of secrets, versions, profiles and whole vaults, values in new zeroizing buffers: the
//! vault types have no `Clone`, so that a copy of a value is always explicit.

use crate::vault::{Binding, Profile, Secret, Vault, Version};

pub(super) fn duplicate_profile(p: &Profile) -> Profile {
    Profile {
        name: p.name.clone(),
        updated: p.updated,
        bindings: p
            .bindings
            .iter()
            .map(|b| Binding {
                env_name: b.env_name.clone(),
                label: b.label.clone(),
            })
            .collect(),
    }
}

pub(super) fn duplicate_version(v: &Version) -> Version {
    Version {
        id: v.id,
        number: v.number,
        value: v.value.duplicate(),
        created: v.created,
        retired: v.retired,
    }
}

/// A copy of a secret (values in new zeroizing buffers).
pub fn duplicate_secret(s: &Secret) -> Secret {
    Secret {
        id: s.id,
        confirm: s.confirm,
        conflict: s.conflict,
        stamps: s.stamps,
        forgotten: s.forgotten.clone(),
        label: s.label.clone(),
        env_name: s.env_name.clone(),
        note: s.note.clone(),
        rotate_every: s.rotate_every,
        created: s.created,
        updated: s.updated,
        current: duplicate_version(&s.current),
        history: s.history.iter().map(duplicate_version).collect(),
    }
}

/// A copy of a whole vault (values in new zeroizing buffers): a dry run merges a copy.
pub fn duplicate_vault(v: &Vault) -> Vault {
    Vault {
        ancestry: v.ancestry.clone(),
        secrets: v.secrets.iter().map(duplicate_secret).collect(),
        tombstones: v.tombstones.clone(),
        profiles: v.profiles.iter().map(duplicate_profile).collect(),
        removed_profiles: v.removed_profiles.clone(),
    }
}
