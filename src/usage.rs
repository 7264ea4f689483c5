//! The usage log: which secret went into which program, and when; and what changed in the vault.
//!
//! An append-only file beside the vault (`<vault>.log`, `docs/FORMAT.md`, "Usage log"). Each record
//! is sealed on its own under a key derived from the data key, so appending never rewrites the
//! vault, and the record's position is authenticated, so records cannot be reordered or removed
//! from the middle unnoticed. Writing it is best effort: a failure is a warning, never an error.
//! A log this vault cannot read (another vault, another key generation, damage) is never appended
//! to: it is kept aside and a new one started.

use std::fmt;
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
use crate::store;

pub const LOG_MAGIC: [u8; 8] = [0x89, b'S', b'E', b'S', b'L', b'O', b'G', b'\n'];
/// Version 2 added the key generation to the header (version 1: magic, version, vault id).
pub const LOG_VERSION: u16 = 2;
pub const LOG_HEADER_LEN: usize = 8 + 2 + VAULT_ID_LEN + 4;
pub const LOG_V1_HEADER_LEN: usize = 8 + 2 + VAULT_ID_LEN;
/// The smallest record body: salt, nonce and tag around an empty ciphertext.
const MIN_BODY_LEN: u64 = (SALT_LEN + NONCE_LEN + crypto::TAG_LEN) as u64;
/// How many `<vault>.log.old[.N]` files may be kept before setting one more aside fails.
const MAX_ASIDE: u32 = 100;
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
    h.extend_from_slice(&vault.header.key_generation.to_le_bytes());
    h
}

/// What a log's header says about it, compared with the open vault.
enum Belonging {
    /// Version 2, this vault id and this key generation: records start at `LOG_HEADER_LEN`.
    Current,
    /// Version 1 with this vault id: records start at `LOG_V1_HEADER_LEN`, sealed as in version 2,
    /// so they open if the key generation has not changed since they were written.
    Version1,
    /// A log this vault must not append to, and why.
    Other(&'static str),
}

/// Classifies the first bytes of a non-empty log (`LOG_HEADER_LEN` of them, or all if fewer).
fn belonging(head: &[u8], vault: &UnlockedVault) -> Belonging {
    if head.len() < 10 || head[..8] != LOG_MAGIC {
        return Belonging::Other("is not a sesame usage log");
    }
    let version = u16::from_le_bytes([head[8], head[9]]);
    let (header_len, with_generation) = match version {
        1 => (LOG_V1_HEADER_LEN, false),
        LOG_VERSION => (LOG_HEADER_LEN, true),
        v if v > LOG_VERSION => return Belonging::Other("was written by a newer sesame"),
        _ => return Belonging::Other("has an unknown version"),
    };
    if head.len() < header_len {
        return Belonging::Other("has a header that is cut short");
    }
    if head[10..10 + VAULT_ID_LEN] != vault.header.vault_id {
        return Belonging::Other("belongs to another vault");
    }
    if !with_generation {
        return Belonging::Version1;
    }
    if head[10 + VAULT_ID_LEN..header_len] != vault.header.key_generation.to_le_bytes() {
        return Belonging::Other(
            "was sealed under another key generation (an interrupted `rekey`, or a vault restored \
             from a backup)",
        );
    }
    Belonging::Current
}

/// Where the records of a log end, found from their lengths alone (nothing is decrypted).
struct Walk {
    /// Whole records.
    count: u64,
    /// The byte after the last whole record.
    end: u64,
    /// A record length no writer produces: the file is damaged, not cut short by a crash.
    damaged: bool,
}

/// Walks the records after the header. A record running past the end of the file is the trace of
/// a crash during an append; the walk stops before it and the caller cuts it off.
fn walk(file: &mut File, len: u64) -> std::io::Result<Walk> {
    let mut reader = std::io::BufReader::new(file);
    reader.seek(SeekFrom::Start(LOG_HEADER_LEN as u64))?;
    let mut pos = LOG_HEADER_LEN as u64;
    let mut count = 0;
    let mut damaged = false;
    while pos + 4 <= len {
        let mut len_bytes = [0u8; 4];
        reader.read_exact(&mut len_bytes)?;
        let body = u64::from(u32::from_le_bytes(len_bytes));
        if !(MIN_BODY_LEN..=u64::from(MAX_RECORD_LEN)).contains(&body) {
            damaged = true;
            break;
        }
        if pos + 4 + body > len {
            break;
        }
        reader.seek_relative(body as i64)?;
        pos += 4 + body;
        count += 1;
    }
    Ok(Walk {
        count,
        end: pos,
        damaged,
    })
}

/// A log that was set aside rather than appended to.
#[derive(Debug)]
pub struct SetAside {
    pub kept_as: PathBuf,
    pub reason: &'static str,
}

impl fmt::Display for SetAside {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the usage log {}; it was kept as {} and a new log started",
            self.reason,
            self.kept_as.display()
        )
    }
}

fn open_log(path: &Path) -> Result<(File, u64)> {
    let ctx = |what: &str| format!("cannot {what} the usage log {}", path.display());
    let file = store::open_regular(
        path,
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600),
    )
    .map_err(|e| Error::io(ctx("open"), e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(ctx("read"), e))?
        .len();
    Ok((file, len))
}

/// Renames the log to the first free name of `<log>.old`, `<log>.old.2`, … so an earlier one is
/// never overwritten. Under the write lock, so no other sesame races for the name.
fn set_aside(path: &Path, reason: &'static str) -> Result<SetAside> {
    for n in 1..=MAX_ASIDE {
        let mut name = path.as_os_str().to_os_string();
        name.push(".old");
        if n > 1 {
            name.push(format!(".{n}"));
        }
        let kept_as = PathBuf::from(name);
        if fs::symlink_metadata(&kept_as).is_ok() {
            continue;
        }
        fs::rename(path, &kept_as).map_err(|e| {
            Error::io(
                format!("cannot set aside the usage log {}", path.display()),
                e,
            )
        })?;
        return Ok(SetAside { kept_as, reason });
    }
    Err(Error::usage(format!(
        "the usage log {} cannot be read by this vault and {MAX_ASIDE} earlier logs are already \
         kept beside it; move them away",
        path.display()
    )))
}

/// Appends `event`. The caller holds the vault's write lock, which serializes appends with the
/// rewrite `rekey` does.
///
/// Only a log of this vault id and key generation is appended to. A version 1 log of this vault
/// whose records all open is rewritten as version 2. Any other log (another vault, another key
/// generation, a newer or unknown version, a damaged record length, larger than [`MAX_LOG_LEN`])
/// is set aside (returned, for the caller to say so) and a new log started.
pub fn append(vault_path: &Path, vault: &UnlockedVault, event: &Event) -> Result<Option<SetAside>> {
    let path = log_path(vault_path);
    let ctx = |what: &str| format!("cannot {what} the usage log {}", path.display());
    let (mut file, len) = open_log(&path)?;
    let mut aside = None;
    if len > 0 {
        let mut head = vec![0u8; LOG_HEADER_LEN.min(len as usize)];
        file.read_exact(&mut head)
            .map_err(|e| Error::io(ctx("read"), e))?;
        let reason = match belonging(&head, vault) {
            _ if len > MAX_LOG_LEN => "is full (64 MiB)",
            Belonging::Current => {
                let walk = walk(&mut file, len).map_err(|e| Error::io(ctx("read"), e))?;
                if !walk.damaged {
                    if walk.end < len {
                        file.set_len(walk.end)
                            .map_err(|e| Error::io(ctx("repair"), e))?;
                    }
                    return append_record(file, walk, vault, event)
                        .map(|()| None)
                        .map_err(|e| Error::io(ctx("write"), e));
                }
                "has a damaged record"
            }
            Belonging::Version1 => {
                drop(file);
                let old = read(vault_path, vault)?;
                if old.problem.is_none() {
                    let mut events = old.events;
                    events.push(event.clone());
                    return rewrite(vault_path, vault, &events).map(|()| None);
                }
                "is in format 1 and cannot be read whole by this vault"
            }
            Belonging::Other(reason) => reason,
        };
        aside = Some(set_aside(&path, reason)?);
        let (new_file, new_len) = open_log(&path)?;
        if new_len != 0 {
            return Err(Error::usage(format!(
                "the usage log {} reappeared while it was set aside",
                path.display()
            )));
        }
        file = new_file;
    }
    file.write_all(&header(vault))
        .map_err(|e| Error::io(ctx("write"), e))?;
    let empty = Walk {
        count: 0,
        end: LOG_HEADER_LEN as u64,
        damaged: false,
    };
    append_record(file, empty, vault, event).map_err(|e| Error::io(ctx("write"), e))?;
    Ok(aside)
}

fn append_record(
    mut file: File,
    walk: Walk,
    vault: &UnlockedVault,
    event: &Event,
) -> std::io::Result<()> {
    let record = seal_record(vault, walk.count, event).map_err(std::io::Error::other)?;
    file.seek(SeekFrom::Start(walk.end))?;
    file.write_all(&record)
}

/// What reading the log found: the events, oldest first, and a warning if it stopped early.
pub struct LogContents {
    pub events: Vec<Event>,
    pub problem: Option<String>,
}

impl LogContents {
    /// A log that could not be read at all (for `rekey`, which keeps it aside).
    pub fn unreadable(error: &Error) -> LogContents {
        LogContents {
            events: Vec::new(),
            problem: Some(error.to_string()),
        }
    }
}

/// Reads and authenticates every record. Stops at the first record that does not open (and says
/// so): later records cannot be trusted to be in their place.
pub fn read(vault_path: &Path, vault: &UnlockedVault) -> Result<LogContents> {
    let path = log_path(vault_path);
    let ctx = || format!("cannot read the usage log {}", path.display());
    let file = match store::open_regular(&path, OpenOptions::new().read(true)) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Ok(LogContents {
                events: Vec::new(),
                problem: None,
            });
        }
        Err(e) => return Err(Error::io(ctx(), e)),
    };
    let len = file.metadata().map_err(|e| Error::io(ctx(), e))?.len();
    let mut bytes = Vec::new();
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
    let mut events = Vec::new();
    let stop = |events, why: &str| LogContents {
        events,
        problem: Some(why.to_string()),
    };
    if bytes.is_empty() {
        return LogContents {
            events,
            problem: None,
        };
    }
    let mut pos = match belonging(&bytes[..LOG_HEADER_LEN.min(bytes.len())], vault) {
        Belonging::Current => LOG_HEADER_LEN,
        Belonging::Version1 => LOG_V1_HEADER_LEN,
        Belonging::Other(reason) => {
            return stop(
                events,
                &format!(
                    "the usage log {reason}; none of it is shown, and the next event recorded \
                     keeps it as `<vault>.log.old` and starts a new log"
                ),
            );
        }
    };
    let mut index = 0u64;
    while pos < bytes.len() {
        let Some(len_bytes) = bytes.get(pos..pos + 4) else {
            return stop(events, "the last usage record is cut short");
        };
        let body_len = u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
        if !(MIN_BODY_LEN..=u64::from(MAX_RECORD_LEN)).contains(&u64::from(body_len)) {
            return stop(events, "a usage record is malformed");
        }
        let start = pos + 4;
        let Some(body) = bytes.get(start..start + body_len as usize) else {
            return stop(events, "the last usage record is cut short");
        };
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

/// Writes `events` as a new log under `vault`'s current key, atomically. Under the write lock.
pub fn rewrite(vault_path: &Path, vault: &UnlockedVault, events: &[Event]) -> Result<()> {
    stage_log(vault_path, vault, events)?.commit()
}

fn stage_log(vault_path: &Path, vault: &UnlockedVault, events: &[Event]) -> Result<store::Staged> {
    let mut bytes = header(vault);
    for (index, event) in events.iter().enumerate() {
        bytes.extend_from_slice(&seal_record(vault, index as u64, event)?);
    }
    store::stage(&log_path(vault_path), &bytes)
}

/// The usage log re-sealed under a new data key by `rekey`, written beside the old log but not yet
/// in place.
///
/// `rekey` prepares it before saving the vault and puts it in place right after, so a crash leaves
/// either both old (the rekey did not happen) or the new vault with the old log, which the next
/// append sees is of another key generation and keeps aside (it still opens with a backup of the
/// old vault). It is never appended to under the new key.
pub struct Resealed {
    staged: store::Staged,
    /// The old log could not be read whole: keep it rather than drop what was not read.
    keep_old: Option<&'static str>,
    path: PathBuf,
}

/// Seals `old` (read under the old key), then `event`, under `vault`'s new key. Under the lock.
pub fn reseal(
    vault_path: &Path,
    vault: &UnlockedVault,
    old: LogContents,
    event: Event,
) -> Result<Resealed> {
    let mut events = old.events;
    events.push(event);
    Ok(Resealed {
        staged: stage_log(vault_path, vault, &events)?,
        keep_old: old
            .problem
            .map(|_| "could not be read whole before the rekey"),
        path: log_path(vault_path),
    })
}

impl Resealed {
    /// Puts the re-sealed log in place (keeping an old log that was not read whole aside).
    pub fn commit(self) -> Result<Option<SetAside>> {
        let aside = match self.keep_old {
            Some(reason) if fs::symlink_metadata(&self.path).is_ok() => {
                Some(set_aside(&self.path, reason)?)
            }
            _ => None,
        };
        self.staged.commit()?;
        Ok(aside)
    }
}
