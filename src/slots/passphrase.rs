//! Kind 1: the data key wrapped under an Argon2id key derived from the passphrase
//! (`docs/FORMAT.md`, "Kind 1"). Only the first passphrase slot of a file is ever derived.

use std::path::Path;

use super::{BodyReader, SlotKind, Unwrapper, Wrapper};
use crate::crypto::{self, KdfParams, NONCE_LEN, SALT_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::format::{Header, Slot};
use crate::secret::{DataKey, KEY_LEN, Passphrase};

/// The kind number of a passphrase slot.
pub const KIND: u16 = 1;
/// A passphrase slot's body length in bytes: Argon2id m, t, p (u32), salt, nonce, wrapped key.
pub(crate) const BODY_LEN: usize = 12 + SALT_LEN + NONCE_LEN + KEY_LEN + TAG_LEN;

/// Kind 1 in the slot registry (`crate::slots::KINDS`).
pub static KIND_INFO: SlotKind = SlotKind {
    kind: KIND,
    name: "passphrase",
    check: |body| PassphraseSlot::parse(body).map(|_| ()),
    details: |body| match PassphraseSlot::parse(body) {
        Ok(slot) => format!(
            "Argon2id m={}KiB t={} p={}",
            slot.kdf.memory_kib, slot.kdf.iterations, slot.kdf.parallelism
        ),
        Err(e) => e,
    },
    created: |_| None,
    external: None,
};

/// A passphrase slot's body. Holds no secret: the wrapped key is ciphertext.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PassphraseSlot {
    /// The Argon2id parameters, bounded before any derivation.
    pub kdf: KdfParams,
    /// The Argon2id salt.
    pub salt: [u8; SALT_LEN],
    /// The AES-GCM nonce of the wrapped key.
    pub nonce: [u8; NONCE_LEN],
    /// The data key sealed under the passphrase's key, tag included.
    pub wrapped_key: [u8; KEY_LEN + TAG_LEN],
}

impl PassphraseSlot {
    /// "A known kind with the wrong body length is damage"; "the bounds MUST be checked before
    /// any derivation".
    pub fn parse(body: &[u8]) -> std::result::Result<Self, String> {
        if body.len() != BODY_LEN {
            return Err(format!("{} bytes, not {BODY_LEN}", body.len()));
        }
        let mut r = BodyReader::new(body);
        let kdf = KdfParams {
            memory_kib: r.u32()?,
            iterations: r.u32()?,
            parallelism: r.u32()?,
        };
        kdf.check_bounds()?;
        Ok(PassphraseSlot {
            kdf,
            salt: r.array()?,
            nonce: r.array()?,
            wrapped_key: r.array()?,
        })
    }

    /// The slot body, as [`PassphraseSlot::parse`] reads it.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BODY_LEN);
        out.extend_from_slice(&self.kdf.memory_kib.to_le_bytes());
        out.extend_from_slice(&self.kdf.iterations.to_le_bytes());
        out.extend_from_slice(&self.kdf.parallelism.to_le_bytes());
        out.extend_from_slice(&self.salt);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.wrapped_key);
        out
    }

    /// The generic record of this slot.
    pub fn to_slot(&self) -> Slot {
        Slot {
            kind: KIND,
            body: self.encode(),
        }
    }

    /// Wraps `data_key` under a new Argon2id key from `passphrase` (fresh salt and nonce).
    pub fn wrap(
        data_key: &DataKey,
        aad: &[u8],
        passphrase: &Passphrase,
        kdf: KdfParams,
    ) -> Result<Self> {
        let salt = crypto::random_array()?;
        let nonce = crypto::random_array()?;
        let kek = crypto::derive_kek(passphrase.expose(), &salt, kdf)?;
        Ok(PassphraseSlot {
            kdf,
            salt,
            nonce,
            wrapped_key: super::wrap_key(&kek, &nonce, aad, data_key),
        })
    }
}

/// The passphrase slot a passphrase opens: the first one. Later passphrase slots are never
/// tried, so a hostile file cannot multiply the Argon2 cost by its slot count (16 slots at the
/// caps would be hours of work); sesame itself writes exactly one.
pub fn first(header: &Header) -> Option<PassphraseSlot> {
    super::bodies(header, KIND)
        .next()
        .and_then(|b| PassphraseSlot::parse(b).ok())
}

/// Opens the first passphrase slot with a passphrase.
pub struct PassphraseUnwrapper<'a>(pub &'a Passphrase);

impl Unwrapper for PassphraseUnwrapper<'_> {
    fn kind(&self) -> u16 {
        KIND
    }

    fn unwrap(&self, body: &[u8], aad: &[u8], path: &Path) -> Result<DataKey> {
        let slot = PassphraseSlot::parse(body).map_err(|reason| Error::NotAVault {
            path: path.to_path_buf(),
            reason,
        })?;
        let kek = crypto::derive_kek(self.0.expose(), &slot.salt, slot.kdf)?;
        super::unwrap_key(&kek, &slot.nonce, aad, &slot.wrapped_key).ok_or_else(|| {
            Error::WrongPassphrase {
                path: path.to_path_buf(),
            }
        })
    }

    fn no_slot_hint(&self) -> &'static str {
        "open it with its recovery code (`sesame recover`) or restore it from a backup"
    }
}

/// Writes a passphrase slot (the Argon2 run happens in `wrap`).
pub struct PassphraseWrapper<'a> {
    /// The passphrase the slot will open with.
    pub passphrase: &'a Passphrase,
    /// The Argon2id parameters to derive its key with.
    pub kdf: KdfParams,
}

impl Wrapper for PassphraseWrapper<'_> {
    fn kind(&self) -> u16 {
        KIND
    }

    fn wrap(&self, data_key: &DataKey, aad: &[u8]) -> Result<Option<Vec<u8>>> {
        PassphraseSlot::wrap(data_key, aad, self.passphrase, self.kdf).map(|s| Some(s.encode()))
    }
}
