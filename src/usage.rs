//! The usage log: which secret went into which program, and when; and what changed in the vault.
//!
//! An append-only file beside the vault (`<vault>.log`, `docs/FORMAT.md`, "Usage log"). Each record
//! is sealed on its own under a key derived from the data key, so appending never rewrites the
//! vault, and the record's position is authenticated, so records cannot be reordered or removed
//! from the middle unnoticed. Writing it is best effort: a failure is a warning, never an error.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use bincode::Options;
use serde::{Deserialize, Serialize};

use crate::container::UnlockedVault;
use crate::crypto::{self, NONCE_LEN, SALT_LEN};
use crate::error::{Error, Result};
use crate::format::{Purpose, VAULT_ID_LEN};

pub const LOG_MAGIC: [u8; 8] = [0x89, b'S', b'E', b'S', b'L', b'O', b'G', b'\n'];
pub const LOG_VERSION: u16 = 1;
pub const LOG_HEADER_LEN: usize = 8 + 2 + VAULT_ID_LEN;
pub const MAX_RECORD_LEN: u32 = 64 * 1024;
/// A log larger than this is not read whole; `log` says so.
pub const MAX_LOG_LEN: u64 = 64 * 1024 * 1024;
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

fn codec() -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .reject_trailing_bytes()
        .with_limit(u64::from(MAX_RECORD_LEN))
}

/// `<vault>.log`, beside the vault.
pub fn log_path(vault: &Path) -> PathBuf {
    let mut name = vault.file_name().unwrap_or_default().to_os_string();
    name.push(".log");
    vault.with_file_name(name)
}

fn record_aad(vault: &UnlockedVault, index: u64) -> Vec<u8> {
    let mut aad = Vec::with_capacity(LOG_AAD_PREFIX.len() + VAULT_ID_LEN + 12);
    aad.extend_from_slice(LOG_AAD_PREFIX);
    aad.extend_from_slice(&vault.header.vault_id);
    aad.extend_from_slice(&vault.header.key_generation.to_le_bytes());
    aad.extend_from_slice(&index.to_le_bytes());
    aad
}

fn seal_record(vault: &UnlockedVault, index: u64, event: &Event) -> Result<Vec<u8>> {
    let plaintext = codec()
        .serialize(event)
        .map_err(|e| Error::io("cannot encode a log record", std::io::Error::other(e)))?;
    let salt: [u8; SALT_LEN] = crypto::random_array()?;
    let nonce: [u8; NONCE_LEN] = crypto::random_array()?;
    let key = vault.subkey(&salt, Purpose::UsageLog)?;
    let sealed = crypto::seal(&key, &nonce, &record_aad(vault, index), &plaintext);
    let body_len = SALT_LEN + NONCE_LEN + sealed.len();
    let mut record = Vec::with_capacity(4 + body_len);
    record.extend_from_slice(&(body_len as u32).to_le_bytes());
    record.extend_from_slice(&salt);
    record.extend_from_slice(&nonce);
    record.extend_from_slice(&sealed);
    Ok(record)
}

fn header(vault: &UnlockedVault) -> Vec<u8> {
    let mut h = Vec::with_capacity(LOG_HEADER_LEN);
    h.extend_from_slice(&LOG_MAGIC);
    h.extend_from_slice(&LOG_VERSION.to_le_bytes());
    h.extend_from_slice(&vault.header.vault_id);
    h
}

/// Record boundaries of an existing log: (count of whole records, byte length they span).
/// A record cut short by a crash ends the walk; the caller truncates it away before appending.
fn walk(file: &mut File, len: u64) -> std::io::Result<(u64, u64)> {
    let mut reader = std::io::BufReader::new(file);
    reader.seek(SeekFrom::Start(LOG_HEADER_LEN as u64))?;
    let mut pos = LOG_HEADER_LEN as u64;
    let mut count = 0;
    loop {
        let mut len_bytes = [0u8; 4];
        if pos + 4 > len || reader.read_exact(&mut len_bytes).is_err() {
            break;
        }
        let body = u64::from(u32::from_le_bytes(len_bytes));
        if body > u64::from(MAX_RECORD_LEN) || pos + 4 + body > len {
            break;
        }
        reader.seek_relative(body as i64)?;
        pos += 4 + body;
        count += 1;
    }
    Ok((count, pos))
}

/// Appends `event`. The caller holds the vault's write lock, which serializes appends with the
/// rewrite `rekey` does. A log that belongs to another vault (after a restore) is set aside as
/// `<vault>.log.old` and a new one started.
pub fn append(vault_path: &Path, vault: &UnlockedVault, event: &Event) -> Result<()> {
    let path = log_path(vault_path);
    let ctx = |what: &str| format!("cannot {what} the usage log {}", path.display());
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io(ctx("open"), e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(ctx("read"), e))?
        .len();
    let mut head = [0u8; LOG_HEADER_LEN];
    let belongs = len >= LOG_HEADER_LEN as u64
        && file.read_exact(&mut head).is_ok()
        && head[..] == header(vault)[..];
    if !belongs {
        if len > 0 {
            drop(file);
            let mut old = path.clone().into_os_string();
            old.push(".old");
            fs::rename(&path, &old).map_err(|e| Error::io(ctx("set aside"), e))?;
            return append(vault_path, vault, event);
        }
        file.write_all(&header(vault))
            .map_err(|e| Error::io(ctx("write"), e))?;
    }
    let (count, end) =
        walk(&mut file, len.max(LOG_HEADER_LEN as u64)).map_err(|e| Error::io(ctx("read"), e))?;
    if belongs && end < len {
        file.set_len(end).map_err(|e| Error::io(ctx("repair"), e))?;
    }
    let record = seal_record(vault, count, event)?;
    file.seek(SeekFrom::Start(end.max(LOG_HEADER_LEN as u64)))
        .map_err(|e| Error::io(ctx("write"), e))?;
    file.write_all(&record)
        .map_err(|e| Error::io(ctx("write"), e))
}

/// What reading the log found: the events, oldest first, and a warning if it stopped early.
pub struct LogContents {
    pub events: Vec<Event>,
    pub problem: Option<String>,
}

/// Reads and authenticates every record. Stops at the first record that does not open (and says
/// so): later records cannot be trusted to be in their place.
pub fn read(vault_path: &Path, vault: &UnlockedVault) -> Result<LogContents> {
    let path = log_path(vault_path);
    let bytes = match File::open(&path) {
        Ok(file) => {
            let mut bytes = Vec::new();
            file.take(MAX_LOG_LEN)
                .read_to_end(&mut bytes)
                .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
            bytes
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Ok(LogContents {
                events: Vec::new(),
                problem: None,
            });
        }
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    Ok(parse(&bytes, vault))
}

fn parse(bytes: &[u8], vault: &UnlockedVault) -> LogContents {
    let mut events = Vec::new();
    let stop = |events, why: &str| LogContents {
        events,
        problem: Some(why.to_string()),
    };
    if bytes.len() < LOG_HEADER_LEN || bytes[..LOG_HEADER_LEN] != header(vault)[..] {
        if bytes.is_empty() {
            return LogContents {
                events,
                problem: None,
            };
        }
        return stop(
            events,
            "the usage log belongs to another vault or is not a sesame log",
        );
    }
    let mut pos = LOG_HEADER_LEN;
    let mut index = 0u64;
    while pos < bytes.len() {
        let Some(len_bytes) = bytes.get(pos..pos + 4) else {
            return stop(events, "the last usage record is cut short");
        };
        let body_len = u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
        let start = pos + 4;
        let Some(body) = bytes.get(start..start + body_len as usize) else {
            return stop(events, "the last usage record is cut short");
        };
        if body.len() < SALT_LEN + NONCE_LEN + crypto::TAG_LEN || body_len > MAX_RECORD_LEN {
            return stop(events, "a usage record is malformed");
        }
        let (salt, rest) = body.split_at(SALT_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().unwrap_or([0; NONCE_LEN]);
        let Ok(key) = vault.subkey(salt, Purpose::UsageLog) else {
            return stop(events, "the agent would not derive the usage log's key");
        };
        let Some(plaintext) = crypto::open(&key, &nonce, &record_aad(vault, index), sealed) else {
            return stop(
                events,
                "a usage record failed authentication (the log was changed); later records are not shown",
            );
        };
        match codec().deserialize::<Event>(&plaintext) {
            Ok(event) => events.push(event),
            Err(_) => return stop(events, "a usage record cannot be decoded"),
        }
        pos = start + body_len as usize;
        index += 1;
    }
    LogContents {
        events,
        problem: None,
    }
}

/// Writes `events` as a new log under `vault`'s current key (after `rekey`), atomically.
pub fn rewrite(vault_path: &Path, vault: &UnlockedVault, events: &[Event]) -> Result<()> {
    let mut bytes = header(vault);
    for (index, event) in events.iter().enumerate() {
        bytes.extend_from_slice(&seal_record(vault, index as u64, event)?);
    }
    crate::store::write_atomic(&log_path(vault_path), &bytes)
}
