//! Where an event happened: this machine's device id and a sequence, so that the usage logs of two
//! copies of a vault can be combined (`merge`) with every event once (`docs/FORMAT.md`, "Usage
//! log", record kind 2).
//!
//! The device id is 16 random bytes kept in `$XDG_STATE_HOME/sesame/device-id` (else
//! `~/.local/state/sesame/device-id`): per machine and user, never beside the vault, which a sync
//! tool copies to the other machines. Without it (no home, a read-only one) events carry no origin
//! and are combined by their contents.

use std::collections::HashSet;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{Event, LogContents, Record};

/// The device an event was recorded on, and its place among that device's events.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    /// This machine's random id.
    pub device: [u8; 16],
    /// Nanoseconds since the epoch when it was recorded: increasing on one device (appends hold
    /// the vault's write lock), unique per device.
    pub sequence: u64,
}

fn device_file() -> Option<PathBuf> {
    let state = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?)
            .join(".local")
            .join("state"),
    };
    Some(state.join("sesame").join("device-id"))
}

fn parse_id(text: &str) -> Option<[u8; 16]> {
    let text = text.trim();
    if text.len() != 32 {
        return None;
    }
    let mut id = [0; 16];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(id)
}

/// This machine's device id: read, or made once (mode 0600, its folder 0700).
fn load_or_make() -> Option<[u8; 16]> {
    let path = device_file()?;
    if let Ok(text) = std::fs::read_to_string(&path) {
        return parse_id(&text);
    }
    let folder = path.parent()?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(folder)
        .ok()?;
    let id: [u8; 16] = crate::crypto::random_array().ok()?;
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
    {
        Ok(mut file) => {
            file.write_all(format!("{hex}\n").as_bytes()).ok()?;
            Some(id)
        }
        // Another sesame made it first: use its id.
        Err(_) => parse_id(&std::fs::read_to_string(&path).ok()?),
    }
}

/// The origin of an event recorded now, if this machine has a device id.
pub(super) fn now() -> Option<Origin> {
    static DEVICE: OnceLock<Option<[u8; 16]>> = OnceLock::new();
    let device = (*DEVICE.get_or_init(load_or_make))?;
    let sequence = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .and_then(|d| u64::try_from(d.as_nanos()).ok())?;
    Some(Origin { device, sequence })
}

/// What identifies an event across copies: its origin, or for an event recorded without one, its
/// contents.
#[derive(PartialEq, Eq, Hash)]
enum Key {
    Origin(Origin),
    Contents(i64, String, Vec<String>, Option<String>, Option<String>),
}

fn key(e: &Event) -> Key {
    match e.origin {
        Some(origin) => Key::Origin(origin),
        None => Key::Contents(
            e.time,
            e.action.clone(),
            e.labels.clone(),
            e.program.clone(),
            e.detail.clone(),
        ),
    }
}

/// `ours` followed by the events of `theirs` it does not hold (by origin), oldest first; returns
/// how many were added. `theirs`' summaries are not carried over: they count uses on the other
/// copy before its last compaction, which this log cannot place.
pub fn combine(ours: &mut LogContents, theirs: LogContents) -> usize {
    let held: HashSet<Key> = ours.events().map(key).collect();
    let mut new: Vec<Event> = theirs
        .records
        .into_iter()
        .filter_map(|r| match r {
            Record::Event(e) if !held.contains(&key(&e)) => Some(e),
            _ => None,
        })
        .collect();
    new.sort_by_key(|e| (e.time, e.origin.map(|o| o.sequence)));
    new.dedup_by(|a, b| key(a) == key(b));
    let added = new.len();
    ours.records.extend(new.into_iter().map(Record::Event));
    added
}
