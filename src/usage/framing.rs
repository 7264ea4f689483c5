//! The usage log's bytes without its keys: the header, and the framing of version 3 records
//! (`docs/FORMAT.md`, "Usage log"). Public so the fuzz target `usage_log` and its replay in
//! `cargo test` reach them without a vault; [`read_records`] is the reading loop of `usage::read`
//! with the opening of each record handed in.

use super::*;

/// A log's header, as parsed from its first bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogHeader {
    /// The log format version, 1 to 3.
    pub version: u16,
    /// The id of the vault the log belongs to.
    pub vault_id: [u8; VAULT_ID_LEN],
    /// Versions 2 and 3.
    pub key_generation: Option<u32>,
    /// Version 3: the salt of the log key.
    pub salt: Option<[u8; SALT_LEN]>,
    /// Version 3: the log's length when it was last written whole (0 in earlier versions).
    pub rewritten_len: u64,
    /// The header's own length: where the records start.
    pub len: usize,
}

/// Parses the header at the start of `bytes` (the whole log, or at least its first
/// [`LOG_HEADER_LEN`] bytes). The error says what is wrong, in words that follow "the usage log".
pub fn parse_header(bytes: &[u8]) -> std::result::Result<LogHeader, &'static str> {
    if bytes.len() < 10 || bytes[..8] != LOG_MAGIC {
        return Err("is not a sesame usage log");
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    let len = match version {
        1 => LOG_V1_HEADER_LEN,
        2 => LOG_V2_HEADER_LEN,
        LOG_VERSION => LOG_HEADER_LEN,
        v if v > LOG_VERSION => return Err("was written by a newer sesame"),
        _ => return Err("has an unknown version"),
    };
    let Some(head) = bytes.get(..len) else {
        return Err("has a header that is cut short");
    };
    let mut vault_id = [0u8; VAULT_ID_LEN];
    vault_id.copy_from_slice(&head[10..10 + VAULT_ID_LEN]);
    let rest = &head[10 + VAULT_ID_LEN..];
    let key_generation = (version >= 2).then(|| u32_at(rest, 0));
    let (salt, rewritten_len) = if version == LOG_VERSION {
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&rest[4..4 + SALT_LEN]);
        (Some(salt), u64_at(rest, 4 + SALT_LEN))
    } else {
        (None, 0)
    };
    Ok(LogHeader {
        version,
        vault_id,
        key_generation,
        salt,
        rewritten_len,
        len,
    })
}

impl LogHeader {
    /// The header's bytes, as [`parse_header`] reads them: what a version has, in its order.
    pub fn encode(&self) -> Vec<u8> {
        let mut h = Vec::with_capacity(LOG_HEADER_LEN);
        h.extend_from_slice(&LOG_MAGIC);
        h.extend_from_slice(&self.version.to_le_bytes());
        h.extend_from_slice(&self.vault_id);
        if self.version >= 2 {
            h.extend_from_slice(&self.key_generation.unwrap_or(0).to_le_bytes());
        }
        if self.version >= LOG_VERSION {
            h.extend_from_slice(&self.salt.unwrap_or_default());
            h.extend_from_slice(&self.rewritten_len.to_le_bytes());
        }
        h
    }
}

pub(super) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(b)
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(b)
}

/// One record as framed in the file, not yet opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Frame<'a> {
    /// The record's place in the log, 0 for the first after the header (in clear, and in the AAD).
    pub index: u64,
    /// The record's AES-GCM nonce.
    pub nonce: [u8; NONCE_LEN],
    /// Ciphertext ‖ tag.
    pub sealed: &'a [u8],
    /// The record's whole length in the file, both length fields included.
    pub len: u64,
}

/// Why reading a log stopped early.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadProblem {
    /// The file ends inside a record: the trace of a crash during an append.
    CutShort,
    /// A length, or an index, no writer produces.
    Malformed,
    /// A record does not authenticate.
    Unauthentic,
    /// A record authenticated but is not a [`Record`].
    Undecodable,
}

impl fmt::Display for ReadProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadProblem::CutShort => "the last usage record is cut short",
            ReadProblem::Malformed => "a usage record is malformed",
            ReadProblem::Unauthentic => {
                "a usage record failed authentication (the log was changed); later records are \
                 not shown"
            }
            ReadProblem::Undecodable => "a usage record cannot be decoded",
        })
    }
}

/// Parses `record`, exactly one record's bytes: both lengths must equal its length, and the index
/// must be `expected` when given.
fn parse_record(
    record: &[u8],
    expected: Option<u64>,
) -> std::result::Result<Frame<'_>, ReadProblem> {
    let len = record.len();
    if (len as u64) < MIN_RECORD_LEN
        || len as u64 > MAX_RECORD_LEN
        || u32_at(record, 0) as usize != len
        || u32_at(record, len - 4) as usize != len
    {
        return Err(ReadProblem::Malformed);
    }
    let index = u64_at(record, 4);
    if expected.is_some_and(|e| e != index) {
        return Err(ReadProblem::Malformed);
    }
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&record[12..12 + NONCE_LEN]);
    Ok(Frame {
        index,
        nonce,
        sealed: &record[12 + NONCE_LEN..len - 4],
        len: len as u64,
    })
}

/// The records of a version 3 log, front to back, from their leading lengths. Stops after the
/// first problem (a record running past the end is [`ReadProblem::CutShort`]).
pub struct Frames<'a> {
    rest: &'a [u8],
    index: u64,
    /// Bytes of whole records walked so far.
    walked: u64,
    done: bool,
}

/// Walks `records`: a version 3 log without its header ([`LogHeader::len`] bytes).
pub fn frames(records: &[u8]) -> Frames<'_> {
    Frames {
        rest: records,
        index: 0,
        walked: 0,
        done: false,
    }
}

impl Frames<'_> {
    /// Where the whole records walked so far end, counted from the first record.
    pub fn walked(&self) -> u64 {
        self.walked
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = std::result::Result<Frame<'a>, ReadProblem>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.rest.is_empty() {
            return None;
        }
        let result = match self.rest.get(..4) {
            None => Err(ReadProblem::CutShort),
            Some(head) => {
                let len = u64::from(u32_at(head, 0));
                if !(MIN_RECORD_LEN..=MAX_RECORD_LEN).contains(&len) {
                    Err(ReadProblem::Malformed)
                } else {
                    match self.rest.get(..len as usize) {
                        None => Err(ReadProblem::CutShort),
                        Some(record) => parse_record(record, Some(self.index)),
                    }
                }
            }
        };
        match result {
            Ok(frame) => {
                self.rest = &self.rest[frame.len as usize..];
                self.index += 1;
                self.walked += frame.len;
            }
            Err(_) => self.done = true,
        }
        Some(result)
    }
}

/// The last record of `tail` (the end of a log, holding at least its last record), found from
/// its trailing length alone; `None` when the trailing length does not frame a record there.
pub fn last_frame(tail: &[u8]) -> Option<Frame<'_>> {
    let at = tail.len().checked_sub(4)?;
    let len = u32_at(tail, at) as usize;
    let start = tail.len().checked_sub(len)?;
    parse_record(&tail[start..], None).ok()
}

/// One record's bytes in the file: both lengths around its index, nonce and sealed bytes.
pub fn encode_frame(index: u64, nonce: &[u8; NONCE_LEN], sealed: &[u8]) -> Result<Vec<u8>> {
    let len = 4 + 8 + NONCE_LEN + sealed.len() + 4;
    if len as u64 > MAX_RECORD_LEN {
        return Err(Error::Failed(
            "this event is too large for the usage log (64 MiB)".into(),
        ));
    }
    let len32 = (len as u32).to_le_bytes();
    let mut record = Vec::with_capacity(len);
    record.extend_from_slice(&len32);
    record.extend_from_slice(&index.to_le_bytes());
    record.extend_from_slice(nonce);
    record.extend_from_slice(sealed);
    record.extend_from_slice(&len32);
    Ok(record)
}

/// The records of a version 3 log (without its header), front to back, each opened by `open`,
/// up to the first problem: a frame that does not walk, or a record that does not open. The
/// records before it are kept; those after it cannot be trusted to be in their place.
pub fn read_records(
    records: &[u8],
    mut open: impl FnMut(&Frame<'_>) -> std::result::Result<Record, ReadProblem>,
) -> (Vec<Record>, Option<ReadProblem>) {
    let mut read = Vec::new();
    for frame in frames(records) {
        match frame.and_then(|f| open(&f)) {
            Ok(record) => read.push(record),
            Err(problem) => return (read, Some(problem)),
        }
    }
    (read, None)
}
