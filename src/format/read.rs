//! Parsing a vault file's header and slots from untrusted bytes.
//!
//! A hand-written parser over a bounds-checked cursor: every read checks the remaining length
//! first, every count and size is bounded before it is used, and every failure is a
//! [`FormatError`] saying what is wrong. Nothing here panics or allocates by a length from input
//! beyond the documented caps.

use super::{
    FIXED_HEADER_LEN, FORMAT_VERSION, Header, MAGIC, MAX_FILE_LEN, MAX_SLOT_BODY, MAX_SLOTS, Slot,
};
use crate::crypto::TAG_LEN;

/// Why a file is not a vault this build can read.
#[derive(Debug, PartialEq, Eq)]
pub enum FormatError {
    /// The bytes are not a sesame vault, or break a rule of the format.
    Invalid(String),
    /// The file ends before the structure it announces.
    Truncated(&'static str),
    /// A format version newer than this build.
    NewerVersion(u16),
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::Invalid(reason) => f.write_str(reason),
            FormatError::Truncated(what) => {
                write!(f, "the file is truncated (it ends inside {what})")
            }
            FormatError::NewerVersion(v) => write!(f, "written by a newer sesame (format {v})"),
        }
    }
}

/// A parsed vault file: the header, the exact header bytes (the payload's AAD) and the ciphertext.
#[derive(Clone)]
pub struct ParsedFile<'a> {
    /// The header, parsed and checked.
    pub header: Header,
    /// The header exactly as in the file: the payload's associated data.
    pub header_bytes: &'a [u8],
    /// The payload ciphertext, tag included.
    pub ciphertext: &'a [u8],
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FormatError> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(FormatError::Truncated(what))?;
        let slice = self
            .bytes
            .get(self.pos..end)
            .ok_or(FormatError::Truncated(what))?;
        self.pos = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], FormatError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, FormatError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
}

/// Parses a whole vault file (`docs/FORMAT.md`, "Reader rules").
pub fn parse_file(bytes: &[u8]) -> Result<ParsedFile<'_>, FormatError> {
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(FormatError::Invalid(format!(
            "the file is {} bytes, more than the 256 MiB a vault may hold",
            bytes.len()
        )));
    }
    let (header, header_len) = parse_head(bytes)?;
    // "After the last slot, exactly `payload length` bytes MUST remain."
    check_length(&header, header_len, bytes.len() as u64)?;
    let mut cur = Cursor {
        bytes,
        pos: header_len,
    };
    let ciphertext = cur.take(header.payload_len as usize, "the encrypted payload")?;
    Ok(ParsedFile {
        header,
        header_bytes: &bytes[..header_len],
        ciphertext,
    })
}

/// Parses the header (magic, fixed fields, slots) at the start of `bytes`, which may be only
/// the file's first bytes; returns it and its length. The payload is not looked at: a reader
/// holding [`super::MAX_HEADER_LEN`] bytes of a file (or all of a shorter one) can check the
/// header, and that the file's length is the header's plus the payload length it announces,
/// before it reads the rest ([`check_length`]).
pub fn parse_head(bytes: &[u8]) -> Result<(Header, usize), FormatError> {
    // "A file shorter than 8 bytes whose bytes are a prefix of the magic is reported as truncated."
    if bytes.len() < MAGIC.len() {
        return Err(if MAGIC.starts_with(bytes) && !bytes.is_empty() {
            FormatError::Truncated("the magic bytes")
        } else {
            FormatError::Invalid("it does not start with sesame's magic bytes".into())
        });
    }
    let mut cur = Cursor { bytes, pos: 0 };
    if cur.take(MAGIC.len(), "the magic bytes")? != MAGIC {
        return Err(FormatError::Invalid(
            "it does not start with sesame's magic bytes".into(),
        ));
    }
    // "A version greater than 2 MUST be refused ...; version 0 MUST be refused as unsupported."
    let version = cur.u16("the format version")?;
    if version > FORMAT_VERSION {
        return Err(FormatError::NewerVersion(version));
    }
    if version == 0 {
        return Err(FormatError::Invalid(
            "format version 0 is not supported".into(),
        ));
    }
    // "Flags MUST be 0."
    let flags = cur.u16("the header flags")?;
    if flags != 0 {
        return Err(FormatError::Invalid(format!(
            "unknown header flags {flags:#06x}"
        )));
    }
    let vault_id = cur.array("the vault id")?;
    let key_generation = cur.u32("the key generation")?;
    let payload_salt = cur.array("the payload salt")?;
    let payload_nonce = cur.array("the payload nonce")?;
    let payload_len = cur.u32("the payload length")?;
    if (payload_len as usize) < TAG_LEN || u64::from(payload_len) > MAX_FILE_LEN {
        return Err(FormatError::Invalid(format!(
            "payload length {payload_len} is out of range"
        )));
    }
    let slot_count = cur.u16("the slot count")?;
    if slot_count == 0 || slot_count > MAX_SLOTS {
        return Err(FormatError::Invalid(format!(
            "slot count {slot_count} is outside 1..={MAX_SLOTS}"
        )));
    }
    debug_assert_eq!(cur.pos, FIXED_HEADER_LEN);

    let mut slots = Vec::with_capacity(usize::from(slot_count));
    for index in 0..slot_count {
        slots.push(parse_slot(&mut cur, index)?);
    }
    let header_len = cur.pos;
    Ok((
        Header {
            version,
            vault_id,
            key_generation,
            payload_salt,
            payload_nonce,
            payload_len,
            slots,
        },
        header_len,
    ))
}

/// The rule [`parse_file`] checks on a whole file, for a file of `file_len` bytes whose header
/// ([`parse_head`]) is `header_len` bytes: exactly the payload length remains after it.
pub fn check_length(header: &Header, header_len: usize, file_len: u64) -> Result<(), FormatError> {
    let expected = header_len as u64 + u64::from(header.payload_len);
    if file_len < expected {
        return Err(FormatError::Truncated("the encrypted payload"));
    }
    if file_len > expected {
        return Err(FormatError::Invalid(format!(
            "{} unexpected bytes follow the payload",
            file_len - expected
        )));
    }
    Ok(())
}

/// One slot record: kind, body length (≤ 4096), body.
fn parse_slot(cur: &mut Cursor<'_>, index: u16) -> Result<Slot, FormatError> {
    let kind = cur.u16("a key slot")?;
    let len = cur.u32("a key slot")?;
    if len > MAX_SLOT_BODY {
        return Err(FormatError::Invalid(format!(
            "key slot {index} claims {len} bytes, more than {MAX_SLOT_BODY}"
        )));
    }
    let body = cur.take(len as usize, "a key slot")?;
    // "A known kind with the wrong body length is damage": each kind checks its own body, in
    // `crate::container::inspect` (the slot kinds sit above the format, which carries any kind).
    Ok(Slot {
        kind,
        body: body.to_vec(),
    })
}
