//! The vault's contents: secrets with their versions, and profiles. Pure data and rules, no I/O
//! and no cryptography; `container` seals it, `store` writes it.
//!
//! [`Vault::check`] holds the payload's rules; the codec (`format::codec`, which owns the wire
//! structs) applies it on both encode and decode. None of these types implements `Debug` or
//! `Serialize`, so a value cannot reach a log or a JSON dump by accident.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::names::{EnvName, Label};
use crate::secret::SecretValue;

pub mod identity;

pub use identity::{Id, ProfileTombstone, SealedValue, Snapshot, Stamps, StoredValue, Tombstone};

/// The largest secret value, in bytes (1 MiB); values are 1 byte to this.
pub const MAX_VALUE_LEN: usize = 1024 * 1024;
/// The longest note on a secret, in bytes.
pub const MAX_NOTE_LEN: usize = 1024;

/// Everything the payload holds (`docs/FORMAT.md`, "Payload encoding").
#[derive(Default)]
pub struct Vault {
    /// SHA-256 of the files this one replaced, newest first (at most
    /// [`identity::MAX_ANCESTRY`]): how two copies find what they have in common.
    pub ancestry: Vec<[u8; 32]>,
    /// Sorted by label, labels unique.
    pub secrets: Vec<Secret>,
    /// Removed secrets, sorted by id, kept [`identity::TOMBSTONE_SECS`].
    pub tombstones: Vec<Tombstone>,
    /// Sorted by name, names unique.
    pub profiles: Vec<Profile>,
    /// Removed profiles, sorted by name, kept as long as tombstones.
    pub removed_profiles: Vec<ProfileTombstone>,
}

/// One labelled secret: its current value, older versions and metadata.
pub struct Secret {
    /// Random, made when the secret is added; renames keep it.
    pub id: Id,
    /// Each use of the value needs a person's approval (`edit --confirm`).
    pub confirm: bool,
    /// A merge found both copies changed the current value; `resolve` clears it.
    pub conflict: bool,
    /// When each mergeable field last changed.
    pub stamps: Stamps,
    /// The ids of versions `rotate --keep` dropped, newest first (at most
    /// [`identity::MAX_FORGOTTEN`]): a copy still current on one of them is behind.
    pub forgotten: Vec<Id>,
    /// The secret's label, e.g. `openai/prod`; unique in the vault.
    pub label: Label,
    /// The environment variable `run` sets it as, e.g. `OPENAI_API_KEY`.
    pub env_name: EnvName,
    /// A free-text note, not secret (`list` shows it); at most [`MAX_NOTE_LEN`] bytes.
    pub note: Option<String>,
    /// Rotation period in seconds.
    pub rotate_every: Option<u64>,
    /// When the label was added, in Unix seconds.
    pub created: i64,
    /// The last change of value or metadata, in Unix seconds.
    pub updated: i64,
    /// The value `get` and `run` use.
    pub current: Version,
    /// Older versions, newest first.
    pub history: Vec<Version>,
}

/// One value a secret has held.
pub struct Version {
    /// Random, made with the value; unique within its secret.
    pub id: Id,
    /// The version number, from 1, unique within its secret.
    pub number: u32,
    /// The value, 1 byte to [`MAX_VALUE_LEN`] (sealed when the secret needs approval).
    pub value: StoredValue,
    /// When this value was set, in Unix seconds.
    pub created: i64,
    /// When it stopped being current, in Unix seconds; `None` for the current version.
    pub retired: Option<i64>,
}

/// A named set of bindings that `run --profile` injects, e.g. `dev`.
pub struct Profile {
    /// The profile's name (same rule as a label).
    pub name: Label,
    /// When it was last set (a merge keeps the newer of two profiles of one name).
    pub updated: i64,
    /// Which secret goes into which variable.
    pub bindings: Vec<Binding>,
}

/// One variable of a profile: `env_name` is set to the current value of `label`.
pub struct Binding {
    /// The environment variable to set.
    pub env_name: EnvName,
    /// The secret whose value it gets.
    pub label: Label,
}

impl Secret {
    /// When the current value is due for rotation, if the secret has a period.
    pub fn rotation_due(&self) -> Option<i64> {
        let period = i64::try_from(self.rotate_every?).ok()?;
        Some(self.current.created.saturating_add(period))
    }

    /// The value of version `number`, current or in history.
    pub fn version(&self, number: u32) -> Option<&Version> {
        std::iter::once(&self.current)
            .chain(&self.history)
            .find(|v| v.number == number)
    }
}

/// How many old versions `rotate` keeps unless told otherwise.
pub const DEFAULT_KEEP: usize = 5;
/// The most old versions `rotate --keep` may keep.
pub const MAX_KEEP: usize = 100;

impl Secret {
    /// Makes `value` the current version; the old one is retired `now` into history, which keeps
    /// the newest `keep` versions. Dropped versions are wiped (their buffers zeroize on drop).
    /// Returns the new version number.
    pub fn rotate(&mut self, value: SecretValue, now: i64, keep: usize) -> u32 {
        let number = self.max_version().saturating_add(1);
        let mut old = std::mem::replace(
            &mut self.current,
            Version {
                id: Id::UNASSIGNED,
                number,
                value: StoredValue::Plain(value),
                created: now,
                retired: None,
            },
        );
        old.retired = Some(now);
        self.history.insert(0, old);
        for dropped in self.history.drain(keep.min(self.history.len())..) {
            self.forgotten.insert(0, dropped.id);
        }
        self.forgotten.truncate(identity::MAX_FORGOTTEN);
        self.updated = now;
        number
    }

    /// Makes version `to` (default: the newest in history) current again; the current one goes
    /// into history, so nothing is lost. Returns the number now current.
    pub fn rollback(&mut self, to: Option<u32>, now: i64) -> Result<u32> {
        let index = match to {
            None => {
                if self.history.is_empty() {
                    return Err(Error::usage(format!(
                        "{} has no older version to roll back to",
                        self.label
                    )));
                }
                0
            }
            Some(n) if n == self.current.number => {
                return Err(Error::usage(format!(
                    "version {n} is already the current version of {}",
                    self.label
                )));
            }
            Some(n) => self
                .history
                .iter()
                .position(|v| v.number == n)
                .ok_or_else(|| Error::VersionNotFound {
                    label: self.label.to_string(),
                    version: n,
                })?,
        };
        let mut target = self.history.remove(index);
        target.retired = None;
        let mut old = std::mem::replace(&mut self.current, target);
        old.retired = Some(now);
        self.history.insert(0, old);
        self.updated = now;
        Ok(self.current.number)
    }

    fn max_version(&self) -> u32 {
        std::iter::once(&self.current)
            .chain(&self.history)
            .map(|v| v.number)
            .max()
            .unwrap_or(0)
    }

    /// True when the rotation period has passed at `now`.
    pub fn is_overdue(&self, now: i64) -> bool {
        self.rotation_due().is_some_and(|due| due <= now)
    }
}

/// Values shorter than this (in characters) get no hint at all.
pub const HINT_MIN_CHARS: usize = 24;
/// How many of a value's last characters its hint shows.
pub const HINT_TAIL_CHARS: usize = 4;

impl Version {
    /// The value in the clear, or "needs approval" (exit 3) when it is sealed for approval.
    pub fn plain(&self, label: &Label) -> Result<&SecretValue> {
        self.value.plain().ok_or_else(|| Error::NeedsApproval {
            label: label.to_string(),
        })
    }

    /// A hint that tells versions apart without revealing them: `…` and the last 4 characters of
    /// values of 24 characters or more (`…a1b2`), nothing for shorter ones. Four characters of
    /// a 24-character value leave at least 20 unknown; a short password would give too much away
    /// (the first 3 and last 4 of 12 characters used to be shown: 7 of 12).
    pub fn hint(&self) -> Option<String> {
        // Work on the value in place; only a non-UTF-8 value needs a (zeroizing) lossy copy.
        let value = self.value.plain()?;
        let lossy;
        let text = match std::str::from_utf8(value.expose()) {
            Ok(text) => text,
            Err(_) => {
                lossy =
                    zeroize::Zeroizing::new(String::from_utf8_lossy(value.expose()).into_owned());
                lossy.as_str()
            }
        };
        let count = text.chars().count();
        if count < HINT_MIN_CHARS {
            return None;
        }
        let tail: String = text.chars().skip(count - HINT_TAIL_CHARS).collect();
        Some(format!("…{tail}"))
    }
}

/// What [`Vault::merge`] did with a batch of incoming values (`import`, `pull`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// New labels added.
    pub added: usize,
    /// Existing labels given a new current value.
    pub rotated: usize,
    /// Already held that exact value.
    pub unchanged: usize,
    /// Exist with another value and were left alone (no `overwrite`).
    pub skipped: Vec<String>,
}

impl Secret {
    /// A new secret at version 1, created `now`.
    pub fn first(label: Label, env_name: EnvName, value: SecretValue, now: i64) -> Secret {
        Secret {
            id: Id::UNASSIGNED,
            confirm: false,
            conflict: false,
            stamps: Stamps::all(now),
            forgotten: Vec::new(),
            label,
            env_name,
            note: None,
            rotate_every: None,
            created: now,
            updated: now,
            current: Version {
                id: Id::UNASSIGNED,
                number: 1,
                value: StoredValue::Plain(value),
                created: now,
                retired: None,
            },
            history: Vec::new(),
        }
    }
}

impl Vault {
    /// The secret labelled `label`, or `LabelNotFound` with close labels.
    pub fn get(&self, label: &Label) -> Result<&Secret> {
        self.position(label)
            .map(|i| &self.secrets[i])
            .map_err(|_| self.not_found(label))
    }

    /// The secret labelled `label`, to change, or `LabelNotFound` with close labels.
    pub fn get_mut(&mut self, label: &Label) -> Result<&mut Secret> {
        match self.position(label) {
            Ok(i) => Ok(&mut self.secrets[i]),
            Err(_) => Err(self.not_found(label)),
        }
    }

    /// The secret labelled `label`, if there is one: no "did you mean" search, for callers that
    /// look up thousands of labels (`import`).
    pub fn find_mut(&mut self, label: &Label) -> Option<&mut Secret> {
        self.position(label).ok().map(|i| &mut self.secrets[i])
    }

    /// Adds each `(label, env name, value)`: a new label as a new secret; an existing one with
    /// the same value is left as it is; with another value it is rotated (history kept) when
    /// `overwrite`, else skipped. A label given twice counts its first occurrence. Linear: new
    /// secrets are gathered in order and merged into the sorted list once, instead of each
    /// inserted into the middle of it (quadratic: 160,000 lines took a minute).
    pub fn merge(
        &mut self,
        incoming: impl IntoIterator<Item = (Label, EnvName, SecretValue)>,
        overwrite: bool,
        now: i64,
    ) -> Result<Merged> {
        let mut done = Merged::default();
        let mut new: BTreeMap<Label, Secret> = BTreeMap::new();
        for (label, env_name, value) in incoming {
            if new.contains_key(&label) {
                done.skipped.push(label.to_string());
                continue;
            }
            match self.find_mut(&label) {
                Some(s)
                    if s.current.value.plain().map(SecretValue::expose) == Some(value.expose()) =>
                {
                    done.unchanged += 1
                }
                Some(s) if overwrite => {
                    s.rotate(value, now, DEFAULT_KEEP);
                    done.rotated += 1;
                }
                Some(_) => done.skipped.push(label.to_string()),
                None => {
                    new.insert(label.clone(), Secret::first(label, env_name, value, now));
                    done.added += 1;
                }
            }
        }
        if !new.is_empty() {
            let old = std::mem::take(&mut self.secrets);
            let mut merged = Vec::with_capacity(old.len() + new.len());
            let mut old = old.into_iter().peekable();
            for (label, secret) in new {
                while let Some(before) = old.next_if(|s| s.label < label) {
                    merged.push(before);
                }
                merged.push(secret);
            }
            merged.extend(old);
            self.secrets = merged;
        }
        Ok(done)
    }

    /// Adds a new secret; an existing label is an error ("use rotate").
    pub fn insert(&mut self, secret: Secret) -> Result<()> {
        match self.position(&secret.label) {
            Ok(_) => Err(Error::LabelExists {
                label: secret.label.to_string(),
            }),
            Err(at) => {
                self.secrets.insert(at, secret);
                Ok(())
            }
        }
    }

    /// Takes the secret labelled `label` out of the vault, or `LabelNotFound`.
    pub fn remove(&mut self, label: &Label) -> Result<Secret> {
        match self.position(label) {
            Ok(i) => Ok(self.secrets.remove(i)),
            Err(_) => Err(self.not_found(label)),
        }
    }

    /// Gives a secret a new label, keeping the list sorted; profiles follow the new label.
    pub fn rename(&mut self, from: &Label, to: Label) -> Result<()> {
        if self.position(&to).is_ok() {
            return Err(Error::LabelExists {
                label: to.to_string(),
            });
        }
        let mut secret = self.remove(from)?;
        secret.label = to.clone();
        for binding in self.profiles.iter_mut().flat_map(|p| p.bindings.iter_mut()) {
            if &binding.label == from {
                binding.label = to.clone();
            }
        }
        self.insert(secret)
    }

    /// Names of the profiles that bind `label`.
    pub fn profiles_using(&self, label: &Label) -> Vec<String> {
        self.profiles
            .iter()
            .filter(|p| p.bindings.iter().any(|b| &b.label == label))
            .map(|p| p.name.to_string())
            .collect()
    }

    fn position(&self, label: &Label) -> std::result::Result<usize, usize> {
        self.secrets.binary_search_by(|s| s.label.cmp(label))
    }

    /// A "not found" error that suggests up to three labels close to the one asked for.
    pub fn not_found(&self, label: &Label) -> Error {
        Error::LabelNotFound {
            label: label.to_string(),
            suggestions: closest(
                label.as_str(),
                self.secrets.iter().map(|s| s.label.as_str()),
            ),
        }
    }

    /// A "no such profile" error that suggests up to three profile names close to `name`.
    pub fn profile_not_found(&self, name: &str) -> Error {
        Error::ProfileNotFound {
            name: name.to_string(),
            suggestions: closest(name, self.profiles.iter().map(|p| p.name.as_str())),
        }
    }

    /// Checks the rules a decoded payload must keep (`docs/FORMAT.md`): a violation is damage.
    pub fn check(&self) -> std::result::Result<(), String> {
        for pair in self.secrets.windows(2) {
            if pair[0].label >= pair[1].label {
                return Err("secrets are not sorted by label, or a label repeats".into());
            }
        }
        for pair in self.profiles.windows(2) {
            if pair[0].name >= pair[1].name {
                return Err("profiles are not sorted by name, or a name repeats".into());
            }
        }
        for secret in &self.secrets {
            let label = secret.label.as_str();
            if secret.note.as_ref().is_some_and(|n| n.len() > MAX_NOTE_LEN) {
                return Err(format!(
                    "the note of {label:?} is longer than {MAX_NOTE_LEN} bytes"
                ));
            }
            if secret.rotate_every == Some(0) {
                return Err(format!("the rotation period of {label:?} is zero"));
            }
            if secret.current.retired.is_some() {
                return Err(format!(
                    "the current version of {label:?} is marked retired"
                ));
            }
            if secret.history.iter().any(|v| v.retired.is_none()) {
                return Err(format!(
                    "an old version of {label:?} has no retirement time"
                ));
            }
            let mut numbers = Vec::with_capacity(secret.history.len() + 1);
            for version in std::iter::once(&secret.current).chain(&secret.history) {
                if !version.value.length_ok() {
                    return Err(format!(
                        "a value of {label:?} has a length out of bounds (1 B to 1 MiB allowed)"
                    ));
                }
                if version.number == 0 {
                    return Err(format!(
                        "a version of {label:?} is numbered 0 (numbers start at 1)"
                    ));
                }
                numbers.push(version.number);
            }
            numbers.sort_unstable();
            if numbers.windows(2).any(|w| w[0] == w[1]) {
                return Err(format!("{label:?} has two versions with the same number"));
            }
            let mut ids: Vec<Id> = std::iter::once(&secret.current)
                .chain(&secret.history)
                .map(|v| v.id)
                .collect();
            ids.push(secret.id);
            if ids.iter().any(Id::is_unassigned) {
                return Err(format!("{label:?} or one of its versions has no id"));
            }
            ids.pop();
            ids.sort_unstable();
            if ids.windows(2).any(|w| w[0] == w[1]) {
                return Err(format!("{label:?} has two versions with the same id"));
            }
        }
        let mut ids: Vec<Id> = self.secrets.iter().map(|s| s.id).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) {
            return Err("two secrets have the same id".into());
        }
        if self.tombstones.windows(2).any(|w| w[0].id >= w[1].id) {
            return Err("tombstones are not sorted by id, or an id repeats".into());
        }
        if self
            .removed_profiles
            .windows(2)
            .any(|w| w[0].name >= w[1].name)
        {
            return Err("removed profiles are not sorted by name, or a name repeats".into());
        }
        Ok(())
    }
}

/// Up to three of `names` close to `wanted` (one contains the other, one typo apart, or
/// Jaro-Winkler >= 0.8),
/// closest first: the "did you mean" of a mistyped label or profile name.
fn closest<'a>(wanted: &str, names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let wanted = wanted.to_lowercase();
    let mut close: Vec<(f64, &str)> = names
        .map(|name| {
            let have = name.to_lowercase();
            let score = if have.contains(&wanted) || wanted.contains(&have) {
                1.0
            } else if strsim::osa_distance(&wanted, &have) <= 1 {
                0.95 // one typo: a letter missing, added, changed or two swapped
            } else {
                strsim::jaro_winkler(&wanted, &have)
            };
            (score, name)
        })
        .filter(|(score, _)| *score >= 0.8)
        .collect();
    close.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    close.iter().take(3).map(|(_, n)| n.to_string()).collect()
}
