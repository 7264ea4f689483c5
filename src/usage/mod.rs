//! The usage log: which secret went into which program, and when; and what changed in the vault.
//!
//! An append-only file beside the vault (`<vault>.log`, `docs/FORMAT.md`, "Usage log"). One key
//! per log, derived from the data key and the salt in the log's header, so a listing is one agent
//! request; each record carries its index and its length at both ends, so an append reads the
//! header and the last record only. Past a size the log is compacted: the last events per label
//! stay, the rest become per-label summaries. Writing is best effort (a failure is a warning), and
//! a log this vault cannot read is never appended to: it is kept aside and a new one started.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use bincode::Options;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::container::UnlockedVault;
use crate::crypto::{self, NONCE_LEN, SALT_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::format::{Purpose, VAULT_ID_LEN};
use crate::store;

pub const LOG_MAGIC: [u8; 8] = [0x89, b'S', b'E', b'S', b'L', b'O', b'G', b'\n'];
/// Version 3: one key per log (salt in the header), records framed for reading from the end,
/// summaries. Version 2 added the key generation to version 1's header.
pub const LOG_VERSION: u16 = 3;
/// magic ‖ version ‖ vault id ‖ key generation ‖ log salt ‖ length when written whole.
pub const LOG_HEADER_LEN: usize = 8 + 2 + VAULT_ID_LEN + 4 + SALT_LEN + 8;
pub const LOG_V2_HEADER_LEN: usize = 8 + 2 + VAULT_ID_LEN + 4;
pub const LOG_V1_HEADER_LEN: usize = 8 + 2 + VAULT_ID_LEN;
/// A record around an empty ciphertext: length ‖ index ‖ nonce ‖ tag ‖ length.
pub const MIN_RECORD_LEN: u64 = (4 + 8 + NONCE_LEN + TAG_LEN + 4) as u64;
/// A log larger than this is not read whole, and never appended to.
pub const MAX_LOG_LEN: u64 = 64 * 1024 * 1024;
/// One record may fill a log (`run --all` on many labels is one record).
pub const MAX_RECORD_LEN: u64 = MAX_LOG_LEN - LOG_HEADER_LEN as u64;
/// A log is compacted when an append would take it past the larger of this and twice its length
/// when it was last written whole. (The unit tests compact at 128 KiB, so that a debug build
/// crosses it often in little time; the binary always uses 2 MiB.)
pub const COMPACT_AT_LEAST: u64 = if cfg!(test) {
    128 * 1024
} else {
    2 * 1024 * 1024
};
/// How many of the newest events naming a label compaction keeps.
pub const KEEP_PER_LABEL: usize = 20;
/// Compaction keeps fewer events per label until the log fits in this.
const COMPACTED_MAX: u64 = MAX_LOG_LEN / 2;
/// Version 1 and 2 records: a body of salt, nonce and tag around the ciphertext, at most 64 KiB.
const V2_MIN_BODY_LEN: u64 = (SALT_LEN + NONCE_LEN + TAG_LEN) as u64;
const V2_MAX_BODY_LEN: u64 = 64 * 1024;
/// How many `<vault>.log.old[.N]` files may be kept before setting one more aside fails.
const MAX_ASIDE: u32 = 100;
pub const LOG_INFO: &[u8] = b"sesame v1 usage log";
pub const LOG_AAD_PREFIX: &[u8] = b"sesame v1 log";

/// One event. `action` is a word (`run`, `get`, `add`, …) so later builds can add actions that
/// older ones still display.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub time: i64,
    pub action: String,
    pub labels: Vec<String>,
    /// For `run`: the program's file name only (arguments can hold secrets).
    pub program: Option<String>,
    pub detail: Option<String>,
}

impl Event {
    pub fn new(action: &str, labels: Vec<String>) -> Event {
        Event {
            time: crate::units::now(),
            action: action.to_string(),
            labels,
            program: None,
            detail: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Event {
        self.detail = Some(detail.into());
        self
    }
}

/// What compaction left of the events it removed, and the use counts as of its place in the log.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Summaries {
    /// When the log was compacted (Unix seconds).
    pub time: i64,
    /// Events naming no label that compactions removed, in all.
    pub unlabelled_dropped: u64,
    /// One per label, sorted by label.
    pub labels: Vec<Summary>,
}

/// One label's line in [`Summaries`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub label: String,
    /// Uses (`run`, `get`) of the secret now under this label in every event before the
    /// summaries: renames followed, reset by `rm`.
    pub uses: u64,
    /// The newest of those uses (Unix seconds); 0 when `uses` is 0.
    pub last_used: i64,
    /// Events naming this label that compactions removed, in all.
    pub dropped: u64,
}

/// A record's plaintext.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Event(Event),
    Summaries(Summaries),
}

fn codec() -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .reject_trailing_bytes()
        .with_limit(MAX_RECORD_LEN)
}

/// Decodes a record's plaintext (after it authenticated). Never panics.
pub fn decode_record(plaintext: &[u8]) -> std::result::Result<Record, ReadProblem> {
    codec()
        .deserialize(plaintext)
        .map_err(|_| ReadProblem::Undecodable)
}

/// The plaintext of `record`.
pub fn encode_record(record: &Record) -> Result<Vec<u8>> {
    codec()
        .serialize(record)
        .map_err(|e| Error::io("cannot encode a log record", std::io::Error::other(e)))
}

/// `<vault>.log`, beside the vault.
pub fn log_path(vault: &Path) -> PathBuf {
    let mut name = vault.file_name().unwrap_or_default().to_os_string();
    name.push(".log");
    vault.with_file_name(name)
}

// ---- which vault a log belongs to ----
/// What a log's header says about it, compared with the open vault.
enum Belonging {
    /// Version 3, this vault id and key generation.
    Current(LogHeader),
    /// Version 1 or 2 of this vault (version 2: of this key generation). Its records open with
    /// per-record keys (version 1: if the key generation has not changed since).
    Older(LogHeader),
    /// A log this vault must not append to, and why.
    Other(&'static str),
}

fn belonging(head: &[u8], vault: &UnlockedVault) -> Belonging {
    let header = match parse_header(head) {
        Ok(header) => header,
        Err(reason) => return Belonging::Other(reason),
    };
    if header.vault_id != vault.header.vault_id {
        return Belonging::Other("belongs to another vault");
    }
    if header
        .key_generation
        .is_some_and(|g| g != vault.header.key_generation)
    {
        return Belonging::Other(
            "was sealed under another key generation (an interrupted `rekey`, or a vault restored \
             from a backup)",
        );
    }
    if header.version == LOG_VERSION {
        Belonging::Current(header)
    } else {
        Belonging::Older(header)
    }
}

fn encode_header(vault: &UnlockedVault, salt: &[u8; SALT_LEN], rewritten_len: u64) -> Vec<u8> {
    let mut h = Vec::with_capacity(LOG_HEADER_LEN);
    h.extend_from_slice(&LOG_MAGIC);
    h.extend_from_slice(&LOG_VERSION.to_le_bytes());
    h.extend_from_slice(&vault.header.vault_id);
    h.extend_from_slice(&vault.header.key_generation.to_le_bytes());
    h.extend_from_slice(salt);
    h.extend_from_slice(&rewritten_len.to_le_bytes());
    h
}

// ---- keys ----

/// The key of one version 3 log (its header's salt), and the AAD every record is bound to.
struct LogKey {
    cipher: crypto::Aead,
    vault_id: [u8; VAULT_ID_LEN],
    generation: u32,
}

impl LogKey {
    /// One key derivation: one agent request when the agent holds the vault.
    fn derive(vault: &UnlockedVault, salt: &[u8]) -> Result<LogKey> {
        Ok(LogKey {
            cipher: crypto::Aead::new(&*vault.subkey(salt, Purpose::UsageLog)?),
            vault_id: vault.header.vault_id,
            generation: vault.header.key_generation,
        })
    }

    fn aad(&self, index: u64) -> Vec<u8> {
        record_aad(&self.vault_id, self.generation, index)
    }

    fn seal(&self, index: u64, record: &Record) -> Result<Vec<u8>> {
        let plaintext = Zeroizing::new(encode_record(record)?);
        let nonce: [u8; NONCE_LEN] = crypto::random_array()?;
        let sealed = self.cipher.seal(&nonce, &self.aad(index), &plaintext);
        encode_frame(index, &nonce, &sealed)
    }

    fn open(&self, frame: &Frame<'_>) -> std::result::Result<Record, ReadProblem> {
        let plaintext = self
            .cipher
            .open(&frame.nonce, &self.aad(frame.index), frame.sealed)
            .ok_or(ReadProblem::Unauthentic)?;
        decode_record(&plaintext)
    }
}

fn record_aad(vault_id: &[u8; VAULT_ID_LEN], generation: u32, index: u64) -> Vec<u8> {
    let mut aad = Vec::with_capacity(LOG_AAD_PREFIX.len() + VAULT_ID_LEN + 12);
    aad.extend_from_slice(LOG_AAD_PREFIX);
    aad.extend_from_slice(vault_id);
    aad.extend_from_slice(&generation.to_le_bytes());
    aad.extend_from_slice(&index.to_le_bytes());
    aad
}

// ---- reading ----

/// What reading the log found: its records, oldest first, and a warning if it stopped early.
pub struct LogContents {
    pub records: Vec<Record>,
    pub problem: Option<String>,
}

impl LogContents {
    fn empty() -> LogContents {
        LogContents {
            records: Vec::new(),
            problem: None,
        }
    }

    /// A log that could not be read at all (for `rekey`, which keeps it aside).
    pub fn unreadable(error: &Error) -> LogContents {
        LogContents {
            records: Vec::new(),
            problem: Some(error.to_string()),
        }
    }

    /// The events, oldest first.
    pub fn events(&self) -> impl DoubleEndedIterator<Item = &Event> {
        self.records.iter().filter_map(|r| match r {
            Record::Event(e) => Some(e),
            Record::Summaries(_) => None,
        })
    }

    /// The summaries of the last compaction, if the log was compacted.
    pub fn summaries(&self) -> Option<&Summaries> {
        self.records.iter().rev().find_map(|r| match r {
            Record::Summaries(s) => Some(s),
            Record::Event(_) => None,
        })
    }
}

/// Reads and authenticates every record: one key derivation for a version 3 log. Stops at the
/// first record that does not open (and says so): later records cannot be trusted to be in their
/// place.
pub fn read(vault_path: &Path, vault: &UnlockedVault) -> Result<LogContents> {
    let path = log_path(vault_path);
    let ctx = || format!("cannot read the usage log {}", path.display());
    let file = match store::open_regular(&path, OpenOptions::new().read(true)) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(LogContents::empty()),
        Err(e) => return Err(Error::io(ctx(), e)),
    };
    let len = file.metadata().map_err(|e| Error::io(ctx(), e))?.len();
    let mut bytes = Vec::with_capacity(len.min(MAX_LOG_LEN) as usize);
    file.take(MAX_LOG_LEN)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(ctx(), e))?;
    let mut contents = parse(&bytes, vault);
    if len > MAX_LOG_LEN && contents.problem.is_none() {
        contents.problem = Some(
            "the usage log is larger than 64 MiB; only its beginning is shown, and the next \
             event starts a new log"
                .into(),
        );
    }
    Ok(contents)
}

fn parse(bytes: &[u8], vault: &UnlockedVault) -> LogContents {
    if bytes.is_empty() {
        return LogContents::empty();
    }
    match belonging(&bytes[..LOG_HEADER_LEN.min(bytes.len())], vault) {
        Belonging::Current(header) => parse_v3(bytes, &header, vault),
        Belonging::Older(header) => parse_v2(&bytes[header.len..], vault),
        Belonging::Other(reason) => LogContents {
            records: Vec::new(),
            problem: Some(format!(
                "the usage log {reason}; none of it is shown, and the next event recorded keeps \
                 it as `<vault>.log.old` and starts a new log"
            )),
        },
    }
}

fn parse_v3(bytes: &[u8], header: &LogHeader, vault: &UnlockedVault) -> LogContents {
    let mut contents = LogContents::empty();
    let records = &bytes[header.len..];
    if records.is_empty() {
        return contents;
    }
    let Some(key) = header
        .salt
        .and_then(|salt| LogKey::derive(vault, &salt).ok())
    else {
        contents.problem = Some("the agent would not derive the usage log's key".into());
        return contents;
    };
    for frame in frames(records) {
        match frame.and_then(|f| key.open(&f)) {
            Ok(record) => contents.records.push(record),
            Err(problem) => {
                contents.problem = Some(problem.to_string());
                break;
            }
        }
    }
    contents
}

/// Version 1 and 2 records: `body length u32 ‖ salt ‖ nonce ‖ ciphertext ‖ tag`, each with its own
/// key (one derivation per record).
fn parse_v2(mut rest: &[u8], vault: &UnlockedVault) -> LogContents {
    let mut contents = LogContents::empty();
    let mut index = 0u64;
    while !rest.is_empty() {
        let problem = match v2_record(rest, index, vault) {
            Ok((event, used)) => {
                contents.records.push(Record::Event(event));
                rest = &rest[used..];
                index += 1;
                continue;
            }
            Err(problem) => problem,
        };
        contents.problem = Some(problem);
        break;
    }
    contents
}

fn v2_record(
    bytes: &[u8],
    index: u64,
    vault: &UnlockedVault,
) -> std::result::Result<(Event, usize), String> {
    let Some(len_bytes) = bytes.get(..4) else {
        return Err(ReadProblem::CutShort.to_string());
    };
    let body_len = u64::from(u32_at(len_bytes, 0));
    if !(V2_MIN_BODY_LEN..=V2_MAX_BODY_LEN).contains(&body_len) {
        return Err(ReadProblem::Malformed.to_string());
    }
    let Some(body) = bytes.get(4..4 + body_len as usize) else {
        return Err(ReadProblem::CutShort.to_string());
    };
    let (salt, rest) = body.split_at(SALT_LEN);
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().unwrap_or([0; NONCE_LEN]);
    let Ok(key) = vault.subkey(salt, Purpose::UsageLog) else {
        return Err("the agent would not derive the usage log's key".into());
    };
    let aad = record_aad(&vault.header.vault_id, vault.header.key_generation, index);
    let plaintext = crypto::open(&key, &nonce, &aad, sealed)
        .ok_or_else(|| ReadProblem::Unauthentic.to_string())?;
    let event = codec()
        .with_limit(V2_MAX_BODY_LEN)
        .deserialize::<Event>(&plaintext)
        .map_err(|_| ReadProblem::Undecodable.to_string())?;
    Ok((event, 4 + body_len as usize))
}

mod summary;

pub use summary::{Uses, compact, uses_by_label};

mod frame;
mod write;

pub use frame::*;
pub use write::*;

#[cfg(test)]
mod tests;
