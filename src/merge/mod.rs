//! Merging two copies of one vault that were changed apart (`docs/CLI.md`, `merge`): secret by
//! secret, by stable id, with the versions and stamps of format 2 deciding which side changed
//! what (`docs/FORMAT.md`, "What the merge fields are for"). Pure: no I/O, no keys; the command
//! opens both copies and writes the result through the one transaction.
//!
//! The result does not depend on which copy is "ours": merge(A, B) and merge(B, A) hold the same
//! secrets, values and conflicts, and merging a result again with either side changes nothing
//! (`tests.rs` checks both over random histories).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::names::Label;
use crate::vault::{Id, Secret, Tombstone, Vault, Version};

mod copies;
mod profiles;
mod sync_copies;
#[cfg(test)]
mod tests;

use copies::duplicate_version;
pub use copies::{duplicate_secret, duplicate_vault};
use profiles::merge_profiles;
pub use sync_copies::{ConflictCopy, conflict_copies};

/// What a merge did, by label (never a value), for the user and for `--json`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Secrets only the other copy had (added there).
    pub added: Vec<String>,
    /// Secrets whose value or metadata came from the other copy.
    pub updated: Vec<String>,
    /// Secrets the other copy removed and this one had not changed since: removed.
    pub removed: Vec<String>,
    /// Both copies set a new value: both kept, the newer current, marked in conflict.
    pub conflicts: Vec<String>,
    /// Removed on one side and changed on the other: kept (a warning).
    pub kept_changed: Vec<String>,
    /// Two different secrets with one label: the later one renamed, `(old label, new label)`.
    pub renamed: Vec<(String, String)>,
    /// Profiles set, changed or removed from the other copy, by name.
    pub profiles: Vec<String>,
}

impl MergeReport {
    /// True when the merge changed nothing in this copy. A secret of this copy kept although
    /// the other removed it (`kept_changed`) is a warning, not a change; one of the other copy
    /// kept although this one removed it is also in `added`.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.updated.is_empty()
            && self.removed.is_empty()
            && self.conflicts.is_empty()
            && self.renamed.is_empty()
            && self.profiles.is_empty()
    }
}

/// Merges `theirs` into `ours` (both copies of one vault), with `base` (a common ancestor) when
/// one is known, at time `now`. `theirs_hash` is the SHA-256 of the other copy's file, recorded
/// as an ancestor so a later merge knows this copy holds it.
pub fn merge(
    ours: Vault,
    theirs: &Vault,
    base: Option<&Vault>,
    theirs_hash: Option<[u8; 32]>,
    now: i64,
) -> (Vault, MergeReport) {
    let mut report = MergeReport::default();
    let Vault {
        ancestry,
        secrets: our_secrets,
        tombstones: our_tombstones,
        profiles: our_profiles,
        removed_profiles: our_removed_profiles,
    } = ours;
    let their_by_id: HashMap<Id, &Secret> = theirs.secrets.iter().map(|s| (s.id, s)).collect();
    let base_by_id: HashMap<Id, &Secret> = base
        .map(|b| b.secrets.iter().map(|s| (s.id, s)).collect())
        .unwrap_or_default();
    let their_tombs: HashMap<Id, &Tombstone> =
        theirs.tombstones.iter().map(|t| (t.id, t)).collect();
    let our_tombs: HashMap<Id, &Tombstone> = our_tombstones.iter().map(|t| (t.id, t)).collect();

    let mut merged: Vec<Secret> = Vec::with_capacity(our_secrets.len().max(theirs.secrets.len()));
    let mut gone: Vec<Tombstone> = Vec::new();
    let mut ours_seen = std::collections::HashSet::with_capacity(our_secrets.len());
    for ours in our_secrets {
        ours_seen.insert(ours.id);
        match their_by_id.get(&ours.id) {
            Some(theirs) => {
                let base = base_by_id.get(&ours.id).copied();
                let (secret, outcome) = merge_secret(ours, theirs, base, now);
                match outcome {
                    Outcome::Same => {}
                    Outcome::Updated => report.updated.push(secret.label.to_string()),
                    Outcome::Conflict => report.conflicts.push(secret.label.to_string()),
                }
                merged.push(secret);
            }
            None => match one_sided(&ours, their_tombs.get(&ours.id), base_by_id.get(&ours.id)) {
                Side::Keep => merged.push(ours),
                Side::KeepChanged => {
                    report.kept_changed.push(ours.label.to_string());
                    merged.push(ours);
                }
                Side::Remove(tomb) => {
                    report.removed.push(ours.label.to_string());
                    gone.push(tomb.unwrap_or_else(|| tombstone_of(&ours, now)));
                }
            },
        }
    }
    for theirs in &theirs.secrets {
        if ours_seen.contains(&theirs.id) {
            continue;
        }
        match one_sided(
            theirs,
            our_tombs.get(&theirs.id),
            base_by_id.get(&theirs.id),
        ) {
            Side::Keep => {
                report.added.push(theirs.label.to_string());
                merged.push(duplicate_secret(theirs));
            }
            Side::KeepChanged => {
                report.kept_changed.push(theirs.label.to_string());
                report.added.push(theirs.label.to_string());
                merged.push(duplicate_secret(theirs));
            }
            Side::Remove(tomb) => gone.push(tomb.unwrap_or_else(|| tombstone_of(theirs, now))),
        }
    }
    report.renamed = separate_labels(&mut merged, now);
    merged.sort_by(|a, b| a.label.cmp(&b.label));

    let mut tombstones: Vec<Tombstone> = our_tombstones;
    tombstones.extend(theirs.tombstones.iter().cloned());
    tombstones.extend(gone);
    let (profiles, removed_profiles) = merge_profiles(
        our_profiles,
        our_removed_profiles,
        theirs,
        &mut report.profiles,
    );
    let mut ancestry = ancestry;
    for hash in theirs.ancestry.iter().rev().chain(theirs_hash.as_ref()) {
        if !ancestry.contains(hash) {
            ancestry.insert(0, *hash);
        }
    }
    ancestry.truncate(crate::vault::identity::MAX_ANCESTRY);
    let mut vault = Vault {
        ancestry,
        secrets: merged,
        tombstones,
        profiles,
        removed_profiles,
    };
    vault.tidy_tombstones(now);
    for list in [
        &mut report.added,
        &mut report.updated,
        &mut report.removed,
        &mut report.conflicts,
        &mut report.kept_changed,
        &mut report.profiles,
    ] {
        list.sort();
    }
    (vault, report)
}

/// Whether a common ancestor could change the result: only for a secret one copy holds and the
/// other has no tombstone of, old enough that the other may have removed it before its
/// tombstone's time ran out. (Searching the generations for a base costs a read and a hash of
/// each; a merge that cannot use one skips it.)
pub fn base_would_help(ours: &Vault, theirs: &Vault, now: i64) -> bool {
    let cutoff = now.saturating_sub(crate::vault::identity::TOMBSTONE_SECS);
    let one_sided_and_old = |mine: &Vault, other: &Vault| {
        let theirs: std::collections::HashSet<Id> = other
            .secrets
            .iter()
            .map(|s| s.id)
            .chain(other.tombstones.iter().map(|t| t.id))
            .collect();
        mine.secrets
            .iter()
            .any(|s| s.created < cutoff && !theirs.contains(&s.id))
    };
    one_sided_and_old(ours, theirs) || one_sided_and_old(theirs, ours)
}

/// What happened to a secret both copies hold.
enum Outcome {
    /// This copy already had everything.
    Same,
    /// Something came from the other copy.
    Updated,
    /// Both set a new value.
    Conflict,
}

/// What to do with a secret only one copy holds.
enum Side {
    /// Added on that side (or never removed): keep it.
    Keep,
    /// Removed on the other side but changed on this one since: keep it, with a warning.
    KeepChanged,
    /// Removed on the other side and unchanged here since: remove it (with its tombstone).
    Remove(Option<Tombstone>),
}

fn one_sided(secret: &Secret, tomb: Option<&&Tombstone>, base: Option<&&Secret>) -> Side {
    if let Some(tomb) = tomb {
        // Unchanged since the removal: every version it holds was known to the copy that
        // removed it, and no field changed after that copy's last change of it.
        let unchanged = crate::vault::identity::known_versions(secret)
            .iter()
            .all(|id| tomb.versions.contains(id))
            && secret
                .stamps
                .to_array()
                .iter()
                .zip(tomb.stamps.to_array())
                .all(|(mine, then)| *mine <= then);
        return if unchanged {
            Side::Remove(Some((*tomb).clone()))
        } else {
            Side::KeepChanged
        };
    }
    // No tombstone: added on this side, unless the base shows the other side had it and
    // removed it long enough ago for its tombstone to be gone.
    match base {
        Some(base) if base.current.id == secret.current.id && base.stamps == secret.stamps => {
            Side::Remove(None)
        }
        Some(_) => Side::KeepChanged,
        None => Side::Keep,
    }
}

fn tombstone_of(secret: &Secret, now: i64) -> Tombstone {
    Tombstone {
        id: secret.id,
        label: secret.label.clone(),
        removed: now,
        versions: crate::vault::identity::known_versions(secret),
        stamps: secret.stamps,
    }
}

/// Merges one secret both copies hold.
fn merge_secret(
    ours: Secret,
    theirs: &Secret,
    base: Option<&Secret>,
    now: i64,
) -> (Secret, Outcome) {
    let mut changed = false;
    // Which current version: the one the other side moved on from loses.
    let (our_cur, their_cur) = (ours.current.id, theirs.current.id);
    let we_know = ours.knows(their_cur);
    let they_know = theirs.knows(our_cur);
    let (current_id, conflict_now) = if our_cur == their_cur {
        (our_cur, false)
    } else if we_know && they_know {
        // Both hold both: one side rolled back. The later change of "current" wins.
        let ours_wins = (ours.stamps.current, our_cur) > (theirs.stamps.current, their_cur);
        (if ours_wins { our_cur } else { their_cur }, false)
    } else if we_know {
        (our_cur, false)
    } else if they_know {
        (their_cur, false)
    } else {
        // Both set a new value. The newer is current; the other stays in history.
        let ours_newer = (ours.current.created, our_cur) > (theirs.current.created, their_cur);
        (if ours_newer { our_cur } else { their_cur }, true)
    };
    changed |= current_id != our_cur;

    // Metadata, field by field: the newer stamp wins; a tie takes the greater value, so both
    // merge orders agree. With a base, a field only one side changed since it wins outright.
    let mut stamps = ours.stamps;
    macro_rules! take_theirs {
        ($field:ident, $base:expr) => {
            take_theirs(
                (&ours.$field, ours.stamps.$field),
                (&theirs.$field, theirs.stamps.$field),
                $base,
                &mut stamps.$field,
                &mut changed,
            )
        };
        ($field:ident) => {
            take_theirs!($field, base.map(|b| &b.$field))
        };
    }
    let take_label = take_theirs!(label);
    let take_env = take_theirs!(env_name);
    let take_note = take_theirs!(note);
    let take_rotate = take_theirs!(rotate_every);
    let take_confirm = take_theirs!(confirm);
    // The conflict mark has no base: a base never holds one that matters.
    let mut conflict = if take_theirs!(conflict, None) {
        theirs.conflict
    } else {
        ours.conflict
    };
    if conflict_now {
        conflict = true;
        stamps.conflict = stamps.conflict.max(now);
    }
    stamps.current = ours.stamps.current.max(theirs.stamps.current);

    let Secret {
        id,
        label,
        env_name,
        note,
        rotate_every,
        confirm,
        created,
        updated,
        current,
        history,
        forgotten,
        ..
    } = ours;
    let versions = unite_versions(current, history, theirs, current_id, now, &mut changed);
    let (current, history) = versions;
    let mut forgotten: Vec<Id> = forgotten
        .into_iter()
        .chain(theirs.forgotten.iter().copied())
        .collect::<BTreeSet<Id>>()
        .into_iter()
        .filter(|id| *id != current.id && !history.iter().any(|v| v.id == *id))
        .collect();
    forgotten.truncate(crate::vault::identity::MAX_FORGOTTEN);
    let secret = Secret {
        id,
        confirm: if take_confirm {
            theirs.confirm
        } else {
            confirm
        },
        conflict,
        stamps,
        forgotten,
        label: if take_label {
            theirs.label.clone()
        } else {
            label
        },
        env_name: if take_env {
            theirs.env_name.clone()
        } else {
            env_name
        },
        note: if take_note { theirs.note.clone() } else { note },
        rotate_every: if take_rotate {
            theirs.rotate_every
        } else {
            rotate_every
        },
        created: created.min(theirs.created),
        updated: updated.max(theirs.updated),
        current,
        history,
    };
    let outcome = if conflict_now {
        Outcome::Conflict
    } else if changed {
        Outcome::Updated
    } else {
        Outcome::Same
    };
    (secret, outcome)
}

/// True when the other copy's value of a field wins: with a base, the side that did not change
/// it loses; else the newer stamp; a tie takes the greater value, so both merge orders agree.
/// The field's stamp becomes the newer of the two.
fn take_theirs<T: Ord>(
    (ours, ours_stamp): (&T, i64),
    (theirs, theirs_stamp): (&T, i64),
    base: Option<&T>,
    stamp: &mut i64,
    changed: &mut bool,
) -> bool {
    *stamp = ours_stamp.max(theirs_stamp);
    if ours == theirs {
        return false;
    }
    let take = match base {
        Some(b) if b == ours => true,
        Some(b) if b == theirs => false,
        _ => (theirs_stamp, theirs) > (ours_stamp, ours),
    };
    *changed |= take;
    take
}

/// Every version either copy holds, once (by id), `current_id` current and the rest in history,
/// the most recently retired first; numbers made unique.
fn unite_versions(
    current: Version,
    history: Vec<Version>,
    theirs: &Secret,
    current_id: Id,
    now: i64,
    changed: &mut bool,
) -> (Version, Vec<Version>) {
    let mut all: BTreeMap<Id, Version> = BTreeMap::new();
    for v in std::iter::once(current).chain(history) {
        all.insert(v.id, v);
    }
    for v in std::iter::once(&theirs.current).chain(&theirs.history) {
        match all.get_mut(&v.id) {
            Some(have) => {
                if v.number > have.number {
                    have.number = v.number;
                    *changed = true;
                }
                have.retired = match (have.retired, v.retired) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            None => {
                *changed = true;
                all.insert(v.id, duplicate_version(v));
            }
        }
    }
    // Numbers: unique, the earliest value keeping its number.
    let mut order: Vec<(i64, Id)> = all.values().map(|v| (v.created, v.id)).collect();
    order.sort();
    let mut used = BTreeSet::new();
    let mut next = all.values().map(|v| v.number).max().unwrap_or(0);
    for (_, id) in order {
        if let Some(v) = all.get_mut(&id)
            && !used.insert(v.number)
        {
            next = next.saturating_add(1);
            v.number = next;
            used.insert(next);
            *changed = true;
        }
    }
    // `current_id` is one side's current version, so it is in `all`; theirs is the fallback
    // should that ever not hold.
    let mut current = all
        .remove(&current_id)
        .unwrap_or_else(|| duplicate_version(&theirs.current));
    current.retired = None;
    let mut history: Vec<Version> = all
        .into_values()
        .map(|mut v| {
            v.retired = Some(v.retired.unwrap_or(now));
            v
        })
        .collect();
    history.sort_by(|a, b| b.retired.cmp(&a.retired).then(b.id.cmp(&a.id)));
    (current, history)
}

/// Two different secrets (ids) with one label: the one added first keeps it, each other gets
/// `LABEL.<8 hex digits of its id>`, is marked in conflict, and is reported.
fn separate_labels(secrets: &mut [Secret], now: i64) -> Vec<(String, String)> {
    let mut by_label: BTreeMap<Label, Vec<usize>> = BTreeMap::new();
    for (i, s) in secrets.iter().enumerate() {
        by_label.entry(s.label.clone()).or_default().push(i);
    }
    let taken: BTreeSet<Label> = by_label.keys().cloned().collect();
    let mut renamed = Vec::new();
    for (label, mut indexes) in by_label {
        if indexes.len() < 2 {
            continue;
        }
        indexes.sort_by_key(|&i| (secrets[i].created, secrets[i].id));
        for &i in &indexes[1..] {
            let Some(new) = free_label(&label, secrets[i].id, &taken) else {
                continue;
            };
            let secret = &mut secrets[i];
            renamed.push((label.to_string(), new.to_string()));
            secret.label = new;
            secret.stamps.label = secret.stamps.label.max(now);
            secret.conflict = true;
            secret.stamps.conflict = secret.stamps.conflict.max(now);
        }
    }
    renamed.sort();
    renamed
}

fn free_label(label: &Label, id: Id, taken: &BTreeSet<Label>) -> Option<Label> {
    let hex: String = id.0.iter().map(|b| format!("{b:02x}")).collect();
    for tail in [&hex[..8], &hex[..]] {
        let keep = 128usize.saturating_sub(tail.len() + 1);
        let stem: String = label.as_str().chars().take(keep).collect();
        if let Ok(new) = Label::parse(&format!("{stem}.{tail}"))
            && !taken.contains(&new)
        {
            return Some(new);
        }
    }
    None
}

/// Makes version `keep` of the secret current (if it is not already) and clears its conflict
/// mark (`resolve`). Returns the number now current.
pub fn resolve(secret: &mut Secret, keep: u32, now: i64) -> crate::error::Result<u32> {
    if secret.current.number != keep {
        secret.rollback(Some(keep), now)?;
    }
    secret.conflict = false;
    secret.updated = now;
    Ok(secret.current.number)
}
