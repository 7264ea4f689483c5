//! Writing the log: appends, compaction into summaries, rewrites, and setting aside a log this
//! vault cannot read.

use super::*;

/// `records` as a whole new log under `vault`'s key (a fresh salt, so a fresh key).
pub(super) fn encode_log(vault: &UnlockedVault, records: &[Record]) -> Result<Vec<u8>> {
    let salt: [u8; SALT_LEN] = crypto::random_array()?;
    let key = LogKey::derive(vault, &salt)?;
    let mut bytes = encode_header(vault, &salt, 0);
    for (index, record) in records.iter().enumerate() {
        bytes.extend_from_slice(&key.seal(index as u64, record)?);
        if bytes.len() as u64 > MAX_LOG_LEN {
            return Err(Error::usage("the usage log would grow past 64 MiB"));
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
    Err(Error::usage(
        "the usage log cannot be compacted below 32 MiB",
    ))
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

/// Appends `event`. The caller holds the vault's write lock, which serializes appends with
/// compaction and with the rewrite `rekey` does.
///
/// A version 3 log of this vault id and key generation is appended to after reading its header
/// and last record; past its compaction size it is compacted instead (atomically). A version 1 or
/// 2 log of this vault whose records all open is rewritten as version 3. Any other log (another
/// vault, another key generation, a newer or unknown version, a damaged record, larger than
/// [`MAX_LOG_LEN`]) is set aside (returned, for the caller to say so) and a new log started.
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
            Belonging::Current(header) => {
                match append_v3(vault_path, &mut file, len, &header, vault, event)? {
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
            return Err(Error::usage(format!(
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
) -> Result<Option<&'static str>> {
    let path = log_path(vault_path);
    let ctx = |what: &str| format!("cannot {what} the usage log {}", path.display());
    let salt = header.salt.unwrap_or_default();
    let key = LogKey::derive(vault, &salt)?;
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
