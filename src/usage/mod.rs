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

/// `\x89SESLOG\n`, the first 8 bytes of a usage log.
pub(crate) const LOG_MAGIC: [u8; 8] = [0x89, b'S', b'E', b'S', b'L', b'O', b'G', b'\n'];
/// Version 3: one key per log (salt in the header), records framed for reading from the end,
/// summaries. Version 2 added the key generation to version 1's header.
pub const LOG_VERSION: u16 = 3;
/// magic ‖ version ‖ vault id ‖ key generation ‖ log salt ‖ length when written whole.
pub const LOG_HEADER_LEN: usize = 8 + 2 + VAULT_ID_LEN + 4 + SALT_LEN + 8;
/// A version 2 header: magic ‖ version ‖ vault id ‖ key generation.
pub(crate) const LOG_V2_HEADER_LEN: usize = 8 + 2 + VAULT_ID_LEN + 4;
/// A version 1 header: magic ‖ version ‖ vault id.
pub(crate) const LOG_V1_HEADER_LEN: usize = 8 + 2 + VAULT_ID_LEN;
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
/// The start of every record's associated data, before the vault id and record place.
pub(crate) const LOG_AAD_PREFIX: &[u8] = b"sesame v1 log";

/// One event. `action` is a word (`run`, `get`, `add`, …) so later builds can add actions that
/// older ones still display.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// When it happened, in Unix seconds.
    pub time: i64,
    /// What happened, as a word: `run`, `get`, `add`, `slot add`, …
    pub action: String,
    /// The labels of the secrets it concerned; may be empty.
    pub labels: Vec<String>,
    /// For `run`: the program's file name only (arguments can hold secrets).
    pub program: Option<String>,
    /// A short note on what was done, e.g. the slot kind added; never a value.
    pub detail: Option<String>,
    /// The device and sequence it was recorded with (record kind 2), so that combining two
    /// copies' logs keeps it once; `None` for an event of kind 0.
    #[serde(skip)]
    pub origin: Option<Origin>,
}

impl Event {
    /// An event of `action` on `labels`, happening now.
    pub fn new(action: &str, labels: Vec<String>) -> Event {
        Event {
            time: crate::units::now(),
            action: action.to_string(),
            labels,
            program: None,
            detail: None,
            origin: origin::now(),
        }
    }

    /// The same event with `detail` set.
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
    /// The secret's label at the time of the summaries.
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// One thing that happened (kind 0, or kind 2 when it has an origin).
    Event(Event),
    /// What a compaction folded away (kind 1).
    Summaries(Summaries),
}

/// A record as written: kind 0 an event without origin, 1 summaries, 2 an origin and an event.
#[derive(Serialize)]
enum RecordOut<'a> {
    Event(&'a Event),
    Summaries(&'a Summaries),
    Traced(&'a Origin, &'a Event),
}

#[derive(Deserialize)]
enum RecordIn {
    Event(Event),
    Summaries(Summaries),
    Traced(Origin, Event),
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
    let record: RecordIn = codec()
        .deserialize(plaintext)
        .map_err(|_| ReadProblem::Undecodable)?;
    Ok(match record {
        RecordIn::Event(e) => Record::Event(e),
        RecordIn::Summaries(s) => Record::Summaries(s),
        RecordIn::Traced(origin, mut e) => {
            e.origin = Some(origin);
            Record::Event(e)
        }
    })
}

/// The plaintext of `record`.
pub fn encode_record(record: &Record) -> Result<Vec<u8>> {
    let out = match record {
        Record::Event(e) => match &e.origin {
            Some(origin) => RecordOut::Traced(origin, e),
            None => RecordOut::Event(e),
        },
        Record::Summaries(s) => RecordOut::Summaries(s),
    };
    codec()
        .serialize(&out)
        .map_err(|e| Error::io("cannot encode a log record", std::io::Error::other(e)))
}

mod framing;
mod origin;

pub use origin::{Origin, combine};

use framing::u32_at;
pub use framing::{
    Frame, Frames, LogHeader, ReadProblem, encode_frame, frames, last_frame, parse_header,
    read_records,
};

/// `<vault>.log`, beside the vault.
pub fn log_path(vault: &Path) -> PathBuf {
    let mut name = vault.file_name().unwrap_or_default().to_os_string();
    name.push(".log");
    vault.with_file_name(name)
}

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
    LogHeader {
        version: LOG_VERSION,
        vault_id: vault.header.vault_id,
        key_generation: Some(vault.header.key_generation),
        salt: Some(*salt),
        rewritten_len,
        len: LOG_HEADER_LEN,
    }
    .encode()
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
    /// The records read, oldest first.
    pub records: Vec<Record>,
    /// Why reading stopped before the end, if it did: a sentence for the user.
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
    let (records, problem) = read_records(records, |frame| key.open(frame));
    contents.records = records;
    contents.problem = problem.map(|p| p.to_string());
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

pub use summary::{Uses, compact, rejected_by_label, uses_by_label};

// ---- writing ----

/// `records` as a whole new log under `vault`'s key (a fresh salt, so a fresh key).
fn encode_log(vault: &UnlockedVault, records: &[Record]) -> Result<Vec<u8>> {
    let salt: [u8; SALT_LEN] = crypto::random_array()?;
    let key = LogKey::derive(vault, &salt)?;
    let mut bytes = encode_header(vault, &salt, 0);
    for (index, record) in records.iter().enumerate() {
        bytes.extend_from_slice(&key.seal(index as u64, record)?);
        if bytes.len() as u64 > MAX_LOG_LEN {
            return Err(Error::Failed("the usage log would grow past 64 MiB".into()));
        }
    }
    let len = (bytes.len() as u64).to_le_bytes();
    bytes[LOG_HEADER_LEN - 8..LOG_HEADER_LEN].copy_from_slice(&len);
    Ok(bytes)
}

/// `records` as a whole new log, compacted when it is larger than [`COMPACT_AT_LEAST`] (or
/// always, with `force`), keeping fewer events per label until it fits in half the cap.
fn encode_bounded(vault: &UnlockedVault, records: &[Record], force: bool) -> Result<Vec<u8>> {
    if !force {
        let bytes = encode_log(vault, records);
        if bytes
            .as_ref()
            .is_ok_and(|b| b.len() as u64 <= COMPACT_AT_LEAST)
        {
            return bytes;
        }
    }
    let now = crate::units::now();
    for keep in [KEEP_PER_LABEL, 5, 1, 0] {
        if let Ok(bytes) = encode_log(vault, &compact(records, keep, now))
            && bytes.len() as u64 <= COMPACTED_MAX
        {
            return Ok(bytes);
        }
    }
    Err(Error::Failed(
        "the usage log cannot be compacted below 32 MiB".into(),
    ))
}

/// A log that was set aside rather than appended to.
#[derive(Debug)]
pub struct SetAside {
    /// Where the old log now is (`<vault>.log.old[.N]`).
    pub kept_as: PathBuf,
    /// Why, in words that follow "the usage log", e.g. "is full (64 MiB)".
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
    Err(Error::Failed(format!(
        "the usage log {} cannot be read by this vault and {MAX_ASIDE} earlier logs are already \
         kept beside it; move them away",
        path.display()
    )))
}

/// Appends `event`. The caller holds the vault's write lock, which serializes appends with
/// compaction and with the rewrite `rekey` does.
///
/// A version 3 log of this vault id and key generation is appended to after reading its header
/// and last record; past its compaction size it is compacted instead (atomically). A version 1 or
/// 2 log of this vault whose records all open is rewritten as version 3. Any other log (another
/// vault, another key generation, a newer or unknown version, a damaged record, larger than
/// [`MAX_LOG_LEN`]) is set aside (returned, for the caller to say so) and a new log started.
pub fn append(vault_path: &Path, vault: &UnlockedVault, event: &Event) -> Result<Option<SetAside>> {
    append_ahead(vault_path, vault, event, None)
}

/// The key of a version 3 log derived before the write lock is taken ([`key_ahead`]), so the
/// append under the lock asks the agent for nothing: a round trip to another process that has to
/// be scheduled, while every other writer waits. Used only if the log still has this salt.
pub struct LogKeyAhead {
    salt: [u8; SALT_LEN],
    key: LogKey,
}

/// Reads the log's header (without the lock) and derives its key, if it is a version 3 log of
/// this vault and key generation; `None` otherwise, or on any error (the append derives it then).
pub fn key_ahead(vault_path: &Path, vault: &UnlockedVault) -> Option<LogKeyAhead> {
    let mut file =
        store::open_regular(&log_path(vault_path), OpenOptions::new().read(true)).ok()?;
    let mut head = [0u8; LOG_HEADER_LEN];
    file.read_exact(&mut head).ok()?;
    let Belonging::Current(header) = belonging(&head, vault) else {
        return None;
    };
    let salt = header.salt?;
    let key = LogKey::derive(vault, &salt).ok()?;
    Some(LogKeyAhead { salt, key })
}

/// [`append`], with the log key derived ahead if the caller has it.
pub fn append_ahead(
    vault_path: &Path,
    vault: &UnlockedVault,
    event: &Event,
    ahead: Option<LogKeyAhead>,
) -> Result<Option<SetAside>> {
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
            Belonging::Current(header) => {
                match append_v3(vault_path, &mut file, len, &header, vault, event, ahead)? {
                    None => return Ok(None),
                    Some(reason) => reason,
                }
            }
            Belonging::Older(header) => {
                drop(file);
                let old = read(vault_path, vault)?;
                if old.problem.is_none() {
                    let mut records = old.records;
                    records.push(Record::Event(event.clone()));
                    rewrite(vault_path, vault, &records, false)?;
                    return Ok(None);
                }
                if header.version == 1 {
                    "is in format 1 and cannot be read whole by this vault"
                } else {
                    "is in format 2 and cannot be read whole by this vault"
                }
            }
            Belonging::Other(reason) => reason,
        };
        aside = Some(set_aside(&path, reason)?);
        let (new_file, new_len) = open_log(&path)?;
        if new_len != 0 {
            return Err(Error::Failed(format!(
                "the usage log {} reappeared while it was set aside",
                path.display()
            )));
        }
        file = new_file;
    }
    let bytes = encode_log(vault, &[Record::Event(event.clone())])?;
    file.write_all(&bytes)
        .map_err(|e| Error::io(ctx("write"), e))?;
    Ok(aside)
}

/// Appends to a version 3 log of this vault: `Ok(None)` when done, `Ok(Some(reason))` when the log
/// is damaged and must be set aside.
fn append_v3(
    vault_path: &Path,
    file: &mut File,
    len: u64,
    header: &LogHeader,
    vault: &UnlockedVault,
    event: &Event,
    ahead: Option<LogKeyAhead>,
) -> Result<Option<&'static str>> {
    let path = log_path(vault_path);
    let ctx = |what: &str| format!("cannot {what} the usage log {}", path.display());
    let salt = header.salt.unwrap_or_default();
    // `belonging` checked the header's vault id and key generation against `vault`'s, which
    // `key_ahead` checked against those of the vault it derived with.
    let key = match ahead {
        Some(ahead) if ahead.salt == salt => ahead.key,
        _ => LogKey::derive(vault, &salt)?,
    };
    let start = header.len as u64;
    // The fast way: the last record, found from its trailing length, opens at its index.
    let mut found = None;
    if len == start {
        found = Some((0, len));
    } else if let Some(tail) = read_tail(file, len, start).map_err(|e| Error::io(ctx("read"), e))?
        && let Some(frame) = last_frame(&tail)
        && key.open(&frame).is_ok()
    {
        found = Some((frame.index + 1, len));
    }
    // Otherwise walk the records from the front: a record running past the end is a crash during
    // an append, cut off here; anything else is damage.
    let (next, end) = match found {
        Some(found) => found,
        None => {
            let bytes = read_all(file, len).map_err(|e| Error::io(ctx("read"), e))?;
            let mut walk = frames(&bytes[header.len..]);
            let mut last = None;
            for frame in walk.by_ref() {
                match frame {
                    Ok(frame) => last = Some(frame),
                    Err(ReadProblem::CutShort) => break,
                    Err(_) => return Ok(Some("has a damaged record")),
                }
            }
            let end = start + walk.walked();
            if end == len || last.is_some_and(|f| key.open(&f).is_err()) {
                // Whole to the end, yet its last record did not open: not a crash.
                return Ok(Some("has a damaged record"));
            }
            file.set_len(end).map_err(|e| Error::io(ctx("repair"), e))?;
            (last.map_or(0, |f| f.index + 1), end)
        }
    };
    let record = key.seal(next, &Record::Event(event.clone()))?;
    let limit = header
        .rewritten_len
        .saturating_mul(2)
        .clamp(COMPACT_AT_LEAST, MAX_LOG_LEN);
    if end + record.len() as u64 > limit {
        let contents = parse(
            &read_all(file, end).map_err(|e| Error::io(ctx("read"), e))?,
            vault,
        );
        if contents.problem.is_some() {
            return Ok(Some("has a record that does not open"));
        }
        let mut records = contents.records;
        records.push(Record::Event(event.clone()));
        rewrite(vault_path, vault, &records, true)?;
        return Ok(None);
    }
    file.write_all_at(&record, end)
        .map_err(|e| Error::io(ctx("write"), e))?;
    Ok(None)
}

/// The end of the log holding its last record, by its trailing length; `None` when that length
/// cannot be a record's.
fn read_tail(file: &File, len: u64, start: u64) -> std::io::Result<Option<Vec<u8>>> {
    if len < start + 4 {
        return Ok(None);
    }
    let mut trailer = [0u8; 4];
    file.read_exact_at(&mut trailer, len - 4)?;
    let record_len = u64::from(u32::from_le_bytes(trailer));
    if !(MIN_RECORD_LEN..=MAX_RECORD_LEN).contains(&record_len) || record_len > len - start {
        return Ok(None);
    }
    let mut tail = vec![0u8; record_len as usize];
    file.read_exact_at(&mut tail, len - record_len)?;
    Ok(Some(tail))
}

fn read_all(file: &mut File, len: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; len.min(MAX_LOG_LEN) as usize];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// Writes `records` as a new log under `vault`'s current key, atomically (compacted if large, or
/// always with `compact`). Under the write lock.
fn rewrite(
    vault_path: &Path,
    vault: &UnlockedVault,
    records: &[Record],
    compact: bool,
) -> Result<()> {
    let bytes = encode_bounded(vault, records, compact)?;
    store::write_atomic(&log_path(vault_path), &bytes)
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
    let mut records = old.records;
    records.push(Record::Event(event));
    let bytes = encode_bounded(vault, &records, false)?;
    Ok(Resealed {
        staged: store::stage(&log_path(vault_path), &bytes)?,
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

#[cfg(test)]
mod tests;
