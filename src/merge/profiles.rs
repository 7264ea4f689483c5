//! Profiles of two copies, by name: a profile set or removed later on one copy wins.

use std::collections::BTreeMap;

use super::copies::duplicate_profile;
use crate::names::Label;
use crate::vault::{Profile, ProfileTombstone, Vault};

/// Profiles by name: the newer of the two (a removal counts, by its time); a tie keeps a
/// profile over a removal, and the greater bindings, so both orders agree.
pub(super) fn merge_profiles(
    ours: Vec<Profile>,
    ours_removed: Vec<ProfileTombstone>,
    theirs: &Vault,
    changed: &mut Vec<String>,
) -> (Vec<Profile>, Vec<ProfileTombstone>) {
    enum Entry {
        Set(Profile),
        Removed(i64),
    }
    fn key(e: &Entry) -> (i64, bool, Vec<(String, String)>) {
        match e {
            Entry::Set(p) => (p.updated, true, rendered(p)),
            Entry::Removed(t) => (*t, false, Vec::new()),
        }
    }
    let mut entries: BTreeMap<Label, Entry> = BTreeMap::new();
    for p in ours {
        entries.insert(p.name.clone(), Entry::Set(p));
    }
    for t in ours_removed {
        entries.insert(t.name, Entry::Removed(t.removed));
    }
    let their_entries = theirs
        .profiles
        .iter()
        .map(|p| (p.name.clone(), Entry::Set(duplicate_profile(p))))
        .chain(
            theirs
                .removed_profiles
                .iter()
                .map(|t| (t.name.clone(), Entry::Removed(t.removed))),
        );
    for (name, entry) in their_entries {
        let take = match entries.get(&name) {
            None => true,
            Some(have) => key(&entry) > key(have),
        };
        if take {
            let was_set = matches!(entries.get(&name), Some(Entry::Set(_)));
            let is_set = matches!(entry, Entry::Set(_));
            if was_set || is_set {
                changed.push(name.to_string());
            }
            entries.insert(name, entry);
        }
    }
    let mut profiles = Vec::new();
    let mut removed = Vec::new();
    for (name, entry) in entries {
        match entry {
            Entry::Set(p) => profiles.push(p),
            Entry::Removed(time) => removed.push(ProfileTombstone {
                name,
                removed: time,
            }),
        }
    }
    (profiles, removed)
}

fn rendered(p: &Profile) -> Vec<(String, String)> {
    p.bindings
        .iter()
        .map(|b| (b.env_name.to_string(), b.label.to_string()))
        .collect()
}
