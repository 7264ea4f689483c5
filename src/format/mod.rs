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
pub const FORMAT_VERSION: u16 = 2;
/// The oldest format this build reads (and upgrades on its next write).
pub const OLDEST_FORMAT_VERSION: u16 = 1;
/// The fixed part of the header, in bytes, before the first slot.
pub(crate) const FIXED_HEADER_LEN: usize = 82;
/// The largest vault file a reader accepts (256 MiB), checked before reading it whole.
pub(crate) const MAX_FILE_LEN: u64 = 256 * 1024 * 1024;
/// The most key slots a header may hold.
pub(crate) const MAX_SLOTS: u16 = 16;
/// The largest slot body, in bytes.
pub(crate) const MAX_SLOT_BODY: u32 = 4096;
/// The length of a vault id, in bytes: random, made by `init`, never changed.
pub const VAULT_ID_LEN: usize = 16;
/// The largest header the caps allow: the fixed part and 16 slots of 4096 bytes.
pub const MAX_HEADER_LEN: u64 =
    FIXED_HEADER_LEN as u64 + MAX_SLOTS as u64 * (6 + MAX_SLOT_BODY as u64);

/// Domain-separation strings, fixed by the format.
pub const SLOT_AAD_PREFIX: &[u8] = b"sesame v1 slot";
/// The HKDF info of the payload key, derived from the data key and the payload salt.
pub const PAYLOAD_INFO: &[u8] = b"sesame v1 payload";
/// The HKDF info of the recovery slot's key-encryption key, derived from the recovery code.
pub const RECOVERY_INFO: &[u8] = b"sesame v1 recovery";
/// The HKDF info of the usage log's key (`docs/FORMAT.md`, "Usage log"): part of the key
/// hierarchy, so it lives with the others rather than in `crate::usage`.
pub const LOG_INFO: &[u8] = b"sesame v1 usage log";
/// The HKDF info of a sealed value's key (`docs/FORMAT.md`, "Values"), derived from the data key
/// and the value's own salt; the agent releases it only on approval (`docs/AGENT.md`).
pub const CONFIRMED_VALUE_INFO: &[u8] = b"sesame v2 confirmed value";
/// The length of a sealed value's salt.
pub const VALUE_SALT_LEN: usize = 16;

/// What a key derived from the data key is for; each purpose has its own HKDF `info`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The payload key (`PAYLOAD_INFO`).
    Payload,
    /// A usage-log record key (`LOG_INFO`).
    UsageLog,
}

impl Purpose {
    /// The HKDF `info` string of this purpose.
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
    /// The format version; this build reads up to [`FORMAT_VERSION`].
    pub version: u16,
    /// The vault's id: random, made by `init`, never changed.
    pub vault_id: [u8; VAULT_ID_LEN],
    /// 1 after `init`, incremented by every `rekey`.
    pub key_generation: u32,
    /// The payload key's HKDF salt, fresh on every write.
    pub payload_salt: [u8; SALT_LEN],
    /// The payload's AES-GCM nonce, fresh on every write.
    pub payload_nonce: [u8; NONCE_LEN],
    /// The length of the payload ciphertext in bytes, tag included.
    pub payload_len: u32,
    /// The key slots, 1 to 16, in file order.
    pub slots: Vec<Slot>,
}

/// One key slot record: its kind and its body, as in the file. The body's layout belongs to the
/// kind's module in `crate::slots`, which checks it when the file is read; a kind this build does
/// not know is carried byte for byte so a rewrite keeps it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Slot {
    /// The slot kind: 1 passphrase, 2 recovery, 3 OpenBao Transit; others are kept unread.
    pub kind: u16,
    /// The slot body, at most 4096 bytes; its layout is the kind's.
    pub body: Vec<u8>,
}

impl Slot {
    /// The slot kind, as a function for `map` (`header.slots.iter().map(Slot::kind)`).
    pub fn kind(&self) -> u16 {
        self.kind
    }
}
