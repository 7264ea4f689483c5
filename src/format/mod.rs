//! The vault file's bytes, as `docs/FORMAT.md` specifies them: the fixed header and key slots
//! (parsed by hand in `read`, written in `write`) and the payload codec (`codec`).
//!
//! Untrusted bytes only ever reach `read::parse_header`, which checks every length and bound before
//! using it and returns an error, never panics. The payload reaches the codec only after AES-GCM
//! has authenticated it.

pub mod codec;
pub mod read;
pub mod write;

use crate::crypto::{NONCE_LEN, SALT_LEN};

/// `\x89SESAME\n`: the high byte and newline catch text-mode transfers, as PNG's magic does.
pub const MAGIC: [u8; 8] = [0x89, b'S', b'E', b'S', b'A', b'M', b'E', b'\n'];
/// The format this build writes and the newest it reads.
pub const FORMAT_VERSION: u16 = 1;
pub const FIXED_HEADER_LEN: usize = 82;
pub const MAX_FILE_LEN: u64 = 256 * 1024 * 1024;
pub const MAX_SLOTS: u16 = 16;
pub const MAX_SLOT_BODY: u32 = 4096;
pub const VAULT_ID_LEN: usize = 16;
/// The largest header the caps allow: the fixed part and 16 slots of 4096 bytes.
pub const MAX_HEADER_LEN: u64 =
    FIXED_HEADER_LEN as u64 + MAX_SLOTS as u64 * (6 + MAX_SLOT_BODY as u64);

/// Domain-separation strings, fixed by the format.
pub const SLOT_AAD_PREFIX: &[u8] = b"sesame v1 slot";
pub const PAYLOAD_INFO: &[u8] = b"sesame v1 payload";
pub const RECOVERY_INFO: &[u8] = b"sesame v1 recovery";
/// The HKDF info of the usage log's key (`docs/FORMAT.md`, "Usage log"): part of the key
/// hierarchy, so it lives with the others rather than in `crate::usage`.
pub const LOG_INFO: &[u8] = b"sesame v1 usage log";

/// What a key derived from the data key is for; each purpose has its own HKDF `info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The payload key (`PAYLOAD_INFO`).
    Payload,
    /// A usage-log record key (`LOG_INFO`).
    UsageLog,
}

impl Purpose {
    pub fn info(self) -> &'static [u8] {
        match self {
            Purpose::Payload => PAYLOAD_INFO,
            Purpose::UsageLog => LOG_INFO,
        }
    }
}

/// The header of a vault file: everything before the payload ciphertext.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Header {
    pub version: u16,
    pub vault_id: [u8; VAULT_ID_LEN],
    pub key_generation: u32,
    pub payload_salt: [u8; SALT_LEN],
    pub payload_nonce: [u8; NONCE_LEN],
    pub payload_len: u32,
    pub slots: Vec<Slot>,
}

/// One key slot record: its kind and its body, as in the file. The body's layout belongs to the
/// kind's module in `crate::slots`, which checks it when the file is read; a kind this build does
/// not know is carried byte for byte so a rewrite keeps it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Slot {
    pub kind: u16,
    pub body: Vec<u8>,
}

impl Slot {
    pub fn kind(&self) -> u16 {
        self.kind
    }
}
